"""A person's descriptor centre counts only the faces training uses: kept at extraction, not
excluded, with a stored crop; and a source's person is the cluster holding most of its faces."""
from __future__ import annotations

import numpy as np
import pytest

from store import identities
from store.schema.connection import write
from store.training_faces import training_centre
from store.project import Project
from tests.pipeline.seeded_faces import seed_faces


def test_the_centre_is_the_unit_mean_of_included_kept_faces(project: Project) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(7, 128)).astype(np.float32)
    ids = seed_faces(project, vectors)
    with project.connection() as conn:
        ann = identities.move_faces(conn, ids[:5] + ids[6:], "Ann")
        bob = identities.move_faces(conn, ids[5:6], "Bob")
        identities.set_excluded(conn, [ids[3]], True)
        with write(conn):
            conn.execute("UPDATE faces SET rejected = 'blurry' WHERE id = ?", (ids[4],))
            conn.execute("DELETE FROM face_images WHERE face_id = ?", (ids[6],))
        centre = training_centre(conn, ann)
        expected = vectors[:3].mean(axis=0)
        np.testing.assert_allclose(centre, expected / np.linalg.norm(expected), rtol=1e-5)
        np.testing.assert_allclose(training_centre(conn, bob),
                                   vectors[5] / np.linalg.norm(vectors[5]), rtol=1e-5)
        assert training_centre(conn, bob, model="another") is None
        identities.set_excluded(conn, [ids[5]], True)
        assert training_centre(conn, bob) is None


def test_a_sources_cluster_is_the_latest_runs_holding_most_of_its_faces(
        project: Project) -> None:
    ids = seed_faces(project, np.random.default_rng(1).normal(size=(7, 128)).astype(np.float32))

    def cluster(labels: list[int]) -> list[int]:
        """Record a run putting face i in cluster labels[i]; its cluster ids by index."""
        run_id = identities.record_run(
            conn, method="average", threshold=0.5, source_ids=[], face_ids=ids,
            labels=np.array(labels), centres=np.zeros((3, 128), np.float32),
            distances=np.zeros(len(ids)), names={}, job_id=None)
        return [row.id for row in identities.clusters(conn, run_id)]

    with project.connection() as conn:
        [source_id] = {row[0] for row in conn.execute("SELECT source_id FROM faces")}
        with pytest.raises(identities.IdentityError, match=f"no faces of source {source_id}"):
            identities.largest_cluster_of_source(conn, source_id)     # nothing clustered yet
        first = cluster([0, 1, 1, 2, 1, 0, 2])
        assert identities.largest_cluster_of_source(conn, source_id) == first[1]
        second = cluster([2, 2, 0, 2, 1, 1, 0])
        assert identities.largest_cluster_of_source(conn, source_id) == second[2]
        with pytest.raises(identities.IdentityError):
            identities.largest_cluster_of_source(conn, source_id + 1)
