"""What a user adds is refused at once when it is plainly not media (store/requests/media_kind)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from store.errors import RequestError
from store.requests.ingest import checked_ingest_params
from store.requests.media_kind import media_problem
from tests.media import write_image, write_video


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi", ".mov", ".ts", ".flv"])
def test_real_videos_pass(tmp_path: Path, suffix: str) -> None:
    assert media_problem(write_video(tmp_path / f"clip{suffix}", 3)) is None


@pytest.mark.parametrize("suffix", [".jpg", ".gif", ".bmp", ".webp", ".tif"])
def test_real_images_pass(tmp_path: Path, astronaut_png: Path, suffix: str) -> None:
    path = tmp_path / f"astronaut{suffix}"
    Image.open(astronaut_png).save(path)
    assert media_problem(path) is None


def test_real_images_and_image_folders_pass(tmp_path: Path, astronaut_png: Path) -> None:
    assert media_problem(astronaut_png) is None
    (tmp_path / "stills").mkdir()
    write_image(tmp_path / "stills" / "a.png", seed=1)
    assert media_problem(tmp_path / "stills") is None


def test_what_is_plainly_not_media_is_refused_with_its_path(tmp_path: Path) -> None:
    text = tmp_path / "movie.mp4"
    text.write_text("definitely not a video")
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    archive = tmp_path / "faces.zip"
    archive.write_bytes(b"PK\x03\x04" + bytes(100))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no pictures here")
    assert media_problem(text) == (f"not a video or image: {text} (its content is no video "
                                   "or image format)")
    assert media_problem(archive).startswith("not a video or image")
    assert media_problem(empty) == f"{empty} is empty"
    assert media_problem(tmp_path / "notes") == f"no images in the folder {tmp_path / 'notes'}"
    assert media_problem(tmp_path / "gone.mp4") == f"no such file or folder: {tmp_path / 'gone.mp4'}"
    with pytest.raises(RequestError, match="not a video or image"):
        checked_ingest_params(text, "")
