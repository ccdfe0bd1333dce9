"""The requests of the trainable occlusion mask: `mask-train` (a new mask model, or one
trained before going on) and `mask-apply` (a trained model masking the kept faces of some
sources), checked completely before they are queued. The settings are described once here,
in their dataclasses' field metadata, for the CLI, forms and the worker alike.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from store import face_masks, mask_models, sources
from store.files.contained import requested
from store.files.session_files import FileState, quick_state
from store.mask_models import MaskModel, MaskRequestError, active_train_job, by_name
from store.requests.options import field_problems, known_names

DEFAULT_NAME = "occlusion"
RESOLUTIONS = (64, 128, 192, 256)
CHANNELS = (8, 16, 24, 32, 48, 64)


@dataclass(frozen=True)
class MaskNetwork:
    """The occlusion mask's network, fixed when the model is made."""

    resolution: int = field(default=256, metadata={"choices": RESOLUTIONS,
        "help": "Side in pixels of the aligned face the network sees and masks (DeepFaceLab's "
                "XSeg uses 256); smaller trains faster."})
    channels: int = field(default=16, metadata={"choices": CHANNELS,
        "help": "Channels of the U-Net's first level, doubled at each level down (16: about "
                "2 million parameters)."})

    def __post_init__(self) -> None:
        if problems := field_problems(self):
            raise MaskRequestError("; ".join(problems))


@dataclass(frozen=True)
class MaskTrainSettings:
    """One train run of a mask model."""

    iterations: int = field(default=3000, metadata={"bounds": (1, 10_000_000),
        "help": "Train until the model has this many iterations in all (a model trained "
                "before goes on from where it stopped)."})
    batch_size: int = field(default=8, metadata={"bounds": (1, 256),
        "help": "Labelled faces per iteration."})
    learning_rate: float = field(default=1e-3, metadata={"bounds": (1e-7, 0.1),
        "help": "Adam's learning rate."})
    save_every: int = field(default=200, metadata={"bounds": (1, 1_000_000),
        "help": "Iterations between checkpoints (and previews); a run killed in between "
                "resumes from the last one."})

    def __post_init__(self) -> None:
        if problems := field_problems(self):
            raise MaskRequestError("; ".join(problems))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaskTrainSettings:
        return cls(**known_names(cls, data, "mask train setting", MaskRequestError))


def train_request(conn: sqlite3.Connection, root: Path, name: str,
                  settings: MaskTrainSettings, network: MaskNetwork | None = None,
                  from_file: Path | None = None) -> dict[str, Any]:
    """The params of a train job of mask model `name`, made here when it is new (with
    `network`, default MaskNetwork(), and `from_file`, a safetensors file of a pre-trained
    network); a model trained before goes on to `settings.iterations`."""
    mask_models.check_name(name)
    if mask_models.label_count(conn) == 0:
        raise MaskRequestError("no face has a mask label: label some faces first (the Mask "
                               "editor, or `swapdeck masks label import DIR`)")
    model = by_name(conn, name)
    if model is not None:
        _check_continued(conn, model, settings, network, from_file)
    else:
        checked = None if from_file is None else str(_checked_file(root, from_file))
        model = mask_models.create(conn, name, asdict(network or MaskNetwork()), checked)
    return {"model_id": model.id, "settings": asdict(settings)}


def _check_continued(conn: sqlite3.Connection, model: MaskModel, settings: MaskTrainSettings,
                     network: MaskNetwork | None, from_file: Path | None) -> None:
    if network is not None or from_file is not None:
        raise MaskRequestError(f"mask model {model.name} exists: its network and starting "
                               "weights are fixed; give another --name for a new model")
    if (job_id := active_train_job(conn, model.id)) is not None:
        raise MaskRequestError(f"mask model {model.name} has train job {job_id} queued or "
                               "running already")
    if settings.iterations <= model.iteration:
        raise MaskRequestError(f"mask model {model.name} is at iteration {model.iteration:,}: "
                               f"give --iterations above that to train it on")


def _checked_file(root: Path, path: Path) -> Path:
    path = requested(root, path.expanduser().absolute(), where="--from")
    state = quick_state(path)
    if state is FileState.MISSING:
        raise MaskRequestError(f"no such file: {path}")
    if state is not FileState.OK:
        raise MaskRequestError(f"not a safetensors file (or cut short): {path}")
    return path


def apply_request(conn: sqlite3.Connection, name: str | None,
                  source_ids: Sequence[int] = ()) -> dict[str, Any]:
    """The params of an apply job: mask model `name` (None: the project's only one) on the
    kept faces of `source_ids` (empty: every source)."""
    model = _chosen_model(conn, name)
    if model.path is None and active_train_job(conn, model.id) is None:
        raise MaskRequestError(f"mask model {model.name} is not trained yet: train it first "
                               "(`swapdeck masks train`)")
    for source_id in source_ids:
        try:
            sources.get(conn, source_id)
        except sources.SourceNotFoundError as exc:
            raise MaskRequestError(str(exc)) from None
    if not face_masks.count_kept(conn, source_ids):
        raise MaskRequestError("no kept faces in " + (
            f"source(s) {', '.join(map(str, source_ids))}" if source_ids else "this project"))
    return {"model_id": model.id, "source_ids": sorted(set(source_ids))}


def _chosen_model(conn: sqlite3.Connection, name: str | None) -> MaskModel:
    if name is not None:
        model = by_name(conn, name)
        if model is None:
            raise MaskRequestError(f"no mask model {name} in this project")
        return model
    models = mask_models.all_models(conn)
    if len(models) != 1:
        raise MaskRequestError("no mask model in this project: train one first (`swapdeck "
                               "masks train`)" if not models else
                               "give --model: this project has mask models "
                               + ", ".join(m.name for m in models))
    return models[0]
