"""The synthetic-media mark: the watermark in the pixels, the metadata, and `verify`."""
from __future__ import annotations

import io
import itertools
import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from pipeline.convert import marking
from pipeline.convert.marking import Mark, MarkingError, Provenance
from pipeline.convert.verify import VerifyError, main, verify

MARK = Mark(marking.project_tag("9f1c2b7e0d4a4c8e8a3b5d6e7f801234"), 7)
PROVENANCE = Provenance(project="proj ☃", project_tag=MARK.project_tag, session="a-to-b",
                        session_id=MARK.session_id, conversion_id=12, model_sha256="ab" * 32,
                        source_sha256="cd" * 32, created_at=1_800_000_000.0)


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def marked(picture: np.ndarray) -> np.ndarray:
    return marking.embed(picture, MARK)


def drifting(picture: np.ndarray, count: int) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.roll(picture, 3 * i, axis=1)) for i in range(count)]


def encode(path: Path, frames: list[np.ndarray], *, crf: int = 18,
           metadata: dict[str, str] | None = None, options: dict[str, str] | None = None,
           gop: int | None = None) -> Path:
    """H.264 at `crf` (BT.709 limited range, as the converter writes)."""
    with av.open(str(path), "w", container_options=options or {}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "ultrafast",
                          **({"g": str(gop)} if gop else {})}
        container.metadata.update(metadata or {})
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            picture.pts, picture.time_base = index, Fraction(1, 25)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


# --- the watermark -------------------------------------------------------------------------

def test_embed_then_read_gives_the_mark_back_and_changes_little(picture, marked):
    assert marked.shape == picture.shape and marked.dtype == np.uint8
    assert marked.flags.c_contiguous
    assert not np.array_equal(marked, picture)
    assert cv2.PSNR(picture, marked) > 40
    assert marking.read(marked) == MARK
    assert marking.read(picture) is None


def test_the_mark_survives_jpeg_and_h264_at_crf_18(tmp_path, picture):
    frames = [marking.embed(frame, MARK) for frame in drifting(picture, 4)]
    for frame in decode(encode(tmp_path / "crf18.mp4", frames)):
        assert marking.read(frame) == MARK
    buffer = io.BytesIO()
    Image.fromarray(frames[0]).save(buffer, format="JPEG", quality=75)
    assert marking.read(np.asarray(Image.open(io.BytesIO(buffer.getvalue())))) == MARK


def test_odd_sizes_keep_their_edges_and_carry_the_mark():
    frame = cv2.resize(data.coffee(), (517, 301))
    out = marking.embed(frame, Mark(1, 2))
    assert out.shape == frame.shape
    np.testing.assert_array_equal(out[288:], frame[288:])       # 301 = 18 blocks + 13 rows
    np.testing.assert_array_equal(out[:, 512:], frame[:, 512:])
    assert marking.read(out) == Mark(1, 2)


def test_unmarked_pictures_read_as_no_mark():
    rng = np.random.default_rng(7)
    pictures = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
                data.immunohistochemistry(), data.hubble_deep_field(),
                cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB),
                cv2.cvtColor(data.moon(), cv2.COLOR_GRAY2RGB)]
    checked = 0
    for picture in pictures:
        height, width = picture.shape[:2]
        for _ in range(40):
            h = int(rng.integers(256, height + 1))
            w = int(rng.integers(256, width + 1))
            y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            assert marking.read(np.ascontiguousarray(picture[y:y + h, x:x + w])) is None
            checked += 1
    for _ in range(40):
        noise = rng.integers(0, 256, (288, 352, 3), dtype=np.uint8)
        assert marking.read(noise) is None
        checked += 1
    for value in (0, 128, 255):
        assert marking.read(np.full((256, 256, 3), value, np.uint8)) is None
    assert checked == 360


def test_another_mark_reads_as_itself(picture):
    other = Mark(0xFFFFFF, 0xFFFF)
    assert marking.read(marking.embed(picture, other)) == other
    assert marking.read(marking.embed(marking.embed(picture, MARK), other)) == other


