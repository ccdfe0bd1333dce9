"""The cluster job on a real store: runs recorded, names carried over, hand choices kept."""
from __future__ import annotations

from pipeline.worker import Worker, WorkerOptions
from store import faces, identities, jobs
from store.schema.connection import write
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.seeded_faces import people, run_cluster, seed_faces
from tui.cli.main import main as swapdeck


def test_a_run_is_recorded_with_members_and_distances(project: Project) -> None:
    vectors, truth = people(3, 20)
    seed_faces(project, vectors)
    job = run_cluster(project)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["clusters"] == 3 and job.result["faces"] == 60
    with project.connection() as conn:
        rows = identities.clusters(conn, job.result["run_id"])
        assert sorted(r.size for r in rows) == [20, 20, 20]
        members = conn.execute("SELECT COUNT(*), MAX(distance) FROM cluster_members").fetchone()
        assert members[0] == 60 and members[1] < 0.2


def test_a_retried_job_keeps_the_run_its_dead_worker_recorded(project: Project) -> None:
    """A worker killed between recording the run and finishing the job (found by
    benchmarks/torture.py): the retry records no second run for the job."""
    vectors, _ = people(2, 10)
    seed_faces(project, vectors)
    first = run_cluster(project)
    with project.connection() as conn, write(conn):  # as requeued after that death
        conn.execute("UPDATE jobs SET status = ?, result = NULL WHERE id = ?",
                     (JobStatus.QUEUED, first.id))
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        retried = jobs.get(conn, first.id)
        runs = conn.execute("SELECT id FROM cluster_runs WHERE job_id = ?",
                            (first.id,)).fetchall()
    assert retried.status == JobStatus.DONE, retried.error
    assert [row[0] for row in runs] == [first.result["run_id"]]
    assert retried.result["run_id"] == first.result["run_id"]
    assert retried.result["clusters"] == 2 and retried.result["faces"] == 20


def test_names_carry_over_and_hand_choices_stay(project: Project) -> None:
    vectors, truth = people(3, 20, seed=4)
    face_ids = seed_faces(project, vectors)
    first = run_cluster(project)
    with project.connection() as conn:
        alice_cluster = conn.execute(
            "SELECT cluster_id FROM cluster_members WHERE face_id = ?", (face_ids[0],)).fetchone()[0]
        others = [c.id for c in identities.clusters(conn, first.result["run_id"])
                  if c.id != alice_cluster]
        alice = identities.name_cluster(conn, alice_cluster, "Alice")
        bob = identities.name_cluster(conn, others[0], "Bob")
        with write(conn):  # a face of Alice's put with Bob by hand
            conn.execute("UPDATE faces SET identity_id = ?, identity_manual = 1 WHERE id = ?",
                         (bob, face_ids[1]))
    second = run_cluster(project, threshold=0.5)
    assert second.status == JobStatus.DONE and "2 named people carried over" in second.result["message"]
    with project.connection() as conn:
        person = {f.id: f.identity_id for f in faces.list_faces(conn)}
    alice_faces = [f for f, t in zip(face_ids, truth) if t == truth[0]]
    assert all(person[f] == alice for f in alice_faces if f != face_ids[1])
    assert person[face_ids[1]] == bob


def test_nothing_to_cluster_fails_clearly(project: Project) -> None:
    job = run_cluster(project)
    assert job.status == JobStatus.FAILED and "no faces to cluster" in job.error


def test_identity_cli(project: Project, capsys) -> None:
    vectors, _ = people(2, 10, seed=5)
    seed_faces(project, vectors)
    run_cluster(project)
    assert swapdeck(["identity", str(project.root), "list"]) == 0
    assert "cluster" in capsys.readouterr().out
    with project.connection() as conn:
        cluster_id = identities.clusters(conn, identities.latest_run_id(conn))[0].id
    assert swapdeck(["identity", str(project.root), "name", str(cluster_id), "Carol"]) == 0
    assert swapdeck(["identity", str(project.root), "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"name": "Carol"' in out
    assert swapdeck(["identity", str(project.root), "name", "999", "Dan"]) == 2
    assert "no cluster 999" in capsys.readouterr().err


def test_review_actions_exclude_move_merge_side(project: Project) -> None:
    vectors, truth = people(3, 10, seed=6)
    face_ids = seed_faces(project, vectors)
    run = run_cluster(project, threshold=0.55)
    with project.connection() as conn:
        first, second, third = identities.clusters(conn, run.result["run_id"])
        identities.name_cluster(conn, first.id, "Ann")
        identities.merge_clusters(conn, first.id, [second.id])
        merged = identities.clusters(conn, run.result["run_id"])
        assert [(c.id, c.size, c.name) for c in merged] == [(first.id, 20, "Ann"),
                                                             (third.id, 10, None)]
        identities.set_excluded(conn, face_ids[:2], True)
        identities.set_excluded(conn, face_ids[:1], False)
        assert [f.excluded for f in faces.list_faces(conn)[:3]] == [False, True, False]
        identities.move_faces(conn, face_ids[-1:], "Zed")
        identities.set_side(conn, "Ann", "A")
        identities.set_side(conn, "Zed", "A")  # the side moves: one person per side
        people_now = {p.name: p for p in identities.list_identities(conn)}
        assert people_now["Zed"].side == "A" and people_now["Ann"].side is None
        assert people_now["Ann"].faces == 19 and people_now["Zed"].faces == 1
        for bad in (lambda: identities.set_excluded(conn, [12345], True),
                    lambda: identities.merge_clusters(conn, first.id, [999]),
                    lambda: identities.set_side(conn, "Nobody", "B"),
                    lambda: identities.move_faces(conn, face_ids[:1], "  ")):
            try:
                bad()
            except identities.IdentityError:
                continue
            raise AssertionError("expected an IdentityError")


def test_face_listing_sorts_and_filters(project: Project, capsys) -> None:
    from store.views import face_query

    vectors, truth = people(2, 6, seed=7)
    vectors[0] += 0.02  # about 0.23 off: still in its cluster, but its farthest face
    face_ids = seed_faces(project, vectors)
    run_cluster(project)
    with project.connection() as conn:
        with write(conn):
            conn.executemany("UPDATE faces SET blur = ?, yaw = ? WHERE id = ?",
                             [(i * 1.0, (-1) ** i * i, f) for i, f in enumerate(face_ids)])
        identities.set_excluded(conn, face_ids[3:5], True)
        assert face_query.list_faces(conn, sort="distance")[0].id == face_ids[0]
        assert [f.id for f in face_query.list_faces(conn, sort="blur", limit=2)] == face_ids[:2]
        assert face_query.list_faces(conn, sort="yaw")[0].id == face_ids[-1]
        assert [f.id for f in face_query.list_faces(conn, filters=("excluded",))] == face_ids[3:5]
        assert len(face_query.list_faces(conn, max_blur=2.5)) == 3
        assert face_query.list_faces(conn, filters=("multiple",)) == []
        page = face_query.list_faces(conn, limit=3, offset=3)
        assert [f.id for f in page] == face_ids[3:6]
    assert swapdeck(["faces", str(project.root), "list", "--sort", "blur", "--json"]) == 0
    assert '"schema": 2' in capsys.readouterr().out
