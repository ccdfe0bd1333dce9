"""Write converted frames as a video (with the source's timing and audio), a PNG sequence or
an animated GIF.

Everything is written under a temporary name beside the final one
(`.out.mp4.swapdeck-<pid>-<hex>.mp4`, a folder for a PNG sequence), synced, and moved onto the
final name only by `finish()`: an error, a cancel or a kill never leaves half an output under
the final name. Frames come in the source's stored orientation with the source's pts; the
output starts at the first frame written (its pts becomes 0, and the audio moves with it).
The video copies the display rotation; the images have it applied to their pixels (PNG and
GIF have no rotation flag that viewers honour).
"""
from __future__ import annotations

import heapq
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from PIL import GifImagePlugin, Image, PngImagePlugin

from pipeline.atomic_files import DISK_FULL, sync_path
from pipeline.extract.frames import upright
from store.files.temp_names import temp_path

FORMATS = ("video", "png", "gif")
VIDEO_CODECS = {"h264": "libx264", "h265": "libx265"}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
           "veryslow", "placebo")


class WriterError(Exception):
    """The output cannot be written for a reason a person can act on; one line."""


@dataclass(frozen=True)
class Timing:
    """Timing of the source's video stream; pts given to `Writer.write` count in `time_base`."""
    time_base: Fraction
    rate: Fraction | None   # average rate: spaces frames that come without pts
    rotation: int           # display rotation (degrees, as ffmpeg's display matrix says)


@dataclass(frozen=True)
class WriterSettings:
    format: str                 # "video" | "png" | "gif"
    codec: str = "h264"         # "h264" | "h265" (video only)
    crf: int = 18               # 0..51, lower is better and larger
    preset: str = "medium"      # x264/x265 speed preset
    audio: bool = True          # copy the source's audio (video only)
    container_options: Mapping[str, str] = field(default_factory=dict)  # muxer options
    # video: keep the source's timestamps (a whole video: it starts, and its audio too,
    # where the source's did), instead of starting at the first frame written
    source_times: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise WriterError(f"unknown output format {self.format!r}; use one of {FORMATS}")
        if self.codec not in VIDEO_CODECS:
            raise WriterError(f"unknown video codec {self.codec!r}; use h264 or h265")
        if not 0 <= self.crf <= 51:
            raise WriterError(f"CRF {self.crf} is out of range; use 0 (lossless) to 51")
        if self.preset not in PRESETS:
            raise WriterError(f"unknown preset {self.preset!r}; use one of {', '.join(PRESETS)}")


def source_timing(path: Path) -> Timing:
    """Time base, average rate and display rotation of the first video stream of `path`."""
    container = _open_source(path)
    with container:
        if not container.streams.video:
            raise WriterError(f"no video stream in {path}")
        stream = container.streams.video[0]
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = int(frame.rotation or 0) % 360
                break
        except av.error.FFmpegError as exc:
            raise WriterError(f"cannot decode {path}: {_reason(exc)}") from exc
        return Timing(stream.time_base, stream.average_rate or stream.guessed_rate, rotation)


