"""The `histogram` job: faceswap's histogram sort (`sort -s hist`) as an order of the face grid.

faceswap chains its images greedily: start from the first, then repeatedly append the
remaining image whose colour histogram is most like the last one's. We do the same within
each cluster of the newest clustering run (clusters in index order, then the faces in no
cluster; each chain starts at the group's first face by id) and store the result as
`faces.hist_rank`, 0..N-1 over the project, so ORDER BY hist_rank shows cluster after
cluster, each a chain of similar colours. Nothing is renamed.

Histograms: every kept face's thumbnail, 3 colour channels x 32 bins, normalised to sum 1.
They are stored once (batch by batch, so a cancelled job keeps what it finished) and reused by
every later run; only the order is made again. Distance: Hellinger (what OpenCV calls
Bhattacharyya, faceswap's choice), computed as a dot product of square-rooted histograms.

Scale: the plain greedy chain is O(n^2); up to EXACT_LIMIT faces a group's similarities are
one matrix product and each step one masked row argmax. A bigger group is split by k-means
(on the square-rooted histograms, where Euclidean distance is Hellinger's) into sub-groups of
about SUBGROUP faces; the sub-groups are ordered by a greedy chain over their centres,
starting with the one holding the first face, and each is chained inside, entered at its face
most like the previous sub-group's last (recursively, should a sub-group still be too big).
That keeps the chain near-linear: 100,000 faces in one group order in a few seconds.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import cv2
import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.inline_images import decode_inline
from pipeline.registry import job_kind
from store import histograms
from store.views import face_query
from store.files.inline_images import OversizedImageError

# Per-channel BGR marginals: faceswap compares one 256-bin channel; all three channels make a
# red cast differ from a blue one, and 32 bins keep JPEG noise and small exposure changes in
# one bin. Not HSV: hue is unstable on the low-saturation skin tones and greys of faces.
BINS = 32
CHANNELS = 3
BATCH = 256            # thumbnails decoded and stored per transaction
EXACT_LIMIT = 4000     # a greedy chain over all pairs up to this many faces (64 MB of floats)
SUBGROUP = 2000        # target size of the k-means sub-groups of a bigger group
KMEANS_ITERATIONS = 20


def histogram(image: np.ndarray) -> np.ndarray:
    """(CHANNELS * BINS,) float32 summing to 1: each channel's histogram, a third each."""
    counts = np.concatenate([cv2.calcHist([image], [channel], None, [BINS], [0, 256]).ravel()
                             for channel in range(CHANNELS)])
    return (counts / (CHANNELS * image.shape[0] * image.shape[1])).astype(np.float32)


def thumbnail_histograms(encoded: list[bytes | None]) -> tuple[np.ndarray, int]:
    """Histograms of encoded thumbnails and how many could not be read. An unreadable
    thumbnail gets an all-zero histogram: like no other face, so it ends its group's chain."""
    bins = np.zeros((len(encoded), CHANNELS * BINS), np.float32)
    unreadable = 0
    for row, data in enumerate(encoded):
        image = None
        if data:
            with contextlib.suppress(OversizedImageError):
                image = decode_inline(data, cv2.IMREAD_COLOR, "a face thumbnail")
        if image is None or image.size == 0:
            unreadable += 1
            continue
        bins[row] = histogram(image)
    return bins, unreadable


def chain(bins: np.ndarray, start: int = 0) -> np.ndarray:
    """The greedy most-similar chain over histograms (N, B), from row `start`: a permutation."""
    if len(bins) == 0:
        return np.zeros(0, np.intp)
    roots = np.sqrt(np.maximum(np.asarray(bins, np.float32), 0))
    return _chain(roots, start)


def _chain(roots: np.ndarray, start: int) -> np.ndarray:
    if len(roots) <= EXACT_LIMIT:
        return _greedy(roots, start)
    return _chain_split(roots, start)


def _greedy(roots: np.ndarray, start: int) -> np.ndarray:
    """faceswap's chain: the Bhattacharyya coefficient (dot product of square roots) is
    largest where the Hellinger distance is smallest."""
    count = len(roots)
    similarity = roots @ roots.T
    taken = np.zeros(count, np.float32)      # -inf once a face is in the chain
    row = np.empty(count, np.float32)
    order = np.empty(count, np.intp)
    current = start
    for step in range(count):
        order[step] = current
        taken[current] = -np.inf
        if step + 1 < count:
            np.add(similarity[current], taken, out=row)
            current = int(np.argmax(row))
    return order


def _chain_split(roots: np.ndarray, start: int) -> np.ndarray:
    count = len(roots)
    parts = math.ceil(count / SUBGROUP)
    with warnings.catch_warnings():  # fewer distinct histograms than parts: handled below
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = KMeans(n_clusters=parts, n_init=1, max_iter=KMEANS_ITERATIONS,
                        random_state=0).fit_predict(roots)
    labels = np.unique(labels, return_inverse=True)[1].reshape(-1)
    if labels.max() == 0:  # all alike: any order is as good, so cut it in id order
        labels = np.arange(count) // EXACT_LIMIT
    sizes = np.bincount(labels)
    centres = np.zeros((len(sizes), roots.shape[1]), np.float64)
    np.add.at(centres, labels, roots)
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    centres = (centres / np.where(norms > 0, norms, 1)).astype(np.float32)
    order: list[np.ndarray] = []
    tail: int | None = None
    for part in _greedy(centres, int(labels[start])):
        members = np.flatnonzero(labels == part)
        if tail is None:
            entry = int(np.searchsorted(members, start))
        else:
            entry = int(np.argmax(roots[members] @ roots[tail]))
        inner = members[_chain(roots[members], entry)]
        order.append(inner)
        tail = int(inner[-1])
    return np.concatenate(order)


@job_kind("histogram")
def histogram_order(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    kept = histograms.kept_face_count(ctx.conn)
    if kept == 0:
        raise JobError("no faces to sort by histogram: extract some sources first "
                       "(swapdeck extract)")
    missing = histograms.missing_face_ids(ctx.conn)
    reused = kept - len(missing)
    computed = unreadable = 0
    ctx.progress(0, len(missing), f"colour histograms of {len(missing)} faces "
                                  f"({reused} stored)", force=True)
    for first in range(0, len(missing), BATCH):
        ctx.checkpoint()
        batch = missing[first:first + BATCH]
        thumbs = face_query.thumbnails(ctx.conn, batch)
        bins, bad = thumbnail_histograms([thumbs.get(face_id) for face_id in batch])
        histograms.save_histograms(ctx.conn, batch, bins)
        computed += len(batch)
        unreadable += bad
        ctx.progress(computed, len(missing), f"colour histograms: {computed}/{len(missing)}")
    ctx.checkpoint()
    groups = histograms.histogram_groups(ctx.conn)
    faces = sum(len(g.face_ids) for g in groups)
    ctx.progress(0, faces, f"ordering {faces} faces by colour", force=True)
    order: list[np.ndarray] = []
    for group in groups:
        ctx.checkpoint()
        order.append(np.asarray(group.face_ids)[chain(group.bins)])
    ctx.checkpoint()
    histograms.save_ranks(ctx.conn, np.concatenate(order).tolist() if order else [])
    unread = f", {unreadable} unreadable thumbnails put last" if unreadable else ""
    groups_text = "1 group" if len(groups) == 1 else f"{len(groups)} groups"
    return {"message": f"{faces} faces ordered by colour in {groups_text} "
                       f"({computed} histograms computed, {reused} reused{unread})",
            "faces": faces, "groups": len(groups), "computed": computed, "reused": reused,
            "unreadable": unreadable}
