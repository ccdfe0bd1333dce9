"""The one naming scheme of the temporary files every writer of the program uses.

`.<final name>.swapdeck-<pid>-<hex><suffix>`, beside the final file: the writer's pid lets a
sweep tell a leftover of a dead process from a file a live one is still writing. `writer_of`
also knows the names older versions used, and tempfile's `tmpXXXXXXXX`.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

TEMP_TAG = "swapdeck"
# ours; the variants a writer derives from its temp (`-muxed`, `-old`) share the prefix
_OURS = re.compile(rf"^\..+\.{TEMP_TAG}-(?P<pid>\d+)-[0-9a-f]+")
_LEGACY_WITH_PID = (
    re.compile(r"^\..+\.(?P<pid>\d+)\.tmp$"),               # atomic writes, CSV exports
    re.compile(r"^\..*\.partial-(?P<pid>\d+)-[0-9a-f]+"),   # convert writers
)
# tempfile.mkstemp/NamedTemporaryFile: "tmp" and 8 of its letters, maybe a dot before
_TEMPFILE = re.compile(r"^(?P<dot>\.?)tmp[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")


@dataclass(frozen=True)
class TempName:
    """What a temporary file's name says about its writer."""
    pid: int | None     # None: a tempfile name, which says nothing of its writer
    dotted: bool        # hidden (a tempfile-like name without the dot may be a person's file)


def temp_path(final: Path, suffix: str = ".tmp") -> Path:
    """The temporary name beside `final` to write it under (`suffix` last, for writers that
    pick a format by it)."""
    return final.with_name(
        f".{final.name}.{TEMP_TAG}-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def writer_of(name: str) -> TempName | None:
    """The writer a temporary file's name records, or None for a name no writer uses."""
    for pattern in (_OURS, *_LEGACY_WITH_PID):
        if match := pattern.match(name):
            return TempName(int(match["pid"]), True)
    if match := _TEMPFILE.match(name):
        return TempName(None, bool(match["dot"]))
    return None