def open_writer(final: Path, settings: WriterSettings, *, width: int, height: int,
                timing: Timing, source: Path | None, metadata: Mapping[str, str],
                png_text: Mapping[str, str]) -> Writer:
    """A writer for frames of `width` x `height` (stored orientation) that ends as `final`.

    `metadata` goes into the video container's tags; `png_text` into every PNG's text chunks;
    both together become the GIF's comment.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriterError(f"cannot create the folder of {final}: {_reason(exc)}") from exc
    temp = temp_path(final, final.suffix)
    if settings.format == "png":
        return PngSequenceWriter(final, temp, width, height, timing, png_text)
    if settings.format == "gif":
        comment = "\n".join(f"{key}: {value}" for key, value in {**metadata, **png_text}.items())
        return GifWriter(final, temp, width, height, timing, comment)
    return VideoWriter(final, temp, settings, width, height, timing, source, metadata)


class _Clock:
    """The pts of the frames written so far, and how long each one lasts."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None
        self.interval: int | None = None   # between the last two frames

    def next(self, pts: int | None) -> int:
        if pts is None:
            if not self.timing.rate:
                raise ValueError("a frame without pts needs the source's frame rate")
            pts = round(self.count / (self.timing.rate * self.timing.time_base))
        if self.last is not None:
            if pts <= self.last:
                raise ValueError(f"frame pts {pts} does not follow {self.last}")
            self.interval = pts - self.last
        else:
            self.first = pts
        self.last = pts
        self.count += 1
        return pts

    def last_duration(self, given: int | None) -> int | None:
        """How long the last frame lasts: as said, else as the one before it, else one
        frame at the average rate."""
        if given:
            return given
        if self.interval:
            return self.interval
        if self.timing.rate:
            return max(1, round(1 / (self.timing.rate * self.timing.time_base)))
        return None


