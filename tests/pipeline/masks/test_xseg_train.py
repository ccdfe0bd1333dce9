"""The mask-train job on a real store with an in-process worker and a tiny network: what it
records and writes, its exact resume, its start from a pre-trained file, and its failures."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from pipeline.masks.xseg import XSeg, XSegConfig
from pipeline.train import checkpoint
from store import mask_models
from store.files.session_files import file_sha256
from store.jobs import JobStatus
from store.mask_models import TRAIN_KIND
from store.requests.mask_train import MaskTrainSettings
from store.project import Project, create_project
from tests.pipeline.masks.xseg_faces import TINY_SHAPE, drain, seed_labelled, train_params

pytestmark = pytest.mark.usefixtures("one_thread")


def seeded_model(project: Project, seed: int = 5, **made: object) -> int:
    with project.connection() as conn:
        return mask_models.create(conn, "occlusion", TINY_SHAPE, seed=seed, **made).id


def train(project: Project, model_id: int, **settings: object):
    params = {"model_id": model_id,
              "settings": vars(MaskTrainSettings(**{"batch_size": 2, **settings}))}
    return drain(project, TRAIN_KIND, params)


def model_files(project: Project, model_id: int) -> list[str]:
    return sorted(p.name for p in (project.models / "masks" / str(model_id)).iterdir())


def test_training_records_losses_a_whole_checkpoint_and_a_preview(project: Project) -> None:
    seed_labelled(project, count=8, labelled=4)
    job = drain(project, TRAIN_KIND, train_params(project, iterations=7, save_every=3))
    assert job.status == JobStatus.DONE, job.error
    assert job.result["iteration"] == job.result["iterations_run"] == 7
    assert job.result["faces"] == 4 and job.result["kind"] == "xseg-occlusion"
    with project.connection() as conn:
        [model] = mask_models.all_models(conn)
        losses = mask_models.losses(conn, model.id)
    assert [i for i, _ in losses] == list(range(1, 8))
    assert model.iteration == 7 and model.kind == "xseg-occlusion"
    assert model_files(project, model.id) == sorted([model.path, "preview.png"]), \
        "the older checkpoints are deleted, no temp file is left"
    path = project.root / model.folder / model.path
    assert file_sha256(path) == model.sha256
    saved = checkpoint.read(path)
    assert saved.state["iteration"] == 7 and saved.state["network"]["resolution"] == 64
    with Image.open(project.root / job.result["preview"]) as preview:
        # the 4 unlabelled faces, each a row of face, masked face and mask at 64 px
        assert preview.size == (3 * 64, 4 * 64)


def test_a_continued_run_repeats_an_unbroken_one_exactly(project: Project,
                                                         tmp_path: Path) -> None:
    other = create_project(tmp_path / "unbroken")
    for each in (project, other):
        seed_labelled(each, count=6, labelled=5)
        seeded_model(each)
    assert train(project, 1, iterations=4, save_every=2).status == JobStatus.DONE
    resumed = train(project, 1, iterations=8, save_every=2)
    assert resumed.result["iterations_run"] == 4
    assert train(other, 1, iterations=8, save_every=2).result["iterations_run"] == 8
    weights, losses = [], []
    for each in (project, other):
        with each.connection() as conn:
            model = mask_models.get(conn, 1)
            weights.append(checkpoint.read_model(each.root / model.folder / model.path))
            losses.append(mask_models.losses(conn, 1))
    assert losses[0] == losses[1]
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])


def test_a_new_model_starts_from_a_pretrained_network_file(project: Project,
                                                           tmp_path: Path) -> None:
    seed_labelled(project)
    torch.manual_seed(11)
    pretrained = XSeg(XSegConfig(resolution=64, channels=8)).state_dict()
    path = tmp_path / "generic_xseg.safetensors"
    save_file(pretrained, str(path))
    model_id = seeded_model(project, from_file=str(path))
    assert train(project, model_id, iterations=1, learning_rate=1e-7).status == JobStatus.DONE
    with project.connection() as conn:
        model = mask_models.get(conn, model_id)
    trained = checkpoint.read_model(project.root / model.folder / model.path)
    for name, tensor in pretrained.items():   # one step at 1e-7 moves nothing visibly
        assert torch.allclose(trained[name], tensor, atol=1e-5), name


def test_training_fails_clearly_without_labels_or_with_a_damaged_checkpoint(
        project: Project) -> None:
    seed_labelled(project)
    params = train_params(project, iterations=2)
    assert drain(project, TRAIN_KIND, params).status == JobStatus.DONE
    with project.connection() as conn:
        model = mask_models.get(conn, params["model_id"])
    (project.root / model.folder / model.path).write_bytes(b"damaged")
    failed = drain(project, TRAIN_KIND, {**params, "settings": {"iterations": 4}})
    assert failed.status == JobStatus.FAILED
    assert failed.error == (f"the checkpoint of mask model occlusion is damaged: "
                            f"{project.root.resolve() / model.folder / model.path} (its hash "
                            "differs)")
    with project.connection() as conn:
        conn.execute("DELETE FROM mask_labels")
    failed = drain(project, TRAIN_KIND, params)
    assert failed.status == JobStatus.FAILED
    assert failed.error.startswith("no face has a mask label: label some faces first")
