"""Tracks on real clips: clusters per clip with faces alone against faces tied by their
tracks, the faces flagged as probably not faces, and the frames gap filling gained.

Baseline: the same clustering (average linkage, the project's threshold) on each face alone
and every kept face, as before tracks. Writes a contact sheet of the flagged faces per clip
(to look at them: say how many are real faces) into --out.

    .venv/bin/python benchmarks/tracks.py [--project P] [--out DIR] [CLIP ...]
    # default clips: short_hamilton_clip, crowd, portrait_720x1280, Ben_Stiller_Owen_Wilson
    # --project: an extracted project (tracked; else `swapdeck track P` first) instead
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pipeline.job_kinds  # noqa: E402,F401 - registers every job kind
from pipeline.curate.cluster import cluster, cluster_units  # noqa: E402
from pipeline.worker import Worker, WorkerOptions  # noqa: E402
from store import jobs, sources  # noqa: E402
from store.faces import DESCRIPTOR_MODEL, from_blob  # noqa: E402
from store.identities import DEFAULT_THRESHOLD, track_units  # noqa: E402
from store.project import Project, create_project, open_project  # noqa: E402
from store.requests.extract import ExtractSettings  # noqa: E402
from store.requests.ingest import ingest_params  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos"
CLIPS = ("short_hamilton_clip.mp4", "crowd.mp4", "portrait_720x1280.mp4",
         "Ben_Stiller_Owen_Wilson.mp4")


def extracted_project(clips: list[Path], folder: Path) -> Project:
    """A new project with the clips added and extracted (and so tracked) by HOG and dlib."""
    project = create_project(folder)
    with project.connection() as conn:
        for clip in clips:
            jobs.enqueue(conn, "ingest", ingest_params(clip, ""))
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    settings = ExtractSettings(detector="dlib-hog", aligner="dlib").to_json()
    with project.connection() as conn:
        for source in sources.list_sources(conn):
            jobs.enqueue(conn, "extract", {"source_id": source.id, "settings": settings})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    return project


def clip_figures(conn: sqlite3.Connection, source: sources.Source, out: Path) -> dict:
    rows = conn.execute(
        "SELECT f.id, f.flag, f.tracked, e.vector FROM faces f JOIN embeddings e ON"
        " e.face_id = f.id AND e.model = ? WHERE f.source_id = ? AND f.rejected IS NULL"
        " ORDER BY f.id", (DESCRIPTOR_MODEL, source.id)).fetchall()
    detected = [r for r in rows if not r[2]]
    before = cluster(_vectors(detected), DEFAULT_THRESHOLD)
    kept = [r for r in rows if r[1] is None]
    after = cluster_units(_vectors(kept), track_units(conn, [r[0] for r in kept]),
                          DEFAULT_THRESHOLD)
    flagged = [r[0] for r in rows if r[1] is not None]
    _sheet(conn, flagged, out / f"flagged_{Path(source.path).stem}.jpg")
    return {
        "faces": len(detected), "tracks": _count(conn, "SELECT COUNT(*) FROM tracks WHERE"
                                                      " source_id = ?", source.id),
        "clusters_before": len(before.centres), "clusters_after": len(after.centres),
        "big_before": _big(before.labels), "big_after": _big(after.labels),
        "flagged_faces": len(flagged),
        "flagged_tracks": _count(conn, "SELECT COUNT(*) FROM tracks WHERE source_id = ? AND"
                                       " flag IS NOT NULL", source.id),
        "filled": sum(r[2] for r in rows),
        "frames_gained": _count(conn, """SELECT COUNT(DISTINCT f.frame_id) FROM faces f
            WHERE f.source_id = ? AND f.tracked = 1 AND NOT EXISTS (SELECT 1 FROM faces g
            WHERE g.frame_id = f.frame_id AND g.tracked = 0 AND g.rejected IS NULL)""",
                                source.id),
    }


def _vectors(rows: list) -> np.ndarray:
    return np.array([from_blob(r[3], (-1,)) for r in rows], np.float32).reshape(len(rows), 128)


def _count(conn: sqlite3.Connection, sql: str, *args: object) -> int:
    return conn.execute(sql, args).fetchone()[0]


def _big(labels: np.ndarray) -> str:
    """The sizes of the clusters of 5 faces or more, biggest first."""
    sizes = sorted(np.bincount(labels), reverse=True) if len(labels) else []
    return "+".join(str(s) for s in sizes if s >= 5) or "-"


def _sheet(conn: sqlite3.Connection, face_ids: list[int], path: Path) -> None:
    thumbs = []
    for face_id in face_ids[:96]:
        data = conn.execute("SELECT data FROM face_thumbs WHERE face_id = ?",
                            (face_id,)).fetchone()[0]
        thumb = cv2.resize(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), (96, 96))
        cv2.putText(thumb, str(face_id), (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255))
        thumbs.append(thumb)
    if not thumbs:
        return
    thumbs += [np.zeros_like(thumbs[0])] * (-len(thumbs) % 12)
    rows = [np.hstack(thumbs[i:i + 12]) for i in range(0, len(thumbs), 12)]
    cv2.imwrite(str(path), np.vstack(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", help="videos (default: four of the test clips)")
    parser.add_argument("--project", help="an extracted, tracked project to measure instead")
    parser.add_argument("--out", default="tracks-benchmark", help="where the sheets go")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        project = (open_project(args.project) if args.project else extracted_project(
            [Path(c) for c in args.clips] or [VIDEOS / c for c in CLIPS], Path(scratch) / "p"))
        with project.connection() as conn:
            print(f"{'clip':<32} faces tracks  clusters: faces alone -> tracks   "
                  "flagged faces (tracks)  filled  frames gained")
            for source in sources.list_sources(conn):
                f = clip_figures(conn, source, out)
                print(f"{Path(source.path).name:<32} {f['faces']:>5} {f['tracks']:>6}  "
                      f"{f['clusters_before']:>4} ({f['big_before']}) -> "
                      f"{f['clusters_after']} ({f['big_after']})   "
                      f"{f['flagged_faces']:>5} ({f['flagged_tracks']})  {f['filled']:>6}  "
                      f"{f['frames_gained']:>6}")
    print(f"contact sheets of the flagged faces: {out}/flagged_*.jpg")


if __name__ == "__main__":
    main()
