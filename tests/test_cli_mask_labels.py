"""`swapdeck masks label import|list|delete` on real extracted faces: black-and-white PNG
masks named by face become labels' bases; files that cannot be used are said and skipped."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from store import mask_labels
from store.mask_labels import Polygon
from store.project import Project
from tests.mask_label_faces import NAME, build
from tui.cli.main import main


def half_white(size: int = 128, mode: str = "L") -> Image.Image:
    """White on the left half, black on the right."""
    pixels = np.zeros((size, size), np.uint8)
    pixels[:, :size // 2] = 255
    return Image.fromarray(pixels).convert(mode)


def base_of(project: Project, face_id: int) -> np.ndarray:
    with project.connection() as conn:
        label = mask_labels.get_label(conn, face_id)
    assert label is not None and label.polygons == ()
    return np.asarray(Image.open(io.BytesIO(label.base)))


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["masks", "label", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def masks_folder(folder: Path, a: int, b: int, c: int) -> Path:
    """Two good masks (faces a and b) and five files to skip, each for its own reason."""
    folder.mkdir()
    half_white().save(folder / f"{a}.png")
    white_on_clear = Image.new("RGBA", (64, 64), (255, 255, 255, 0))
    white_on_clear.paste((255, 255, 255, 255), (0, 0, 32, 64))
    white_on_clear.save(folder / f"face_{b}.png")
    half_white().save(folder / "999.png")
    Image.new("RGB", (64, 64), (200, 30, 30)).save(folder / f"face_{c}.png")
    (folder / f"{c}.png").write_bytes(b"not a picture")
    half_white().crop((0, 0, 128, 100)).save(folder / f"{c}.PNG")
    (folder / "notes.txt").write_text("labelled by hand")
    return folder


def test_import_reads_masks_named_by_face_and_skips_what_it_cannot_use(
        project: Project, prebuilt, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a, b, c = prebuilt(NAME, build)
    folder = masks_folder(tmp_path / "masks", a, b, c)
    status, out, err = run(capsys, "import", str(project.root), str(folder))
    assert status == 0
    assert f"imported 2 label(s) from {folder}; skipped 5 file(s)" in out
    assert "skipped 999.png: no face 999 in this project" in err
    assert f"skipped face_{c}.png: in colour" in err
    assert f"skipped {c}.png: unreadable" in err
    assert f"skipped {c}.PNG: 128x100: a mask covers the square aligned face" in err
    assert "skipped notes.txt: not named by a face id (123.png or face_123.png)" in err
    first = base_of(project, a)
    assert first.shape == (256, 256) and first[:, :120].min() == 255 \
        and first[:, 136:].max() == 0
    second = base_of(project, b)
    assert second[:, :120].min() == 255 and second[:, 136:].max() == 0, \
        "transparent is black"


def test_a_face_labelled_already_is_replaced_only_when_asked(
        project: Project, prebuilt, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a, *_ = prebuilt(NAME, build)
    with project.connection() as conn:
        mask_labels.save_label(conn, a, 256, [Polygon("exclude", ((1, 1), (9, 1), (9, 9)))])
    folder = tmp_path / "masks"
    folder.mkdir()
    half_white().save(folder / f"face_{a}.png")
    status, out, err = run(capsys, "import", str(project.root), str(folder))
    assert status == 2 and "imported 0 label(s)" in out
    assert f"face {a} has a label already (--replace replaces it)" in err
    status, out, _ = run(capsys, "import", str(project.root), str(folder), "--replace")
    assert status == 0 and "imported 1 label(s)" in out
    assert base_of(project, a)[0, 0] == 255
    assert run(capsys, "import", str(project.root), str(tmp_path / "nowhere"))[0] == 2


def test_labels_are_listed_and_deleted(project: Project, prebuilt,
                                       capsys: pytest.CaptureFixture) -> None:
    a, b, _c = prebuilt(NAME, build)
    status, out, _ = run(capsys, "list", str(project.root))
    assert status == 0 and "no mask labels yet" in out
    with project.connection() as conn:
        mask_labels.save_label(conn, a, 256, [Polygon("exclude", ((1, 1), (9, 1), (9, 9))),
                                              Polygon("include", ((2, 2), (8, 2), (8, 8)))])
    status, out, _ = run(capsys, "list", str(project.root), "--json")
    listed = json.loads(out)["labels"]
    assert [(row["face_id"], row["size"], row["base"]) for row in listed] == [(a, 256, False)]
    assert listed[0]["polygons"][0] == {"mode": "exclude",
                                        "points": [[1, 1], [9, 1], [9, 9]]}
    status, out, _ = run(capsys, "list", str(project.root))
    assert out.splitlines()[1].split()[:5] == [str(a), "256", "no", "1", "1"]
    status, out, err = run(capsys, "delete", str(project.root), str(a), str(b))
    assert status == 2 and f"deleted the label of face {a}" in out
    assert f"face {b} has no label" in err
    with project.connection() as conn:
        assert mask_labels.labels(conn) == []


def test_import_help_says_how_files_are_named(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["masks", "label", "import", "--help"])
    assert "123.png or face_123.png" in capsys.readouterr().out
