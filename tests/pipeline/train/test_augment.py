"""Training augmentation: faceswap's colour, CLAHE, transform, flip and warp as batched
tensors (CLAHE itself: test_clahe.py; warp to landmarks: test_augment_landmarks.py)."""
from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from pipeline.train import augment
from pipeline.train.augment import AugmentSettings, Augmenter, lab_to_rgb, resize, rgb_to_lab
from pipeline.train.clahe import clahe, grid_sizes

SIZE = 96
NOTHING = AugmentSettings(zoom=0, rotation=0, shift=0, warp=False, flip=False, colour=False)


pytestmark = pytest.mark.usefixtures("one_thread")


@functools.cache
def _astronaut() -> np.ndarray:
    return astronaut()


def faces(count: int = 16, size: int = SIZE) -> torch.Tensor:
    """N x 3 x size^2 crops around the astronaut's face, each a little different."""
    image = _astronaut()
    crops = [cv2.resize(image[10 + 4 * i:230 + 4 * i, 120 + 3 * i:340 + 3 * i], (size, size),
                        interpolation=cv2.INTER_AREA) for i in range(count)]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255


def near(a: torch.Tensor, b: torch.Tensor, atol: float) -> bool:
    """Whether every element is within atol (torch.testing is slow to load the first time)."""
    return a.shape == b.shape and bool((a - b).abs().max() <= atol)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_defaults_are_faceswaps_and_every_setting_says_what_it_does() -> None:
    settings = AugmentSettings()
    assert (settings.zoom, settings.rotation, settings.shift, settings.flip_chance) == \
        (0.05, 10, 0.05, 0.5)
    assert (settings.colour_lightness, settings.colour_ab) == (0.30, 0.08)
    assert (settings.clahe_chance, settings.clahe_max_size) == (0.5, 4)
    assert settings.warp and settings.flip and settings.colour
    assert not settings.warp_to_landmarks
    for item in dataclasses.fields(AugmentSettings):
        assert item.metadata["help"] and "\n" not in item.metadata["help"]
        if item.type != "bool":     # every number says its range, and its default is in it
            low, high = item.metadata["bounds"]
            assert low <= item.default <= high


def test_with_the_new_options_off_a_seed_gives_the_batch_it_gave_before_them() -> None:
    """CLAHE and warp-to-landmarks draw their numbers after all the older ones: with them
    off, a seed gives what the augmenter gave before they were added (recorded from it)."""
    images, masks = faces(4), faces(4)[:, :1]
    settings = dataclasses.replace(AugmentSettings(), clahe_chance=0)
    batch = Augmenter(settings, 64, 48)(images, masks, seeded(7))
    recorded = {
        "inputs": [0.5157403349876404, 0.575474202632904, 0.4254930317401886,
                   0.598519504070282],
        "targets": [0.5333333611488342, 0.5872960686683655, 0.44175827503204346,
                    0.63693767786026],
        "masks": [0.5961719155311584, 0.6089003682136536, 0.5945771336555481,
                  0.5940234661102295]}
    for name, means in recorded.items():
        assert near(getattr(batch, name).mean(dim=(1, 2, 3)), torch.tensor(means), 1e-5)
    assert near(batch.inputs[:, :, 32, 20], torch.tensor(
        [[0.696010172367096, 0.6294028759002686, 0.4855493903160095],
         [0.5751488208770752, 0.5079684853553772, 0.38893604278564453],
         [0.7276380658149719, 0.5615229606628418, 0.5047022700309753],
         [0.923812210559845, 0.7447043657302856, 0.6340441703796387]]), 1e-5)
    assert near(batch.targets[:, :, 10, 30], torch.tensor(
        [[0.6939002871513367, 0.6746177077293396, 0.4856281578540802],
         [0.5478541851043701, 0.5079210996627808, 0.36735817790031433],
         [0.28958064317703247, 0.20683811604976654, 0.07900887727737427],
         [0.6934163570404053, 0.5595681667327881, 0.4102575182914734]]), 1e-5)
    assert near(batch.masks[:, 0, 40, 5], torch.tensor(
        [0.7657079100608826, 0.8877439498901367, 0.31770068407058716, 0.6047058701515198]),
        1e-5)
    # and CLAHE on changes only the colours: the same geometry, so the same masks
    with_clahe = Augmenter(dataclasses.replace(settings, clahe_chance=1), 64, 48)(
        images, masks, seeded(7))
    assert torch.equal(with_clahe.masks, batch.masks)
    assert not near(with_clahe.targets, batch.targets, 0.01)


