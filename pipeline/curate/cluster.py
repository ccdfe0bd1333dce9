"""Identity clustering that scales: memory and time stay near-linear in the number of faces.

1. A batched leader pass gathers the faces into tight micro-clusters (radius MICRO_RADIUS,
   well under the distance between two people): video faces are highly redundant, so
   100,000 faces become a few thousand micro-clusters.
2. Average linkage (the linkage that separates people correctly; ward over-splits and single
   chains everyone together) joins the micro-cluster centres up to `threshold`. Centres are
   not weighted by their size: a micro-cluster is one tight look of one person, and that
   look should count once however many frames held it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

DEFAULT_THRESHOLD = 0.55
MICRO_RADIUS = 0.3
BATCH = 4096


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray      # (N,) cluster number per face, 0..K-1, biggest cluster first
    centres: np.ndarray     # (K, D) mean descriptor of each cluster
    distances: np.ndarray   # (N,) each face's distance from its cluster centre


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :], 0)


def micro_clusters(vectors: np.ndarray, radius: float = MICRO_RADIUS) -> np.ndarray:
    """Assign each vector to the first leader within `radius` (new leaders as needed)."""
    labels = np.empty(len(vectors), np.int64)
    leaders = np.empty((0, vectors.shape[1]), np.float32)
    limit = radius * radius
    for start in range(0, len(vectors), BATCH):
        batch = vectors[start:start + BATCH]
        nearest = np.full(len(batch), -1)
        if len(leaders):
            squared = _squared_distances(batch, leaders)
            best = squared.argmin(1)
            close = squared[np.arange(len(batch)), best] <= limit
            nearest[close] = best[close]
        new = []
        for i in np.flatnonzero(nearest < 0):  # greedy leaders among the batch's newcomers
            if new:
                candidates = batch[new]
                squared = ((candidates - batch[i]) ** 2).sum(1)
                j = int(squared.argmin())
                if squared[j] <= limit:
                    nearest[i] = len(leaders) + j
                    continue
            nearest[i] = len(leaders) + len(new)
            new.append(i)
        if new:
            leaders = np.vstack([leaders, batch[new]])
        labels[start:start + len(batch)] = nearest
    return labels


def cluster(vectors: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> Clustering:
    """Group descriptors (N, D) by identity: faces of one person end up in one cluster."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    if len(vectors) == 0:
        return Clustering(np.zeros(0, np.int64), np.zeros((0, vectors.shape[1]), np.float32),
                          np.zeros(0, np.float32))
    micro = micro_clusters(vectors)
    count = micro.max() + 1
    sizes = np.bincount(micro, minlength=count).astype(np.float64)
    sums = np.zeros((count, vectors.shape[1]), np.float64)
    np.add.at(sums, micro, vectors)
    centres = sums / sizes[:, None]
    if count == 1:
        joined = np.zeros(1, np.int64)
    else:
        tree = linkage(pdist(centres), method="average")
        joined = fcluster(tree, t=threshold, criterion="distance") - 1
    labels = _biggest_first(joined[micro])
    return _finish(vectors, labels)


def _biggest_first(labels: np.ndarray) -> np.ndarray:
    order = np.argsort(-np.bincount(labels), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels]


def _finish(vectors: np.ndarray, labels: np.ndarray) -> Clustering:
    count = labels.max() + 1
    sums = np.zeros((count, vectors.shape[1]), np.float64)
    np.add.at(sums, labels, vectors)
    centres = (sums / np.bincount(labels, minlength=count)[:, None]).astype(np.float32)
    distances = np.linalg.norm(vectors - centres[labels], axis=1).astype(np.float32)
    return Clustering(labels, centres, distances)
