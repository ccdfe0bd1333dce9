"""The `mask-add` job's request: one mask kind computed for the kept faces of some sources
(all of them when none is named) that lack it, checked before it is queued. The job reads
the same checks back (`checked_params`)."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from store import sources
from store.errors import RequestError
from store.requests.extract import MASK_KINDS, ExtractSettings

KIND = "mask-add"


def mask_add_params(conn: sqlite3.Connection, kind: str, references: Sequence[str], *,
                    glasses: bool | None = None, mouth: bool | None = None) -> dict[str, Any]:
    """The params of one mask-add job; glasses and mouth (face parsing's choices) default to
    extraction's defaults. RequestError names an unknown kind or source."""
    source_ids = []
    for reference in references:
        try:
            source_ids.append(sources.resolve(conn, reference).id)
        except sources.SourceNotFoundError as exc:
            raise RequestError(str(exc)) from None
    params = {"kind": kind, "source_ids": sorted(set(source_ids))}
    for flag, value in (("mask_glasses", glasses), ("mask_mouth", mouth)):
        if value is not None:
            params[flag] = value
    return checked_params(conn, params)


def checked_params(conn: sqlite3.Connection, params: Any) -> dict[str, Any]:
    """`params` when they ask for a known kind of the project's sources; RequestError if not."""
    if not isinstance(params, dict):
        raise RequestError("mask-add params are not an object")
    kind = params.get("kind")
    if kind not in MASK_KINDS:
        raise RequestError(f"unknown mask kind {kind!r} (known: {', '.join(MASK_KINDS)})",
                           field="kind")
    source_ids = params.get("source_ids", [])
    if not isinstance(source_ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in source_ids):
        raise RequestError(f"source_ids is a list of source ids, not {source_ids!r}")
    for source_id in source_ids:
        try:
            sources.get(conn, source_id)
        except sources.SourceNotFoundError as exc:
            raise RequestError(str(exc)) from None
    defaults = ExtractSettings()
    flags = {flag: params.get(flag, getattr(defaults, flag))
             for flag in ("mask_glasses", "mask_mouth")}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise RequestError(f"{flag} is yes or no, not {value!r}", field=flag)
    return {"kind": kind, "source_ids": source_ids, **flags}
