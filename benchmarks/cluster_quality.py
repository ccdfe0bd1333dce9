"""Clustering quality on the labelled people of ../shared/testdata/identities (deepface's 13,
bbt's 8 and johns' 5, together): purity and inverse purity of the default clustering.

Each photo's largest face is described with the extraction backends (dlib-hog, dlib,
dlib-torch); photos larger than 1024 px are scaled down first.

    .venv/bin/python benchmarks/cluster_quality.py [--threshold T ...]
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

from benchmarks_support import IDENTITIES, describe_labelled_photos
from pipeline.curate.cluster import DEFAULT_THRESHOLD, cluster


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
    vectors, truth = describe_labelled_photos()
    print(f"{len(truth)} faces of {len(set(truth))} people")
    for threshold in args.threshold:
        result = cluster(vectors, threshold)
        pure, whole = purity(result.labels, truth)
        print(f"threshold {threshold:.2f}: {result.labels.max() + 1} clusters, purity "
              f"{pure:.3f}, inverse purity {whole:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
