"""Job kinds, registered by decorator: `@job_kind("ingest")` on `def ingest(ctx, params)`."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.context import JobContext

JobFunction = Callable[["JobContext", dict[str, Any]], "dict[str, Any] | None"]

_JOB_KINDS: dict[str, JobFunction] = {}


class UnknownJobKindError(LookupError):
    pass


def job_kind(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register `function` as the runner of jobs of kind `name`."""
    def register(function: JobFunction) -> JobFunction:
        if name in _JOB_KINDS:
            raise ValueError(f"job kind {name!r} registered twice")
        _JOB_KINDS[name] = function
        return function
    return register


def job_function(name: str) -> JobFunction:
    try:
        return _JOB_KINDS[name]
    except KeyError:
        raise UnknownJobKindError(
            f"unknown job kind {name!r} (this worker runs: {', '.join(sorted(_JOB_KINDS))})"
        ) from None


def known_kinds() -> tuple[str, ...]:
    return tuple(sorted(_JOB_KINDS))
