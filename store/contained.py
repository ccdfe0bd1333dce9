"""Paths the store holds for the project's own files, checked before any use.

A project folder is input: a row of a received `project.db` may name `../../x`, an absolute
path, or a file behind a symlink that leads out of the folder. `contained` turns a stored
path into a real path inside the project or refuses it, naming the table, row and path;
`remove_contained` and `remove_tree_contained` are the only ways the program deletes a
project's files, and cannot reach outside the folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePath


class UnsafePathError(ValueError):
    """A stored path that would leave the project folder; the message names where it was."""


def contained(root: Path, stored: str | PurePath, *, where: str, base: str | PurePath = "") -> Path:
    """`root/base/stored` as a real path, once it is sure to stay inside `root`.

    `stored` comes from the store (relative to `base`, itself relative to the project
    folder); `where` names it for the error ("checkpoints row 12").  Refused: an empty or
    absolute path, a `..` part, a NUL character, and a path whose real location, symlinks
    followed, is not inside the project folder.
    """
    text = str(stored)
    if not text or text == ".":
        raise UnsafePathError(f"{where}: an empty path is refused")
    if "\x00" in text:
        raise UnsafePathError(f"{where}: path {text!r} holds a NUL character")
    relative = PurePath(base) / text
    if relative.is_absolute() or PurePath(text).is_absolute():
        raise UnsafePathError(f"{where}: path {text!r} is absolute; a project's own files are "
                              "named relative to its folder")
    if ".." in relative.parts:
        raise UnsafePathError(f"{where}: path {text!r} climbs out with '..'")
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / relative))
    if real == real_root or not real.is_relative_to(real_root):
        raise UnsafePathError(f"{where}: path {text!r} leads out of the project folder "
                              f"through a symlink (to {real})")
    return real


def inside(root: Path, path: Path, *, where: str) -> Path:
    """A path the program built (or the user typed), as a real path, once it is sure to
    be inside the project folder."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real == real_root or not real.is_relative_to(real_root):
        raise UnsafePathError(f"{where}: {path} is not inside the project folder {real_root}")
    return real


def remove_contained(root: Path, path: Path, *, where: str) -> bool:
    """Delete one file (or symlink, never its target) inside the project; returns whether
    something was removed. Anything outside the folder is refused."""
    target = _checked_for_removal(root, path, where)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True


def remove_tree_contained(root: Path, path: Path, *, where: str) -> bool:
    """Delete a folder of the project with everything in it (symlinks inside are removed,
    not followed). Anything outside the folder, or the folder itself, is refused."""
    target = _checked_for_removal(root, path, where)
    if target.is_symlink() or not target.exists():
        return remove_contained(root, path, where=where)
    shutil.rmtree(target)
    return True


def _checked_for_removal(root: Path, path: Path, where: str) -> Path:
    """The path to unlink: its folder resolved and inside the project, its own name kept
    (so that a symlink is removed as a link)."""
    real_root = Path(os.path.realpath(root))
    absolute = path if path.is_absolute() else real_root / path
    parent = Path(os.path.realpath(absolute.parent))
    if absolute.name in ("", ".", "..") or not parent.is_relative_to(real_root):
        raise UnsafePathError(f"{where}: refusing to delete {path}: it is not inside the "
                              f"project folder {real_root}")
    return parent / absolute.name
