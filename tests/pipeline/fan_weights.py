"""Random-weight S3FD and FAN, built from face-alignment's own classes and saved where and as its
loader looks for them, so tests run the real loading and inference code without the real
weights (which need a download)."""
from __future__ import annotations

import math
import urllib.error
from pathlib import Path

import face_alignment.utils
import pytest
import torch
from face_alignment.api import models_urls as fan_urls
from face_alignment.detection.sfd.net_s3fd import s3fd
from face_alignment.detection.sfd.sfd_detector import models_urls as s3fd_urls
from face_alignment.models import FAN

S3FD_FILE = s3fd_urls["s3fd"].rsplit("/", 1)[-1]
FAN_FILE = fan_urls["2DFAN-4"].rsplit("/", 1)[-1]

# The top-left anchor of S3FD's coarsest level (stride 128): centre (64, 64), 512 pixels wide.
ANCHOR_CENTRE, ANCHOR_SIDE = 64.0, 512.0
FACE_LOGIT = 5.0  # softmax([0, 5]): the one box scores 0.9933
TAMED_SCORE = 1 / (1 + math.exp(-FACE_LOGIT))
LEVELS = ["conv3_3_norm", "conv4_3_norm", "conv5_3_norm", "fc7", "conv6_2", "conv7_2"]


def random_s3fd(seed: int) -> s3fd:
    """Untamed: its random heads call most anchors faces."""
    torch.manual_seed(seed)
    return s3fd().eval()


@torch.no_grad()
def tamed_s3fd(box: tuple[float, float, float, float], seed: int = 0) -> s3fd:
    """A random S3FD in which exactly one anchor fires, on any image, and decodes to `box`.

    Every level but the coarsest says "background" everywhere (zero weights, biased class
    logits). The coarsest level's input is made constant, and its face logit is lowered by
    every neighbour above or to the left of a cell, which only the top-left cell lacks (its
    3x3 window reads padding there): that one anchor fires, its offsets set to reach `box`.
    """
    net = random_s3fd(seed)
    for level in LEVELS[:-1]:
        conf = getattr(net, f"{level}_mbox_conf")
        conf.weight.zero_()
        conf.bias.fill_(10.0)   # background
        conf.bias[-1] = 0.0     # face: the last channel (the first level max-outs 3 backgrounds)
    for layer in (net.conv7_1, net.conv7_2):
        layer.weight.zero_()
        layer.bias.fill_(1.0)
    conf = net.conv7_2_mbox_conf
    conf.weight.zero_()
    conf.bias.copy_(torch.tensor([0.0, FACE_LOGIT]))
    channels = conf.weight.shape[1]
    conf.weight[1, :, 0, :] = -10.0 / channels
    conf.weight[1, :, :, 0] = -10.0 / channels
    x0, y0, x1, y1 = box
    loc = net.conv7_2_mbox_loc
    loc.weight.zero_()
    loc.bias.copy_(torch.tensor([
        ((x0 + x1) / 2 - ANCHOR_CENTRE) / (0.1 * ANCHOR_SIDE),
        ((y0 + y1) / 2 - ANCHOR_CENTRE) / (0.1 * ANCHOR_SIDE),
        math.log((x1 - x0) / ANCHOR_SIDE) / 0.2,
        math.log((y1 - y0) / ANCHOR_SIDE) / 0.2,
    ]))
    return net


def random_fan(seed: int) -> FAN:
    torch.manual_seed(seed)
    return FAN(4).eval()


def write_hub_checkpoints(torch_home: Path, detector: s3fd, fan: FAN) -> Path:
    """Save both as plain state_dicts under $TORCH_HOME/hub/checkpoints, named as face-alignment's
    loader names its downloads; returns that folder."""
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(detector.state_dict(), folder / S3FD_FILE)
    torch.save(fan.state_dict(), folder / FAN_FILE)
    return folder


def forbid_downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The loaders' download function fails at once, as it does offline (and a CI machine with
    network must not fetch 180 MB). Returns the list of addresses it is asked for."""
    asked: list[str] = []

    def no_network(url: str, *args: object, **kwargs: object) -> None:
        asked.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(face_alignment.utils, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return asked
