"""`swapdeck masks train` and `swapdeck masks apply`: what they queue, and the requests they
refuse with one line before anything reaches the queue."""
from __future__ import annotations

from pathlib import Path

import pytest

from store import jobs, mask_models
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.masks.xseg_faces import run_queued, seed_labelled
from tests.pipeline.train.people import seed_person
from tui.cli.main import main

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["--resolution", "64", "--channels", "8", "--batch-size", "2"]


def masks(project: Project, *args: str) -> int:
    return main(["masks", *args[:1], str(project.root), *args[1:], "--no-worker"])


def refused(capsys: pytest.CaptureFixture[str], project: Project, *args: str) -> str:
    assert masks(project, *args) == 2
    return capsys.readouterr().err.strip()


def test_masks_train_refuses_a_project_without_labels(project: Project, capsys) -> None:
    seed_person(project, "Ann", 3)
    assert refused(capsys, project, "train") == (
        "swapdeck masks: no face has a mask label: label some faces first (the Mask editor, "
        "or `swapdeck masks label import DIR`)")
    with project.connection() as conn:
        assert not jobs.list_jobs(conn) and not mask_models.all_models(conn)


def test_masks_train_then_apply_from_the_command_line(project: Project, capsys) -> None:
    seed_labelled(project, count=6, labelled=3)
    assert masks(project, "train", "--iterations", "2", *TINY) == 0
    out = capsys.readouterr().out
    assert "mask model occlusion (masks: xseg-occlusion) trains from iteration 0 to 2 on 3 " \
           "labelled faces" in out and "queued mask-train job 1" in out
    assert refused(capsys, project, "train", "--iterations", "4").endswith(
        "mask model occlusion has train job 1 queued or running already")
    assert masks(project, "apply") == 0, "applying a model whose training is queued"
    assert run_queued(project, 1).status == JobStatus.DONE
    assert run_queued(project, 2).result["masked_now"] == 6
    assert refused(capsys, project, "train", "--iterations", "2").endswith(
        "mask model occlusion is at iteration 2: give --iterations above that to train it on")
    assert refused(capsys, project, "train", "--iterations", "9", "--resolution", "128") \
        .endswith("mask model occlusion exists: its network and starting weights are fixed; "
                  "give another --name for a new model")


def test_masks_train_refuses_bad_names_settings_and_files(project: Project, capsys,
                                                          tmp_path: Path) -> None:
    seed_labelled(project, count=2, labelled=1)
    assert "a mask model's name is 1 to 32 lower-case letters" in refused(
        capsys, project, "train", "--name", "Bad Name")
    assert refused(capsys, project, "train", "--batch-size", "0").endswith(
        "batch_size is from 1 to 256, not 0")
    missing = tmp_path / "generic.safetensors"
    assert refused(capsys, project, "train", "--from", str(missing)).endswith(
        f"no such file: {missing}")
    missing.write_bytes(b"\x00" * 20)
    assert refused(capsys, project, "train", "--from", str(missing)).endswith(
        f"not a safetensors file (or cut short): {missing}")
    with pytest.raises(SystemExit):
        masks(project, "train", "--resolution", "100")
    assert "invalid choice: 100" in capsys.readouterr().err
    with project.connection() as conn:
        assert not jobs.list_jobs(conn) and not mask_models.all_models(conn)


def test_masks_apply_refusals(project: Project, capsys) -> None:
    seed_labelled(project, count=2, labelled=1)
    assert refused(capsys, project, "apply").endswith(
        "no mask model in this project: train one first (`swapdeck masks train`)")
    with project.connection() as conn:
        for name in ("hands", "hair"):
            mask_models.create(conn, name, {"resolution": 256, "channels": 16})
    assert refused(capsys, project, "apply").endswith(
        "give --model: this project has mask models hands, hair")
    assert refused(capsys, project, "apply", "--model", "glasses").endswith(
        "no mask model glasses in this project")
    assert refused(capsys, project, "apply", "--model", "hair").endswith(
        "mask model hair is not trained yet: train it first (`swapdeck masks train`)")
    assert refused(capsys, project, "apply", "--model", "hair", "--source", "9").endswith(
        "no source 9 in this project")
