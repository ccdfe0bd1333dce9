"""A person's descriptor centre counts only the faces training uses: kept at extraction, not
excluded, with a stored crop."""
from __future__ import annotations

import numpy as np

from store import identities
from store.connection import write
from store.training_faces import training_centre
from store.project import Project
from tests.pipeline.test_cluster_job import seed_faces


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
