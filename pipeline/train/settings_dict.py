"""Settings dataclasses read back from stored or edited dicts: unknown names are refused."""
from __future__ import annotations

from dataclasses import fields
from typing import Any


def known_names(cls: type, data: dict[str, Any], what: str,
                error: type[Exception] = ValueError) -> dict[str, Any]:
    """`data` when each of its names is a field of the dataclass `cls`; else `error`."""
    known = sorted(f.name for f in fields(cls))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise error(f"unknown {what}(s): {', '.join(unknown)} ({what}s: {', '.join(known)})")
    return data
