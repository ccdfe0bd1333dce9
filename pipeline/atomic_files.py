"""Files that are either wholly written or not there: a crash never leaves half a file under
its final name (temp file beside it, flush, fsync, `os.replace`, fsync of the folder)."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside `final` to write to; on a clean exit it is synced and moved
    into place, on an error it is removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    sync_path(final.parent)


def atomic_write(final: Path, write: Callable[[Path], None]) -> None:
    with atomic_path(final) as temp:
        write(temp)


def sync_path(path: Path) -> None:
    """Flush a file to the disk, or make a rename or removal in a folder durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temps(folder: Path) -> None:
    """Temp files left by a process that died while writing."""
    for temp in folder.glob(".*.tmp"):
        temp.unlink(missing_ok=True)