def test_a_batch_of_16_in_one_call_has_the_model_sizes_and_stays_in_range() -> None:
    images = faces()
    masks = torch.rand(16, 2, SIZE, SIZE, generator=seeded(1))
    batch = Augmenter(AugmentSettings(), input_size=64, output_size=48)(images, masks, seeded(0))
    assert batch.inputs.shape == (16, 3, 64, 64)
    assert batch.targets.shape == (16, 3, 48, 48)
    assert batch.masks.shape == (16, 2, 48, 48)
    for tensor in batch:
        assert tensor.dtype == torch.float32
        assert tensor.min() >= 0 and tensor.max() <= 1


def test_no_masks_is_fine() -> None:
    batch = Augmenter(AugmentSettings(), 64, 64)(faces(2), torch.zeros(2, 0, SIZE, SIZE),
                                                 seeded(0))
    assert batch.masks.shape == (2, 0, 64, 64)


def test_a_seed_gives_the_same_batch_and_another_seed_another() -> None:
    images, masks = faces(4), faces(4)[:, :1]
    augmenter = Augmenter(AugmentSettings(), 64, 64)
    first, again, other = (augmenter(images, masks, seeded(s)) for s in (7, 7, 8))
    for a, b, c in zip(first, again, other):
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_everything_off_is_the_identity_up_to_the_resize() -> None:
    images, masks = faces(4), faces(4)[:, 1:]
    batch = Augmenter(NOTHING, input_size=64, output_size=48)(images, masks, seeded(0))
    assert torch.equal(batch.inputs, resize(images, 64))
    assert torch.equal(batch.targets, resize(images, 48))
    assert torch.equal(batch.masks, resize(masks, 48))
    # the resize is faceswap's cv2.INTER_AREA, at a whole and at a fractional ratio
    for resized, size in ((batch.targets, 48), (batch.inputs, 64)):
        expected = cv2.resize(images[0].permute(1, 2, 0).numpy(), (size, size),
                              interpolation=cv2.INTER_AREA)
        np.testing.assert_allclose(resized[0].permute(1, 2, 0).numpy(), expected, atol=1e-5)
    same = Augmenter(NOTHING, SIZE, SIZE)(images, masks, seeded(0))
    assert torch.equal(same.inputs, images) and torch.equal(same.masks, masks)


def test_a_flipped_batch_is_mirrored() -> None:
    images = faces(4)
    assert not near(images, images.flip(-1), 0.1)  # the astronaut is asymmetric
    always = dataclasses.replace(NOTHING, flip=True, flip_chance=1.0)
    batch = Augmenter(always, SIZE, SIZE)(images, images, seeded(0))
    assert near(batch.targets, images.flip(-1), 1e-5)
    assert near(batch.masks, images.flip(-1), 1e-5)
    assert near(batch.inputs, images.flip(-1), 1e-5)


def test_about_flip_chance_of_the_images_are_flipped() -> None:
    images = faces(64, size=32)
    half = dataclasses.replace(NOTHING, flip=True, flip_chance=0.5)
    targets = Augmenter(half, 32, 32)(images, images[:, :0], seeded(3)).targets
    flipped = ((targets - images.flip(-1)).abs().amax(dim=(1, 2, 3)) < 1e-5).sum().item()
    kept = ((targets - images).abs().amax(dim=(1, 2, 3)) < 1e-5).sum().item()
    assert flipped + kept == 64 and 16 <= flipped <= 48


