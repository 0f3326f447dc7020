"""Local stand-in provider servers for tests, benchmarks and `make demo`."""

from registry.standin.server import (
    Handler,
    StandInRequest,
    StandInResponse,
    StandInServer,
    json_response,
)

__all__ = ["Handler", "StandInRequest", "StandInResponse", "StandInServer", "json_response"]
