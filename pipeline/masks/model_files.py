"""A mask model's files under `models/masks/<id>/`: its newest checkpoint, its preview, and
the pre-trained network a new model may start from.

A checkpoint is the face trainer's format (pipeline/train/checkpoint.py: weights,
optimizer, random generators and loop state in one safetensors file). Each save is a new
file named by its iteration, written whole (temp file, fsync, rename); then the model's row
names it; only then is the previous file deleted. A kill at any point leaves the row naming
a whole file, and the files no row names are deleted when the next run starts. Paths from
the row are resolved through `store.files.contained`, and a file is read only once its
sha256 matches the row's.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file

from pipeline.atomic_files import atomic_path, remove_stale_temps
from pipeline.masks.xseg import XSeg, XSegConfig
from pipeline.train import checkpoint
from store.files.contained import contained, folder_inside, remove_contained
from store.files.session_files import file_sha256
from store.files.temp_names import writer_of
from store.mask_models import MaskModel

PREVIEW = "preview.png"


def network_config(model: MaskModel) -> XSegConfig:
    network = model.network
    return XSegConfig(resolution=int(network["resolution"]), channels=int(network["channels"]))


class ModelFiles:
    """The files of one mask model, in the project at `root`."""

    def __init__(self, root: Path, model: MaskModel) -> None:
        self.root, self.model = root, model
        self.where = f"mask_models row {model.id}"
        self.folder = folder_inside(root, model.folder, where=self.where)

    def clean(self, recorded: str | None) -> int:
        """Delete what a killed run left: temp files, and checkpoint files other than
        `recorded` (the row's). Returns how many checkpoint files went."""
        remove_stale_temps(self.folder)
        removed = 0
        for entry in self.folder.iterdir():
            if (entry.name != recorded and entry.name.endswith(".safetensors")
                    and writer_of(entry.name) is None):
                removed += remove_contained(self.root, entry, where=self.where)
        return removed

    def save(self, data: checkpoint.Checkpoint, iteration: int) -> tuple[str, str]:
        """Write a new checkpoint file; its name (relative to the folder) and sha256."""
        name = f"iter_{iteration:09d}-{secrets.token_hex(4)}.safetensors"
        return name, checkpoint.write(self.folder / name, data)

    def remove(self, name: str) -> None:
        remove_contained(self.root, self.checked(name), where=self.where)

    def checked(self, name: str) -> Path:
        """The real path of a file the row names, inside the project."""
        return contained(self.root, name, where=self.where, base=self.model.folder)

    def verified(self, name: str, sha256: str) -> Path:
        """That file, once its hash matches the recorded one."""
        path = self.checked(name)
        try:
            digest = file_sha256(path)
        except OSError as exc:
            raise checkpoint.CheckpointError(f"the checkpoint of mask model {self.model.name} "
                                             f"is missing or unreadable: {path}") from exc
        if digest != sha256:
            raise checkpoint.CheckpointError(f"the checkpoint of mask model {self.model.name} "
                                             f"is damaged: {path} (its hash differs)")
        return path

    def write_preview(self, png: bytes) -> Path:
        path = self.folder / PREVIEW
        with atomic_path(path) as temp:
            temp.write_bytes(png)
        return path


def trained_network(root: Path, model: MaskModel) -> tuple[XSeg, str]:
    """The model's network with the weights of its newest checkpoint, in eval mode, and that
    checkpoint's sha256; CheckpointError when it has none or the file is not whole."""
    if model.path is None or model.sha256 is None:
        raise checkpoint.CheckpointError(f"mask model {model.name} is not trained yet")
    path = ModelFiles(root, model).verified(model.path, model.sha256)
    network = XSeg(network_config(model))
    network.load_state_dict(checkpoint.read_model(path))
    return network.eval(), model.sha256


def load_pretrained(path: Path, network: XSeg) -> int:
    """Start `network` from the tensors of a safetensors file whose names and shapes fit
    (a swapdeck checkpoint's `model.` prefix is dropped); returns how many were loaded."""
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise checkpoint.CheckpointError(f"cannot read the pre-trained network {path}: "
                                         f"{exc}") from exc
    own = network.state_dict()
    fitting = {}
    for name, tensor in tensors.items():
        name = name.removeprefix("model.")
        if name in own and own[name].shape == tensor.shape:
            fitting[name] = tensor.to(own[name].dtype)
    if not fitting:
        raise checkpoint.CheckpointError(
            f"no tensor of {path} fits the XSeg network (of {len(own)} weights, none has a "
            "matching name and shape)")
    network.load_state_dict(fitting, strict=False)
    return len(fitting)

