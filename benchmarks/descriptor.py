"""Per-face cost of dlib's own face descriptor against ours ("dlib-torch"), same chips, same
process: dlib one chip at a time (its only mode that is not slower), ours batched on CPU in
bf16 (where the CPU has it) and fp32, and on the GPU when there is one. Also the load time of
our network and the smallest cosine similarity between our descriptors and dlib's.

Chips come from the real faces of ../shared/testdata when it is there, else from scikit-image's
astronaut (one face, mirrored and repeated: the cost does not depend on the content).

    .venv/bin/python benchmarks/descriptor.py [--chips 64] [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import dlib
import numpy as np
import torch
from PIL import Image
from skimage.data import astronaut

from pipeline.extract.dlib_descriptor import DlibDescriptor
from pipeline.devices import native_bf16
from pipeline.extract.dlib_resnet import TorchDlibDescriptor, available_cores, load_dlib_resnet
from pipeline.extract.model_files import RESNET, SHAPE_68, dlib_model_file

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
BATCH = 32


def real_chips(count: int) -> tuple[list[np.ndarray], str]:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_file(SHAPE_68)))
    photos = [path for path in sorted((TESTDATA / "identities").glob("*/*/*"))
              if path.suffix.lower() in (".png", ".jpg", ".jpeg")]
    chips: list[np.ndarray] = []
    for path in photos:
        if len(chips) >= count:
            break
        image = np.asarray(Image.open(path).convert("RGB"))
        chips += [dlib.get_face_chip(image, predictor(image, box), size=150, padding=0.25)
                  for box in detector(image, 1)]
    if len(chips) >= count:
        return chips[:count], f"{count} faces from {TESTDATA / 'identities'}"
    image = astronaut()
    face = dlib.get_face_chip(image, predictor(image, detector(image, 0)[0]), 150, 0.25)
    return [face if i % 2 else face[:, ::-1].copy() for i in range(count)], \
        "the astronaut's face, mirrored and repeated (no ../shared/testdata)"


def busy_seconds() -> tuple[float, float]:
    """CPU seconds spent so far by the whole machine and by this process (Linux)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split()[1:9]]
    machine = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # not idle, iowait
    mine = os.times()
    return machine, mine.user + mine.system


def per_face_ms(describe: Callable[[list[np.ndarray]], np.ndarray], chips: list[np.ndarray],
                runs: int) -> tuple[float, float, np.ndarray]:
    """Median cost per face, the cores other processes kept busy meanwhile (on a shared
    machine more than a few tenths of a core makes the figure unreliable), and the output."""
    descriptors = describe(chips)  # warm-up: allocations, oneDNN / cuDNN kernel selection
    times = []
    machine, mine, start = *busy_seconds(), time.perf_counter()
    for _ in range(runs):
        run_start = time.perf_counter()
        describe(chips)
        times.append(time.perf_counter() - run_start)
    machine_after, mine_after = busy_seconds()
    others = (machine_after - machine - (mine_after - mine)) / (time.perf_counter() - start)
    return statistics.median(times) / len(chips) * 1000, max(others, 0.0), descriptors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=64)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    chips, source = real_chips(args.chips)
    print(f"chips: {source}; torch {torch.__version__}; {available_cores()} cores; "
          f"batch {BATCH}")

    start = time.perf_counter()
    network = load_dlib_resnet(dlib_model_file(RESNET))
    print(f"load dlib's model file into torch: {time.perf_counter() - start:.2f} s")

    dlib_ms, others, expected = per_face_ms(DlibDescriptor("cpu").describe, chips, runs=2)
    print(f"{'':44} {'ms/face':>8} {'vs dlib':>8} {'min cos':>10} {'others load':>12}")
    print(f"{'dlib, chip by chip':44} {dlib_ms:8.2f} {'':8} {'':10} {others:7.2f} cores")

    cores = available_cores()
    precisions = [True, False] if native_bf16(torch.device("cpu")) else [False]
    variants = [("cpu", bf16, threads) for bf16 in precisions
                for threads in sorted({max(1, cores - 1), cores})]
    if torch.cuda.is_available():
        variants.append(("cuda", native_bf16(torch.device("cuda")), 0))
    for device, bf16, threads in variants:
        model = network if device == "cpu" else load_dlib_resnet(dlib_model_file(RESNET))
        ours = TorchDlibDescriptor(device, BATCH, bf16, model, threads or None)
        ms, others, got = per_face_ms(ours.describe, chips, args.runs)
        cosine = ((got * expected).sum(1) / np.linalg.norm(got, axis=1)
                  / np.linalg.norm(expected, axis=1)).min()
        where = f"threads {threads}" if device == "cpu" else torch.cuda.get_device_name()
        what = f"dlib-torch {device}, {'bf16' if bf16 else 'fp32'}, {where}"
        print(f"{what:44} {ms:8.2f} {dlib_ms / ms:7.1f}x {cosine:10.7f} {others:7.2f} cores")


if __name__ == "__main__":
    main()
