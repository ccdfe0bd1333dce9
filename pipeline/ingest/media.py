"""What kind of media a path holds, and the images of a folder."""
from __future__ import annotations

import re
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jfif", ".gif"}
)
# Images that hold several frames are videos for our purposes (animated GIF, APNG aside).
VIDEO_ONLY_EXTENSIONS = frozenset({".gif"})


def natural_key(name: str) -> list[object]:
    """Sort key that puts frame2.png before frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def folder_images(folder: Path) -> list[Path]:
    """The image files directly inside `folder`, in natural order; hidden files are skipped."""
    found = [
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    return sorted(found, key=lambda p: natural_key(p.name))


def looks_like_still_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS - VIDEO_ONLY_EXTENSIONS
