"""Mask jitter on talking-head clips, before and after convert's mask smoothing.

Jitter: the mean of 1 - IoU between the masks (> 0.5) of the same face (one track) in
consecutive frames, each mask over its face's aligned crop, so the masks are compared where
the faces' landmarks put them and head motion is not counted. "after" smooths each face's
mask as the convert job does (pipeline/convert/track_masks.py: the track's masks in the
frames around it, averaged in crop coordinates) over windows of 3, 5 and 7 frames. "moved"
is the mean 1 - IoU between a face's smoothed mask and its own: what smoothing costs a mask
that was right.

Masks measured: every kind stored for the clips' faces (the landmark masks components and
extended always; bisenet-* and xseg when they were added, which needs their weights), and
"grabcut", a stand-in for a pixel-based mask that swapdeck does not store: OpenCV's GrabCut on
each aligned crop, seeded by the landmark hulls (sure face inside the components hull, sure
background outside the dilated extended hull). Its edge follows the pixels, as a face-parsing
mask's does, so it jumps between frames as they do; it is not a face-parsing network.

Clips (../shared/testdata/videos): dpe_s.mp4 (256x256, 228 frames) and
WDA_AlexandriaOcasioCortez_000.mp4 (512x512, 200 frames), extracted with HOG + dlib into a
new project (or --project: an extracted project, e.g. one with bisenet masks added).

    .venv/bin/python benchmarks/mask_jitter.py [--project DIR] [--clip NAME ...]
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.convert.masks import decode_mask  # noqa: E402
from pipeline.convert.track_masks import TrackMasks  # noqa: E402
from pipeline.extract.masks import MASK_SIZE, hull_mask  # noqa: E402
from pipeline.extract.alignment import transform_points  # noqa: E402
from pipeline.worker import Worker, WorkerOptions  # noqa: E402
from store import jobs, sources  # noqa: E402
from store.faces import crop_matrix, face_image  # noqa: E402
from store.project import Project, create_project, open_project  # noqa: E402
from store.requests.extract import ExtractSettings  # noqa: E402
from store.requests.ingest import ingest_params  # noqa: E402
from store.views.convert_faces import FrameFace, face_masks, frame_faces  # noqa: E402
from store.views.convert_faces import stored_mask_kinds  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos"
CLIPS = ("dpe_s.mp4", "WDA_AlexandriaOcasioCortez_000.mp4")
WINDOWS = (3, 5, 7)
Masks = dict[int, np.ndarray]


def cpu_kind() -> str:
    """The CPU's model and whether it has AMX or AVX512-BF16 (lscpu's flags)."""
    info = Path("/proc/cpuinfo").read_text().splitlines()
    flags = next((set(line.split(":", 1)[1].split()) for line in info
                  if line.startswith("flags")), set())
    model = next((line.split(":", 1)[1].strip() for line in info
                  if line.startswith("model name")), "unknown CPU")
    kind = next((name for flag, name in (("amx_tile", "AMX"), ("avx512_bf16", "AVX512-BF16"),
                                         ("avx512f", "AVX-512"), ("avx2", "AVX2"))
                 if flag in flags), "no AVX2")
    cpus = sum(line.startswith("processor") for line in info)
    return (f"{model}, {cpus} CPUs, best: {kind} (amx_tile: {'amx_tile' in flags}, "
            f"avx512_bf16: {'avx512_bf16' in flags})")


def extracted_project(clips: list[Path], folder: Path) -> Project:
    """A new project with the clips added and extracted (and so tracked) by HOG and dlib."""
    project = create_project(folder)
    with project.connection() as conn:
        for clip in clips:
            jobs.enqueue(conn, "ingest", ingest_params(clip, ""))
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    settings = ExtractSettings(detector="dlib-hog", aligner="dlib", size=MASK_SIZE).to_json()
    with project.connection() as conn:
        for source in sources.list_sources(conn):
            jobs.enqueue(conn, "extract", {"source_id": source.id, "settings": settings})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    return project


def tracked_faces(conn: sqlite3.Connection, source_id: int) -> list[FrameFace]:
    """The source's kept faces that belong to a track, in frame order."""
    return [face for face in frame_faces(conn, source_id)
            if face.rejected is None and face.track_id is not None]


def stored(conn: sqlite3.Connection, faces: list[FrameFace], kind: str) -> Masks:
    return {face_id: decode_mask(data) for face_id, data in
            face_masks(conn, [face.face_id for face in faces], kind).items()}


