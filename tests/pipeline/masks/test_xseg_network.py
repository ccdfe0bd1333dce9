"""The occlusion mask's parts without a store: a label's truth, the U-Net, the augmentation
of a face and its mask alike, and starting from a pre-trained file."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from pipeline.masks.labels import label_truth
from pipeline.masks.model_files import load_pretrained
from pipeline.masks.train_data import PairAugmenter
from pipeline.masks.train_job import mask_loss
from pipeline.masks.xseg import XSeg, XSegConfig, parameter_count, predict
from pipeline.train.augment import AugmentSettings, Augmenter
from pipeline.train.checkpoint import CheckpointError
from store.mask_labels import MaskLabel, Polygon

pytestmark = pytest.mark.usefixtures("one_thread")


def square(x0: float, y0: float, x1: float, y1: float, mode: str) -> Polygon:
    return Polygon(mode, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


def test_a_label_is_its_base_with_its_polygons_painted_in_order() -> None:
    base = np.zeros((16, 16), np.uint8)
    base[:, :4] = 255
    ok, png = cv2.imencode(".png", base)
    label = MaskLabel(1, 32, png.tobytes(),
                      (square(10, 10, 25, 25, "include"), square(14, 14, 20, 20, "exclude")), 0)
    truth = label_truth(label)
    assert truth.shape == (32, 32) and truth.dtype == np.uint8
    assert (truth[:, :8] == 255).all(), "the base, scaled to the label's size"
    assert truth[12, 12] == 255 and truth[17, 17] == 0 and truth[28, 28] == 0
    assert set(np.unique(truth)) == {0, 255}
    empty = label_truth(MaskLabel(2, 32, None, (square(0, 0, 7, 7, "include"),), 0))
    assert empty[:7, :7].all() and empty.sum() == 255 * 8 * 8


def test_the_network_maps_faces_to_mask_logits_of_their_size() -> None:
    assert 1_500_000 < parameter_count(XSeg(XSegConfig())) < 5_000_000   # "a few million"
    network = XSeg(XSegConfig(resolution=32, channels=8, levels=3))
    logits = network(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 1, 32, 32) and torch.isfinite(logits).all()
    masks = predict(network.eval(), torch.rand(1, 3, 64, 64))   # resized to 32 first
    assert masks.shape == (1, 1, 32, 32) and 0 <= masks.min() and masks.max() <= 1
    with pytest.raises(ValueError, match="halve"):
        XSegConfig(resolution=40, levels=5)
    with pytest.raises(ValueError, match="multiple of 8"):
        XSegConfig(channels=12)


def test_the_unet_learns_a_trivial_labelled_set() -> None:
    """Bright squares on dark noise, the mask their square: the loss falls by more than
    half in a few dozen steps."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(8, 3, 32, 32, generator=generator) * 0.3
    truths = torch.zeros(8, 1, 32, 32)
    for i in range(8):
        top, left = (int(v) for v in torch.randint(0, 20, (2,), generator=generator))
        images[i, :, top:top + 12, left:left + 12] += 0.6
        truths[i, :, top:top + 12, left:left + 12] = 1
    torch.manual_seed(0)
    network = XSeg(XSegConfig(resolution=32, channels=8, levels=3))
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = mask_loss(network(images), truths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3]), losses


def test_the_augmentation_moves_a_face_and_its_mask_alike() -> None:
    """A white square's face and mask come out of the random rotation, zoom, shift, flip
    and warp the same; the generator ends where one pass of the face model's draws ends."""
    images = torch.zeros(4, 3, 64, 64)
    images[:, :, 10:40, 20:50] = 1
    masks = images[:, :1].clone()
    settings = AugmentSettings(rotation=30, zoom=0.2, shift=0.2)
    generator = torch.Generator().manual_seed(3)
    faces, shaped = PairAugmenter(replace(settings, colour=False), 64)(images, masks, generator)
    assert torch.allclose(faces[:, :1], shaped, atol=1e-6)
    assert (shaped != masks).any(), "nothing moved"
    alone = torch.Generator().manual_seed(3)
    Augmenter(settings, 64, 64)(images, masks[:, :0], alone)
    assert torch.equal(generator.get_state(), alone.get_state())
    coloured, same = PairAugmenter(settings, 64)(images, masks,
                                                 torch.Generator().manual_seed(3))
    assert torch.allclose(same, shaped) and not torch.allclose(coloured, faces)


def test_a_new_model_starts_from_the_fitting_tensors_of_a_pretrained_file(
        tmp_path: Path) -> None:
    config = XSegConfig(resolution=32, channels=8, levels=3)
    torch.manual_seed(1)
    trained = XSeg(config).state_dict()
    path = tmp_path / "pretrained.safetensors"
    save_file({f"model.{k}": v for k, v in trained.items()} | {"model.other": torch.zeros(2)},
              str(path))
    torch.manual_seed(2)
    network = XSeg(config)
    assert load_pretrained(path, network) == len(trained)
    assert all(torch.equal(network.state_dict()[k], v) for k, v in trained.items())
    save_file({"unrelated": torch.zeros(3)}, str(path))
    with pytest.raises(CheckpointError, match="no tensor of .* fits"):
        load_pretrained(path, network)
    path.write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_pretrained(path, network)
