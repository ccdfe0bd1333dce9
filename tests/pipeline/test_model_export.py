"""`swapdeck export-model`: sessions of `original` and `dfl-sae` trained a few iterations,
exported as ONNX and as DeepFaceLive `.dfm` through the CLI and the worker, then run by
onnxruntime against the torch model; bad requests refused before they are queued."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipeline.model_export.check import TOLERANCE, max_difference
from pipeline.model_export.graphs import INTERFACES, graph, graph_input
from pipeline.train.job import new_session
from pipeline.train.models import build_model
from pipeline.train.session_config import SessionConfig
from store import jobs, sessions
from store.project import Project, create_project, open_project
from store.views.job_targets import job_targets
from tests.paths import TESTDATA
from tests.pipeline.train.people import copy_pair, picture
from tests.pipeline.train.tiny_sessions import drain, newest_weights, run_train
from tui.cli.main import main

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.xdist_group("model_export")]

# The smallest builds: original has one size (lowmem is its small one), dfl-sae at 64 px
# with narrow layers; original learns no mask, dfl-sae does (both mask paths exported).
MODELS = {"original": {"lowmem": True},
          "dfl-sae": {"input_size": 64, "output_size": 64, "encoder_dims": 21,
                      "decoder_dims": 10, "autoencoder_dims": 64, "learn_mask": True}}
TRAIN = {"batch_size": 2, "iterations": 2, "save_every": 2, "backups": 0}


def train_session(project: Project, model: str) -> None:
    with project.connection() as conn:
        session = new_session(conn, model, model, MODELS[model], settings=TRAIN, seed=3)
    assert run_train(project, session.id).status == jobs.JobStatus.DONE


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, seeded_pair) -> Path:
    """A project of the seeded pair with a dfl-sae session trained 2 iterations."""
    project = create_project(tmp_path_factory.mktemp("export") / "project")
    copy_pair(seeded_pair, project)
    train_session(project, "dfl-sae")
    return project.root


@pytest.fixture(scope="module")
def with_original(trained: Path) -> Path:
    """The same project with an `original` session too (its export takes several seconds:
    the default run exports dfl-sae, which covers both mask paths' code)."""
    train_session(open_project(trained), "original")
    return trained


def torch_model(project: Project, name: str) -> torch.nn.Module:
    """The session's model with its newest saved weights."""
    with project.connection() as conn:
        session = sessions.resolve(conn, name)
    model = build_model(SessionConfig.from_dict(session.config).model)
    model.load_state_dict(newest_weights(project, session))
    return model.eval()


def export(root: Path, *args: str) -> jobs.Job:
    """`swapdeck export-model` queued from the command line, run by a worker here."""
    assert main(["export-model", str(root), *args, "--no-worker"]) == 0
    project = open_project(root)
    return next(j for j in drain(project) if j.kind == "export-model")


def astronaut_faces(size: int) -> torch.Tensor:
    """The astronaut's face and two shifted cuts of it (N x 3 x S x S, RGB, 0..1)."""
    image = picture()
    cuts = [image[top:top + 190, left:left + 190] for top, left in ((20, 160), (30, 150),
                                                                     (10, 170))]
    return _tensor([cv2.resize(cut, (size, size), interpolation=cv2.INTER_AREA)
                    for cut in cuts])


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255)


@pytest.mark.parametrize("fmt", ["onnx", "dfm"])
@pytest.mark.parametrize("model", [pytest.param("original", marks=pytest.mark.slow), "dfl-sae"])
def test_a_session_exports_and_onnxruntime_matches_the_model(
        request: pytest.FixtureRequest, tmp_path: Path, model: str, fmt: str) -> None:
    trained = request.getfixturevalue("with_original" if model == "original" else "trained")
    out = tmp_path / f"{model}.{fmt}"
    job = export(trained, model, "--format", fmt, "--direction", "b2a", "--out", str(out))
    assert job.status == jobs.JobStatus.DONE, job.error
    assert "onnxruntime matches the model within" in job.message
    proto = onnx.load(str(out))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert (meta["model"], meta["format"], meta["direction"]) == (model, fmt, "b2a")
    assert (meta["input_size"], meta["centering"], meta["coverage"]) == ("64", "face", "0.875")
    assert meta["iteration"] == "2" and json.loads(meta["model_options"])["input_size"] == 64
    assert meta["learned_mask"] == ("true" if model == "dfl-sae" else "false")
    assert proto.opset_import[0].version == 13 and proto.ir_version <= 7
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    interface = INTERFACES[fmt]
    assert [i.name for i in session.get_inputs()] == [interface.input]
    assert [o.name for o in session.get_outputs()] == list(interface.outputs)
    shape = session.get_inputs()[0].shape
    assert shape[1:] == ([3, 64, 64] if fmt == "onnx" else [64, 64, 3])
    given = graph_input(astronaut_faces(64), fmt)
    with torch.no_grad():
        expected = graph(torch_model(open_project(trained), model), fmt, "a")(given)
    outputs = session.run(None, {interface.input: given.numpy()})
    assert max(np.abs(o - e.numpy()).max() for o, e in zip(outputs, expected)) <= TOLERANCE
    assert all(o.shape[0] == 3 and 0 <= o.min() and o.max() <= 1 for o in outputs)
    if model == "original":   # no learned mask: masks of ones
        assert all(np.all(o == 1) for o, name in zip(outputs, interface.outputs)
                   if "mask" in name)


