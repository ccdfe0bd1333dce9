"""Identity clustering that scales: memory and time stay bounded as the faces grow.

Average linkage is the linkage that separates people correctly (ward over-splits and single
chains everyone together), but it needs every pairwise distance. Up to EXACT_LIMIT faces it
runs on the faces themselves; above that, k-means first compresses the faces into
COMPRESSED_CENTRES tight groups (far more than there are people, so no two people share
one), and average linkage joins those group centres up to `threshold`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import MiniBatchKMeans

from store.identities import DEFAULT_THRESHOLD

EXACT_LIMIT = 8000        # 32 M pairwise distances, about 256 MB
COMPRESSED_CENTRES = 4000
KMEANS_BATCH = 8192
KMEANS_ITERATIONS = 10


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray      # (N,) cluster number per face, 0..K-1, biggest cluster first
    centres: np.ndarray     # (K, D) mean descriptor of each cluster
    distances: np.ndarray   # (N,) each face's distance from its cluster centre


def cluster(vectors: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> Clustering:
    """Group descriptors (N, D) by identity: faces of one person end up in one cluster."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    if len(vectors) < 2:
        return _finish(vectors, np.zeros(len(vectors), np.int64))
    groups = _compress(vectors)
    centres = _means(vectors, groups)
    if len(centres) == 1:
        return _finish(vectors, np.zeros(len(vectors), np.int64))
    joined = fcluster(linkage(pdist(centres), method="average"), t=threshold,
                      criterion="distance") - 1
    return _finish(vectors, _biggest_first(joined[groups]))


def cluster_units(vectors: np.ndarray, units: np.ndarray,
                  threshold: float = DEFAULT_THRESHOLD) -> Clustering:
    """`cluster`, where the faces of one unit (a track: `units` holds each face's unit
    number, 0..U-1) are one, so they always share a cluster.

    Two units are as far apart as their faces are on average, in the root-mean-square sense:
    the distance of their means with both spreads added back (|ma - mb|² + sa² + sb²). The
    means alone would bring two people's long tracks closer than their faces ever are,
    since averaging takes the noise of each face out.
    """
    vectors = np.ascontiguousarray(vectors, np.float32)
    count = int(units.max()) + 1 if len(units) else 0
    if count < 2:
        return _finish(vectors, np.zeros(len(vectors), np.int64))
    means = _means(vectors, units)
    if count > EXACT_LIMIT:
        return _finish(vectors, _biggest_first(cluster(means, threshold).labels[units]))
    spread = np.bincount(units, weights=((vectors - means[units]) ** 2).sum(axis=1),
                         minlength=count) / np.bincount(units, minlength=count)
    squared = pdist(means, "sqeuclidean") + np.concatenate(
        [spread[i] + spread[i + 1:] for i in range(count - 1)])
    joined = fcluster(linkage(np.sqrt(squared), method="average"), t=threshold,
                      criterion="distance") - 1
    return _finish(vectors, _biggest_first(joined[units]))


def keep_merged(vectors: np.ndarray, clustering: Clustering,
                groups: Sequence[int | None]) -> Clustering:
    """Join the clusters that the faces of one merge group (faces merged by hand; None for a
    face in none) fell into, as the hand merge did: `groups` is one entry per face."""
    labels = clustering.labels.tolist()
    root = list(range(len(clustering.centres)))

    def find(label: int) -> int:
        while root[label] != label:
            label = root[label]
        return label

    first: dict[int, int] = {}
    for label, group in zip(labels, groups):
        if group is None:
            continue
        ours, theirs = find(label), find(first.setdefault(group, label))
        root[max(ours, theirs)] = min(ours, theirs)
    if all(find(label) == label for label in range(len(root))):
        return clustering
    joined = np.unique([find(label) for label in labels], return_inverse=True)[1]
    return _finish(vectors, _biggest_first(joined))


def _compress(vectors: np.ndarray) -> np.ndarray:
    """A group number per face: each face alone when few, else its k-means group."""
    if len(vectors) <= EXACT_LIMIT:
        return np.arange(len(vectors))
    kmeans = MiniBatchKMeans(n_clusters=COMPRESSED_CENTRES, batch_size=KMEANS_BATCH, n_init=1,
                             max_iter=KMEANS_ITERATIONS, random_state=0)
    groups = kmeans.fit_predict(vectors)
    return np.unique(groups, return_inverse=True)[1]  # no empty groups


def _means(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    count = labels.max() + 1
    sums = np.zeros((count, vectors.shape[1]), np.float64)
    np.add.at(sums, labels, vectors)
    return (sums / np.bincount(labels, minlength=count)[:, None]).astype(np.float32)


def _biggest_first(labels: np.ndarray) -> np.ndarray:
    order = np.argsort(-np.bincount(labels), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels]


def _finish(vectors: np.ndarray, labels: np.ndarray) -> Clustering:
    if len(vectors) == 0:
        return Clustering(labels, np.zeros((0, vectors.shape[1]), np.float32),
                          np.zeros(0, np.float32))
    centres = _means(vectors, labels)
    distances = np.linalg.norm(vectors - centres[labels], axis=1).astype(np.float32)
    return Clustering(labels, centres, distances)
