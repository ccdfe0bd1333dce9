"""`swapdeck faces PROJECT list` says how many faces match and when it shows only some of them,
and names the file and the time each face came from."""
from __future__ import annotations

import json

import pytest

from store import identities
from store.project import Project
from tests.pipeline.seeded_faces import people, seed_faces
from tui.cli.main import main as swapdeck


def listed(project: Project, capsys: pytest.CaptureFixture, *args: str) -> dict:
    assert swapdeck(["faces", str(project.root), "list", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def face_ids(project: Project) -> list[int]:
    """105 faces of a 25 fps video; the first ten frames carry their pts time."""
    ids = seed_faces(project, people(1, 105)[0])
    with project.connection() as conn:
        conn.execute("UPDATE frames SET time = idx * 0.5 WHERE idx < 10")
    return ids


def test_json_carries_the_total_and_whether_it_was_cut(
        project: Project, face_ids: list[int], capsys: pytest.CaptureFixture) -> None:
    default = listed(project, capsys)
    assert (default["total"], default["shown"], default["truncated"]) == (105, 100, True)
    assert len(default["faces"]) == 100 and default["offset"] == 0
    tail = listed(project, capsys, "--offset", "100")
    assert (tail["total"], tail["shown"], tail["truncated"]) == (105, 5, False)
    with project.connection() as conn:
        identities.set_excluded(conn, face_ids[:3], True)
    excluded = listed(project, capsys, "--filter", "excluded", "--limit", "2")
    assert (excluded["total"], excluded["shown"], excluded["truncated"]) == (3, 2, True)


def test_text_says_when_faces_were_left_out(
        project: Project, face_ids: list[int], capsys: pytest.CaptureFixture) -> None:
    assert swapdeck(["faces", str(project.root), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 101 and lines[-1] == "showing 100 of 105 faces (use --limit)"
    assert swapdeck(["faces", str(project.root), "list", "--limit", "200"]) == 0
    assert "showing" not in capsys.readouterr().out
    assert swapdeck(["faces", str(project.root), "list", "--offset", "100"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "showing 101-105 of 105 faces (use --limit and --offset)")


def test_each_face_names_its_file_and_time(
        project: Project, face_ids: list[int], capsys: pytest.CaptureFixture) -> None:
    faces = listed(project, capsys, "--limit", "12")["faces"]
    assert {f["source_file"] for f in faces} == {"/made/up.mp4"}
    assert faces[3]["time"] == 1.5           # its pts time
    assert faces[11]["time"] == 11 / 25      # none recorded: frame index / fps
    assert swapdeck(["faces", str(project.root), "list", "--limit", "12"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "up.mp4 at 1.50 s (frame 3)" in lines[3]
    assert "up.mp4 at 0.44 s (frame 11)" in lines[11]


def test_a_folder_source_names_the_image_and_no_time(
        project: Project, face_ids: list[int], capsys: pytest.CaptureFixture) -> None:
    with project.connection() as conn:
        conn.execute("UPDATE sources SET kind = 'folder', path = '/made/stills', fps = NULL")
        conn.execute("UPDATE frames SET path = printf('img_%03d.png', idx)")
    face = listed(project, capsys, "--limit", "1")["faces"][0]
    assert (face["source_file"], face["time"]) == ("/made/stills/img_000.png", None)
    assert swapdeck(["faces", str(project.root), "list", "--limit", "1"]) == 0
    assert " img_000.png (frame 0) " in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--limit", "0"], ["--limit", "-1"], ["--offset", "-3"]])
def test_a_bad_page_is_refused_clearly(project: Project, capsys: pytest.CaptureFixture,
                                       bad: list[str]) -> None:
    assert swapdeck(["faces", str(project.root), "list", *bad]) == 2
    assert "--limit must be 1 or more and --offset 0 or more" in capsys.readouterr().err