class Writer(ABC):
    """Writes frames under a temporary path; `finish` moves the whole result into place.

    Use as a context manager: leaving the block without `finish()` (an exception, a cancel)
    removes the temporary output.
    """

    def __init__(self, final: Path, temp: Path, width: int, height: int, timing: Timing) -> None:
        self.final = final
        self.temp = temp
        self.width = width
        self.height = height
        self.clock = _Clock(timing)
        self.audio_copied = False
        self._done = False

    def write(self, frame: np.ndarray, pts: int | None, duration: int | None = None) -> None:
        """Add one RGB uint8 frame (HxWx3) at `pts` (source time base; None: the next one at
        the source's rate). `duration`, in the same units, only matters for the last frame:
        the others last until the next one starts."""
        if self._done:
            raise ValueError(f"the writer of {self.final} is already finished or aborted")
        if frame.dtype != np.uint8 or frame.shape != (self.height, self.width, 3):
            raise ValueError(f"expected a {self.height}x{self.width}x3 uint8 frame, "
                             f"got {frame.shape} {frame.dtype}")
        pts = self.clock.next(pts)
        with self._failures():
            self._write(frame, pts, duration)

    def finish(self, audio_range: tuple[float, float] | None = None) -> Path:
        """Complete the output, sync it and move it onto the final name; returns that name."""
        if self._done:
            raise ValueError(f"the writer of {self.final} is already finished or aborted")
        if self.clock.count == 0:
            self.abort()
            raise WriterError(f"no frames were written to {self.final}")
        with self._failures():
            self._complete(audio_range)
            _replace(self.temp, self.final)
        self._done = True
        return self.final

    def abort(self) -> None:
        """Drop the temporary output; does nothing once finished or aborted."""
        if self._done:
            return
        self._done = True
        self._close_quietly()
        _remove(self.temp)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Turn a failed write into a WriterError; any failure removes the temporary output."""
        try:
            yield
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError) and exc.errno in DISK_FULL:
                raise WriterError(_disk_full(self.final, exc)) from exc
            if isinstance(exc, (OSError, av.error.FFmpegError)):
                raise WriterError(f"cannot write {self.final}: {_reason(exc)}") from exc
            raise

    @abstractmethod
    def _write(self, frame: np.ndarray, pts: int, duration: int | None) -> None:
        """Add a checked frame at its (source) pts."""

    @abstractmethod
    def _complete(self, audio_range: tuple[float, float] | None) -> None:
        """Write the rest of the output and sync it under the temporary name."""

    def _close_quietly(self) -> None:
        """Release open files after a failure; errors here are expected and ignored."""


class VideoWriter(Writer):
    """H.264/H.265 at a CRF, each frame at the source's pts in the source's time base (so a
    variable frame rate and the duration survive), BT.709 limited range, tagged.

    4:2:0 needs even sizes; an odd width or height is encoded as 4:4:4 instead (x264's High
    4:4:4 Predictive, x265's RExt profile), which both encoders accept at odd sizes and which
    decodes at the same size. Fewer hardware players decode 4:4:4; crop to even to avoid it.

    With audio, the video is encoded alone and `finish()` (only then is `audio_range` known)
    remuxes it with the source's audio packets, interleaved by time, into the output: the
    video is written twice (a copy at disk speed) and the disk must briefly hold it twice.
    """

    def __init__(self, final: Path, temp: Path, settings: WriterSettings, width: int,
                 height: int, timing: Timing, source: Path | None,
                 metadata: Mapping[str, str]) -> None:
        super().__init__(final, temp, width, height, timing)
        self.source = source
        self.settings = settings
        self.metadata = dict(metadata)
        self.muxed = temp.with_name(f"{temp.stem}-muxed{temp.suffix}")
        self._held: av.VideoFrame | None = None
        self._held_duration: int | None = None
        self._durations: dict[int, int] = {}   # by pts, of the frames inside the encoder
        self._audio: _SourceAudio | None = None
        self._source_stat: tuple[int, int] | None = None
        self.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        try:
            self.container = self._open_output(temp)
        except (av.error.FFmpegError, ValueError) as exc:
            _remove(temp)
            raise WriterError(f"cannot write a video named {final.name}: {_reason(exc)}; "
                              "use .mp4 or .mkv") from exc
        with self._failures():
            if VIDEO_CODECS[settings.codec] not in self.container.supported_codecs:
                raise WriterError(f"{settings.codec} video cannot go into a {final.suffix} "
                                  "file; use .mp4 or .mkv")
            if settings.audio and source is not None:
                self._audio = self._find_audio(source)
            self.stream = self._add_video(timing)
            self.container.start_encoding()

    def _open_output(self, path: Path) -> av.container.OutputContainer:
        container = av.open(str(path), "w",
                            container_options=dict(self.settings.container_options))
        container.metadata.update(self.metadata)
        return container

    def _add_video(self, timing: Timing) -> av.video.stream.VideoStream:
        stream = self.container.add_stream(VIDEO_CODECS[self.settings.codec], rate=timing.rate)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, self.pix_fmt
        stream.time_base = timing.time_base
        context = stream.codec_context
        context.time_base = timing.time_base
        context.colorspace = context.color_primaries = context.color_trc = 1   # BT.709
        context.color_range = 1                                                # limited
        options = {"crf": str(self.settings.crf), "preset": self.settings.preset}
        if self.settings.codec == "h265":
            options["x265-params"] = "log-level=error"
            self._tag_hevc(stream)
        stream.options = options
        if timing.rotation:
            stream.set_display_rotation(timing.rotation)
        return stream

    def _tag_hevc(self, stream: av.video.stream.VideoStream) -> None:
        if self.final.suffix.lower() in (".mp4", ".mov", ".m4v"):
            stream.codec_context.codec_tag = "hvc1"   # what Apple's players require for HEVC

    def _find_audio(self, source: Path) -> _SourceAudio | None:
        self._source_stat = _stat(source)
        with _open_source(source) as container:
            if not container.streams.audio:
                return None
            audio = container.streams.audio[0]
            name = audio.codec_context.name
            if name not in self.container.supported_codecs:
                raise WriterError(f"the source's {name} audio cannot go into a "
                                  f"{self.final.suffix} file; write .mkv or turn audio off")
            return _SourceAudio(audio.index, name, audio.time_base)

    def _origin(self) -> int:
        """The source pts that becomes the output's time 0."""
        assert self.clock.first is not None
        return 0 if self.settings.source_times else self.clock.first

    def _write(self, frame: np.ndarray, pts: int, duration: int | None) -> None:
        picture = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
            format=self.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")
        picture.pts = pts - self._origin()
        picture.time_base = self.clock.timing.time_base
        if self._held is not None:
            self._encode(self._held, picture.pts - self._held.pts)
        self._held, self._held_duration = picture, duration

    def _encode(self, picture: av.VideoFrame | None, duration: int | None = None) -> None:
        """Encode and mux; each packet gets its frame's duration (the encoder would say one
        frame at the average rate, which makes the last frame of a VFR video too long)."""
        if picture is not None and duration:
            self._durations[picture.pts] = duration
        for packet in self.stream.encode(picture):
            packet.duration = self._durations.pop(packet.pts, packet.duration)
            self.container.mux(packet)

    def _complete(self, audio_range: tuple[float, float] | None) -> None:
        self._encode(self._held, self.clock.last_duration(self._held_duration))
        self._held = None
        self._encode(None)
        self.container.close()
        if self._audio is not None:
            self._mux_audio(self._audio, audio_range)
            os.replace(self.muxed, self.temp)
        sync_path(self.temp)

    def _mux_audio(self, wanted: _SourceAudio, audio_range: tuple[float, float] | None) -> None:
        """Remux the encoded video and the source's audio packets (no re-encoding) into one
        file, in time order. The audio moves as the video did: by the first frame's time.
        With `audio_range` (source seconds) only the packets that start inside it: for part
        of a video, a range from its first frame's time."""
        assert self.source is not None and self.clock.first is not None
        changed = WriterError(f"the source {self.source} changed while converting; "
                              "convert again")
        if _stat(self.source) != self._source_stat:
            raise changed
        shift = round(self._origin() * self.clock.timing.time_base / wanted.time_base)
        start = end = None
        if audio_range is not None:
            start, end = (round(Fraction(t) / wanted.time_base) for t in audio_range)
        with (_open_source(self.source) as source, av.open(str(self.temp)) as video,
              self._open_output(self.muxed) as output):
            if len(source.streams) <= wanted.index:
                raise changed
            audio = source.streams[wanted.index]
            if audio.type != "audio" or audio.codec_context.name != wanted.codec:
                raise changed
            video_out = output.add_stream_from_template(video.streams.video[0])
            if self.settings.codec == "h265":
                self._tag_hevc(video_out)
            audio_out = output.add_stream_from_template(audio)

            def audio_packets() -> Iterator[av.Packet]:
                for packet in source.demux(audio):
                    if packet.pts is None or packet.size == 0:
                        continue
                    if start is not None and not start <= packet.pts < end:
                        continue
                    packet.pts -= shift
                    if packet.dts is not None:
                        packet.dts -= shift
                    packet.stream = audio_out
                    yield packet

            def video_packets() -> Iterator[av.Packet]:
                for packet in video.demux(video.streams.video[0]):
                    if packet.size:
                        packet.stream = video_out
                        yield packet

            try:
                for packet in heapq.merge(video_packets(), audio_packets(), key=_packet_time):
                    output.mux(packet)
                    self.audio_copied |= packet.stream is audio_out
            except av.error.InvalidDataError as exc:
                raise WriterError(f"cannot read the audio of {self.source}: "
                                  f"{_reason(exc)}") from exc

    def abort(self) -> None:
        if not self._done:
            _remove(self.muxed)
        super().abort()

    def _close_quietly(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the write already failed; the file is removed next
            pass


def _packet_time(packet: av.Packet) -> Fraction:
    return (packet.dts if packet.dts is not None else packet.pts) * packet.time_base


@dataclass(frozen=True)
class _SourceAudio:
    """The source's audio stream that the output copies."""
    index: int
    codec: str
    time_base: Fraction


class PngSequenceWriter(Writer):
    """A folder of `frame_000000.png`, `frame_000001.png`, ... numbered by the count of frames
    written (not by pts), each with the text chunks. Compression level 1: about the size of
    level 6 for photographic frames at a fraction of the time."""

    def __init__(self, final: Path, temp: Path, width: int, height: int, timing: Timing,
                 png_text: Mapping[str, str]) -> None:
        super().__init__(final, temp, width, height, timing)
        self.info = PngImagePlugin.PngInfo()
        for key, value in png_text.items():
            self.info.add_itxt(key, value)
        with self._failures():
            temp.mkdir()

    def _write(self, frame: np.ndarray, pts: int, duration: int | None) -> None:
        image = Image.fromarray(upright(frame, self.clock.timing.rotation))
        image.save(self.temp / f"frame_{self.clock.count - 1:06d}.png", pnginfo=self.info,
                   compress_level=1)

    def _complete(self, audio_range: tuple[float, float] | None) -> None:
        for path in self.temp.iterdir():
            sync_path(path)
        sync_path(self.temp)


class GifWriter(Writer):
    """An animated GIF that loops forever, written frame by frame (memory stays at one frame).

    Each frame is quantized to its own 256-colour palette (Pillow's fast octree). GIF counts
    time in 1/100 s: frame boundaries are rounded to that grid from the first pts, so the
    total duration stays right; a frame that would last 0 is dropped. Browsers show delays
    under 2/100 s as 10/100 s, so sources above 50 fps play slower there.
    """

    def __init__(self, final: Path, temp: Path, width: int, height: int, timing: Timing,
                 comment: str) -> None:
        super().__init__(final, temp, width, height, timing)
        self.comment = comment
        self._held: tuple[Image.Image, int, int | None] | None = None   # image, start, duration
        self._file: BinaryIO | None = None
        self._started = False
        with self._failures():
            self._file = open(temp, "xb")

    def _centiseconds(self, pts: int) -> int:
        assert self.clock.first is not None
        return round((pts - self.clock.first) * self.clock.timing.time_base * 100)

    def _write(self, frame: np.ndarray, pts: int, duration: int | None) -> None:
        image = Image.fromarray(upright(frame, self.clock.timing.rotation)).quantize(
            256, method=Image.Quantize.FASTOCTREE)
        if self._held is not None:
            self._emit(self._held[0], self._centiseconds(pts) - self._held[1])
        self._held = (image, self._centiseconds(pts), duration)

    def _emit(self, image: Image.Image, centiseconds: int) -> None:
        if centiseconds <= 0:
            return
        assert self._file is not None
        if not self._started:
            header, _ = GifImagePlugin.getheader(image, None, {"loop": 0, "comment": self.comment})
            self._file.write(b"".join(header))
            self._started = True
        for chunk in GifImagePlugin.getdata(image, include_color_table=True,
                                            duration=centiseconds * 10):
            self._file.write(chunk)

    def _complete(self, audio_range: tuple[float, float] | None) -> None:
        assert self._held is not None and self._file is not None and self.clock.last is not None
        last = self.clock.last_duration(self._held[2]) or 0
        end = max(self._centiseconds(self.clock.last + last), self._held[1] + 1)
        self._emit(self._held[0], end - self._held[1])
        self._file.write(b";")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def _close_quietly(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass


def _open_source(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except FileNotFoundError as exc:
        raise WriterError(f"the source {path} is missing; put it back or add it again") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise WriterError(f"cannot read the source {path}: {_reason(exc)}") from exc


def _stat(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except FileNotFoundError as exc:
        raise WriterError(f"the source {path} is missing; put it back or add it again") from exc
    return status.st_size, status.st_mtime_ns


def _replace(temp: Path, final: Path) -> None:
    """Move `temp` onto `final`; an existing folder there (an older PNG sequence) is moved
    aside first and removed after, since a rename cannot replace a non-empty folder."""
    aside = None
    if temp.is_dir() and final.is_dir() and not final.is_symlink():
        aside = final.with_name(f"{temp.name}-old")
        os.replace(final, aside)
    os.replace(temp, final)
    sync_path(final.parent)
    if aside is not None:
        _remove(aside)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _disk_full(final: Path, exc: OSError) -> str:
    try:
        free = shutil.disk_usage(final.parent).free
    except OSError:
        return f"disk full while writing {final} ({_reason(exc)}); free some space"
    return (f"disk full while writing {final} ({_reason(exc)}): {free / 1e9:.1f} GB "
            "free there; free some space or write to another disk")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
