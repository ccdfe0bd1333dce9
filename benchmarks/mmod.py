"""dlib's MMOD face detector run in PyTorch ("mmod") against dlib's own ("dlib-mmod"), same
frames, same process; faces found by HOG and by MMOD; and extraction frames/s on a 1080p clip
with detection on the full frame against detection on a frame scaled down to 640 px.

Frames are spread evenly over the real clips of ../shared/testdata/videos, decoded with PyAV
as the extract job does, and scaled to the detect size as the extractor does. Detectors run
as extraction builds them (min size 2%, so both upsample once), one batch of frames per call.

1. torch MMOD against dlib's: faces found by each, mean and smallest IoU of the matched
   boxes, seconds per frame and the speed ratio.
2. faces found per clip by HOG and by torch MMOD, and seconds per frame of each (the figure
   `auto` is decided on: mmod is picked on CPU only when it is within ~2x of HOG).
3. extraction (detect, align, describe, measure, crop) frames/s on crowd.mp4 (1920x1080),
   detect size 0 against 640, and the faces each found and kept (not rejected).

    .venv/bin/python benchmarks/mmod.py [--frames 3] [--count-frames 24] [--extract-frames 16]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import dlib
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.devices import available_cores  # noqa: E402
from pipeline.extract import backends  # noqa: E402
from pipeline.extract.backends import Detection  # noqa: E402
from pipeline.extract.dlib_backend import DlibHogDetector, upsample_for  # noqa: E402
from pipeline.extract.dlib_mmod import TorchMmodDetector, box_iou  # noqa: E402
from pipeline.extract.extractor import FaceExtractor, detection_image  # noqa: E402
from pipeline.extract.model_files import MMOD, dlib_model_file  # noqa: E402
from store.requests.extract import ExtractSettings  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos"
CLIPS = ("short_hamilton_clip.mp4", "crowd.mp4", "portrait_720x1280.mp4",
         "Ben_Stiller_Owen_Wilson.mp4")
DEFAULTS = ExtractSettings()
BATCH = 8  # frames per detect call, as the extract job's batches


def cpu_kind() -> str:
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    kind = next((name for flag, name in (("amx_tile", "AMX"), ("avx512_bf16", "AVX512-BF16"),
                                         ("avx512f", "AVX-512"), ("avx2", "AVX2"))
                 if flag in flags), "no AVX2")
    return f"{kind}, {available_cores()} cores, torch {torch.__version__}"


def frames(clip: str, count: int, detect_size: int = DEFAULTS.detect_size) -> list[np.ndarray]:
    """`count` frames spread over the clip, scaled for detection (decoded in order)."""
    with av.open(str(VIDEOS / clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        wanted = set(np.linspace(0, stream.frames - 1, count).round().astype(int))
        found = []
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                image = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                found.append(detection_image(image, detect_size)[0])
            if len(found) == len(wanted):
                break
    return found


def busy_seconds() -> tuple[float, float]:
    """CPU seconds spent so far by the whole machine and by this process (Linux)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split()[1:9]]
    machine = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    mine = os.times()
    return machine, mine.user + mine.system


def timed(detect: Callable[[Sequence[np.ndarray]], list[list[Detection]]],
          images: Sequence[np.ndarray]) -> tuple[float, float, list[list[Detection]]]:
    """Seconds per frame (batches of BATCH), the cores other processes kept busy meanwhile,
    and the faces."""
    detect(images[:1])  # warm-up: allocations, oneDNN kernel selection
    machine, mine, start = *busy_seconds(), time.perf_counter()
    found = [faces for first in range(0, len(images), BATCH)
             for faces in detect(images[first:first + BATCH])]
    seconds = time.perf_counter() - start
    machine_after, mine_after = busy_seconds()
    others = max(0.0, (machine_after - machine - (mine_after - mine)) / seconds)
    return seconds / len(images), others, found


def matched_ious(ours: list[list[Detection]], theirs: list[list[Detection]]) -> list[float]:
    """Each of dlib's boxes against the best of ours in the same frame (0 when none)."""
    return [max((box_iou(d.box, o.box) for o in frame_ours), default=0.0)
            for frame_ours, frame_theirs in zip(ours, theirs) for d in frame_theirs]


def dlib_mmod() -> Callable[[Sequence[np.ndarray]], list[list[Detection]]]:
    net = dlib.cnn_face_detection_model_v1(str(dlib_model_file(MMOD)))

    def detect(images: Sequence[np.ndarray]) -> list[list[Detection]]:
        return [[Detection((float(h.rect.left()), float(h.rect.top()), float(h.rect.right()),
                            float(h.rect.bottom())), h.confidence)
                 for h in net(image, upsample_for(image.shape, DEFAULTS.min_size))]
                for image in images]
    return detect


