"""Shared by the benchmarks: scratch databases (see registry.scratch) and order statistics."""

from __future__ import annotations

import statistics

from registry.scratch import BACKENDS, scratch_database

__all__ = ["BACKENDS", "median", "percentile", "scratch_database"]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