def grabcut(conn: sqlite3.Connection, faces: list[FrameFace]) -> Masks:
    """GrabCut on each face's aligned crop, seeded by its landmark hulls."""
    found = {}
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (MASK_SIZE // 8, MASK_SIZE // 8))
    for face in faces:
        data = face_image(conn, face.face_id).data
        crop = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        crop = cv2.resize(crop, (MASK_SIZE, MASK_SIZE), interpolation=cv2.INTER_AREA)
        points = transform_points(crop_matrix(face.matrix, MASK_SIZE), face.landmarks)
        inner = cv2.erode(hull_mask(points, "components", MASK_SIZE), kernel)
        outer = cv2.dilate(hull_mask(points, "extended", MASK_SIZE), kernel)
        seeds = np.full((MASK_SIZE, MASK_SIZE), cv2.GC_BGD, np.uint8)
        seeds[outer > 0] = cv2.GC_PR_FGD
        seeds[inner > 0] = cv2.GC_FGD
        background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.grabCut(crop, seeds, None, background, foreground, 3, cv2.GC_INIT_WITH_MASK)
        found[face.face_id] = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    return found


def iou_loss(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    union = (a | b).sum()
    return float(1 - (a & b).sum() / union) if union else 0.0


def jitter(faces: list[FrameFace], masks: Masks) -> tuple[float, int]:
    """Mean 1 - IoU of each track's masks in consecutive frames, and how many pairs."""
    by_track: dict[int, dict[int, FrameFace]] = defaultdict(dict)
    for face in faces:
        by_track[face.track_id].setdefault(face.frame_idx, face)
    losses = [iou_loss(masks[face.face_id], masks[after.face_id])
              for track in by_track.values() for index, face in track.items()
              if (after := track.get(index + 1)) is not None
              and face.face_id in masks and after.face_id in masks]
    return (float(np.mean(losses)) if losses else float("nan")), len(losses)


def smoothed(faces: list[FrameFace], masks: Masks, window: int) -> tuple[Masks, float]:
    """Each face's mask smoothed as convert smooths it, and the milliseconds per face."""
    tracks = TrackMasks(window // 2, faces, lambda chosen: {
        face.face_id: masks[face.face_id] for face in chosen if face.face_id in masks})
    started = time.perf_counter()
    out = {face.face_id: mask for face in faces
           if (mask := tracks.crop_mask(face)) is not None}
    return out, (time.perf_counter() - started) * 1000 / max(len(faces), 1)


def measure(name: str, faces: list[FrameFace], kind: str, masks: Masks) -> None:
    before, pairs = jitter(faces, masks)
    cells = []
    for window in WINDOWS:
        after_masks, ms = smoothed(faces, masks, window)
        after, _ = jitter(faces, after_masks)
        moved = np.mean([iou_loss(after_masks[i], masks[i]) for i in after_masks])
        cells.append(f"{after:.4f} ({before / after:4.1f}x, moved {moved:.3f}, "
                     f"{ms:.2f} ms)" if after else f"{after:.4f}")
    print(f"| {name} | {kind} | {len(masks)} | {pairs} | {before:.4f} | " + " | ".join(cells)
          + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="an extracted project to measure")
    parser.add_argument("--clip", action="append", help=f"clips (default: {', '.join(CLIPS)})")
    args = parser.parse_args()
    print(f"CPU: {cpu_kind()}")
    with tempfile.TemporaryDirectory() as folder:
        if args.project:
            project = open_project(args.project)
        else:
            started = time.perf_counter()
            project = extracted_project([VIDEOS / c for c in args.clip or CLIPS],
                                        Path(folder) / "project")
            print(f"extracted in {time.perf_counter() - started:.0f} s")
        with project.connection() as conn:
            report(conn)


def report(conn: sqlite3.Connection) -> None:
    header = " | ".join(f"after, {w} frames" for w in WINDOWS)
    print(f"\n| clip | mask | faces | pairs | before | {header} |")
    print("|---" * (5 + len(WINDOWS)) + "|")
    for source in sources.list_sources(conn):
        faces = tracked_faces(conn, source.id)
        for kind in stored_mask_kinds(conn, source.id):
            measure(source.name, faces, kind, stored(conn, faces, kind))
        measure(source.name, faces, "grabcut (stand-in)", grabcut(conn, faces))


if __name__ == "__main__":
    main()
