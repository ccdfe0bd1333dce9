"""What a job would read and write, told from its parameters, on real project stores."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from store import jobs, sessions, sources
from store.views.job_targets import MALFORMED, UNKNOWN_KIND, held_jobs, job_targets, where_queued
from store.origin import origin
from store.project import Project

ELSEWHERE = "gpu-box/0123abcd:/home/me/p"


def queued(conn: sqlite3.Connection, kind: str, params: dict,
           job_origin: str | None = None) -> jobs.Job:
    """A queued job from `job_origin` ("here": this project as it is now)."""
    job_id = jobs.enqueue(conn, kind, params)
    if job_origin != "here":
        conn.execute("UPDATE jobs SET origin = ? WHERE id = ?", (job_origin, job_id))
    return jobs.get(conn, job_id)


def summary(project: Project, kind: str, params: dict) -> str:
    with project.connection() as conn:
        return job_targets(conn, project.root, queued(conn, kind, params, "here")).summary()


def test_a_convert_writing_outside_the_project_says_so(project: Project, tmp_path: Path) -> None:
    media = tmp_path / "clip.mp4"
    with project.connection() as conn:
        source_id = sources.begin_ingest(conn, str(media), "", "video", 10, 1, None)
        conn.execute("INSERT INTO identities (name, created_at) VALUES ('a', 0), ('b', 0)")
        session = sessions.create(conn, "wda", "original", {}, 1, 2, {})
        job = queued(conn, "convert", {"session_id": session.id, "source_id": source_id,
                                       "settings": {}, "output": "/home/x/out.mp4",
                                       "overwrite": True})
        found = job_targets(conn, project.root, job)
    assert [t.text for t in found.reads] == [
        f"source {source_id}'s file {media} (outside the project)",
        f"session wda's checkpoint in models/{session.id}/"]
    [output, record] = found.writes
    assert output.text == "/home/x/out.mp4 (outside the project; replaced if it exists)"
    assert (output.path, output.outside) == ("/home/x/out.mp4", True)
    assert record.text == "a conversion record (in the store)"


def test_paths_inside_the_project_are_not_flagged_unless_a_symlink_leads_out(
        project: Project, tmp_path: Path) -> None:
    inside = project.outputs / "faces"
    assert summary(project, "export", {"folder": str(inside)}) == (
        f"reads face crops (in the store); writes PNG files in {inside} "
        "(files of the same name are replaced)")
    os.symlink(tmp_path, project.outputs / "out")
    leaking = summary(project, "export", {"folder": str(project.outputs / "out" / "f")})
    assert "(outside the project; files of the same name are replaced)" in leaking
    assert "outside the project" in summary(project, "ingest", {"path": "../../etc/passwd"})


def test_unknown_kinds_malformed_parameters_and_missing_rows(project: Project) -> None:
    assert summary(project, "mine-bitcoin", {}) == UNKNOWN_KIND
    assert summary(project, "extract", {"source_id": "seven"}) == MALFORMED
    assert summary(project, "ingest", {"path": 3}) == MALFORMED
    assert summary(project, "extract", {"source_id": 9}) == (
        "no source 9 in this project: it will fail when it runs")
    assert summary(project, "train", {"session_id": 2}) == (
        "no session 2 in this project: it will fail when it runs")


def test_names_are_kept_exact(project: Project) -> None:
    name = "/data/a\nb\t\u200fc.mp4"
    with project.connection() as conn:
        found = job_targets(conn, project.root, queued(conn, "ingest", {"path": name}, "here"))
    [target] = found.reads
    assert (target.path, target.text) == (name, f"{name} (outside the project)")


def test_held_jobs_say_where_they_were_queued(project: Project) -> None:
    with project.connection() as conn:
        here = origin(conn)
        queued(conn, "histogram", {}, ELSEWHERE)
        queued(conn, "histogram", {}, None)
        queued(conn, "histogram", {}, "here")
        moved = here.partition(":")[0] + ":/old/place"
        queued(conn, "histogram", {}, moved)
        held = held_jobs(conn, project.root)
    assert [h.where for h in held] == [
        "another machine (gpu-box), in /home/me/p",
        "an unknown machine (before swapdeck recorded where jobs were queued)",
        "this machine, in /old/place (before the project folder moved)"]
    assert held[0].to_json()["held"] is True
    assert where_queued(ELSEWHERE, ELSEWHERE).startswith("this machine")
