"""The train job on a real store: resume exactness, NaN rollback, checkpoints and previews."""
from __future__ import annotations

import pytest
import torch

from pipeline.train.job import new_session
from store import sessions
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.pipeline.train.tiny_sessions import FAST, make_session, newest_weights, run_train

# every option that keeps state across iterations or draws random numbers, at once
EVERYTHING = {
    "loss": {"loss": "ms_ssim", "secondary": "ffl", "secondary_weight": 0.5,
             "third": "gradient_diff", "third_weight": 0.5},
    "optimizer": {"optimizer": "adabelief", "weight_decay": 0.01},
    "settings": {"accumulation": 2, "clipping": "autoclip",
                 "augment": {"clahe_chance": 1.0, "warp_to_landmarks": True},
                 "extras": {"true_face_power": 0.1, "gan_power": 0.1, "face_style_power": 1.0,
                            "bg_style_power": 1.0, "colour_transfer": "rct"}},
}


@pytest.mark.parametrize("options, total", [({}, 40), (EVERYTHING, 20)],
                         ids=["defaults", "every-stateful-option"])
def test_a_stopped_and_resumed_run_equals_a_straight_one(
        project: Project, pair, options: dict, total: int) -> None:
    sessions_made = []
    for name in ("straight", "split"):
        with project.connection() as conn:
            sessions_made.append(new_session(
                conn, name, TINY, {}, loss=options.get("loss"),
                optimizer=options.get("optimizer"),
                settings={**FAST, **options.get("settings", {})}, seed=7))
    straight, split = sessions_made
    assert run_train(project, straight.id,
                     settings={"iterations": total}).status == JobStatus.DONE
    first = run_train(project, split.id, settings={"iterations": total // 2})
    second = run_train(project, split.id, settings={"iterations": total})
    assert first.status == second.status == JobStatus.DONE, (first.error, second.error)
    assert second.result["iterations_run"] == total // 2
    # both sessions have the same seed, so the split one must end where the straight one did
    a, b = newest_weights(project, straight), newest_weights(project, split)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)


def test_a_nan_rolls_back_to_the_last_save_and_the_run_goes_on(
        project: Project, pair) -> None:
    session = make_session(project, "nan")
    job = run_train(project, session.id, settings={"iterations": 30},
                    faults={"nan_at": [15]})
    assert job.status == JobStatus.DONE, job.error
    assert job.result["rollbacks"] == 1 and job.result["iteration"] == 30
    with project.connection() as conn:
        [run] = sessions.runs(conn, session.id)
        assert run.rollbacks == 1 and run.end_iteration == 30
        iterations = [i for i, _, _ in sessions.losses(conn, session.id)]
        assert iterations == list(range(1, 31))  # nothing lost, nothing twice
        assert sessions.preview_iterations(conn, session.id) == [10, 20, 30]
        assert integrity_check(conn) == "ok"
        events = " ".join(r[0] for r in conn.execute("SELECT message FROM events"))
    assert "rolled back to iteration 10" in events


def test_a_run_that_died_before_its_first_save_starts_again_from_iteration_0(
        project: Project, pair) -> None:
    """What a killed worker leaves when it had not saved yet: losses and an open run up to
    iteration 6, and no model file. The next run starts over from the seed's weights."""
    straight, died = make_session(project, "straight"), make_session(project, "died")
    with project.connection() as conn:
        run_id = sessions.start_run(conn, died.id, None, 0, 4, "cpu", {})
        sessions.record_progress(conn, died.id, run_id, 6,
                                 [(i, 0.5, 0.5) for i in range(1, 7)])
    for session in (straight, died):
        job = run_train(project, session.id, settings={"iterations": 4})
        assert job.status == JobStatus.DONE, job.error
        assert job.result["iterations_run"] == 4
    a, b = newest_weights(project, straight), newest_weights(project, died)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)
    with project.connection() as conn:
        assert [i for i, _, _ in sessions.losses(conn, died.id)] == [1, 2, 3, 4]
        dead, resumed = sessions.runs(conn, died.id)
        assert dead.end_iteration == 0 and "the worker died" in dead.end_reason
        assert resumed.start_iteration == 0 and resumed.end_iteration == 4
        events = " ".join(r[0] for r in conn.execute("SELECT message FROM events"))
    assert "reached iteration 6 but its run ended before the first save" in events


def test_a_session_whose_saves_are_all_archived_is_refused_with_what_to_do(
        project: Project, pair) -> None:
    session = make_session(project, "archived")
    assert run_train(project, session.id, settings={"iterations": 2}).status == JobStatus.DONE
    with project.connection() as conn:
        archive = conn.execute(
            "INSERT INTO session_archives (session_id, created_at, iteration, restored_to,"
            " reason) VALUES (?, 0, 2, 0, 'test')", (session.id,)).lastrowid
        conn.execute("UPDATE checkpoints SET archive_id = ? WHERE session_id = ?",
                     (archive, session.id))
        conn.commit()
    job = run_train(project, session.id, settings={"iterations": 4})
    assert job.status == JobStatus.FAILED
    assert "is at iteration 2 but has no model files: restore one of its archived" in job.error
