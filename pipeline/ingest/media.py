"""What kind of media a path holds, and the images of a folder."""
from __future__ import annotations

import errno
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jfif", ".gif"}
)
# Images that hold several frames are videos for our purposes (animated GIF, APNG aside).
VIDEO_ONLY_EXTENSIONS = frozenset({".gif"})


def natural_key(name: str) -> list[object]:
    """Sort key that puts frame2.png before frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


@dataclass
class FolderScan:
    """The image files of a folder, and the image-named entries that are not usable files
    (name, why), so the user hears about each instead of an image silently missing."""
    images: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skipped_summary(self) -> str:
        """`3 skipped: 2 broken symlink, 1 not a regular file`, or ''."""
        if not self.skipped:
            return ""
        counts = Counter(reason for _, reason in self.skipped)
        return f"{len(self.skipped)} skipped: " + ", ".join(
            f"{n} {reason}" for reason, n in counts.most_common())


def scan_folder(folder: Path) -> FolderScan:
    """The image files directly inside `folder`, in natural order; hidden files are skipped.

    Only regular files are taken: a FIFO would block the reader forever, and a symlink loop
    or a link to nothing cannot be read. Subfolders are not entered, so no directory cycle
    can make this run for ever.
    """
    scan = FolderScan()
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or Path(entry.name).suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        problem = _not_a_file(entry)
        if problem is None:
            scan.images.append(Path(entry.path))
        elif problem != "a folder":
            scan.skipped.append((entry.name, problem))
        elif entry.is_symlink():
            scan.skipped.append((entry.name, "symlink to a folder"))
    scan.images.sort(key=lambda p: natural_key(p.name))
    scan.skipped.sort(key=lambda skipped: natural_key(skipped[0]))
    return scan


def _not_a_file(entry: os.DirEntry) -> str | None:
    """Why the entry is not a regular file one can read, or None."""
    try:
        mode = os.stat(entry.path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if exc.errno == errno.ENOENT and entry.is_symlink():
            return "broken symlink"
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "a folder"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if not os.access(entry.path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def folder_images(folder: Path) -> list[Path]:
    """The image files directly inside `folder`, in natural order (see `scan_folder`)."""
    return scan_folder(folder).images


def looks_like_still_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS - VIDEO_ONLY_EXTENSIONS
