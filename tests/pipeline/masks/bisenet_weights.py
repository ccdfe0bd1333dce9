"""Random-weight BiSeNet saved as the published weights are (a plain state_dict), with the
weights' entry pointed at that file and its SHA-256, so tests run the real checking, loading
and inference code without the real file (which needs a download)."""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from pipeline.extract import weights
from pipeline.extract.weights import PublishedWeights
from pipeline.masks.bisenet import BiSeNet

FILE_NAME = "bisenet-test.pth"


def random_bisenet(seed: int) -> BiSeNet:
    torch.manual_seed(seed)
    return BiSeNet().eval()


def save_weights(net: BiSeNet, path: Path) -> PublishedWeights:
    """Save the net's state_dict at `path`, and describe it as a published file of that name
    whose hash is its own (its `path` is where the loader looks: the same only when `path` is
    in the torch hub cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    data = path.read_bytes()
    return PublishedWeights("test BiSeNet weights", path.name,
                            "https://weights.invalid/" + path.name,
                            hashlib.sha256(data).hexdigest(), len(data))


def forbid_downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attempt to open an address fails, as offline; returns the addresses asked for."""
    asked: list[str] = []

    def offline(url: str, *args: object, **kwargs: object) -> None:
        asked.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return asked


def use_test_weights(monkeypatch: pytest.MonkeyPatch, torch_home: Path,
                     seed: int = 0) -> PublishedWeights:
    """A random BiSeNet in `torch_home`'s hub cache, where the loader looks, and the BiSeNet
    entry pointed at it; downloads fail."""
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    forbid_downloads(monkeypatch)
    published = save_weights(random_bisenet(seed),
                             torch_home / "hub" / "checkpoints" / FILE_NAME)
    monkeypatch.setattr(weights, "BISENET", published)
    assert published.path == torch_home / "hub" / "checkpoints" / FILE_NAME
    return published
