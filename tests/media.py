"""Media the tests make themselves: synthetic videos and images with known facts."""
from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def write_video(path: Path, frames: int, *, size: int = 64, rate: int = 25,
                pts_steps: Sequence[int] | None = None, rotation: int | None = None,
                picture: np.ndarray | None = None,
                pictures: Callable[[int], np.ndarray] | None = None, audio: bool = False,
                audio_codec: str = "aac", start_pts: int = 0) -> Path:
    """An H.264 video of `frames` flat grey frames, or of `picture` (square RGB) repeated, or
    of `pictures(index)` (square RGB, all one size);
    `pts_steps` gives irregular timing (VFR) from `start_pts` (a video that starts after its
    audio when that is above 0), `rotation` a display rotation, `audio` a tone
    (48 kHz stereo, `audio_codec`) as long as the video, interleaved with it."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        tone = _Tone(container, audio_codec) if audio else None
        if pictures is None and picture is not None:
            pictures = lambda index: picture  # noqa: E731 - the same picture every time
        if pictures is not None:
            size = pictures(0).shape[0]
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "bf": "0"}
        time_base = Fraction(1, rate * 10)
        if pts_steps is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        pixels = np.zeros((size, size, 3), np.uint8)
        pts = start_pts
        for index in range(frames):
            pixels[:] = index % 250
            frame = av.VideoFrame.from_ndarray(pictures(index) if pictures is not None
                                               else pixels, format="rgb24")
            if pts_steps is not None:
                frame.pts = pts
                frame.time_base = time_base
                pts += pts_steps[index % len(pts_steps)]
            for packet in stream.encode(frame):
                container.mux(packet)
            if tone is not None:
                tone.until(pts * time_base if pts_steps is not None else Fraction(index + 1, rate))
        for packet in stream.encode():
            container.mux(packet)
        if tone is not None:
            tone.close()
    return path


class _Tone:
    """A 440 Hz tone written in 1024-sample frames (PyAV regroups them to the encoder's
    frame size) up to the time asked for."""

    RATE = 48_000
    SAMPLES = 1024

    def __init__(self, container: av.container.OutputContainer, codec: str) -> None:
        self._container = container
        self._stream = container.add_stream(codec, rate=self.RATE, layout="stereo")
        self._written = 0

    def until(self, seconds: Fraction) -> None:
        end = int(seconds * self.RATE)
        while self._written < end:
            count = min(self.SAMPLES, end - self._written)
            times = (self._written + np.arange(count)) / self.RATE
            wave = (0.2 * np.sin(2 * np.pi * 440 * times)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp",
                                               layout="stereo")
            frame.sample_rate = self.RATE
            frame.pts = self._written
            frame.time_base = Fraction(1, self.RATE)
            self._mux(self._stream.encode(frame))
            self._written += count

    def close(self) -> None:
        self._mux(self._stream.encode())

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self._container.mux(packet)


def write_image(path: Path, seed: int, size: int = 8, noise: bool = False) -> Path:
    """An image whose content (and so hash) differs by `seed`; `noise` makes it
    incompressible, so reading and hashing it is real work."""
    if noise:
        pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)
    else:
        pixels = np.full((size, size, 3), seed % 256, np.uint8)
        pixels[0, 0] = (seed // 256) % 256, seed % 7, 3
    Image.fromarray(pixels).save(path)
    return path


def write_flat_png(path: Path, width: int, height: int) -> Path:
    """A black 1-bit PNG of any size, written row by row: 30000x30000 is ~100 KB on disk and
    900 Mpx decoded (a decompression bomb), and takes a second to make."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = bytes(1 + (width + 7) // 8)   # filter byte 0, then the packed bits
    packer = zlib.compressobj(9)
    rows_per_block = 1000
    whole, rest = divmod(height, rows_per_block)
    data = b"".join([*(packer.compress(row * rows_per_block) for _ in range(whole)),
                     packer.compress(row * rest), packer.flush()])
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path
