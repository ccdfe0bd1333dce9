"""`swapdeck sessions`, `session show/plot/export/delete`, `resume` and `restore` against a
real store with sessions the real trainer made."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from store import jobs, sessions
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.train.people import copy_pair
from tests.pipeline.train.tiny_sessions import drain, make_session, run_train
from tui.cli.main import main


@pytest.fixture
def trained(project: Project, prebuilt, seeded_pair) -> sessions.Session:
    """`first`, trained to 30 iterations with snapshots at 10, 20 and 30; `second`, never.
    Trained once per test run; each test has a copy."""
    def build(built: Project, _media: Path) -> int:
        copy_pair(seeded_pair, built)
        first = make_session(built, "first", snapshot_every=10)
        make_session(built, "second")
        assert run_train(built, first.id, settings={"iterations": 30}).status == JobStatus.DONE
        return first.id

    first_id = prebuilt("cli_sessions_trained", build)
    with project.connection() as conn:
        return sessions.get(conn, first_id)


def run(project: Project, *args: str) -> int:
    command, *rest = args
    return main([command, *([rest[0]] if command == "session" else []), str(project.root),
                 *rest[1 if command == "session" else 0:]])


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the answers a person would type."""

    def isatty(self) -> bool:
        return True


def snapshot_id(project: Project, session_id: int, iteration: int) -> int:
    with project.connection() as conn:
        return next(c.id for c in sessions.checkpoints(conn, session_id, "snapshot")
                    if c.iteration == iteration)


