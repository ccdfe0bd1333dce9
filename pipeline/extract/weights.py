"""Which model files the extraction backends and the face-parsing masks need and whether they
are here, for `swapdeck models`. Looks at files only: no network, and no torch or
face-alignment import (the torch hub folder is found the way `torch.hub.get_dir()` finds it)."""
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

Kind = Literal["detector", "aligner", "descriptor", "masker"]


@dataclass(frozen=True)
class PublishedWeights:
    """A weights file published by others, fetched by our own code (pipeline.masks.download)
    and used only when its SHA-256 is the published one."""
    title: str         # what they are, for people
    name: str          # the file's name in the torch hub folder
    url: str
    sha256: str
    size: int          # bytes

    @property
    def path(self) -> Path:
        return hub_checkpoint_dir() / self.name


# face-parsing.PyTorch's 79999_iter.pth (zllrunning; BiSeNet on CelebAMask-HQ, a plain
# state_dict), from a Hugging Face mirror pinned to a commit (the author publishes it on
# Google Drive only). The SHA-256 is the one clibdev/face-parsing.PyTorch publishes for its
# release copy, and the one other projects pin for this mirror at this commit. facexlib's
# release v0.2.0 parsing_bisenet.pth is pinned elsewhere with the same size and hash: the
# same file, for whoever fetches it by hand.
BISENET = PublishedWeights(
    title="BiSeNet face-parsing weights",
    name="bisenet-face-parsing-468e13ca.pth",
    url="https://huggingface.co/ManyOtherFunctions/face-parse-bisent/resolve/"
        "0073b233a5a3c4b1377d4dbf49245017938a72b5/79999_iter.pth",
    sha256="468e13ca13a9b43cc0881a9f99083a430e9c0a38abd935431d1c28ee94b26567",
    size=53_289_463,
)


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
        _published("bisenet", "masker", BISENET),
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


def _published(backend: str, kind: Kind, weights: PublishedWeights) -> ModelStatus:
    path = weights.path
    if path.is_file():
        return ModelStatus(backend, kind, (path,), True,
                           "in the torch hub cache (its SHA-256 is checked when it is loaded)")
    return ModelStatus(backend, kind, (path,), False,
                       f"downloaded on first use from {weights.url} (or put it there by hand: "
                       f"SHA-256 {weights.sha256})")
