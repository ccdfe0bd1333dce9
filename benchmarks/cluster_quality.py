"""Clustering quality on the labelled people of ../shared/testdata/identities (deepface's 13,
bbt's 8 and johns' 5, together): purity and inverse purity of the default clustering.

Each photo's largest face is described with the extraction backends (dlib-hog, dlib,
dlib-torch); photos larger than 1024 px are scaled down first.

    .venv/bin/python benchmarks/cluster_quality.py [--threshold T ...]
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pipeline.curate.cluster import DEFAULT_THRESHOLD, cluster
from pipeline.extract.extractor import FaceExtractor
from store.extract_settings import ExtractSettings

IDENTITIES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "identities"
MAX_SIDE = 1024


def labelled_photos() -> list[tuple[Path, str]]:
    photos = []
    with (IDENTITIES / "deepface" / "identity_labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            photos.append((IDENTITIES / "deepface" / row["file"], "deepface/" + row["identity"]))
    for group in ("bbt", "johns"):
        for person in sorted((IDENTITIES / group).iterdir()):
            photos += [(p, f"{group}/{person.name}") for p in sorted(person.iterdir())]
    return photos


def load(path: Path) -> np.ndarray:
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.asarray(image)


def purity(labels: np.ndarray, truth: list[str]) -> tuple[float, float]:
    """(purity, inverse purity): how pure the clusters are, and how whole each person is."""
    pairs = Counter(zip(labels.tolist(), truth))
    by_cluster: dict[int, int] = {}
    by_person: dict[str, int] = {}
    for (cluster_id, person), count in pairs.items():
        by_cluster[cluster_id] = max(by_cluster.get(cluster_id, 0), count)
        by_person[person] = max(by_person.get(person, 0), count)
    return sum(by_cluster.values()) / len(truth), sum(by_person.values()) / len(truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, nargs="+", default=[DEFAULT_THRESHOLD],
                        help=f"clustering thresholds to try (default {DEFAULT_THRESHOLD})")
    args = parser.parse_args()
    if not IDENTITIES.is_dir():
        print(f"no labelled photos at {IDENTITIES}", file=sys.stderr)
        return 2
    extractor = FaceExtractor(ExtractSettings(detector="dlib-hog", aligner="dlib", min_size=0))
    vectors, truth, missed = [], [], []
    for path, person in labelled_photos():
        image = load(path)
        try:
            vectors.append(extractor.reference_descriptor(image, path.name))
        except Exception:  # noqa: BLE001 - a photo where no face is found is only counted
            missed.append(path.name)
            continue
        truth.append(person)
    vectors = np.asarray(vectors)
    print(f"{len(truth)} faces of {len(set(truth))} people ({len(missed)} photos without a "
          f"detected face: {', '.join(missed[:6])}{' ...' if len(missed) > 6 else ''})")
    for threshold in args.threshold:
        result = cluster(vectors, threshold)
        pure, whole = purity(result.labels, truth)
        print(f"threshold {threshold:.2f}: {result.labels.max() + 1} clusters, purity "
              f"{pure:.3f}, inverse purity {whole:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