def test_sessions_lists_them_with_their_status(project: Project, trained, capsys) -> None:
    assert run(project, "sessions") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "name", "model", "A", "B", "iteration", "runs", "last",
                                "run", "status"]
    assert lines[1].split()[:7] == ["1", "first", "tiny-test", "Ann", "Bob", "30", "1"]
    assert lines[1].endswith("reached 30 iterations")
    assert lines[2].endswith("not trained yet")
    assert run(project, "sessions", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == 2
    first, second = document["sessions"]
    assert (first["name"], first["iteration"], first["runs"], first["problem"]) == (
        "first", 30, 1, None)
    assert second["status"] == "not trained yet" and second["last_run_started_at"] is None


def test_session_show_lists_runs_checkpoints_and_metrics(project: Project, trained,
                                                         capsys) -> None:
    assert run(project, "session", "show", "first") == 0
    out = capsys.readouterr().out
    assert "session 1 first: tiny-test, A Ann, B Bob; iteration 30" in out
    assert "frozen in the session:\n  model: tiny-test" in out
    assert ("per-run settings (swapdeck resume trains with these unless given):\n  "
            "iterations=30, batch_size=4, ") in out   # the resume dialog's baseline too
    assert "swap metrics: none yet" in out
    assert "0->30" in out and "reached 30 iterations" in out
    assert "checkpoints (" in out and "snapshot" in out and "previews: 3" in out
    assert run(project, "session", "show", "1", "--json", "--verify") == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    [run_row] = document["runs"]
    assert (run_row["start_iteration"], run_row["end_iteration"], run_row["batch_size"]) == (
        0, 30, 4)
    assert run_row["examples_per_s"] > 0
    assert {c["file"] for c in document["checkpoints"]} == {"ok"}
    assert {c["kind"] for c in document["checkpoints"]} >= {"save", "snapshot"}
    assert document["preview_iterations"] == [10, 20, 30]
    assert "checking save at 30: 100%" in captured.err


def test_a_damaged_file_refuses_resume_and_names_what_to_restore(
        project: Project, trained, capsys) -> None:
    with project.connection() as conn:
        save = sessions.checkpoints(conn, trained.id, "save")[0]
    path = project.models / str(trained.id) / save.path
    path.write_bytes(path.read_bytes()[:100])
    assert run(project, "resume", "first", "--iterations", "40") == 2
    err = capsys.readouterr().err
    assert "the file of the save at 30 is damaged" in err and "restore the" in err
    assert run(project, "session", "show", "first") == 0
    assert "PROBLEM: the file of the save at 30 is damaged" in capsys.readouterr().out
    assert run(project, "restore", "first", str(save.id), "--yes") == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "choose another checkpoint" in err


def test_restore_then_resume_continues_from_the_restored_iteration(
        project: Project, trained, capsys) -> None:
    checkpoint = snapshot_id(project, trained.id, 10)
    assert run(project, "restore", "first", str(checkpoint)) == 2   # no terminal: asks --yes
    assert "add --yes" in capsys.readouterr().err
    assert run(project, "restore", "first", str(checkpoint), "--yes") == 0
    out = capsys.readouterr().out
    assert "session first is at the snapshot at 10; archive #1 keeps" in out
    assert "20 loss rows" in out
    assert run(project, "resume", "first", "--iterations", "25", "--lr", "1e-5",
               "--no-worker") == 0
    assert "session first resumes at iteration 10 and trains to 25" in capsys.readouterr().out
    job = drain(project)[0]   # newest first
    assert job.status == JobStatus.DONE, job.error
    assert job.params["settings"] == {"iterations": 25, "learning_rate": 1e-5}
    assert job.result["iterations_run"] == 15
    with project.connection() as conn:
        last = sessions.runs(conn, trained.id)[-1]
    assert (last.start_iteration, last.end_iteration) == (10, 25)


@pytest.mark.parametrize("args, message", [
    (["restore", "first", "999", "--yes"], "no checkpoint 999"),
    (["restore", "second", "{snapshot}", "--yes"], "belongs to another session"),
    (["restore", "nobody", "1", "--yes"], "no session 'nobody'"),
    (["resume", "first"], "has reached its 30 iterations: give --iterations above 30"),
    (["train", "--resume", "first", "--iterations", "20"], "has reached its 20 iterations"),
    (["session", "plot", "first", "second", "--metrics"], "give one session"),
])
def test_bad_requests_get_one_line(project: Project, trained, capsys, args: list[str],
                                   message: str) -> None:
    args = [arg.format(snapshot=snapshot_id(project, trained.id, 10)) for arg in args]
    assert run(project, *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_resume_and_restore_are_refused_while_the_session_trains(
        project: Project, trained, capsys) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": trained.id})
    assert run(project, "resume", "first", "--iterations", "40") == 2
    assert f"already has train job {job_id} queued or running" in capsys.readouterr().err
    assert run(project, "restore", "first", str(snapshot_id(project, trained.id, 10)),
               "--yes") == 2
    assert "stop it first" in capsys.readouterr().err
    assert run(project, "session", "delete", "first", "--yes") == 2
    assert "stop it first" in capsys.readouterr().err


def test_export_writes_the_losses_and_runs_as_csv(project: Project, trained, tmp_path,
                                                  capsys) -> None:
    out = tmp_path / "export"
    out.mkdir()
    assert run(project, "session", "export", "first", "--csv", "--out", str(out)) == 0
    assert "(30 rows)" in capsys.readouterr().out
    with open(out / "first-losses.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["iteration", "loss_a", "loss_b"] and len(rows) == 31
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 31))
    runs = (out / "first-runs.csv").read_text().splitlines()
    assert len(runs) == 2 and ",4,0,30," in runs[1]
    assert (out / "first-metrics.csv").read_text().startswith("iteration,faces,identity_b")
    assert len((out / "first-checkpoints.csv").read_text().splitlines()) == 8
    assert not list(out.glob(".*tmp"))
    assert run(project, "session", "export", "first", "--csv", "--out",
               str(tmp_path / "nowhere")) == 2
    with pytest.raises(SystemExit):   # --csv is required
        run(project, "session", "export", "first")
    assert "the following arguments are required: --csv" in capsys.readouterr().err


def test_plot_draws_the_curves_and_the_metrics(project: Project, trained, capsys) -> None:
    assert run(project, "session", "plot", "first", "second", "--width", "90", "--height",
               "20", "--smoothing", "raw", "--log") == 0
    out = capsys.readouterr().out
    assert "first vs second" in out and "first loss A" in out and "iteration" in out
    assert "\x1b[" not in out   # no colour codes when piped
    assert max(len(line) for line in io.StringIO(out)) <= 91
    assert run(project, "session", "plot", "first", "--metrics", "--width", "90") == 0
    out = capsys.readouterr().out
    assert "identity of the A→B output" in out and "pose error" in out


def test_delete_asks_first_and_takes_the_files(project: Project, trained, capsys) -> None:
    folder = project.models / str(trained.id)
    assert run(project, "session", "delete", "first") == 2   # no terminal: needs --yes
    assert folder.is_dir()
    assert run(project, "session", "delete", "first", "--yes") == 0
    assert "deleted session first:" in capsys.readouterr().out
    assert not folder.exists()
    with project.connection() as conn:
        assert [s.name for s in sessions.list_sessions(conn)] == ["second"]
        assert conn.execute("SELECT COUNT(*) FROM losses").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0


def test_restore_shows_what_it_archives_and_asks(project: Project, trained, capsys,
                                                 monkeypatch) -> None:
    checkpoint = snapshot_id(project, trained.id, 10)
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert run(project, "restore", "first", str(checkpoint)) == 2
    captured = capsys.readouterr()
    assert ("session first goes back from iteration 30 to the snapshot at 10 "
            f"(checkpoint {checkpoint})") in captured.out
    assert "20 loss rows" in captured.out and captured.out.endswith("restore? [y/N] ")
    assert "nothing changed" in captured.err
    with project.connection() as conn:
        assert sessions.get(conn, trained.id).iteration == 30
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert run(project, "restore", "first", str(checkpoint)) == 0
    out = capsys.readouterr().out
    planned = int(out.split("archived, not deleted: ")[1].split()[0])
    assert f"keeps {planned} checkpoints and 20 loss rows" in out
    # the newest archive's save at 30 can be restored back: its history comes back
    with project.connection() as conn:
        undo = next(c for c in sessions.checkpoints(conn, trained.id, "save", archived=True)
                    if c.iteration == 30)
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    assert run(project, "restore", "first", str(undo.id)) == 0
    out = capsys.readouterr().out
    assert "archive #1's history up to iteration 30 comes back" in out
    assert "session first is at the save at 30; archive #2" in out
    with project.connection() as conn:
        assert len(sessions.losses(conn, trained.id)) == 30


def test_restore_refuses_before_asking(project: Project, trained, capsys,
                                       monkeypatch) -> None:
    with project.connection() as conn:
        jobs.enqueue(conn, "train", {"session_id": trained.id})
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert run(project, "restore", "first", str(snapshot_id(project, trained.id, 10))) == 2
    assert run(project, "session", "delete", "first") == 2
    captured = capsys.readouterr()
    assert "[y/N]" not in captured.out and captured.err.count("stop it first") == 2


def test_delete_asks_on_a_terminal(project: Project, trained, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert run(project, "session", "delete", "first") == 0
    out = capsys.readouterr().out
    assert f"the folder {project.models / str(trained.id)}. This cannot be undone." in out
    assert "delete? [y/N] deleted session first:" in out
    assert not (project.models / str(trained.id)).exists()


def test_resume_has_only_the_per_run_settings(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["resume", "--help"])
    out = " ".join(capsys.readouterr().out.split())   # however argparse wrapped it
    assert "--learning-rate FLOAT, --lr FLOAT" in out and "--warp, --no-warp" in out
    assert "(default the session's current value)" in out
    assert "--coverage" not in out and "--model" not in out
