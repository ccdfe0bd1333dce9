"""The `swapdeck` command as a user runs it, in real subprocesses."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from store import workers
from store.project import open_project
from tests.cli_subprocess import swapdeck
from tests.paths import real_media
from tests.waiting import wait_until


@pytest.fixture
def project_path(tmp_path: Path):
    path = tmp_path / "p"
    yield path
    if (path / "project.db").exists():  # never leave a detached worker behind
        conn = open_project(path).connect()
        workers.request_stop(conn)
        wait_until(lambda: not workers.live_workers(conn), timeout=30, what="worker to stop")
        conn.close()


def test_new_add_status_json(project_path: Path) -> None:
    video = real_media("videos/dpe_s.mp4")
    swapdeck("new", project_path)
    added = swapdeck("add", project_path, video, "--wait")
    assert "228 frames" in added.stdout
    status = json.loads(swapdeck("status", project_path, "--json").stdout)
    assert status["schema"] == 2 and status["worker"]["alive"]
    [source] = status["sources"]
    assert (source["frame_count"], source["fps"], source["width"], source["height"]) == (
        228, 25.0, 256, 256)
    assert source["has_audio"] is False and source["status"] == "ready"
    assert status["jobs"]["done"] == 1
    listed = json.loads(swapdeck("jobs", project_path, "--json").stdout)
    assert [j["status"] for j in listed["jobs"]] == ["done"]
    log = swapdeck("log", project_path).stdout
    assert "job 1 done" in log


def test_add_failure_is_reported_by_status_and_exit_code(project_path: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "movie.mp4"
    bogus.write_text("definitely not a video")
    swapdeck("new", project_path)
    refused = swapdeck("add", project_path, bogus, check=False)
    assert refused.returncode == 2 and f"not a video or image: {bogus}" in refused.stderr
    assert "queued" not in refused.stdout
    broken = tmp_path / "broken.mp4"   # a video's first bytes, then nothing a decoder can use
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(200))
    added = swapdeck("add", project_path, broken, "--wait", check=False)
    assert added.returncode == 1 and "not a video or image" in added.stdout
    status = json.loads(swapdeck("status", project_path, "--json").stdout)
    [failure] = status["recent_failures"]
    assert "not a video or image" in failure["error"]
    human = swapdeck("status", project_path).stdout
    assert "not a video or image" in human


def test_cancel_and_stop(project_path: Path, astronaut_png: Path) -> None:
    swapdeck("new", project_path)
    swapdeck("add", project_path, astronaut_png, "--no-worker")
    assert "job 1 cancelled" in swapdeck("cancel", project_path, 1).stdout
    assert "already cancelled" in swapdeck("cancel", project_path, 1).stdout
    assert "no worker is running" in swapdeck("stop", project_path).stdout


def test_clear_errors_for_bad_arguments(tmp_path: Path) -> None:
    (tmp_path / "stuff.txt").write_text("x")
    result = swapdeck("status", tmp_path, check=False)
    assert result.returncode == 2 and "not a swapdeck project" in result.stderr
    swapdeck("new", tmp_path / "p")
    missing = swapdeck("add", tmp_path / "p", tmp_path / "nope.mp4", check=False)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    unknown = swapdeck("cancel", tmp_path / "p", 42, check=False)
    assert unknown.returncode == 2 and "no job 42" in unknown.stderr
    again = swapdeck("new", tmp_path / "p", check=False)
    assert again.returncode == 2 and "already a swapdeck project" in again.stderr


def test_every_option_has_help_text() -> None:
    from tui.cli.main import build_parser

    def check(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if action.dest != "help" and parser.add_help:
                assert action.help, f"swapdeck {path} {action.dest} has no help text"
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    check(sub, f"{path} {name}".strip())

    check(build_parser(), "")
    for command in ("worker", "watch", "models"):
        assert "usage: swapdeck " + command in swapdeck(command, "--help").stdout


def test_extract_from_the_command_line(project_path: Path, astronaut_png: Path) -> None:
    swapdeck("new", project_path)
    swapdeck("add", project_path, astronaut_png, "--wait")
    bad = swapdeck("extract", project_path, "1", "--size", "64", check=False)
    assert bad.returncode == 2 and "argument --size: size is from 256 to 1024, not 64" in bad.stderr
    missing = swapdeck("extract", project_path, "7", check=False)
    assert missing.returncode == 2 and "no source 7" in missing.stderr
    done = swapdeck("extract", project_path, str(astronaut_png), "--size", "256", "--wait")
    assert "queued extract job 2: source 1" in done.stdout and "faces in 1 frames" in done.stdout
    again = swapdeck("extract", project_path, "--all", "--skip-existing")
    assert "nothing to extract" in again.stdout
    status = swapdeck("jobs", project_path).stdout
    assert "extract" in status and "source 1" in status
