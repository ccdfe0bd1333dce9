"""How often the watermark is read back: on the marked frames, after the converter's H.264
encode (CRF 18, through the real video writer) and after re-encoding that file at CRF 28 and
35 (YUV frames straight into libx264, as `ffmpeg -crf N` would). swapdeck's own method
(pipeline/convert/marking.py) against invisible-watermark's dwtDct and dwtDctSvd carrying
the same 56-bit word (mark + CRC-16). A frame counts when the exact mark is read. For ours,
"file" says whether `verify` on the whole file finds the exact mark (it also adds up the
votes of all frames, which reads where single frames no longer do).

    .venv/bin/python benchmarks/watermark_readback.py [--frames N] [--methods ours,dwtDct,...]

Sources: WDA_KatieHill_000.mp4 and WDA_AlexandriaOcasioCortez_000.mp4 from
../shared/testdata/videos (skipped when missing), and scikit-image's astronaut drifting
sideways 2 px a frame. Needs `pip install invisible-watermark` for the two baselines.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage.data import astronaut

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.convert import marking  # noqa: E402
from pipeline.convert.verify import verify  # noqa: E402
from pipeline.convert.writers import Timing, WriterSettings, open_writer  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos"
CLIPS = ("WDA_KatieHill_000.mp4", "WDA_AlexandriaOcasioCortez_000.mp4")
MARK = marking.Mark(marking.project_tag("benchmark"), 42)
RATE = 25

Embed = Callable[[np.ndarray], np.ndarray]
Read = Callable[[np.ndarray], "marking.Mark | None"]


def ours() -> tuple[Embed, Read]:
    return (lambda frame: marking.embed(frame, MARK)), marking.read


def package(method: str) -> tuple[Embed, Read]:
    """invisible-watermark with its default strength, on BGR as it expects."""
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    bits = [int(b) for b in marking.to_bits(MARK)]
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", bits)
    decoder = WatermarkDecoder("bits", len(bits))

    def embed(frame: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(encoder.encode(frame[:, :, ::-1].copy(), method)[:, :, ::-1])

    def read(frame: np.ndarray) -> marking.Mark | None:
        found = decoder.decode(frame[:, :, ::-1].copy(), method)
        return marking.from_bits(np.asarray(found, dtype=bool))

    return embed, read


METHODS = {"ours": ours, "dwtDct": lambda: package("dwtDct"),
           "dwtDctSvd": lambda: package("dwtDctSvd")}


def clip_frames(path: Path, count: int) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


def drifting_astronaut(count: int) -> list[np.ndarray]:
    picture = astronaut()
    return [np.ascontiguousarray(np.roll(picture, 2 * i, axis=1)) for i in range(count)]


def converter_encode(frames: list[np.ndarray], out: Path) -> Path:
    """The converter's encode: the video writer's defaults (libx264 CRF 18, preset medium,
    BT.709 limited range)."""
    height, width = frames[0].shape[:2]
    with open_writer(out, WriterSettings("video"), width=width, height=height,
                     timing=Timing(Fraction(1, RATE), Fraction(RATE), 0), source=None,
                     metadata={}, png_text={}) as writer:
        for index, frame in enumerate(frames):
            writer.write(frame, index)
        writer.finish()
    return out


def reencode(source: Path, out: Path, crf: int) -> Path:
    with av.open(str(source)) as reader, av.open(str(out), "w") as writer:
        inp = reader.streams.video[0]
        stream = writer.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = inp.width, inp.height, "yuv420p"
        stream.options = {"crf": str(crf)}
        for index, frame in enumerate(reader.decode(inp)):
            frame.pts, frame.time_base = index, Fraction(1, RATE)
            for packet in stream.encode(frame):
                writer.mux(packet)
        for packet in stream.encode():
            writer.mux(packet)
    return out


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def rate(frames: list[np.ndarray], read: Read) -> str:
    hits = sum(read(frame) == MARK for frame in frames)
    return f"{hits}/{len(frames)} ({100 * hits / len(frames):.0f}%)"


def file_verdict(path: Path, frames: int) -> str:
    report = verify(path, max_frames=frames)
    return "; file: " + ("yes" if report.marked_by_watermark and report.mark == MARK else "no")


def run(name: str, frames: list[np.ndarray], method: str, folder: Path) -> str:
    embed, read = METHODS[method]()
    start = time.perf_counter()
    marked = [embed(frame) for frame in frames]
    embed_ms = (time.perf_counter() - start) / len(frames) * 1000
    psnr = np.mean([cv2.PSNR(a, b) for a, b in zip(frames, marked)])
    start = time.perf_counter()
    raw = rate(marked, read)
    read_ms = (time.perf_counter() - start) / len(frames) * 1000
    crf18 = converter_encode(marked, folder / f"{method}-18.mp4")
    files = [crf18] + [reencode(crf18, folder / f"{method}-{crf}.mp4", crf) for crf in (28, 35)]
    cells = [raw] + [rate(decoded(path), read) + (file_verdict(path, len(frames))
                                                  if method == "ours" else "")
                     for path in files]
    height, width = frames[0].shape[:2]
    return (f"| {name} ({width}x{height}) | {method} | {embed_ms:.1f} | {read_ms:.1f} | "
            f"{psnr:.1f} | " + " | ".join(cells) + " |")


def timing(methods: list[str]) -> None:
    """Median ms per frame at the sizes conversion meets, astronaut scaled to each."""
    sizes = ((512, 512), (1280, 720), (1920, 1080))
    print("| method | " + " | ".join(f"embed / read {w}x{h}" for w, h in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for method in methods:
        embed, read = METHODS[method]()
        cells = []
        for width, height in sizes:
            frame = cv2.resize(astronaut(), (width, height))
            marked = embed(frame)
            cells.append(f"{median_ms(lambda: embed(frame)):.1f} / "
                         f"{median_ms(lambda: read(marked)):.1f}")
        print(f"| {method} | " + " | ".join(cells) + " |", flush=True)


def median_ms(work: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100,
                        help="frames of each source to mark (default 100; the clips have 200)")
    parser.add_argument("--methods", default="ours,dwtDct,dwtDctSvd",
                        help="comma-separated, from: " + ", ".join(METHODS))
    args = parser.parse_args()
    methods = args.methods.split(",")
    sources: list[tuple[str, list[np.ndarray]]] = []
    for clip in CLIPS:
        if (VIDEOS / clip).exists():
            sources.append((clip.removesuffix(".mp4"), clip_frames(VIDEOS / clip, args.frames)))
        else:
            print(f"skipping {clip}: not found in {VIDEOS}")
    sources.append(("astronaut, drifting", drifting_astronaut(args.frames)))
    print(f"mark {MARK.text}; {args.frames} frames a source; rates are frames with the exact "
          "mark / frames checked\n")
    print("| source | method | embed ms/frame | read ms/frame | PSNR dB | raw | CRF 18 "
          "(converter) | CRF 28 re-encode | CRF 35 re-encode |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, frames in sources:
            for method in methods:
                print(run(name, frames, method, Path(folder)), flush=True)
    print()
    timing(methods)


if __name__ == "__main__":
    main()