def test_the_crc_rejects_every_one_and_two_bit_error():
    bits = marking.to_bits(MARK)
    assert len(bits) == marking.BITS == 56
    assert marking.from_bits(bits) == MARK
    for flips in itertools.chain(itertools.combinations(range(56), 1),
                                 itertools.combinations(range(56), 2)):
        damaged = bits.copy()
        damaged[list(flips)] ^= 1
        assert marking.from_bits(damaged) is None, flips
    assert marking.from_bits(np.zeros(56, np.uint8)) is None
    assert marking.from_bits(np.ones(56, np.uint8)) is None


def test_marks_and_tags_stay_in_their_bits():
    assert marking.project_tag("a") == marking.project_tag("a") != marking.project_tag("b")
    assert 0 <= marking.project_tag("9f1c2b7e") < 1 << 24
    assert MARK.text == f"{MARK.project_tag:06x}-0007"
    with pytest.raises(ValueError, match="16 bits"):
        Mark(0, 1 << 16)
    with pytest.raises(ValueError, match="24 bits"):
        Mark(1 << 24, 0)


def test_frames_too_small_for_the_mark_are_refused_with_the_minimum():
    assert marking.can_mark(256, 256) and marking.can_mark(4096, 16)
    assert not marking.can_mark(255, 256) and not marking.can_mark(640, 96)
    with pytest.raises(MarkingError, match="65,536 pixels"):
        marking.embed(np.zeros((200, 300, 3), np.uint8), MARK)
    with pytest.raises(ValueError, match="RGB uint8"):
        marking.embed(np.zeros((512, 512), np.uint8), MARK)


# --- metadata ------------------------------------------------------------------------------

def test_mp4_keeps_every_key_only_with_the_mp4_options(tmp_path, picture):
    frames = [picture] * 2
    fields = marking.video_metadata(PROVENANCE)
    full = marking.read_video_metadata(encode(tmp_path / "full.mp4", frames, metadata=fields,
                                              options=marking.mp4_options()))
    assert {key: full[key] for key in fields} == fields
    assert full["swapdeck_project"] == "proj ☃" and full["synthetic"] == "yes"
    plain = marking.read_video_metadata(encode(tmp_path / "plain.mp4", frames, metadata=fields))
    assert plain["comment"] == marking.SYNTHETIC_NOTE and "synthetic" not in plain
    mkv = marking.read_video_metadata(encode(tmp_path / "out.mkv", frames, metadata=fields))
    assert {key: mkv[key] for key in fields} == fields


def test_png_text_is_written_and_verified(tmp_path, marked):
    path = tmp_path / "still.png"
    marking.save_png(path, marked, marking.png_text(PROVENANCE))
    report = verify(path)
    assert report.kind == "png" and report.marked_by_metadata and report.marked_by_watermark
    assert report.metadata["swapdeck_mark"] == MARK.text == report.mark.text
    assert report.metadata["swapdeck_created"] == "2027-01-15T08:00:00Z"
    assert report.verdict.startswith("marked as synthetic: swapdeck metadata and watermark")


# --- verify --------------------------------------------------------------------------------

