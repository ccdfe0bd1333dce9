"""store.files.contained: the one check every stored path of a project's own files goes through,
and the only deletion helpers, on real folders and symlinks."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from store.files.contained import (UnsafePathError, contained, folder_inside, inside, relative_name,
                             remove_contained, remove_stored, remove_tree_contained, requested)

WHERE = "checkpoints row 12"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "models" / "1" / "saves").mkdir(parents=True)
    return folder


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file outside the project that nothing may touch."""
    path = tmp_path / "canary"
    path.write_text("untouched")
    return path


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(UnsafePathError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def test_a_relative_path_inside_is_resolved(root: Path) -> None:
    path = contained(root, "saves/iter_1.safetensors", where=WHERE, base="models/1")
    assert path == root.resolve() / "models" / "1" / "saves" / "iter_1.safetensors"


@pytest.mark.parametrize("stored, why", [
    ("/etc/passwd", "is absolute"),
    ("../../../canary", "climbs out with '..'"),
    ("saves/../../../../canary", "climbs out with '..'"),
    ("saves/x\x00.safetensors", "holds a NUL character"),
    ("", "an empty path is refused"),
    (".", "an empty path is refused"),
])
def test_what_the_text_alone_refuses(root: Path, stored: str, why: str) -> None:
    message = refused(contained, root, stored, where=WHERE, base="models/1")
    assert message.startswith(f"{WHERE}: ") and why in message
    assert refused(relative_name, stored, where=WHERE) == message


def test_a_base_that_climbs_out_is_refused(root: Path) -> None:
    assert "climbs out" in refused(contained, root, "x", where=WHERE, base="models/../..")


def test_a_symlink_out_is_refused_and_named(root: Path, canary: Path) -> None:
    (root / "models" / "1" / "saves" / "link.safetensors").symlink_to(canary)
    message = refused(contained, root, "saves/link.safetensors", where=WHERE, base="models/1")
    assert message == (f"{WHERE}: path 'saves/link.safetensors' leads out of the project "
                       f"folder through a symlink (to {canary.resolve()})")


def test_a_symlinked_subfolder_out_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "models" / "2").symlink_to(outside)
    assert "leads out" in refused(contained, root, "saves/x", where=WHERE, base="models/2")
    assert "is not inside the project folder" in refused(
        inside, root, root / "models" / "2" / "x", where=WHERE)
    assert "is not inside" in refused(folder_inside, root, "models/2/saves", where=WHERE)
    assert not (outside / "saves").exists()   # refused before anything was made there


def test_a_symlink_inside_the_project_is_followed(root: Path) -> None:
    (root / "models" / "1" / "saves" / "real.safetensors").write_bytes(b"x")
    (root / "models" / "1" / "saves" / "alias.safetensors").symlink_to("real.safetensors")
    path = contained(root, "saves/alias.safetensors", where=WHERE, base="models/1")
    assert path.name == "real.safetensors" and path.read_bytes() == b"x"


def test_a_symlink_loop_is_never_a_path_outside(root: Path) -> None:
    saves = root / "models" / "1" / "saves"
    (saves / "a").symlink_to("b")
    (saves / "b").symlink_to("a")
    try:
        path = contained(root, "saves/a", where=WHERE, base="models/1")
    except UnsafePathError:
        return
    assert path.is_relative_to(root.resolve())
    with pytest.raises(OSError):
        path.read_bytes()


def test_the_project_folder_itself_is_not_a_file_of_it(root: Path) -> None:
    (root / "models" / "1" / "up").symlink_to(root)
    assert "leads out" in refused(contained, root, "up", where=WHERE, base="models/1")
    assert "not inside" in refused(inside, root, root, where=WHERE)


def test_folder_inside_makes_each_missing_folder(root: Path) -> None:
    made = folder_inside(root, "models/3/snapshots", where=WHERE)
    assert made == root.resolve() / "models" / "3" / "snapshots" and made.is_dir()
    (root / "models" / "file").write_text("")
    assert "is not a folder" in refused(folder_inside, root, "models/file/x", where=WHERE)


def test_removing_a_symlink_removes_the_link_not_its_target(root: Path, canary: Path) -> None:
    link = root / "models" / "1" / "saves" / "link.safetensors"
    link.symlink_to(canary)
    assert remove_contained(root, link, where=WHERE)
    assert not link.is_symlink() and canary.read_text() == "untouched"
    folder_link = root / "models" / "9"
    folder_link.symlink_to(canary.parent)
    assert remove_tree_contained(root, folder_link, where=WHERE)
    assert not folder_link.is_symlink() and canary.read_text() == "untouched"


def test_removing_outside_the_project_is_refused(root: Path, canary: Path,
                                                 tmp_path: Path) -> None:
    assert "refusing to delete" in refused(remove_contained, root, canary, where=WHERE)
    assert "refusing to delete" in refused(remove_tree_contained, root, tmp_path, where=WHERE)
    assert "refusing to delete" in refused(remove_tree_contained, root, root, where=WHERE)
    assert "refusing to delete" in refused(
        remove_contained, root, root / "models" / ".." / ".." / "canary", where=WHERE)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "file").write_text("kept")
    (root / "models" / "2").symlink_to(outside)
    assert "refusing to delete" in refused(
        remove_contained, root, root / "models" / "2" / "file", where=WHERE)
    assert (outside / "file").read_text() == "kept" and canary.read_text() == "untouched"


def test_removing_a_stored_path_checks_its_text(root: Path, canary: Path) -> None:
    saves = root / "models" / "1" / "saves"
    (saves / "old.safetensors").write_bytes(b"old")
    assert remove_stored(root, "saves/old.safetensors", where=WHERE, base="models/1")
    assert not remove_stored(root, "saves/old.safetensors", where=WHERE, base="models/1")
    relative_canary = os.path.relpath(canary, root / "models" / "1")
    assert "climbs out" in refused(remove_stored, root, relative_canary, where=WHERE,
                                   base="models/1")
    assert "is absolute" in refused(remove_stored, root, str(canary), where=WHERE,
                                    base="models/1")
    assert canary.read_text() == "untouched"


def test_a_whole_folder_of_the_project_is_removed_without_following_links(
        root: Path, canary: Path) -> None:
    folder = root / "models" / "1"
    (folder / "saves" / "a.safetensors").write_bytes(b"a")
    (folder / "saves" / "out").symlink_to(canary)
    (folder / "outdir").symlink_to(canary.parent)
    assert remove_tree_contained(root, folder, where=WHERE)
    assert not folder.exists() and canary.read_text() == "untouched"


def test_a_requested_path_is_checked_only_where_it_names_the_project(
        root: Path, canary: Path, tmp_path: Path) -> None:
    assert requested(root, canary, where="jobs row 3 (output)") == canary   # the user's choice
    inner = root / "outputs" / "a.mp4"
    assert requested(root, inner, where="jobs row 3 (output)") == inner
    (root / "outputs").mkdir()
    (root / "outputs" / "sub").symlink_to(tmp_path)
    message = refused(requested, root, root / "outputs" / "sub" / "a.mp4",
                      where="jobs row 3 (output)")
    assert message.startswith("jobs row 3 (output): ") and "is not inside the project" in message
