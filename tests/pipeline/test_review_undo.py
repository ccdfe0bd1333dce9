"""Splitting clusters and the review's undo stack, on a real store after a real clustering."""
from __future__ import annotations

import numpy as np
import pytest

from store import identities, review
from store.schema.connection import integrity_check
from store.project import Project
from tests.pipeline.seeded_faces import people, run_cluster, seed_faces
from tui.cli.main import main as swapdeck

REVIEW_TABLES = ("faces", "clusters", "cluster_members", "identities")


def store_state(conn) -> dict[str, list[tuple]]:
    return {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in REVIEW_TABLES}


def test_every_review_action_is_undone_exactly(project: Project) -> None:
    vectors, _truth = people(3, 8, seed=11)
    face_ids = seed_faces(project, vectors)
    run = run_cluster(project)
    with project.connection() as conn:
        first, second, third = identities.clusters(conn, run.result["run_id"])
        steps = [
            lambda: identities.name_cluster(conn, first.id, "Ann"),
            lambda: identities.set_excluded(conn, face_ids[:3], True),
            lambda: identities.move_faces(conn, face_ids[3:5], "Bo"),
            lambda: identities.merge_clusters(conn, first.id, [second.id]),
            lambda: identities.split_faces(conn, face_ids[20:23]),
            lambda: identities.set_side(conn, "Ann", "A"),
            lambda: identities.set_side(conn, "Bo", "A"),
        ]
        states = []
        for step in steps:
            states.append(store_state(conn))
            step()
        for before in reversed(states):
            review.undo_last(conn)
            assert store_state(conn) == before
        with pytest.raises(review.NothingToUndo):
            review.undo_last(conn)
        assert integrity_check(conn) == "ok"
        assert [a.undone_at is not None for a in review.history(conn)] == [True] * len(steps)


def test_split_makes_a_new_cluster_with_fresh_centres(project: Project) -> None:
    vectors, truth = people(2, 10, seed=12)
    face_ids = seed_faces(project, vectors)
    run = run_cluster(project)
    with project.connection() as conn:
        big = identities.clusters(conn, run.result["run_id"])[0]
        identities.name_cluster(conn, big.id, "Cy")
        members = [r[0] for r in conn.execute(
            "SELECT face_id FROM cluster_members WHERE cluster_id = ? ORDER BY face_id",
            (big.id,))]
        new_id = identities.split_faces(conn, members[:4])
        sizes = {c.id: (c.size, c.name) for c in identities.clusters(conn, run.result["run_id"])}
        assert sizes[big.id] == (6, "Cy") and sizes[new_id] == (4, None)
        # the split faces left Cy; the new cluster's centre is the mean of its faces
        people_now = {p.name: p.faces for p in identities.list_identities(conn)}
        assert people_now["Cy"] == 6
        index = {f: i for i, f in enumerate(face_ids)}
        expected = np.mean([vectors[index[f]] for f in members[:4]], axis=0)
        distances = [r[0] for r in conn.execute(
            "SELECT distance FROM cluster_members WHERE cluster_id = ? ORDER BY face_id",
            (new_id,))]
        assert np.allclose(distances, [np.linalg.norm(vectors[index[f]] - expected)
                                       for f in members[:4]], atol=1e-5)
        with pytest.raises(identities.IdentityError, match="no face"):
            identities.split_faces(conn, [99999])


def test_clustering_seals_the_undo_stack(project: Project) -> None:
    vectors, _truth = people(2, 6, seed=13)
    face_ids = seed_faces(project, vectors)
    run_cluster(project)
    with project.connection() as conn:
        identities.set_excluded(conn, face_ids[:2], True)
    run_cluster(project)
    with project.connection() as conn:
        with pytest.raises(review.NothingToUndo, match="since the last clustering"):
            review.undo_last(conn)


def test_cli_split_undo_and_history(project: Project, capsys) -> None:
    vectors, _truth = people(2, 6, seed=14)
    face_ids = seed_faces(project, vectors)
    run_cluster(project)
    root = str(project.root)
    assert swapdeck(["identity", root, "split", *map(str, face_ids[:2])]) == 0
    assert "2 face(s) split off into cluster" in capsys.readouterr().out
    assert swapdeck(["faces", root, "exclude", str(face_ids[3])]) == 0
    assert swapdeck(["faces", root, "undo"]) == 0
    assert "undid: excluded 1 face" in capsys.readouterr().out
    assert swapdeck(["faces", root, "history", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"action": "excluded"' in out and '"action": "split"' in out
    assert swapdeck(["faces", root, "undo"]) == 0
    assert swapdeck(["faces", root, "undo"]) == 2
    assert "nothing to undo" in capsys.readouterr().err
