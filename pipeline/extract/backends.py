"""Detector, aligner and descriptor backends, registered by name.

Every backend works on batches (several frames, several faces) so that the ones that can run
batched on a GPU do; the dlib ones loop inside. Frames are RGB uint8 arrays (H, W, 3).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np


@dataclass(frozen=True)
class Detection:
    """A face box in frame pixels (x0, y0, x1, y1) and the detector's confidence."""
    box: tuple[float, float, float, float]
    score: float


class Detector(Protocol):
    name: str

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """The faces of each frame."""


class Aligner(Protocol):
    name: str

    def landmarks(self, frames: Sequence[np.ndarray],
                  boxes: Sequence[Sequence[Detection]]) -> list[list[np.ndarray]]:
        """68 (x, y) points in iBUG order, float32 (68, 2), for each box of each frame."""


class Descriptor(Protocol):
    name: str

    def describe(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """128-D identity descriptors (N, 128) float32 of 150x150 RGB face chips (dlib's
        `get_face_chip(image, shape, size=150, padding=0.25)`)."""


class BackendUnavailableError(RuntimeError):
    """A backend cannot run here (missing weights, no network); the message says what to do."""


T = TypeVar("T")
DETECTORS: dict[str, Callable[..., Detector]] = {}
ALIGNERS: dict[str, Callable[..., Aligner]] = {}
DESCRIPTORS: dict[str, Callable[..., Descriptor]] = {}


def _register(table: dict[str, Callable[..., T]], name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def decorate(factory: Callable[..., T]) -> Callable[..., T]:
        if name in table:
            raise ValueError(f"backend {name!r} registered twice")
        table[name] = factory
        return factory
    return decorate


def detector(name: str):
    """Register a detector factory: `factory(device: str, min_size_percent: float) -> Detector`
    (the smallest face wanted, as a percentage of the frame's short side)."""
    return _register(DETECTORS, name)


def aligner(name: str):
    """Register an aligner factory: `factory(device: str) -> Aligner`."""
    return _register(ALIGNERS, name)


def descriptor(name: str):
    """Register a descriptor factory: `factory(device: str) -> Descriptor`."""
    return _register(DESCRIPTORS, name)


# The module that registers each backend, imported only when the backend is asked for: the
# face-alignment pair pulls in torch and face_alignment (seconds), which dlib-only runs skip.
MODULES = {
    "dlib-hog": "pipeline.extract.dlib_backend",
    "dlib-mmod": "pipeline.extract.dlib_backend",
    "mmod": "pipeline.extract.dlib_mmod",
    "dlib": "pipeline.extract.dlib_backend",
    "s3fd": "pipeline.extract.fan_backend",
    "fan": "pipeline.extract.fan_backend",
}
DESCRIPTOR_MODULES = {
    "dlib-torch": "pipeline.extract.dlib_resnet",
    "dlib": "pipeline.extract.dlib_descriptor",
}


def load_all() -> None:
    """Import every backend module, so the registries hold every name."""
    for module in {*MODULES.values(), *DESCRIPTOR_MODULES.values()}:
        importlib.import_module(module)


def create(table: dict[str, Callable[..., T]], kind: str, name: str, device: str,
           *args: object) -> T:
    modules = DESCRIPTOR_MODULES if table is DESCRIPTORS else MODULES
    if name in modules:
        importlib.import_module(modules[name])
    try:
        factory = table[name]
    except KeyError:
        raise BackendUnavailableError(
            f"unknown {kind} {name!r} (known: {', '.join(sorted(table))})") from None
    return factory(device, *args)