def test_the_transform_is_faceswaps_cv2_rotation_zoom_and_shift() -> None:
    """cv2.getRotationMatrix2D(centre, 10 degrees, 1.05) plus a (3, -2) pixel shift, with
    BORDER_REPLICATE, as faceswap's ImageAugmentation.transform does it."""
    image = faces(1)
    settings = dataclasses.replace(NOTHING, rotation=10, zoom=0.05, shift=0.05)
    draws = augment._draw(1, seeded(0), torch.device("cpu"))._replace(
        rotation=torch.tensor([1.0]), zoom=torch.tensor([1.0]),
        shift=torch.tensor([[3 / (SIZE * 0.05), -2 / (SIZE * 0.05)]]), flip=torch.ones(1))
    grid = augment._affine_grid(augment._affine(draws, settings), SIZE)
    ours = augment._sample(image, grid, "border")
    matrix = cv2.getRotationMatrix2D(((SIZE - 1) / 2, (SIZE - 1) / 2), 10, 1.05)
    matrix[:, 2] += (3, -2)
    theirs = cv2.warpAffine(image[0].permute(1, 2, 0).numpy(), matrix, (SIZE, SIZE),
                            borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_allclose(ours[0].permute(1, 2, 0).numpy(), theirs, atol=1e-4)


def test_the_warp_moves_pixels_a_little_and_only_in_the_input() -> None:
    ramp = torch.linspace(0, 1, SIZE)
    coordinates = torch.stack([ramp.expand(SIZE, SIZE), ramp.view(-1, 1).expand(SIZE, SIZE),
                               torch.full((SIZE, SIZE), 0.5)]).expand(8, 3, SIZE, SIZE)
    warp_only = dataclasses.replace(NOTHING, warp=True)
    batch = Augmenter(warp_only, SIZE, SIZE)(coordinates, coordinates[:, :1], seeded(0))
    assert torch.equal(batch.targets, coordinates)
    inner = slice(8, -8)
    moved = (batch.inputs - coordinates)[:, :2, inner, inner] * (SIZE - 1)   # in pixels
    distance = moved.norm(dim=1)
    assert 0.3 < distance.mean() < 0.04 * SIZE      # faceswap's sigma is 5/256 of the size
    assert distance.max() < 0.15 * SIZE
    assert not torch.allclose(moved[0], moved[1])  # each image its own warp


def test_masks_follow_the_geometry_exactly_like_the_image() -> None:
    images = faces(8)
    no_colour = dataclasses.replace(AugmentSettings(), colour=False)
    batch = Augmenter(no_colour, 64, 64)(images, images, seeded(5))
    assert torch.equal(batch.masks, batch.targets)
    assert not torch.allclose(batch.targets, resize(images, 64), atol=0.05)
    assert not torch.allclose(batch.inputs, batch.targets, atol=0.01)  # the warp


def test_colour_changes_the_image_not_the_masks_and_stays_in_range() -> None:
    images, masks = faces(8), faces(8)[:, :2]
    coloured = Augmenter(AugmentSettings(), 64, 64)(images, masks, seeded(9))
    plain = Augmenter(dataclasses.replace(AugmentSettings(), colour=False), 64, 64)(
        images, masks, seeded(9))
    assert torch.equal(coloured.masks, plain.masks)
    assert (coloured.targets - plain.targets).abs().mean() > 0.01
    assert coloured.targets.min() >= 0 and coloured.targets.max() <= 1


def test_lab_conversion_matches_opencv() -> None:
    images = faces(2, size=48)
    ours = rgb_to_lab(images).permute(0, 2, 3, 1).numpy()
    for image, lab in zip(images.permute(0, 2, 3, 1).numpy(), ours):
        np.testing.assert_allclose(lab, cv2.cvtColor(image, cv2.COLOR_RGB2Lab), atol=0.5)
    assert near(lab_to_rgb(rgb_to_lab(images)), images, 1e-5)


@pytest.mark.parametrize(("draw", "expected"), [(1.0, lambda L: L + (100 - L) * 0.3),
                                                (-1.0, lambda L: L * 0.7)])
def test_lightness_moves_like_faceswaps(draw: float, expected) -> None:
    grey = torch.full((1, 3, 16, 16), 0.5)
    settings = AugmentSettings(colour_lightness=0.3, colour_ab=0.08)
    shifted = augment.colour_shift(grey, torch.tensor([[draw, 0.0, 0.0]]), settings)
    before, after = rgb_to_lab(grey)[0, 0, 0, 0].item(), rgb_to_lab(shifted)[0, :, 0, 0]
    assert after[0].item() == pytest.approx(expected(before), abs=0.05)


@pytest.mark.parametrize("change", [{"flip_chance": 1.5}, {"zoom": -0.1}, {"zoom": 1.0},
                                    {"rotation": -5}, {"rotation": 120}, {"colour_ab": -0.1},
                                    {"shift": 0.5}, {"colour_lightness": 0.9},
                                    {"clahe_chance": 1.5}, {"clahe_chance": -0.1},
                                    {"clahe_chance": float("nan")}, {"clahe_max_size": 0},
                                    {"clahe_max_size": 9}, {"clahe_max_size": 2.5},
                                    {"clahe_max_size": True}])
def test_bad_settings_say_what_is_wrong(change: dict) -> None:
    with pytest.raises(ValueError, match=f"^augmentation {next(iter(change))} is "):
        AugmentSettings(**change)


def clahe_only(chance: float) -> AugmentSettings:
    return dataclasses.replace(NOTHING, colour=True, colour_lightness=0, colour_ab=0,
                               clahe_chance=chance)


def test_clahe_at_chance_1_equalises_each_images_lightness_with_its_drawn_grid() -> None:
    """Every image: its L is cv2-style CLAHE of its L (8-bit scale) with the grid faceswap's
    range gives its draw; a and b stay (up to the sRGB gamut's clipping)."""
    images = faces(4)
    targets = Augmenter(clahe_only(1.0), SIZE, SIZE)(images, images[:, :0], seeded(2)).targets
    draws = augment._draw(4, seeded(2), torch.device("cpu"))
    grids = grid_sizes(draws.clahe_grid, 4, SIZE)
    before, after = rgb_to_lab(images), rgb_to_lab(targets)
    expected = clahe(before[:, 0] * 2.55, grids) / 2.55
    assert (after[:, 0] - expected).abs().mean() < 0.1
    assert (after[:, 1:] - before[:, 1:]).abs().mean() < 0.5
    assert (after[:, 0] - before[:, 0]).abs().mean() > 2


def test_clahe_at_chance_0_or_with_colour_off_changes_nothing() -> None:
    images = faces(4)
    for settings in (clahe_only(0.0), dataclasses.replace(clahe_only(1.0), colour=False)):
        batch = Augmenter(settings, SIZE, SIZE)(images, images[:, :0], seeded(2))
        assert torch.equal(batch.targets, images)


def test_about_clahe_chance_of_the_images_are_equalised() -> None:
    images = faces(48, size=32)
    targets = Augmenter(clahe_only(0.25), 32, 32)(images, images[:, :0], seeded(6)).targets
    changed = int(((targets - images).abs().amax(dim=(1, 2, 3)) > 1e-3).sum())
    assert 4 <= changed <= 20


def test_bad_batches_say_what_is_wrong() -> None:
    augmenter = Augmenter(AugmentSettings(), 64, 64)
    with pytest.raises(ValueError, match="N x 3 x S x S"):
        augmenter(torch.rand(2, 4, 32, 32), torch.rand(2, 1, 32, 32), seeded(0))
    with pytest.raises(ValueError, match="masks"):
        augmenter(torch.rand(2, 3, 32, 32), torch.rand(2, 1, 16, 16), seeded(0))
    with pytest.raises(ValueError, match="positive"):
        Augmenter(AugmentSettings(), 0, 64)