def test_the_dfm_face_is_the_onnx_face_in_bgr_nhwc(trained: Path, tmp_path: Path) -> None:
    faces = astronaut_faces(64)
    results = {}
    for fmt in ("onnx", "dfm"):
        out = tmp_path / f"m.{fmt}"
        assert export(trained, "dfl-sae", "--format", fmt, "--out", str(out)).error is None
        interface = INTERFACES[fmt]
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        given = faces.numpy() if fmt == "onnx" else faces.flip(1).permute(0, 2, 3, 1).numpy()
        results[fmt] = dict(zip(interface.outputs,
                                session.run(None, {interface.input: np.ascontiguousarray(given)})))
    onnx_face = results["onnx"]["swapped_face"].transpose(0, 2, 3, 1)[..., ::-1]
    np.testing.assert_allclose(results["dfm"]["out_celeb_face:0"], onnx_face, atol=1e-5)
    np.testing.assert_allclose(results["dfm"]["out_celeb_face_mask:0"][..., 0],
                               results["onnx"]["swapped_mask"][:, 0], atol=1e-5)


def test_onnxruntime_matches_the_model_on_real_faces(trained: Path, tmp_path: Path) -> None:
    people = sorted((TESTDATA / "identities" / "bbt").glob("*/*1.png"))
    if not people:
        pytest.skip(f"real test data not found: {TESTDATA / 'identities' / 'bbt'} "
                    "(../shared/testdata is not beside this checkout)")
    faces = _tensor([cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (64, 64),
                                interpolation=cv2.INTER_AREA) for p in people])
    out = tmp_path / "real.dfm"
    assert export(trained, "dfl-sae", "--format", "dfm", "--out", str(out)).error is None
    network = torch_model(open_project(trained), "dfl-sae")
    assert max_difference(network, "dfm", "b", out.read_bytes(), faces) <= TOLERANCE


def test_a_checkpoint_is_chosen_by_its_iteration_and_the_held_job_says_what_it_touches(
        trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "at-2.onnx"
    job = export(trained, "dfl-sae", "--format", "onnx", "--checkpoint", "2", "--out",
                 str(out))
    assert job.error is None and "iteration 2;" in job.message
    with open_project(trained).connection() as conn:
        found = job_targets(conn, trained, job)
    assert [t.text for t in found.reads] == [
        f"session dfl-sae's checkpoint at iteration 2 in models/{job.params['session_id']}/"]
    assert [t.text for t in found.writes] == [
        f"an ONNX model {out} (outside the project; replaced if it exists)"]


def test_without_onnxruntime_the_export_is_written_unchecked_and_without_onnx_refused(
        trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)   # import onnxruntime fails
    job = export(trained, "dfl-sae", "--format", "dfm", "--out", str(tmp_path / "m.dfm"))
    assert job.status == jobs.JobStatus.DONE, job.error
    assert "not checked (onnxruntime is not installed: pip install 'swapdeck[export]')" \
        in job.message
    monkeypatch.setitem(sys.modules, "onnx", None)
    job = export(trained, "dfl-sae", "--format", "dfm", "--out", str(tmp_path / "n.dfm"))
    assert job.status == jobs.JobStatus.FAILED
    assert job.error == "exporting a model needs the onnx package: pip install 'swapdeck[export]'"
    assert not (tmp_path / "n.dfm").exists()


@pytest.mark.parametrize("session, options, name, message", [
    ("saved", ["--format", "onnnx"], "m.onnx", "invalid choice: 'onnnx'"),
    ("saved", ["--format", "onnx", "--direction", "a-to-c"], "m.onnx", "invalid choice: 'a-to-c'"),
    ("nobody", ["--format", "dfm"], "m.dfm", "no session 'nobody'"),
    ("fresh", ["--format", "dfm"], "m.dfm", "session fresh has no checkpoint yet"),
    ("saved", ["--format", "dfm", "--checkpoint", "7"], "m.dfm",
     "no checkpoint at iteration 7 (it has: 5)"),
    ("saved", ["--format", "dfm"], "m.onnx", "m.onnx: a dfm file's name ends in .dfm"),
])
def test_bad_requests_are_refused_with_exit_2(project: Project, pair, tmp_path: Path, capsys,
                                             session: str, options: list[str], name: str,
                                             message: str) -> None:
    with project.connection() as conn:
        saved = new_session(conn, "saved", "original", {}, seed=1)
        sessions.add_checkpoint(conn, saved.id, "save", 5, "saves/x.safetensors", "0" * 64,
                                None, None)
        new_session(conn, "fresh", "original", {}, seed=1)
    argv = ["export-model", str(project.root), session, *options, "--out",
            str(tmp_path / name), "--no-worker"]
    try:
        status = main(argv)
    except SystemExit as exit_:   # argparse refuses a choice it does not offer
        status = exit_.code
    assert status == 2
    assert message in capsys.readouterr().err
    with project.connection() as conn:
        assert jobs.list_jobs(conn) == []
