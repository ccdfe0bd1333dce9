"""The output writers: timing, audio, sizes and formats survive; failures leave nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from skimage import data

from pipeline.atomic_files import remove_stale_temps
from pipeline.convert.writers import (Timing, Writer, WriterError, WriterSettings,
                                      open_writer, source_timing)
from pipeline.extract.frames import upright
from tests.media import write_video

REPO = Path(__file__).resolve().parents[3]
ASTRONAUT = data.astronaut()
VFR_STEPS = [10, 10, 20, 5]   # in 1/250 s: 40, 40, 80 and 20 ms


def _frames(path: Path) -> list[tuple[np.ndarray, int, int]]:
    with av.open(str(path)) as container:
        return [(f.to_ndarray(format="rgb24"), f.pts, f.duration)
                for f in container.decode(video=0)]


def _convert(source: Path, final: Path, settings: WriterSettings) -> Writer:
    """Decode `source` and write its frames unchanged, as the converter would."""
    frames = _frames(source)
    height, width = frames[0][0].shape[:2]
    with open_writer(final, settings, width=width, height=height,
                     timing=source_timing(source), source=source,
                     metadata={"comment": "synthetic"}, png_text={}) as writer:
        for image, pts, duration in frames:
            writer.write(image, pts, duration)
        writer.finish()
        return writer


def _video_facts(path: Path) -> dict:
    """Frame times and stream durations in seconds, and what the audio holds; every
    stream is decoded whole (PyAV raises on a decoding error)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        facts = {"times": [f.pts * video.time_base for f in frames],
                 "duration": video.duration * video.time_base,
                 "rotation": frames[0].rotation, "metadata": dict(container.metadata),
                 "audio_packets": 0, "audio_samples": 0}
        if not container.streams.audio:
            return facts
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        facts["audio_packets"] = sum(1 for packet in container.demux(audio) if packet.size)
    with av.open(str(path)) as container:
        facts["audio_samples"] = sum(frame.samples for frame in container.decode(audio=0))
    return facts


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    return {
        "cfr": write_video(folder / "cfr.mp4", 40, audio=True),
        "vfr": write_video(folder / "vfr.mp4", 40, pts_steps=VFR_STEPS, audio=True),
        "mute": write_video(folder / "mute.mp4", 10),
        "rotated": write_video(folder / "rotated.mp4", 5, rotation=90),
    }


def test_video_keeps_frames_duration_audio_and_metadata(clips: dict[str, Path],
                                                        tmp_path: Path) -> None:
    source = clips["cfr"]
    writer = _convert(source, tmp_path / "out.mp4",
                      WriterSettings("video", preset="ultrafast",
                                     container_options={"movflags": "+use_metadata_tags"}))
    assert writer.audio_copied
    assert _listing(tmp_path) == ["out.mp4"]
    expected, got = _video_facts(source), _video_facts(tmp_path / "out.mp4")
    assert len(got["times"]) == 40
    for key in ("times", "duration", "audio_packets", "audio_samples"):
        assert got[key] == expected[key], key
    assert got["metadata"]["comment"] == "synthetic"


def test_audio_is_interleaved_with_the_video(tmp_path: Path) -> None:
    """Past libavformat's 10 s interleaving buffer, audio muxed after the video would sit
    seconds behind it in the file: players reading front to back would stall."""
    source = write_video(tmp_path / "long.mp4", 300, size=32, audio=True)   # 12 s
    _convert(source, tmp_path / "out.mkv", WriterSettings("video", preset="ultrafast"))
    lag = latest = Fraction(0)
    with av.open(str(tmp_path / "out.mkv")) as container:
        kinds = {s.type for s in container.streams}
        for packet in container.demux():
            if packet.size:
                time = packet.pts * packet.time_base
                latest = max(latest, time)
                lag = max(lag, latest - time)
    assert kinds == {"video", "audio"}
    assert lag < Fraction(1, 2)


