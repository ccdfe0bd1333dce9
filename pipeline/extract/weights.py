"""Which model files the extraction backends need and whether they are here, for
`swapdeck models`. Looks at files only: no network, and no torch or face-alignment import
(the torch hub folder is found the way `torch.hub.get_dir()` finds it)."""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.extract.backends import BackendUnavailableError
from pipeline.extract.model_files import MMOD, RESNET, SHAPE_68, dlib_model_file

# face-alignment 1.5.0's download addresses (face_alignment.detection.sfd.sfd_detector.models_urls
# and face_alignment.api.models_urls); its loader saves each under the address's file name.
S3FD_URL = "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth"
FAN_URL = "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar"

Kind = Literal["detector", "aligner", "descriptor"]


@dataclass(frozen=True)
class ModelStatus:
    backend: str
    kind: Kind
    paths: tuple[Path, ...]
    present: bool
    note: str


def hub_checkpoint_dir() -> Path:
    """Where torch.hub (and face-alignment's loader) keeps downloaded weights:
    $TORCH_HOME/hub/checkpoints, $TORCH_HOME defaulting to $XDG_CACHE_HOME/torch, then
    ~/.cache/torch. Read at call time, like torch does."""
    torch_home = os.getenv("TORCH_HOME",
                           os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(torch_home)) / "hub" / "checkpoints"


def checkpoint_name(url: str) -> str:
    """The file name the loader gives a download: the address's last path component."""
    return url.rsplit("/", 1)[-1]


def model_status() -> list[ModelStatus]:
    """Every backend's model files, in the order `swapdeck models` lists them."""
    dlib_installed = importlib.util.find_spec("dlib") is not None
    return [
        ModelStatus("dlib-hog", "detector", (), dlib_installed,
                    "built into dlib, no model file" if dlib_installed
                    else "dlib is not installed: pip install dlib-bin"),
        _dlib_file("dlib-mmod", "detector", MMOD),
        _dlib_file("dlib", "aligner", SHAPE_68),
        _dlib_file("dlib", "descriptor", RESNET),
        _hub_file("s3fd", "detector", S3FD_URL),
        _hub_file("fan", "aligner", FAN_URL),
    ]


def _dlib_file(backend: str, kind: Kind, name: str) -> ModelStatus:
    try:
        path = dlib_model_file(name)
    except BackendUnavailableError as error:
        return ModelStatus(backend, kind, (), False, str(error))
    return ModelStatus(backend, kind, (path,), True, "shipped by face-recognition-models")


def _hub_file(backend: str, kind: Kind, url: str) -> ModelStatus:
    path = hub_checkpoint_dir() / checkpoint_name(url)
    if path.is_file():
        return ModelStatus(backend, kind, (path,), True, "in the torch hub cache")
    return ModelStatus(backend, kind, (path,), False,
                       f"downloaded on first use from {url} (or put it there by hand)")
