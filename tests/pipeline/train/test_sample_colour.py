"""Colour transfer of training samples (DFL's ct_mode), batched in torch."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from pipeline.convert.colour import match_colour
from pipeline.train.sample_colour import COLOUR_MODES, transfer_colour, transfer_pairs

MODES = [mode for mode in COLOUR_MODES if mode != "none"]


pytestmark = pytest.mark.usefixtures("one_thread")


def faces(seed: int, count: int, low: tuple[float, float, float],
          high: tuple[float, float, float], size: int = 32) -> torch.Tensor:
    """Smooth made-up faces: a random gradient per image between per-channel `low`/`high`."""
    generator = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size)
    mix = (torch.rand(count, 1, 1, 1, generator=generator) * ramp.view(1, 1, -1, 1)
           + torch.rand(count, 1, 1, 1, generator=generator) * ramp.view(1, 1, 1, -1)) / 2
    noise = torch.rand(count, 3, size, size, generator=generator) * 0.1
    low_t, high_t = torch.tensor(low).view(1, 3, 1, 1), torch.tensor(high).view(1, 3, 1, 1)
    return (low_t + (high_t - low_t) * mix + noise).clamp(0, 1)


@pytest.mark.parametrize("mode", MODES)
def test_each_face_moves_towards_its_references_colours(mode: str) -> None:
    images = faces(0, 4, (0.1, 0.3, 0.5), (0.4, 0.6, 0.9))         # bluish
    references = faces(1, 3, (0.5, 0.3, 0.1), (0.9, 0.6, 0.3))     # reddish
    moved = transfer_colour(images, references, mode, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape and moved.dtype == torch.float32
    assert 0 <= moved.min() and moved.max() <= 1
    wanted = references.mean(dim=(0, 2, 3))
    before = (images.mean(dim=(2, 3)) - wanted).abs().sum(dim=1)
    after = (moved.mean(dim=(2, 3)) - wanted).abs().sum(dim=1)
    # every face's mean colour is at least three times nearer the references' mean
    assert (after < before / 3).all(), (before, after)


@pytest.mark.parametrize("mode", MODES)
def test_paired_transfer_matches_each_reference_closely(mode: str) -> None:
    images = faces(2, 3, (0.0, 0.2, 0.4), (0.5, 0.7, 0.9))
    references = faces(3, 3, (0.4, 0.1, 0.0), (1.0, 0.5, 0.5))
    moved = transfer_pairs(images, references, mode, torch.Generator().manual_seed(0))
    error = (moved.mean(dim=(2, 3)) - references.mean(dim=(2, 3))).abs().max()
    assert error < 0.02, error


@pytest.mark.parametrize("mode", ["rct", "lct", "mkl"])
def test_the_closed_forms_agree_with_conversions_colour_matching(mode: str) -> None:
    images = faces(4, 3, (0.1, 0.2, 0.3), (0.6, 0.7, 0.8))
    references = faces(5, 3, (0.3, 0.2, 0.1), (0.9, 0.6, 0.5))
    moved = transfer_pairs(images, references, mode, torch.Generator())
    whole = np.ones((32, 32), np.float32)
    for image, reference, ours in zip(images, references, moved):
        theirs = match_colour(image.permute(1, 2, 0).numpy(), reference.permute(1, 2, 0).numpy(),
                              whole, mode)
        # rct's L*a*b* conversion (augment's) differs from OpenCV's in the last digits
        np.testing.assert_allclose(ours.permute(1, 2, 0).numpy(), theirs, atol=5e-3)


def test_the_same_generator_state_draws_the_same_transfer() -> None:
    images, references = faces(6, 4, (0, 0, 0), (1, 1, 0.5)), faces(7, 5, (0, 0.5, 0), (1, 1, 1))
    first = transfer_colour(images, references, "sot", torch.Generator().manual_seed(9))
    again = transfer_colour(images, references, "sot", torch.Generator().manual_seed(9))
    other = transfer_colour(images, references, "sot", torch.Generator().manual_seed(10))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_references_of_another_size_are_resized_and_none_changes_nothing() -> None:
    images = faces(8, 2, (0, 0, 0), (0.5, 0.5, 0.5))
    references = faces(9, 2, (0.5, 0.5, 0.5), (1, 1, 1), size=48)
    moved = transfer_pairs(images, references, "lct", torch.Generator())
    assert moved.shape == images.shape and moved.mean() > images.mean() + 0.3
    assert transfer_colour(images, references, "none", torch.Generator()) is images


@pytest.mark.parametrize("call, message", [
    (lambda i, r: transfer_colour(i, r, "hist", torch.Generator()), "unknown colour transfer"),
    (lambda i, r: transfer_colour(i[:, :2], r, "rct", torch.Generator()), "N x 3 x H x W"),
    (lambda i, r: transfer_pairs(i, r[:1], "rct", torch.Generator()), "one reference per image"),
])
def test_bad_calls_say_what_is_wrong(call, message: str) -> None:
    images, references = faces(0, 2, (0, 0, 0), (1, 1, 1)), faces(1, 2, (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match=message):
        call(images, references)