def test_variable_frame_rate_keeps_every_pts_and_the_duration(clips: dict[str, Path],
                                                              tmp_path: Path) -> None:
    source = clips["vfr"]
    # medium uses B-frames: packets leave the encoder out of order
    _convert(source, tmp_path / "vfr.mp4", WriterSettings("video", preset="medium"))
    expected, got = _video_facts(source), _video_facts(tmp_path / "vfr.mp4")
    assert len(set(np.diff(got["times"]))) == 3   # 40, 80 and 20 ms apart
    assert got["times"] == expected["times"]
    assert got["duration"] == expected["duration"]
    assert got["audio_samples"] == expected["audio_samples"]


@pytest.mark.parametrize(("codec", "width", "height", "pix_fmt"), [
    ("h264", 128, 96, "yuv420p"), ("h264", 127, 95, "yuv444p"),
    ("h265", 128, 96, "yuv420p"), ("h265", 64, 49, "yuv444p"),
])
def test_codecs_and_odd_sizes_decode_at_the_same_size_and_colours(
        tmp_path: Path, codec: str, width: int, height: int, pix_fmt: str) -> None:
    picture = np.empty((height, width, 3), np.uint8)   # saturated colours in quadrants
    picture[: height // 2, : width // 2] = 220, 30, 30
    picture[: height // 2, width // 2:] = 30, 200, 40
    picture[height // 2:, : width // 2] = 30, 40, 220
    picture[height // 2:, width // 2:] = 230, 200, 40
    timing = Timing(Fraction(1, 25), Fraction(25), 0)
    with open_writer(tmp_path / "out.mp4", WriterSettings("video", codec, preset="ultrafast"),
                     width=width, height=height, timing=timing, source=None, metadata={},
                     png_text={}) as writer:
        for _ in range(3):
            writer.write(picture, None)
        writer.finish()
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == {"h264": "h264", "h265": "hevc"}[codec]
        assert stream.codec_context.codec_tag == {"h264": "avc1", "h265": "hvc1"}[codec]
        frames = list(container.decode(stream))
    assert len(frames) == 3
    assert (frames[0].width, frames[0].height, frames[0].format.name) == (width, height, pix_fmt)
    difference = np.abs(frames[1].to_ndarray(format="rgb24").astype(int) - picture)
    assert difference.mean() < 4   # BT.709 both ways; BT.601 tagged as 709 is off by ~10


def test_rotation_is_copied(clips: dict[str, Path], tmp_path: Path) -> None:
    source = clips["rotated"]
    assert source_timing(source).rotation == 90
    _convert(source, tmp_path / "out.mp4", WriterSettings("video", preset="ultrafast"))
    assert _video_facts(tmp_path / "out.mp4")["rotation"] == 90


def test_a_source_without_audio_gives_a_video_without_audio(clips: dict[str, Path],
                                                            tmp_path: Path) -> None:
    writer = _convert(clips["mute"], tmp_path / "out.mkv", WriterSettings("video",
                                                                          preset="ultrafast"))
    assert not writer.audio_copied
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert [s.type for s in container.streams] == ["video"]


def test_part_of_a_video_starts_at_zero_with_its_audio(clips: dict[str, Path],
                                                       tmp_path: Path) -> None:
    source = clips["cfr"]
    frames = _frames(source)[10:30]   # 0.4 s to 1.2 s
    with open_writer(tmp_path / "part.mp4", WriterSettings("video", preset="ultrafast"),
                     width=64, height=64, timing=source_timing(source), source=source,
                     metadata={}, png_text={}) as writer:
        for image, pts, _ in frames:
            writer.write(image, pts)
        writer.finish(audio_range=(0.4, 1.2))
    got = _video_facts(tmp_path / "part.mp4")
    assert got["times"] == [Fraction(index, 25) for index in range(20)]
    assert got["duration"] == Fraction(20, 25)
    assert abs(got["audio_samples"] - 0.8 * 48_000) <= 1024   # one AAC packet


def test_a_whole_video_keeps_the_source_times_and_all_its_audio(tmp_path: Path) -> None:
    # the picture starts 0.4 s after the sound, as in short_hamilton_clip.mp4
    source = write_video(tmp_path / "late.mp4", 25, pts_steps=[10], start_pts=100, audio=True)
    kept = _convert(source, tmp_path / "kept.mp4",
                    WriterSettings("video", preset="ultrafast", source_times=True)).final
    shifted = _convert(source, tmp_path / "shifted.mp4",
                       WriterSettings("video", preset="ultrafast")).final
    original = _video_facts(source)
    assert original["times"][0] == Fraction(2, 5)
    assert _video_facts(kept)["times"] == original["times"]
    assert _video_facts(kept)["audio_samples"] == original["audio_samples"]
    assert _video_facts(shifted)["times"][0] == 0


def test_audio_that_the_container_cannot_hold_is_refused(tmp_path: Path) -> None:
    source = write_video(tmp_path / "u8.mkv", 5, audio=True, audio_codec="pcm_u8")
    with pytest.raises(WriterError, match="pcm_u8 audio cannot go into a .mp4 file"):
        _convert(source, tmp_path / "out.mp4", WriterSettings("video", preset="ultrafast"))
    assert _listing(tmp_path) == ["u8.mkv"]
    _convert(source, tmp_path / "out.mkv", WriterSettings("video", preset="ultrafast"))
    assert _video_facts(tmp_path / "out.mkv")["audio_samples"] == 5 * 48_000 // 25


def test_a_missing_or_changed_source_fails_cleanly(clips: dict[str, Path],
                                                   tmp_path: Path) -> None:
    with pytest.raises(WriterError, match="missing"):
        source_timing(tmp_path / "gone.mp4")
    settings = WriterSettings("video", preset="ultrafast")
    timing = source_timing(clips["cfr"])
    with pytest.raises(WriterError, match="missing"):
        open_writer(tmp_path / "out.mp4", settings, width=64, height=64, timing=timing,
                    source=tmp_path / "gone.mp4", metadata={}, png_text={})
    source = tmp_path / "source.mp4"
    for damage, message in ((lambda: source.write_bytes(source.read_bytes() + b"\0"), "changed"),
                            (source.unlink, "missing")):
        source.write_bytes(clips["cfr"].read_bytes())
        writer = open_writer(tmp_path / "out.mp4", settings, width=64, height=64,
                             timing=timing, source=source, metadata={}, png_text={})
        writer.write(np.zeros((64, 64, 3), np.uint8), 0)
        damage()
        with pytest.raises(WriterError, match=message):
            writer.finish()
        assert "out.mp4" not in _listing(tmp_path)
        assert not [name for name in _listing(tmp_path) if ".swapdeck-" in name]


def test_png_sequence_has_the_frames_and_the_text_chunks(tmp_path: Path) -> None:
    final = tmp_path / "frames"
    timing = Timing(Fraction(1, 25), Fraction(25), 90)
    pictures = [np.ascontiguousarray(ASTRONAUT[:48, :64] // (index + 1)) for index in range(3)]
    for count in (3, 2):   # a second run replaces the first one whole
        with open_writer(final, WriterSettings("png"), width=64, height=48, timing=timing,
                         source=None, metadata={}, png_text={"Description": "synthetic"}) as w:
            for picture in pictures[:count]:
                w.write(picture, None)
            assert w.finish() == final
    assert _listing(tmp_path) == ["frames"]
    assert _listing(final) == ["frame_000000.png", "frame_000001.png"]
    with Image.open(final / "frame_000001.png") as image:
        assert image.text == {"Description": "synthetic"}
        assert np.array_equal(np.asarray(image), upright(pictures[1], 90))


def test_gif_has_the_frames_durations_loop_and_comment(tmp_path: Path) -> None:
    timing = Timing(Fraction(1, 250), Fraction(25), 0)
    pictures = [np.ascontiguousarray(np.roll(ASTRONAUT[:64, 160:240], index * 4, axis=1))
                for index in range(8)]
    with open_writer(tmp_path / "out.gif", WriterSettings("gif"), width=80, height=64,
                     timing=timing, source=None, metadata={"comment": "synthetic"},
                     png_text={"swapdeck": "project 1"}) as writer:
        pts = 0
        for index, picture in enumerate(pictures):
            step = VFR_STEPS[index % 4]
            writer.write(picture, pts, duration=step)
            pts += step
        writer.finish()
    with Image.open(tmp_path / "out.gif") as image:
        assert image.info["loop"] == 0
        assert image.info["comment"] == b"comment: synthetic\nswapdeck: project 1"
        assert image.n_frames == 8
        durations = []
        for index in range(8):
            image.seek(index)
            durations.append(image.info["duration"])
            if index == 0:
                error = np.abs(np.asarray(image.convert("RGB")).astype(int) - pictures[0])
                assert error.mean() < 6
    assert durations == [40, 40, 80, 20] * 2


@pytest.mark.parametrize(("kind", "name"), [("video", "out.mp4"), ("png", "out"),
                                            ("gif", "out.gif")])
def test_an_exception_or_no_finish_leaves_nothing(tmp_path: Path, kind: str, name: str) -> None:
    timing = Timing(Fraction(1, 25), Fraction(25), 0)

    def writer() -> Writer:
        return open_writer(tmp_path / name, WriterSettings(kind, preset="ultrafast"),
                           width=32, height=32, timing=timing, source=None, metadata={},
                           png_text={})

    with pytest.raises(KeyboardInterrupt):
        with writer() as w:
            w.write(np.zeros((32, 32, 3), np.uint8), None)
            assert len(_listing(tmp_path)) == 1 and ".swapdeck-" in _listing(tmp_path)[0]
            raise KeyboardInterrupt
    with writer() as w:
        w.write(np.zeros((32, 32, 3), np.uint8), None)
    with pytest.raises(WriterError, match="no frames"):
        writer().finish()
    assert _listing(tmp_path) == []


def test_stale_partials_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".out.partial-{dead}-ab12.mp4").write_bytes(b"half")
    (tmp_path / f".seq.partial-{dead}-cd34").mkdir()
    mine = tmp_path / f".out.partial-{os.getpid()}-ef56.mp4"
    mine.write_bytes(b"being written")
    (tmp_path / "out.mp4").write_bytes(b"done")
    remove_stale_temps(tmp_path)
    assert _listing(tmp_path) == [mine.name, "out.mp4"]


def test_bad_settings_say_what_to_use() -> None:
    with pytest.raises(WriterError, match="CRF 60 is out of range"):
        WriterSettings("video", crf=60)
    with pytest.raises(WriterError, match="unknown output format"):
        WriterSettings("webm")


FULL_DISK = """
import json, resource, signal, sys
from fractions import Fraction
from pathlib import Path
import av
import numpy as np
from pipeline.convert.writers import (Timing, WriterError, WriterSettings, open_writer,
                                      source_timing)

folder, source = Path(sys.argv[1]), Path(sys.argv[2])
with av.open(str(source)) as container:   # flat frames: a small video, 10 s of audio
    flat = [(f.to_ndarray(format="rgb24"), f.pts) for f in container.decode(video=0)]
noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), np.uint8)
noisy = [(np.roll(noise, index, axis=0), None) for index in range(50)]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
results = {}
for kind, name, frames, timing in (
        ("video", "out.mp4", noisy, Timing(Fraction(1, 25), Fraction(25), 0)),
        ("png", "frames", noisy, Timing(Fraction(1, 25), Fraction(25), 0)),
        ("gif", "out.gif", noisy, Timing(Fraction(1, 25), Fraction(25), 0)),
        ("video", "audio.mp4", flat, source_timing(source))):   # fails remuxing the audio
    height, width = frames[0][0].shape[:2]
    writer = open_writer(folder / name, WriterSettings(kind, crf=0, preset="ultrafast"),
                         width=width, height=height, timing=timing, source=source,
                         metadata={}, png_text={})
    stage = "write"
    try:
        for frame, pts in frames:
            writer.write(frame, pts)
        stage = "finish"
        writer.finish()
        results[name] = [stage, "no error"]
    except WriterError as exc:
        results[name] = [stage, str(exc)]
print(json.dumps(results))
"""


def test_a_full_disk_fails_cleanly(tmp_path: Path) -> None:
    source = write_video(tmp_path / "tone.mp4", 250, size=16, audio=True)
    folder = tmp_path / "outputs"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(folder), str(source)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["audio.mp4"][0] == "finish"   # the video alone fitted
    for name in ("out.mp4", "frames", "out.gif", "audio.mp4"):
        message = results[name][1]
        assert message.startswith(f"disk full while writing {folder / name} "
                                  "(File too large): "), message
        assert "free there" in message
    assert _listing(folder) == []
