"""Files that are either wholly written or not there: a crash never leaves half a file under
its final name (temp file beside it, flush, fsync, `os.replace`, fsync of the folder).

Temporary files are named by `store.files.temp_names.temp_path`, which a sweep recognises.
"""
from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from store.files.temp_names import temp_path, writer_of
from store.workers import pid_alive

DISK_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class DiskFullError(OSError):
    """A write the disk had no room for; `filename` names the file being written."""


def is_disk_full(exc: BaseException) -> bool:
    """An OSError for a full disk or quota, or a library's wrapped one (safetensors says
    "os error 28")."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL
    return any(f"os error {code})" in str(exc) for code in DISK_FULL)


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside `final` to write to; on a clean exit it is synced and moved
    into place, on an error it is removed (a full disk raises DiskFullError naming
    `final`)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(final)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if is_disk_full(exc) and not isinstance(exc, DiskFullError):
            code = exc.errno if isinstance(exc, OSError) else errno.ENOSPC
            raise DiskFullError(code, os.strerror(code), str(final)) from exc
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
    """Temp files (and a PNG sequence's temp folders) in `folder` left by a process that
    died while writing; those of live processes, this one included, are being written, and
    symlinks are never followed."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        temp = writer_of(entry.name)
        if temp is None or temp.pid is None or pid_alive(temp.pid) or entry.is_symlink():
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
