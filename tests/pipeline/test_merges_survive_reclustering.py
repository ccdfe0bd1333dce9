"""A merge is a hand decision, like a name or a move: re-clustering keeps merged faces together,
whether or not anyone named the clusters."""
from __future__ import annotations

import json

import numpy as np

from pipeline.curate.cluster import cluster, keep_merged
from store import identities, review
from store.project import Project
from tests.pipeline.seeded_faces import people, run_cluster, seed_faces
from tui.cli.main import main as swapdeck


def clusters_of(project: Project, face_ids: list[int]) -> set[int]:
    """The clusters of the newest run that hold these faces."""
    with project.connection() as conn:
        run_id = identities.latest_run_id(conn)
        return {row[0] for row in conn.execute(
            f"SELECT cluster_id FROM cluster_members WHERE run_id = ? AND face_id IN "
            f"({','.join('?' * len(face_ids))})", (run_id, *face_ids))}


def seed_three_people(project: Project) -> list[list[int]]:
    """Ten faces each of three people, clustered once: the face ids of each person."""
    vectors, truth = people(3, 10, seed=21)
    face_ids = seed_faces(project, vectors)
    assert run_cluster(project).result["clusters"] == 3
    return [[f for f, t in zip(face_ids, truth) if t == person] for person in range(3)]


def test_a_merge_of_unnamed_clusters_survives_every_reclustering(project: Project) -> None:
    first, second, third = seed_three_people(project)
    [one], [two] = clusters_of(project, first), clusters_of(project, second)
    assert swapdeck(["identity", str(project.root), "merge", str(one), str(two)]) == 0
    for _ in range(2):
        run = run_cluster(project)
        assert run.result["clusters"] == 2, run.result
        assert len(clusters_of(project, first + second)) == 1
        assert clusters_of(project, third).isdisjoint(clusters_of(project, first))
    with project.connection() as conn:
        assert all(c.name is None for c in identities.clusters(conn, run.result["run_id"]))


def test_a_named_cluster_merged_with_an_unnamed_one_keeps_all_its_faces(
        project: Project) -> None:
    first, second, _third = seed_three_people(project)
    [one], [two] = clusters_of(project, first), clusters_of(project, second)
    with project.connection() as conn:
        ann = identities.name_cluster(conn, one, "Ann")
        identities.merge_clusters(conn, one, [two])
    run_cluster(project)
    with project.connection() as conn:
        people_of = {r[0]: r[1] for r in conn.execute("SELECT id, identity_id FROM faces")}
    assert {people_of[f] for f in first + second} == {ann}


def test_merges_chain_and_a_split_takes_faces_out_of_the_merge(project: Project) -> None:
    first, second, third = seed_three_people(project)
    [one], [two], [three] = (clusters_of(project, p) for p in (first, second, third))
    with project.connection() as conn:
        identities.merge_clusters(conn, one, [two])
        identities.merge_clusters(conn, three, [one])   # the earlier merge comes along
        identities.split_faces(conn, first[:2])
        groups = identities.merge_groups(conn, first + second + third)
    assert groups[:2] == [None, None]
    assert None not in groups[2:] and len(set(groups[2:])) == 1
    run_cluster(project)
    assert len(clusters_of(project, first[2:] + second + third)) == 1


def test_undoing_a_merge_undoes_the_bond(project: Project) -> None:
    first, second, _third = seed_three_people(project)
    [one], [two] = clusters_of(project, first), clusters_of(project, second)
    with project.connection() as conn:
        identities.merge_clusters(conn, one, [two])
        review.undo_last(conn)
        assert identities.merge_groups(conn, first + second) == [None] * 20
    run_cluster(project)
    assert clusters_of(project, first).isdisjoint(clusters_of(project, second))


def test_keep_merged_joins_the_clusters_a_group_fell_into() -> None:
    vectors, truth = people(3, 4, seed=3)
    plain = cluster(vectors)
    assert keep_merged(vectors, plain, [None] * 12) is plain
    groups = [7 if t in (0, 2) and i % 4 == 0 else None for i, t in enumerate(truth)]
    joined = keep_merged(vectors, plain, groups)
    assert len(joined.centres) == 2
    assert len(set(joined.labels[truth != 1])) == 1
    assert np.bincount(joined.labels).tolist() == [8, 4]  # biggest first
    assert np.allclose(joined.centres[0], vectors[truth != 1].mean(axis=0), atol=1e-5)


def test_an_action_recorded_before_merge_groups_is_still_undone(project: Project) -> None:
    """Journals written before faces.merge_group was tracked hold one column less."""
    first, _second, _third = seed_three_people(project)
    with project.connection() as conn:
        identities.set_excluded(conn, first[:2], True)
        action_id, undo = conn.execute(
            "SELECT id, undo FROM review_actions ORDER BY id DESC LIMIT 1").fetchone()
        old = json.loads(undo)
        for block in old["restore"]:
            block["rows"] = [row[:-1] for row in block["rows"]]
        conn.execute("UPDATE review_actions SET undo = ? WHERE id = ?",
                     (json.dumps(old), action_id))
        review.undo_last(conn)
        assert [r[0] for r in conn.execute(
            "SELECT excluded FROM faces WHERE id IN (?, ?)", first[:2])] == [0, 0]