def test_verify_a_marked_video_with_its_metadata(tmp_path, picture, capsys):
    frames = [marking.embed(frame, MARK) for frame in drifting(picture, 6)]
    path = encode(tmp_path / "out.mp4", frames, metadata=marking.video_metadata(PROVENANCE),
                  options=marking.mp4_options())
    report = verify(path, max_frames=4)
    assert (report.kind, report.frames_checked, report.frames_read) == ("video", 4, 4)
    assert report.mark == MARK and report.mark_frames == 4 and report.marked
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "marked as synthetic" in out and "session: a-to-b" in out and MARK.text in out
    assert main([str(path), "--json", "--max-frames", "2"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["schema"] == "swapdeck.verify/1" and answer["frames_checked"] == 2
    assert answer["mark"]["text"] == MARK.text and answer["marked_by_watermark"]


def test_verify_reads_the_watermark_when_the_metadata_is_gone(tmp_path, picture):
    frames = [marking.embed(frame, MARK) for frame in drifting(picture, 3)]
    report = verify(encode(tmp_path / "stripped.mp4", frames))
    assert not report.marked_by_metadata and report.marked_by_watermark
    assert "no swapdeck metadata" in report.verdict
    assert main([str(tmp_path / "stripped.mp4")]) == 0


def test_verify_says_when_only_the_metadata_marks_a_video(tmp_path, picture):
    path = encode(tmp_path / "meta.mp4", drifting(picture, 3),
                  metadata=marking.video_metadata(PROVENANCE))   # no options: comment only
    report = verify(path)
    assert report.marked_by_metadata and report.mark is None and report.frames_checked == 3
    assert report.verdict.startswith("marked as synthetic by its metadata; no watermark")
    assert main([str(path)]) == 0


def test_verify_an_unmarked_video_exits_1(tmp_path, picture, capsys):
    path = encode(tmp_path / "clean.mp4", drifting(picture, 3),
                  metadata={"comment": "holiday", "synthetic": "yes"})   # not swapdeck's
    assert main([str(path)]) == 1
    assert "no swapdeck mark found" in capsys.readouterr().out


def test_verify_samples_long_videos_by_seeking(tmp_path, picture):
    frames = [marking.embed(frame, MARK) for frame in drifting(picture[:256, :256], 40)]
    path = encode(tmp_path / "long.mkv", frames, gop=10)
    report = verify(path, max_frames=3)   # 40 frames > 10 x 3: seeks, landing on keyframes
    assert report.frames_checked == 3 and report.mark_frames == 3


def test_verify_a_png_folder_and_a_turned_picture(tmp_path, picture, marked):
    folder = tmp_path / "seq"
    folder.mkdir()
    for index, frame in enumerate(drifting(picture, 5)):
        marking.save_png(folder / f"frame_{index:06d}.png", marking.embed(frame, MARK),
                         marking.png_text(PROVENANCE))
    report = verify(folder, max_frames=3)
    assert report.kind == "png-folder" and report.frames_checked == 3 and report.mark == MARK
    assert report.marked_by_metadata
    Image.fromarray(np.rot90(marked)).save(tmp_path / "turned.png")
    turned = verify(tmp_path / "turned.png")
    assert turned.mark == MARK and not turned.marked_by_metadata


def test_verify_adds_up_the_votes_of_frames_too_noisy_to_read_alone(tmp_path, picture):
    rng = np.random.default_rng(3)
    folder = tmp_path / "noisy"
    folder.mkdir()
    for index, frame in enumerate(drifting(picture[128:384, 128:384], 12)):
        noisy = marking.embed(frame, MARK) + rng.normal(0, 26, frame.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(folder / f"{index}.png")
    report = verify(folder)
    assert report.frames_checked == 12 and report.frames_read == 0
    assert report.mark == MARK and report.pooled and report.marked_by_watermark
    assert "in the 12 frames read together (0 alone)" in report.verdict


def test_verify_a_gif_with_the_writers_comment(tmp_path, picture):
    images = [Image.fromarray(marking.embed(frame, MARK)).quantize(
        256, method=Image.Quantize.FASTOCTREE) for frame in drifting(picture, 3)]
    comment = "\n".join(f"{key}: {value}" for key, value in
                        marking.png_text(PROVENANCE).items())
    images[0].save(tmp_path / "out.gif", save_all=True, append_images=images[1:],
                   comment=comment, duration=40, loop=0)
    report = verify(tmp_path / "out.gif")
    assert report.kind == "gif" and report.metadata["swapdeck_session"] == "a-to-b"
    assert report.marked_by_metadata and report.mark == MARK and report.mark_frames == 3


def test_verify_frames_too_small_for_the_watermark(tmp_path):
    path = encode(tmp_path / "small.mp4", [np.full((128, 128, 3), 90, np.uint8)] * 2)
    report = verify(path)
    assert report.too_small and report.frames_checked == 0 and not report.marked
    assert "too small" in report.verdict


def test_verify_errors_exit_2_with_one_line(tmp_path, capsys):
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "empty").mkdir()
    for name in ("missing.mp4", "notes.mp4", "broken.png", "empty"):
        with pytest.raises(VerifyError):
            verify(tmp_path / name)
        assert main([str(tmp_path / name)]) == 2
        error = capsys.readouterr().err
        assert error.startswith("swapdeck verify: ") and error.count("\n") == 1, error
    assert main([str(tmp_path / "missing.mp4"), "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert answer["schema"] == "swapdeck.verify/1" and "does not exist" in answer["error"]
