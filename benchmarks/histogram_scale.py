"""Time of the `histogram` job (faceswap's hist sort) at 100,000 faces. Run by hand:

    .venv/bin/python benchmarks/histogram_scale.py [--faces 100000] [--order-only]

1. Ordering alone: the greedy chain over N random histograms in one group (the worst case:
   no clustering, so nothing splits the work) and in 50 cluster-sized groups.
2. The whole job on a real store: N kept faces with real 96 px JPEG thumbnails (crops of
   scikit-image's astronaut in a few colour casts), decoded, histogrammed, stored, ordered and
   ranked by a worker in this process.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from pipeline.curate.histogram import BINS, CHANNELS, chain
from pipeline.worker import Worker, WorkerOptions
from store import faces, jobs, sources
from store.faces import EncodedImage, NewFace
from store.project import create_project
from store.sources import FrameRow, MediaFacts

SEED_BATCH = 2000
DISTINCT_THUMBS = 500


def random_histograms(count: int, rng: np.random.Generator) -> np.ndarray:
    bins = rng.random((count, CHANNELS * BINS)).astype(np.float32) ** 4  # peaky, like photos
    return bins / bins.sum(axis=1, keepdims=True)


def time_ordering(count: int) -> None:
    rng = np.random.default_rng(0)
    bins = random_histograms(count, rng)
    start = time.perf_counter()
    order = chain(bins)
    one_group = time.perf_counter() - start
    assert np.array_equal(np.sort(order), np.arange(count))
    start = time.perf_counter()
    for part in np.array_split(bins, 50):
        chain(part)
    fifty = time.perf_counter() - start
    print(f"ordering {count} random histograms: {one_group:.2f} s in one group, "
          f"{fifty:.2f} s in 50 groups")


def thumbnails(rng: np.random.Generator) -> list[bytes]:
    from skimage.data import astronaut

    image = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)
    made = []
    for _ in range(DISTINCT_THUMBS):
        side = int(rng.integers(150, 260))
        top, left = int(rng.integers(0, 60)), int(rng.integers(120, 220))
        crop = cv2.resize(image[top:top + side, left:left + side], (96, 96),
                          interpolation=cv2.INTER_AREA)
        tinted = np.clip(crop * rng.uniform(0.5, 1.4, 3), 0, 255).astype(np.uint8)
        made.append(cv2.imencode(".jpg", tinted, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return made


def seed(project, count: int) -> None:
    rng = np.random.default_rng(1)
    thumbs = thumbnails(rng)
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, "/made/up.mp4", "", "video", 1, 1, None)
        for first in range(0, count, SEED_BATCH):
            sources.add_frames(conn, source_id, [FrameRow(i, i, None) for i in
                                                 range(first, min(count, first + SEED_BATCH))])
        sources.complete_ingest(conn, source_id, MediaFacts("0" * 64, 8, 8, 25.0, False, count,
                                                            1.0, 0, "h264", False, None))
        faces.start_extraction(conn, source_id, {}, count, 0)
        frame_ids = [r[0] for r in conn.execute("SELECT id FROM frames ORDER BY idx")]
        for first in range(0, count, SEED_BATCH):
            batch = frame_ids[first:first + SEED_BATCH]
            new = [NewFace(frame_id, 0, (0, 0, 8, 8), 1.0, np.zeros((68, 2)), np.zeros((2, 3)),
                           1.0, 0, 0, 0, 0.5, None, None, EncodedImage("jpeg", b""), 8,
                           EncodedImage("jpeg", thumbs[int(rng.integers(len(thumbs)))]), {}, 8,
                           {})
                   for frame_id in batch]
            faces.save_frames(conn, source_id, batch, new)


def time_job(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = create_project(Path(folder) / "project")
        start = time.perf_counter()
        seed(project, count)
        print(f"seeded {count} faces in {time.perf_counter() - start:.1f} s")
        with project.connection() as conn:
            job_id = jobs.enqueue(conn, "histogram", {})
        start = time.perf_counter()
        Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
        seconds = time.perf_counter() - start
        with project.connection() as conn:
            job = jobs.get(conn, job_id)
        print(f"histogram job on {count} faces: {seconds:.1f} s, {job.status.label}: "
              f"{job.message if job.error is None else job.error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000, help="how many faces")
    parser.add_argument("--order-only", action="store_true",
                        help="time the ordering alone, not the whole job on a store")
    args = parser.parse_args()
    time_ordering(args.faces)
    if not args.order_only:
        time_job(args.faces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
