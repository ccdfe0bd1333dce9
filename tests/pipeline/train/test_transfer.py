"""Load-weights and freeze-weights: a new session starts from another session's encoder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from pipeline.train.job import new_session
from pipeline.train.models.registry import model_names, register_model
from pipeline.train.transfer import TransferError, transfer_file
from store import sessions
from store.jobs import JobStatus
from store.project import Project
from store.requests.train import TrainRequestError, new_session_params
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.pipeline.train.tiny_model import Tiny, TinyConfig
from tests.pipeline.train.tiny_sessions import FAST, make_session, newest_weights, run_train

WIDE = "tiny-wide-test"


@dataclass(frozen=True, kw_only=True)
class WideConfig(TinyConfig):
    pass


class Wide(Tiny):
    """The tiny model with a wider encoder: its weights do not fit the tiny one."""
    config_type = WideConfig
    encoder_filters = (12, 16)


if WIDE not in model_names():
    register_model(WIDE)(Wide)


def encoder_of(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: value for name, value in weights.items() if name.startswith("encoder.")}


def reuse(project: Project, name: str, source: str, model: str = TINY,
          **settings) -> sessions.Session:
    with project.connection() as conn:
        return new_session(conn, name, model, {}, settings={**FAST, **settings}, seed=11,
                           load_weights=source, project=project)


def test_a_frozen_loaded_encoder_is_the_source_encoder_after_training(
        project: Project, pair) -> None:
    source = make_session(project, "source")
    assert run_train(project, source.id, settings={"iterations": 10}).status == JobStatus.DONE
    trained = newest_weights(project, source)

    frozen = reuse(project, "frozen", "source", freeze_weights=True)
    assert frozen.config["load_weights"]["origin"] == "session source at iteration 10"
    job = run_train(project, frozen.id, settings={"iterations": 10})
    assert job.status == JobStatus.DONE, job.error
    after = newest_weights(project, frozen)
    for name, value in encoder_of(trained).items():
        assert torch.equal(after[name], value), name
    assert any(not torch.equal(after[name], trained[name]) for name in after
               if name.startswith("decoders."))

    # unfrozen, the loaded encoder goes on learning from where the source left it
    loose = reuse(project, "loose", "source")
    assert run_train(project, loose.id, settings={"iterations": 1}).status == JobStatus.DONE
    moved = newest_weights(project, loose)
    assert any(not torch.equal(moved[name], value) for name, value in encoder_of(trained).items())
    difference = max((moved[name] - value).abs().max().item()
                     for name, value in encoder_of(trained).items())
    assert difference < 1e-2    # one small step away from the source, not fresh weights


def test_the_loaded_weights_survive_the_source_moving_on(project: Project, pair) -> None:
    source = make_session(project, "moving")
    run_train(project, source.id, settings={"iterations": 10})
    first = encoder_of(newest_weights(project, source))
    reused = reuse(project, "reused", "moving", freeze_weights=True)
    run_train(project, source.id, settings={"iterations": 20})   # its save at 10 is gone
    assert run_train(project, reused.id, settings={"iterations": 10}).status == JobStatus.DONE
    after = newest_weights(project, reused)
    assert all(torch.equal(after[name], value) for name, value in first.items())


def test_a_damaged_transfer_file_fails_the_run_clearly(project: Project, pair) -> None:
    source = make_session(project, "src")
    run_train(project, source.id, settings={"iterations": 10})
    reused = reuse(project, "dst", "src")
    path = transfer_file(project, reused.config["load_weights"]["sha256"], where="test")
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)
    job = run_train(project, reused.id, settings={"iterations": 10})
    assert job.status == JobStatus.FAILED
    assert "the weights loaded from session src at iteration 10 are damaged" in job.error


def test_weights_that_do_not_fit_are_refused_when_the_session_is_made(
        project: Project, pair, tmp_path: Path) -> None:
    with project.connection() as conn:
        wide = new_session(conn, "wide", WIDE, {}, settings=FAST, seed=1)
    run_train(project, wide.id, settings={"iterations": 10})
    with pytest.raises(TransferError, match=r"session wide at iteration 10: \d+ of the "
                                            "tiny-test model's encoder weights are missing or "
                                            "of another shape"):
        reuse(project, "misfit", "wide")
    not_a_checkpoint = tmp_path / "notes.safetensors"
    not_a_checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="checkpoint damaged"):
        reuse(project, "bad-file", str(not_a_checkpoint))
    with project.connection() as conn:
        with pytest.raises(TrainRequestError, match="'nobody' is neither a session of this "
                                                    "project nor a checkpoint file"):
            new_session_params(conn, model="original", model_options={}, settings={},
                               load_weights="nobody")
        spec = new_session_params(conn, model="original", model_options={}, settings={},
                                  name="again", load_weights="wide")["new_session"]
    assert spec["load_weights"] == "wide"
