"""Identity clustering on descriptors with known people, on both of its paths."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.curate import cluster as clustering
from tests.pipeline.seeded_faces import people


def same_partition(labels: np.ndarray, truth: np.ndarray) -> bool:
    pairs = set(zip(labels.tolist(), truth.tolist()))
    return len(pairs) == len(set(labels.tolist())) == len(set(truth.tolist()))


def test_exact_path_finds_each_person() -> None:
    vectors, truth = people(6, 40)
    result = clustering.cluster(vectors)
    assert same_partition(result.labels, truth)
    assert np.all(result.distances < 0.2)
    assert np.bincount(result.labels)[0] == max(np.bincount(result.labels))  # biggest first


def test_compressed_path_finds_each_person(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clustering, "EXACT_LIMIT", 100)
    monkeypatch.setattr(clustering, "COMPRESSED_CENTRES", 50)
    vectors, truth = people(5, 100, seed=1)
    assert same_partition(clustering.cluster(vectors).labels, truth)


def test_threshold_decides_how_close_is_the_same_person() -> None:
    vectors, truth = people(3, 10, seed=2)
    assert clustering.cluster(vectors, threshold=2.0).labels.max() == 0
    assert clustering.cluster(vectors, threshold=0.05).labels.max() > 2


def test_no_face_and_one_face() -> None:
    assert len(clustering.cluster(np.zeros((0, 128), np.float32)).labels) == 0
    single = clustering.cluster(np.ones((1, 128), np.float32))
    assert single.labels.tolist() == [0] and single.distances.tolist() == [0.0]
