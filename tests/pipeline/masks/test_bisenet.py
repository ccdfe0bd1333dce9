"""The face-parsing network: its layout (that of the published weights), what it gives, its
weights saved and loaded back, the SHA-256 check and download of published weights, and the
classes each mask kind takes in."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.extract import weights
from pipeline.extract.masks import MASK_SIZE
from pipeline.extract.weights import PublishedWeights
from pipeline.masks.bisenet import CLASSES, BiSeNet, load_bisenet
from pipeline.masks.download import WeightsError, checked_weights
from pipeline.masks.parsing import FaceParser, face_parser, mask_classes, region_mask
from store.requests.extract import PARSING_MASKS
from tests.pipeline.masks.bisenet_weights import (forbid_downloads, random_bisenet,
                                                  save_weights, use_test_weights)

# A few tensors of face-parsing.PyTorch's 79999_iter.pth, by name and shape.
PUBLISHED_SHAPES = {
    "cp.resnet.conv1.weight": (64, 3, 7, 7),
    "cp.resnet.layer2.0.downsample.0.weight": (128, 64, 1, 1),
    "cp.resnet.layer4.1.bn2.running_var": (512,),
    "cp.arm16.conv.conv.weight": (128, 256, 3, 3),
    "cp.arm32.conv_atten.weight": (128, 128, 1, 1),
    "cp.conv_avg.conv.weight": (128, 512, 1, 1),
    "ffm.convblk.conv.weight": (256, 256, 1, 1),
    "ffm.conv1.weight": (64, 256, 1, 1),
    "conv_out.conv_out.weight": (19, 256, 1, 1),
    "conv_out16.conv.conv.weight": (64, 128, 3, 3),
}


def test_the_network_has_the_published_layout() -> None:
    state = BiSeNet().state_dict()
    for name, shape in PUBLISHED_SHAPES.items():
        assert tuple(state[name].shape) == shape, name
    assert not any(name.startswith("sp.") for name in state)   # no spatial path of its own
    floats = sum(t.numel() * t.element_size() for n, t in state.items()
                 if not n.endswith("num_batches_tracked"))
    assert 53_289_463 - 40_000 < floats < 53_289_463   # the published file, less pickling


def test_scores_every_pixel_and_loads_back_what_it_saved(tmp_path: Path) -> None:
    net = random_bisenet(seed=0)
    x = torch.randn(2, 3, 64, 96)
    with torch.inference_mode():
        scores = net(x)
    assert scores.shape == (2, len(CLASSES), 64, 96) and torch.isfinite(scores).all()
    save_weights(net, tmp_path / "bisenet.pth")
    loaded = load_bisenet(tmp_path / "bisenet.pth")
    with torch.inference_mode():
        assert torch.equal(loaded(x), scores)
    assert not loaded.training


def test_a_file_that_is_not_bisenet_weights_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, other)
    with pytest.raises(ValueError, match="does not fit face-parsing BiSeNet"):
        load_bisenet(other)
    pickled = tmp_path / "pickled.pth"
    torch.save({"net": Path("x")}, pickled)   # an arbitrary object: never unpickled
    with pytest.raises(ValueError, match="is not a BiSeNet state_dict"):
        load_bisenet(pickled)


def test_weights_with_another_hash_are_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    published = use_test_weights(monkeypatch, tmp_path / "torch_home")
    assert checked_weights(published) == published.path
    wrong = PublishedWeights(published.title, published.name, published.url, "0" * 64,
                             published.size)
    with pytest.raises(WeightsError) as refused:
        checked_weights(wrong)
    message = str(refused.value)
    assert str(published.path) in message and "0" * 64 in message
    assert hashlib.sha256(published.path.read_bytes()).hexdigest() in message
    assert published.path.is_file()   # someone put it there: refused, not deleted


def test_missing_weights_say_how_to_get_them(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    asked = forbid_downloads(monkeypatch)
    with pytest.raises(WeightsError) as refused:
        face_parser("cpu")
    message = str(refused.value)
    assert weights.BISENET.url in message and weights.BISENET.sha256 in message
    assert str(weights.BISENET.path) in message and "download failed" in message
    assert asked == [weights.BISENET.url]
    assert not list((tmp_path / "empty").rglob("*.pth*"))   # no half-written file left


def test_a_download_lands_only_with_the_published_hash(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The real fetching code, from a file:// address (no network)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    served_file = tmp_path / "served" / "bisenet.pth"
    served = save_weights(random_bisenet(seed=1), served_file)
    source = served_file.resolve().as_uri()
    fetched = ("fetched weights", "fetched.pth", source)
    bad = PublishedWeights(*fetched, "f" * 64, served.size)
    with pytest.raises(WeightsError, match="the download's SHA-256 is"):
        checked_weights(bad)
    assert not bad.path.exists() and not list(bad.path.parent.iterdir())
    short = PublishedWeights(*fetched, served.sha256, served.size - 1)
    with pytest.raises(WeightsError, match="larger than the published file"):
        checked_weights(short)
    good = PublishedWeights(*fetched, served.sha256, served.size)
    assert checked_weights(good).read_bytes() == served_file.read_bytes()
    assert good.path.parent == tmp_path / "home" / "hub" / "checkpoints"


def test_each_kind_takes_in_its_classes() -> None:
    index = {name: number for number, name in enumerate(CLASSES)}

    def named(kind: str, glasses: bool = True, mouth: bool = True) -> set[str]:
        return {CLASSES[i] for i in mask_classes(kind, glasses, mouth)}

    face = {"skin", "l_brow", "r_brow", "l_eye", "r_eye", "nose", "u_lip", "l_lip"}
    assert named("bisenet-face") == face | {"eye_g", "mouth"}
    assert named("bisenet-face", glasses=False, mouth=False) == face
    assert named("bisenet-hair", mouth=False) == face | {"eye_g", "hair"}
    assert named("bisenet-head", glasses=False) == face | {"mouth", "hair", "l_ear", "r_ear",
                                                            "ear_r", "neck"}
    assert set(PARSING_MASKS) == {"bisenet-face", "bisenet-hair", "bisenet-head"}
    with pytest.raises(ValueError, match="unknown face-parsing mask"):
        mask_classes("components", True, True)
    labels = np.zeros((512, 512), np.uint8)
    labels[128:384, 128:384] = index["skin"]
    labels[:, :64] = index["hair"]
    mask = region_mask(labels, mask_classes("bisenet-face", True, True))
    assert mask.shape == (MASK_SIZE, MASK_SIZE) and mask.dtype == np.uint8
    assert mask[64:192, 64:192].min() == 255 and mask[:32].max() == 0
    assert region_mask(labels, mask_classes("bisenet-hair", True, True))[:, :32].min() == 255


def test_the_parser_gives_each_crop_its_masks() -> None:
    parser = FaceParser(random_bisenet(seed=2), "cpu", input_size=64, batch_size=2)
    crops = [np.full((s, s, 3), v, np.uint8) for s, v in ((256, 10), (300, 200), (64, 90))]
    labels = parser.labels(crops)
    assert labels.shape == (3, 64, 64) and labels.max() < len(CLASSES)
    found = parser.masks(crops, ["bisenet-face", "bisenet-head"], glasses=True, mouth=False)
    assert [sorted(m) for m in found] == [["bisenet-face", "bisenet-head"]] * 3
    assert all(m.shape == (MASK_SIZE, MASK_SIZE) and m.dtype == np.uint8
               for masks in found for m in masks.values())
    assert np.array_equal(parser.labels(crops[:1])[0], labels[0])   # batches do not mix
    with pytest.raises(ValueError, match="RGB uint8"):
        parser.labels([np.zeros((64, 64), np.uint8)])
    with pytest.raises(ValueError, match="multiple of 32"):
        FaceParser(random_bisenet(seed=2), "cpu", input_size=100)
