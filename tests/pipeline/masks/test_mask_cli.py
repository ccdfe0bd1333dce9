"""`swapdeck masks add` and `swapdeck masks list` (and faceswap's `masks PROJECT --add KIND`
form): what they queue, what they refuse, and the counts they print."""
from __future__ import annotations

import json

import pytest

from store import jobs
from store.project import Project
from tui.cli.main import main


def queued(project: Project) -> list[jobs.Job]:
    with project.connection() as conn:
        return sorted((job for job in jobs.list_jobs(conn) if job.kind == "mask-add"),
                      key=lambda job: job.id)


def test_an_unknown_kind_is_refused_before_anything_is_queued(
        project: Project, capsys: pytest.CaptureFixture) -> None:
    for argv in (["masks", "add", str(project.root), "hair-ish"],
                 ["masks", str(project.root), "--add", "hair-ish"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "invalid choice: 'hair-ish'" in capsys.readouterr().err
    assert main(["masks", "add", str(project.root), "bisenet-head", "--source", "9"]) == 2
    assert "no source 9 in this project" in capsys.readouterr().err
    assert queued(project) == []


def test_add_queues_one_job_with_the_choices_given(
        project: Project, capsys: pytest.CaptureFixture) -> None:
    root = str(project.root)
    assert main(["masks", root, "--add", "bisenet-head", "--no-mask-glasses",
                 "--no-worker"]) == 0
    assert main(["masks", "add", root, "components", "--no-worker"]) == 0
    assert "queued mask-add job 1: all sources" in capsys.readouterr().out
    head, components = queued(project)
    assert head.params == {"kind": "bisenet-head", "source_ids": [], "mask_glasses": False,
                           "mask_mouth": True}
    assert components.params["kind"] == "components" and components.params["mask_glasses"]


def test_list_counts_each_kind(project: Project, capsys: pytest.CaptureFixture) -> None:
    assert main(["masks", "list", str(project.root), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kept_faces"] == 0 and document["masks"] == {}
    assert main(["masks", "list", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "0 kept faces" in out and "bisenet-face" in out
    assert main(["masks", "list", str(project.root), "--source", "3"]) == 2
