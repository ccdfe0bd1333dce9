"""Extraction speed: the real extract job against a straightforward loop, same clips, same
dlib models, same process.

Baseline: decode a frame, detect (dlib HOG), 68 landmarks, then dlib's own face descriptor,
one frame and one face at a time. Prints frames/s and faces/s of both, their ratio, and how
many faces each found.

    .venv/bin/python benchmarks/extract.py [CLIP ...]   # default: short_hamilton_clip.mp4
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import av
import dlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.extract import backends  # noqa: E402
from pipeline.extract.dlib_backend import face_chip, shape_points, upsample_for  # noqa: E402
from pipeline.extract.model_files import RESNET, SHAPE_68, dlib_model_file  # noqa: E402
from pipeline.ingest.job import ingest  # noqa: E402,F401 - registers the ingest job
from pipeline.worker import Worker, WorkerOptions  # noqa: E402
from store import jobs  # noqa: E402
from store.requests.extract import ExtractSettings  # noqa: E402
from store.project import create_project  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos"
SETTINGS = ExtractSettings(detector="dlib-hog", aligner="dlib")


def baseline(video: Path) -> tuple[int, int, float]:
    """(frames, faces, seconds) of the one-at-a-time loop."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_file(SHAPE_68)))
    describer = dlib.face_recognition_model_v1(str(dlib_model_file(RESNET)))
    frames = found = 0
    start = time.perf_counter()
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            frames += 1
            rects, _, _ = detector.run(image, upsample_for(image.shape, SETTINGS.min_size), 0.0)
            for rect in rects:
                points = shape_points(predictor(image, rect))
                box = (rect.left(), rect.top(), rect.right(), rect.bottom())
                describer.compute_face_descriptor(face_chip(image, box, points))
                found += 1
    return frames, found, time.perf_counter() - start


def real_job(video: Path) -> tuple[int, int, float]:
    """(frames, faces, seconds) of the extract job, run by the worker loop in this process."""
    with tempfile.TemporaryDirectory() as folder:
        project = create_project(Path(folder) / "bench")
        with project.connection() as conn:
            jobs.enqueue(conn, "ingest", {"path": str(video), "label": ""})
        drain(project)
        with project.connection() as conn:
            job_id = jobs.enqueue(conn, "extract", {"source_id": 1,
                                                    "settings": SETTINGS.to_json()})
        start = time.perf_counter()
        drain(project)
        seconds = time.perf_counter() - start
        with project.connection() as conn:
            result = jobs.get(conn, job_id).result
    return result["frames"], result["faces"] + result["rejected"], seconds


def drain(project) -> None:
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    logging.getLogger("swapdeck").handlers.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", default=["short_hamilton_clip.mp4"],
                        help="clips in ../shared/testdata/videos")
    args = parser.parse_args()
    # A worker imports torch and the backends once per process, not per job: do it up front
    # so the first clip's figure is not the import's.
    backends.load_all()
    print(f"{'clip':<28}{'run':<10}{'frames':>7}{'faces':>7}{'frames/s':>10}{'faces/s':>9}")
    for clip in args.clips:
        video = VIDEOS / clip
        ours = real_job(video)
        base = baseline(video)
        for label, (frames, found, seconds) in (("baseline", base), ("swapdeck", ours)):
            print(f"{clip:<28}{label:<10}{frames:>7}{found:>7}{frames / seconds:>10.2f}"
                  f"{found / seconds:>9.2f}")
        ratio = (ours[0] / ours[2]) / (base[0] / base[2])
        difference = abs(ours[1] - base[1]) / max(base[1], 1) * 100
        print(f"{clip:<28}ratio {ratio:.2f}x frames/s; faces found differ by {difference:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
