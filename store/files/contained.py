"""Paths the store holds for the project's own files, checked before any use.

A project folder is input: a row of a received `project.db` may name `../../x`, an absolute
path, or a file behind a symlink that leads out of the folder. `contained` turns a stored
path into a real path inside the project or refuses it, naming the table, row and path;
`folder_inside` makes the folders the program writes into, refusing one that leads out;
`remove_contained`, `remove_tree_contained` and `remove_stored` are the only ways the program
deletes a project's files, and cannot reach outside the folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePath


class UnsafePathError(ValueError):
    """A stored path that would leave the project folder; the message names where it was."""


def relative_name(stored: str | PurePath, *, where: str) -> PurePath:
    """`stored` once it is sure to name something below the folder it is relative to,
    by its text alone: an empty or absolute path, a `..` part or a NUL character is refused.
    Symlinks are not looked at (`contained` does that)."""
    text = str(stored)
    if not text or text == ".":
        raise UnsafePathError(f"{where}: an empty path is refused")
    if "\x00" in text:
        raise UnsafePathError(f"{where}: path {text!r} holds a NUL character")
    path = PurePath(text)
    if path.is_absolute():
        raise UnsafePathError(f"{where}: path {text!r} is absolute; a project's own files are "
                              "named relative to its folder")
    if ".." in path.parts:
        raise UnsafePathError(f"{where}: path {text!r} climbs out with '..'")
    return path


def contained(root: Path, stored: str | PurePath, *, where: str, base: str | PurePath = "") -> Path:
    """`root/base/stored` as a real path, once it is sure to stay inside `root`.

    `stored` comes from the store (relative to `base`, itself relative to the project
    folder); `where` names it for the error ("checkpoints row 12").  Refused: an empty or
    absolute path, a `..` part, a NUL character, and a path whose real location, symlinks
    followed, is not inside the project folder.
    """
    text = str(stored)
    relative = relative_name(text, where=where)
    if str(base):
        relative = relative_name(PurePath(base) / relative, where=where)
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
        raise UnsafePathError(f"{where}: {path} is not inside the project folder {real_root} "
                              f"(it leads to {real})")
    return real


def requested(root: Path, path: Path, *, where: str) -> Path:
    """A path a job's request names (typed by the user, or chosen by the program under the
    project folder): outside the project it is the user's choice and is kept as it is; one
    that names a place in the project folder must really be there, no symlink on its way
    leading out."""
    if any(path.is_relative_to(folder) for folder in (Path(root), Path(os.path.realpath(root)))):
        inside(root, path, where=where)
    return path


def folder_inside(root: Path, relative: str | PurePath, *, where: str) -> Path:
    """`root/relative` as a real folder inside the project, made where missing.

    Each part is checked before the next is made in it, so a folder that is a symlink
    leading out of the project is refused before anything is created through it.
    """
    current = Path(os.path.realpath(root))
    for part in relative_name(relative, where=where).parts:
        current = inside(root, current / part, where=where)
        try:
            current.mkdir(exist_ok=True)
        except FileExistsError:
            raise UnsafePathError(f"{where}: {current} is not a folder") from None
    return current


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
    if target.is_symlink() or not target.is_dir():
        return remove_contained(root, path, where=where)
    shutil.rmtree(target)
    return True


def remove_stored(root: Path, stored: str | PurePath, *, where: str,
                  base: str | PurePath = "") -> bool:
    """Delete the file a row names (`root/base/stored`; a symlink as a link), after the
    checks of `relative_name`; returns whether something was removed."""
    relative = relative_name(stored, where=where)
    if str(base):
        relative = relative_name(PurePath(base) / relative, where=where)
    return remove_contained(root, Path(root) / relative, where=where)


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
