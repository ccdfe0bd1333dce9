"""`swapdeck jobs PROJECT --held`, `swapdeck jobs release|cancel|retry` and what `status` says
about held and stalled jobs, run in-process on real project stores."""
from __future__ import annotations

import argparse
import json

import pytest

from store import jobs
from store.jobs import JobStatus
from store.origin import origin
from store.project import Project
from tui.cli.main import main
from tui.cli.jobs import build_action_parser

ELSEWHERE = "gpu-box/0123abcd:/home/me/p"


def held_export_and_ingest(project: Project) -> tuple[int, int]:
    """An export and an ingest queued on another machine, both naming paths outside."""
    with project.connection() as conn:
        export = jobs.enqueue(conn, "export", {"folder": "/home/x/faces"})
        ingest = jobs.enqueue(conn, "ingest", {"path": "/data/a\nb.mp4", "label": ""})
        conn.execute("UPDATE jobs SET origin = ?", (ELSEWHERE,))
    return export, ingest


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_held_jobs_are_listed_with_what_they_touch(project: Project, capsys) -> None:
    export, ingest = held_export_and_ingest(project)
    root = str(project.root)
    code, out, _ = run(capsys, "jobs", root, "--held")
    assert code == 0
    assert f"{export} export   queued on another machine (gpu-box), in /home/me/p" in out
    assert ("writes PNG files in /home/x/faces (outside the project; files of the same name "
            "are replaced)") in out
    assert "reads /data/a\\nb.mp4 (outside the project)" in out
    assert f"swapdeck jobs release {root} JOB..." in out
    code, out, _ = run(capsys, "jobs", root, "--held", "--json")
    listed = json.loads(out)["jobs"]
    assert [j["id"] for j in listed] == [export, ingest] and all(j["held"] for j in listed)
    assert listed[1]["params"]["path"] == "/data/a\nb.mp4"
    assert listed[1]["targets"]["reads"] == [{"text": "/data/a\nb.mp4 (outside the project)",
                                              "path": "/data/a\nb.mp4", "outside_project": True}]
    assert listed[0]["origin"] == ELSEWHERE and "max_attempts" not in listed[0]


def test_plain_listing_and_status_say_held(project: Project, capsys) -> None:
    export, _ = held_export_and_ingest(project)
    with project.connection() as conn:
        mine = jobs.enqueue(conn, "histogram", {})
    root = str(project.root)
    _, out, _ = run(capsys, "jobs", root)
    rows = [line.split() for line in out.splitlines() if line.split()[0].isdigit()]
    assert [row[2] for row in rows] == ["queued", "held", "held"]
    _, out, _ = run(capsys, "jobs", root, "--json")
    assert {j["id"]: j["held"] for j in json.loads(out)["jobs"]} == {
        mine: False, export: True, export + 1: True}
    _, out, _ = run(capsys, "status", root)
    assert (f"2 jobs held: queued on another machine or before this folder moved; review with "
            f"`swapdeck jobs {root} --held`") in out
    status = json.loads(run(capsys, "status", root, "--json")[1])
    assert [j["id"] for j in status["held_jobs"]] == [export, export + 1]
    assert {j["id"]: j["held"] for j in status["active_jobs"]}[mine] is False


def test_release_and_cancel_held_jobs(project: Project, capsys) -> None:
    export, ingest = held_export_and_ingest(project)
    root = str(project.root)
    code, out, _ = run(capsys, "jobs", "release", root, str(export), "--no-worker")
    assert code == 0 and out.startswith(f"released export job {export}: reads face crops")
    with project.connection() as conn:
        assert jobs.get(conn, export).origin == origin(conn)
    code, out, _ = run(capsys, "jobs", "release", root, str(export), "--no-worker")
    assert out == f"job {export} is not held (queued)\n"
    code, out, _ = run(capsys, "jobs", "cancel", root, "--all-held")
    assert out == f"job {ingest} cancelled\n"
    with project.connection() as conn:
        assert jobs.get(conn, ingest).status == JobStatus.CANCELLED
        assert jobs.held(conn) == []
    assert run(capsys, "jobs", "release", root, "--all")[1] == "no held jobs to release\n"
    code, _, err = run(capsys, "jobs", "release", root, "99")
    assert code == 2 and err == "swapdeck jobs release: no job 99 in this project\n"


def test_retry_queues_a_failed_job_again(project: Project, capsys) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "histogram", {})
        jobs.finish(conn, job_id, JobStatus.FAILED, error=jobs.stalled_error(job_id, 3))
    root = str(project.root)
    _, out, _ = run(capsys, "status", root)
    assert f"`swapdeck jobs retry PROJECT {job_id}` queues it again" in out
    code, out, _ = run(capsys, "jobs", "retry", root, str(job_id), "--no-worker")
    assert code == 0 and out == f"queued histogram job {job_id} again as job {job_id + 1}\n"
    code, _, err = run(capsys, "jobs", "retry", root, str(job_id + 1))
    assert code == 2 and "only a failed or cancelled job can be retried" in err


def test_every_jobs_action_option_has_help_text() -> None:
    for action in build_action_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for option in sub._actions:
                    assert option.help, f"swapdeck jobs {name} {option.dest} has no help text"
