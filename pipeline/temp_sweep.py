"""The worker's start sweeps away the temporary files interrupted writes left in the project.

A write killed half-way (a checkpoint of hundreds of MB, a video, a face cache) leaves its
temp file beside the final name. Removed: a temp whose writer, by the pid in its name, is
dead (this process's own pid included: the sweep runs before it writes anything, so such a
file is a leftover of an earlier process that had the same pid), and a tempfile-style name
older than a minute. Walked: models/, outputs/ and cache/ (not through symlinks), and the
files at the top of the project folder, never `project.db*`. The inbox holds the person's
own downloads and is left alone.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from store.files.contained import UnsafePathError, remove_contained, remove_tree_contained
from store.project import DB_NAME, Project
from store.files.temp_names import writer_of
from store.workers import pid_alive

WALKED = ("models", "outputs", "cache")
# a person's files may sit in outputs/: a bare `tmpXXXXXXXX` there is theirs, not ours
BARE_TEMPFILE_IN = ("models", "cache")
TEMPFILE_MIN_AGE_S = 60.0


@dataclass(frozen=True)
class Swept:
    count: int
    size: int                   # bytes
    folders: tuple[str, ...]    # where, relative to the project folder
    failed: int = 0             # found but could not be removed

    def describe(self) -> str:
        where = ", ".join(self.folders)
        text = (f"removed {self.count} temporary file{'s' if self.count != 1 else ''} left "
                f"by interrupted writes ({_size(self.size)}) from {where}")
        return text + (f"; {self.failed} could not be removed" if self.failed else "")


def sweep_temps(project: Project, now: float | None = None) -> Swept:
    """Remove every leftover temp file of the project; what it removed, and how much."""
    now = time.time() if now is None else now
    root = project.root
    found: list[tuple[Path, bool]] = [
        (entry, False) for entry in _listing(root)
        if not entry.name.startswith(DB_NAME) and entry.is_file() and not entry.is_symlink()
        and _stale(entry, now, bare_ok=False)]
    for top in WALKED:
        folder = root / top
        if folder.is_symlink() or not folder.is_dir():
            continue
        for parent, dirs, files in os.walk(folder):   # symlinked folders are not entered
            for name in [*dirs, *files]:
                path = Path(parent) / name
                if _stale(path, now, bare_ok=top in BARE_TEMPFILE_IN):
                    is_dir = name in dirs and not path.is_symlink()
                    found.append((path, is_dir))
                    if name in dirs:
                        dirs.remove(name)
    count = size = failed = 0
    folders: list[str] = []
    for path, is_dir in found:
        bytes_ = _bytes(path, is_dir)
        try:
            removed = (remove_tree_contained if is_dir else remove_contained)(
                root, path, where="temp sweep")
        except (OSError, UnsafePathError):
            failed += 1
            continue
        if removed:
            count, size = count + 1, size + bytes_
            folder = (path.parent.relative_to(root).as_posix() if path.parent != root
                      else "the project folder")
            if folder not in folders:
                folders.append(folder)
    return Swept(count, size, tuple(folders), failed)


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _stale(path: Path, now: float, *, bare_ok: bool) -> bool:
    temp = writer_of(path.name)
    if temp is None or (not temp.dotted and not bare_ok):
        return False
    if temp.pid is not None:
        return temp.pid == os.getpid() or not pid_alive(temp.pid)
    try:
        return now - path.lstat().st_mtime > TEMPFILE_MIN_AGE_S
    except OSError:
        return False


def _bytes(path: Path, is_dir: bool) -> int:
    try:
        if not is_dir:
            return path.lstat().st_size
        return sum((Path(parent) / name).lstat().st_size
                   for parent, _, files in os.walk(path) for name in files)
    except OSError:
        return 0


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
