"""Reusing a trained encoder for a new pair (faceswap's load-weights and freeze-weights).

When a session is made with weights to load, the weights of the new model's transferable
parts (its encoder, and for some models a shared intermediate layer) are taken from another
session's newest good checkpoint, or from a checkpoint file, and written once to
`models/transfer/<sha256>.safetensors`: the source may go on training and drop that file,
and the new session still starts from the weights it was made with. The first run of the
session loads them, after checking the file's hash. Freezing keeps those parts as they are
while the decoders learn. The file's name comes from the session's config (a row): it must
be a sha256, and it is resolved through `store.files.contained`, so a crafted config cannot make
a run read a file outside the project.
"""
from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from pipeline.atomic_files import atomic_path
from pipeline.train import checkpoint
from pipeline.train.keeper import verified_path
from pipeline.train.models.registry import ModelConfig, SwapModel, build_model
from store import sessions
from store.files.contained import UnsafePathError, contained, folder_inside
from store.project import Project
from store.files.session_files import file_sha256

TRANSFER_FOLDER = "transfer"
SHA256 = re.compile(r"[0-9a-f]{64}")


class TransferError(ValueError):
    """Weights that cannot be loaded into the new model; the message is one line."""


def transferable_names(model: SwapModel) -> list[str]:
    """The state_dict names of the parts load-weights and freeze-weights act on."""
    prefixes = tuple(f"{part}." for part in model.transferable)
    return [name for name in model.state_dict() if name.startswith(prefixes)]


def source_weights(conn: sqlite3.Connection, project: Project,
                   source: str) -> tuple[dict[str, torch.Tensor], str]:
    """The model weights of `source` (a session of this project by name or id, or a
    checkpoint file) and a description of where they came from."""
    path = Path(source).expanduser()
    if path.is_file():
        return checkpoint.read_model(path), f"file {path}"
    try:
        session = sessions.resolve(conn, source)
    except sessions.SessionError as exc:
        raise TransferError(f"weights to load: {exc} (give a session of this project or a "
                            "checkpoint file)") from None
    rows = sorted(sessions.checkpoints(conn, session.id),
                  key=lambda row: (row.iteration, row.kind == "save"), reverse=True)
    for row in rows:
        try:
            return (checkpoint.read_model(verified_path(project.models, row)),
                    f"session {session.name} at iteration {row.iteration}")
        except checkpoint.CheckpointError:
            continue
    raise TransferError(f"session {session.name} has no whole checkpoint to load weights from")


def prepare_transfer(conn: sqlite3.Connection, project: Project, source: str,
                     model_config: ModelConfig) -> dict[str, Any]:
    """Write the weights the new model takes from `source`; the session config's
    `load_weights` entry that names them."""
    weights, origin = source_weights(conn, project, source)
    model = build_model(model_config)
    wanted = model.state_dict()
    taken = {name: weights[name].contiguous() for name in transferable_names(model)
             if name in weights and weights[name].shape == wanted[name].shape}
    if not taken:
        raise TransferError(f"{origin} has no {' or '.join(model.transferable)} weights that "
                            f"fit model {model.name} with these options")
    missing = len(transferable_names(model)) - len(taken)
    if missing:
        raise TransferError(f"{origin}: {missing} of the {model.name} model's "
                            f"{' and '.join(model.transferable)} weights are missing or of "
                            "another shape (was it made with other model options?)")
    data = save(taken, metadata={"format": "swapdeck-transfer-1", "origin": origin})
    sha256 = hashlib.sha256(data).hexdigest()
    folder_inside(project.root, project.models.relative_to(project.root) / TRANSFER_FOLDER,
                  where="the transferred weights' folder")
    path = transfer_file(project, sha256, where="the transferred weights")
    if not path.exists():
        with atomic_path(path) as temp:
            temp.write_bytes(data)
    return {"origin": origin, "sha256": sha256, "tensors": len(taken)}


def transfer_file(project: Project, sha256: str, *, where: str) -> Path:
    """`models/transfer/<sha256>.safetensors`, inside the project; raises TransferError,
    naming `where`, for a name that is not a sha256 or a path that leads out."""
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise TransferError(f"{where}: {sha256!r} is not a sha256, so it names no file of "
                            "transferred weights")
    try:
        return contained(project.root, f"{sha256}.safetensors", where=where,
                         base=project.models.relative_to(project.root) / TRANSFER_FOLDER)
    except UnsafePathError as exc:
        raise TransferError(str(exc)) from None


def load_transfer(project: Project, entry: dict[str, Any], model: SwapModel, *,
                  where: str) -> int:
    """Load a session's transferred weights into its fresh model; how many tensors. `where`
    names the entry's row for errors ("sessions row 3 (load_weights)")."""
    path = transfer_file(project, entry.get("sha256"), where=where)
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise TransferError(f"the weights loaded from {entry['origin']} are missing: {path} "
                            f"({exc.strerror or exc})") from None
    if digest != entry["sha256"]:
        raise TransferError(f"the weights loaded from {entry['origin']} are damaged: {path}")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise TransferError(f"the weights loaded from {entry['origin']} are unreadable: "
                            f"{path} ({exc})") from None
    unexpected = sorted(set(tensors) - set(transferable_names(model)))
    if unexpected:
        raise TransferError(f"{path} holds weights model {model.name} cannot take: "
                            f"{', '.join(unexpected[:3])}")
    model.load_state_dict(tensors, strict=False)
    return len(tensors)


def freeze(model: SwapModel) -> int:
    """Stop the transferable parts from learning; how many weights were frozen."""
    frozen = 0
    for part in model.transferable:
        for parameter in getattr(model, part).parameters():
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    return frozen