def against_dlib(count: int) -> None:
    print(f"\n1. torch MMOD against dlib's MMOD, {count} frames a clip at detect size "
          f"{DEFAULTS.detect_size}")
    print(f"{'clip':<28}{'run':<16}{'faces':>6}{'mean IoU':>9}{'min IoU':>8}{'s/frame':>9}"
          f"{'vs dlib':>8}{'others':>7}")
    reference = dlib_mmod()
    cores = available_cores()
    variants = {f"torch {threads} thread{'s' if threads > 1 else ''}": threads
                for threads in sorted({max(1, cores - 1), cores})}
    for clip in CLIPS:
        images = frames(clip, count)
        dlib_s, others, theirs = timed(reference, images)
        print(f"{clip:<28}{'dlib':<16}{sum(map(len, theirs)):>6}{'':17}{dlib_s:9.3f}{'':8}"
              f"{others:7.2f}")
        for label, threads in variants.items():
            detector = TorchMmodDetector("cpu", DEFAULTS.min_size, threads=threads)
            seconds, others, ours = timed(detector.detect, images)
            ious = matched_ious(ours, theirs) or [1.0]
            print(f"{clip:<28}{label:<16}{sum(map(len, ours)):>6}{statistics.mean(ious):9.3f}"
                  f"{min(ious):8.3f}{seconds:9.3f}{dlib_s / seconds:7.1f}x{others:7.2f}")


def hog_against_mmod(count: int) -> None:
    print(f"\n2. faces found by HOG and by torch MMOD, {count} frames a clip at detect size "
          f"{DEFAULTS.detect_size}, min size {DEFAULTS.min_size:g}%; as extraction builds "
          "them (HOG on every core, mmod on one fewer), and mmod on every core")
    print(f"{'clip':<28}{'detector':<16}{'faces':>6}{'s/frame':>9}{'vs HOG':>8}{'others':>7}")
    detectors = {"dlib-hog": DlibHogDetector(DEFAULTS.min_size),
                 "mmod": backends.create(backends.DETECTORS, "detector", "mmod", "cpu",
                                         DEFAULTS.min_size),
                 "mmod all cores": TorchMmodDetector("cpu", DEFAULTS.min_size,
                                                     threads=available_cores())}
    totals = dict.fromkeys(detectors, 0.0)
    for clip in CLIPS:
        images = frames(clip, count)
        clip_seconds = {}
        for name, detector in detectors.items():
            seconds, others, found = timed(detector.detect, images)
            totals[name] += seconds
            clip_seconds[name] = seconds
            ratio = f"{seconds / clip_seconds['dlib-hog']:.2f}x" if name != "dlib-hog" else ""
            print(f"{clip:<28}{name:<16}{sum(map(len, found)):>6}{seconds:9.3f}{ratio:>8}"
                  f"{others:7.2f}")
    for name in list(detectors)[1:]:
        print(f"{name} per frame over all clips: {totals[name] / totals['dlib-hog']:.2f}x HOG's")


def extraction(count: int) -> None:
    clip = "crowd.mp4"
    print(f"\n3. extraction of {count} frames of {clip}, detect size 0 against "
          f"{DEFAULTS.detect_size} (default settings otherwise)")
    images = frames(clip, count, detect_size=0)
    print(f"{'detect size':<12}{'detector':<10}{'faces':>6}{'kept':>6}{'frames/s':>9}"
          f"{'others':>7}")
    rates = {}
    for detect_size in (0, DEFAULTS.detect_size):
        extractor = FaceExtractor(ExtractSettings(detect_size=detect_size))
        kept: list[int] = []  # faces not rejected (as too small, a bad layout), per batch

        def extract(batch: Sequence[np.ndarray]) -> list[list[Detection]]:
            faces = extractor.extract(list(range(len(batch))), batch)
            kept.append(sum(f.rejected is None for f in faces))
            return [[Detection(f.box, f.score) for f in faces if f.frame_id == index]
                    for index in range(len(batch))]
        seconds, others, found = timed(extract, images)
        rates[detect_size] = 1 / seconds
        print(f"{detect_size:<12}{extractor.detector.name:<10}{sum(map(len, found)):>6}"
              f"{sum(kept[1:]):>6}{1 / seconds:9.2f}{others:7.2f}")  # [0]: the warm-up
    print(f"detect size {DEFAULTS.detect_size}: {rates[DEFAULTS.detect_size] / rates[0]:.1f}x "
          "the frames/s of the full frame")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="per clip against dlib's MMOD")
    parser.add_argument("--count-frames", type=int, default=24, help="per clip, HOG and MMOD")
    parser.add_argument("--extract-frames", type=int, default=16, help="of crowd.mp4")
    args = parser.parse_args()
    if not VIDEOS.is_dir():
        print(f"no test clips: {VIDEOS} is missing")
        return 1
    print(f"CPU: {cpu_kind()}; 'others': cores other processes kept busy meanwhile (more "
          "than a few tenths makes the timings unreliable)")
    against_dlib(args.frames)
    hog_against_mmod(args.count_frames)
    extraction(args.extract_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
