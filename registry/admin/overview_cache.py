"""What the Overview's provider cards read, kept between reruns until the catalog changes.

Every write to the registry's database bumps its change stamp (`Database.stamp`); the cards'
provider statuses (models by status, default, keys) are read again only when the stamp moved,
or after `MAX_AGE` seconds (a default can pass its retirement date without any write). The
refresh outcomes, which the cards show beside them, are read on every run.
"""

from __future__ import annotations

import threading
import time
import weakref

from registry.db import Database, get_database
from registry.resolution import ProviderStatus, get_provider_status
from registry.types import PROVIDERS, Category

MAX_AGE = 60.0  # seconds

# Per database object (tests and tools open several): category → (stamp, read at, statuses).
_held: weakref.WeakKeyDictionary[
    Database, dict[Category, tuple[int, float, list[ProviderStatus]]]
] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def provider_statuses(category: Category) -> list[ProviderStatus]:
    """`get_provider_status` of every provider of the category, in `PROVIDERS` order."""
    database = get_database()
    stamp = database.stamp()
    with _lock:
        found = _held.get(database, {}).get(category)
    if found is not None and found[0] == stamp and time.monotonic() - found[1] < MAX_AGE:
        return found[2]
    statuses = [get_provider_status(provider, category) for provider in PROVIDERS[category]]
    with _lock:
        _held.setdefault(database, {})[category] = (stamp, time.monotonic(), statuses)
    return statuses
