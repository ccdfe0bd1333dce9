"""DeepFaceLab's training extras: settings, generator terms, discriminator steps, resume."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from pipeline.train import checkpoint
from pipeline.train.augment import AugmentedBatch
from pipeline.train.data import SideData
from pipeline.train.extras import (DFL_SCALE, PREFIX, STATE_KEY, Extras, ExtrasSettings,
                                   ExtrasState, dfl_mask_blur, dssim, style_loss)
from pipeline.train.face_cache import FaceCache
from pipeline.train.models.registry import ModelOutput, SwapModel, build_model
from pipeline.train.optimizers import OptimizerSettings, build_optimizer
from pipeline.train.sampler import Sampler
from store.requests.options import describe_fields
from store.training_faces import Person
from tests.pipeline.train.tiny_model import TinyConfig

CPU = torch.device("cpu")
SIZE = 32           # the tiny model's input and output
BATCH = 4


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> SwapModel:
    torch.manual_seed(0)
    return build_model(TinyConfig(learn_mask=True))


def images(seed: int, low: float, high: float, count: int = BATCH) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(count, 3, SIZE, SIZE, generator=generator)


def round_mask(count: int = BATCH) -> torch.Tensor:
    """A disc in the middle of the face, as the face mask channel."""
    coords = torch.arange(SIZE) - (SIZE - 1) / 2
    disc = (coords.view(-1, 1) ** 2 + coords.view(1, -1) ** 2 < (SIZE / 3) ** 2).float()
    return disc.expand(count, 1, SIZE, SIZE).clone()


def batch_of(faces: torch.Tensor) -> tuple[AugmentedBatch, dict[str, torch.Tensor]]:
    masks = round_mask(len(faces))
    return AugmentedBatch(faces, faces, masks), {"face": masks}


def side_pass(extras: Extras, model: SwapModel, side: str,
              faces: torch.Tensor) -> torch.Tensor:
    """One side's pass as the trainer makes it: encode, decode, then the extra terms."""
    batch, channels = batch_of(faces)
    code = model.encode(batch.inputs)
    return extras.generator_terms(side, code, model.decode(code, side), batch, channels)


# ---- settings --------------------------------------------------------------------------

def test_the_defaults_are_dfls_and_turn_everything_off() -> None:
    settings = ExtrasSettings()
    assert (settings.true_face_power, settings.gan_power, settings.face_style_power,
            settings.bg_style_power, settings.gan_dims, settings.colour_transfer) == \
        (0.0, 0.0, 0.0, 0.0, 16, "none")
    assert not settings.losses_on()
    assert settings.patch_size(128) == 16 and settings.patch_size(16) == 3
    assert ExtrasSettings(gan_patch_size=40).patch_size(128) == 40


def test_every_option_has_help_and_bounds_or_choices() -> None:
    for option in describe_fields(ExtrasSettings):
        assert option.help and (option.bounds or option.choices), option.name


@pytest.mark.parametrize("options, message", [
    ({"true_face_power": 1.5}, "true_face_power is from 0 to 1, not 1.5"),
    ({"true_face_power": -0.1}, "true_face_power is from 0 to 1"),
    ({"gan_power": 5.5}, "gan_power is from 0 to 5"),
    ({"gan_power": float("nan")}, "gan_power is from 0 to 5, not nan"),
    ({"gan_power": True}, "gan_power is a number"),
    ({"gan_patch_size": 2}, "gan_patch_size is 0 .automatic. or 3 to 640, not 2"),
    ({"gan_patch_size": 641}, "gan_patch_size is from 0 to 640"),
    ({"gan_patch_size": 8.0}, "gan_patch_size is a whole number"),
    ({"gan_dims": 3}, "gan_dims is from 4 to 512, not 3"),
    ({"gan_dims": 513}, "gan_dims is from 4 to 512"),
    ({"face_style_power": 101.0}, "face_style_power is from 0 to 100"),
    ({"bg_style_power": -1}, "bg_style_power is from 0 to 100"),
    ({"bg_style_power": "2"}, "bg_style_power is a number"),
    ({"colour_transfer": "hist-match"}, "colour_transfer is one of none, rct, lct, mkl"),
])
def test_bad_values_are_refused_in_one_line(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        ExtrasSettings(**options)
    assert "\n" not in str(caught.value)


def test_settings_come_back_from_a_dict_and_unknown_names_are_refused() -> None:
    settings = ExtrasSettings(gan_power=0.1, gan_patch_size=12, colour_transfer="idt")
    assert ExtrasSettings.from_dict(json.loads(json.dumps(asdict(settings)))) == settings
    assert ExtrasSettings.from_dict({"true_face_power": 1}).true_face_power == 1
    with pytest.raises(ValueError, match="unknown training extra.*gan_powr"):
        ExtrasSettings.from_dict({"gan_powr": 0.1})


# ---- nothing on: nothing added ----------------------------------------------------------

def test_with_the_discriminators_off_there_are_no_extra_weights_or_terms(
        model: SwapModel) -> None:
    for settings in (ExtrasSettings(), ExtrasSettings(colour_transfer="rct")):
        extras = Extras(settings, model, CPU, seed=0)
        assert not extras.active() and extras.modules() == {}
        for side in ("a", "b"):
            terms = side_pass(extras, model, side, images(1, 0, 1))
            assert torch.equal(terms, torch.zeros(())) and not terms.requires_grad
        assert extras.discriminator_step(1e-4, 1e-7) == {}
    styled = Extras(ExtrasSettings(face_style_power=1.0), model, CPU, seed=0)
    assert styled.active() and styled.modules() == {}   # style alone needs no weights


# ---- style ------------------------------------------------------------------------------

def test_style_losses_are_zero_for_identical_images_and_positive_otherwise() -> None:
    first, second = images(2, 0, 1), images(3, 0.2, 0.7)
    for radius in (0, 4):
        assert torch.equal(style_loss(first, first.clone(), radius), torch.zeros(BATCH))
        assert (style_loss(first, second, radius) > 0).all()
    assert torch.equal(dssim(first, first.clone(), 3), torch.zeros(BATCH))
    assert (dssim(first, second, 3) > 0).all()


def test_the_style_terms_vanish_when_the_swap_equals_what_they_compare_with(
        model: SwapModel) -> None:
    """Face style compares the swap with A's own reconstruction: with B's decoder made a copy
    of A's, they are one image. Background style compares the swap with A's target outside
    the mask: with that target made the swap itself, it is zero too."""
    twin = build_model(TinyConfig(learn_mask=True))
    twin.load_state_dict(model.state_dict())
    twin.decoders["b"].load_state_dict(twin.decoders["a"].state_dict())
    faces = images(4, 0, 1)
    with torch.no_grad():
        swap = twin.decode(twin.encode(faces), "b").face
    face_style = Extras(ExtrasSettings(face_style_power=5.0), twin, CPU, seed=0)
    background = Extras(ExtrasSettings(bg_style_power=5.0), twin, CPU, seed=0)
    assert float(side_pass(face_style, twin, "a", faces).detach()) == 0
    batch, channels = batch_of(faces)
    code = twin.encode(faces)
    same_target = AugmentedBatch(faces, swap, batch.masks)
    assert float(background.generator_terms("a", code, twin.decode(code, "a"), same_target,
                                            channels).detach()) == 0
    with torch.no_grad():   # now B's decoder differs
        for weight in twin.decoders["b"].parameters():
            weight.add_(torch.randn_like(weight) * 0.05)
    assert float(side_pass(face_style, twin, "a", faces).detach()) > 0
    assert float(side_pass(background, twin, "a", faces).detach()) > 0
    # style is DFL's loss of the swap: it never comes from B's own pass
    assert float(side_pass(face_style, twin, "b", faces).detach()) == 0


def test_face_style_trains_bs_decoder_but_not_the_code(model: SwapModel) -> None:
    extras = Extras(ExtrasSettings(face_style_power=1.0), model, CPU, seed=0)
    model.zero_grad(set_to_none=True)
    side_pass(extras, model, "a", images(5, 0, 1)).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.decoders["b"].parameters())
    model.zero_grad(set_to_none=True)


def test_the_mask_is_blurred_and_grown_as_dfls() -> None:
    mask = round_mask(1)
    grown = dfl_mask_blur(mask, 128)          # radius 4 (128 // 32)
    assert grown.shape == mask.shape and grown.min() >= 0 and grown.max() == 1
    assert grown[0, 0, SIZE // 2, SIZE // 2] == 1 and grown[0, 0, 0, 0] < 0.01
    assert grown.sum() > mask.sum() * 1.1     # clipped at 0.5 and doubled: it grows
    outside = mask == 0
    assert grown[outside].max() > 0.8         # a feathered edge outside the disc


# ---- the discriminators -----------------------------------------------------------------

def test_true_face_pulls_bs_code_towards_as(model: SwapModel) -> None:
    """B's code, made a weight here so that only the true-face term moves it, drifts towards
    A's codes while the code discriminator learns to tell them apart."""
    extras = Extras(ExtrasSettings(true_face_power=1.0), model, CPU, seed=0)
    generator = torch.Generator().manual_seed(1)
    code_a = torch.randn(BATCH, 16, 8, 8, generator=generator) * 0.5 + 1
    code_b = torch.nn.Parameter(torch.randn(BATCH, 16, 8, 8, generator=generator) * 0.5 - 1)
    optimizer = torch.optim.Adam([code_b], lr=0.1)
    batch, _ = batch_of(images(6, 0, 1))
    output = ModelOutput(batch.targets, None)

    def distance() -> float:
        return float((code_b.detach().mean(0) - code_a.mean(0)).norm())

    start = distance()
    critic = []
    for _ in range(6):
        extras.generator_terms("a", code_a, output, batch, {})
        term = extras.generator_terms("b", code_b, output, batch, {})
        optimizer.zero_grad()
        term.backward()
        optimizer.step()
        critic.append(extras.discriminator_step(1e-3, 1e-7)["true_face"])
    assert distance() < 0.9 * start     # 0.83 when written
    assert critic[-1] < critic[0]     # and the discriminator told them apart better


def test_the_true_face_term_is_dfls_weighted_cross_entropy(model: SwapModel) -> None:
    extras = Extras(ExtrasSettings(true_face_power=0.5), model, CPU, seed=0)
    faces = images(7, 0, 1)
    code = model.encode(faces)
    batch, channels = batch_of(faces)
    term = extras.generator_terms("b", code, model.decode(code, "b"), batch, channels)
    logits = extras.modules()["true_face"](code)
    wanted = 0.5 * torch.nn.functional.softplus(-logits).mean() * DFL_SCALE   # BCE(x, 1)
    torch.testing.assert_close(term, wanted)
    assert extras.modules()["true_face"](code).shape == (BATCH, 1, 2, 2)


def test_a_discriminator_step_lowers_its_loss_on_separable_batches(model: SwapModel) -> None:
    extras = Extras(ExtrasSettings(gan_power=0.1, true_face_power=0.1), model, CPU, seed=0)
    real, fake = images(8, 0.6, 1), images(9, 0, 0.4)       # bright targets, dark outputs
    batch, channels = batch_of(real)
    code_a = torch.randn(BATCH, 16, 8, 8) + 1
    code_b = torch.randn(BATCH, 16, 8, 8) - 1
    losses = []
    for _ in range(6):
        extras.generator_terms("a", code_a, ModelOutput(real, None), batch, channels)
        extras.generator_terms("b", code_b, ModelOutput(fake, None), batch, channels)
        losses.append(extras.discriminator_step(3e-3, 1e-7))
    gan = [step["gan"] for step in losses]
    assert all(later < earlier for earlier, later in zip(gan, gan[1:])), gan
    assert gan[-1] < 0.95 * gan[0]                     # 0.92 when written
    assert losses[-1]["true_face"] < 0.01 * losses[0]["true_face"]
    center, pixels = extras.modules()["gan"](real)
    assert center.shape == (BATCH, 1, SIZE // 2, SIZE // 2)   # auto patch 4: one stride-2 layer
    assert pixels.shape == (BATCH, 1, SIZE, SIZE)


def test_the_discriminators_take_the_given_optimizer_and_gradient_average(
        model: SwapModel) -> None:
    averaged: list[torch.nn.Module] = []
    choice = OptimizerSettings(optimizer="adabelief")
    extras = Extras(ExtrasSettings(gan_power=0.1, true_face_power=0.1), model, CPU, seed=0,
                    make_optimizer=lambda weights: build_optimizer(choice, weights, 1e-4, 1e-16),
                    average_gradients=averaged.append)
    assert {type(critic.optimizer).__name__ for critic in extras.critics.values()} == \
        {"AdaBelief"}
    side_pass(extras, model, "a", images(15, 0, 1))
    side_pass(extras, model, "b", images(16, 0, 1))
    before = [p.clone() for p in extras.modules()["gan"].parameters()]
    assert set(extras.discriminator_step(1e-4, 1e-16)) == {"true_face", "gan"}
    assert averaged == [extras.modules()["true_face"], extras.modules()["gan"]]
    assert any(not torch.equal(old, new)
               for old, new in zip(before, extras.modules()["gan"].parameters()))


def test_a_non_finite_discriminator_loss_steps_nothing(model: SwapModel) -> None:
    extras = Extras(ExtrasSettings(true_face_power=0.1), model, CPU, seed=0)
    batch, channels = batch_of(images(17, 0, 1))
    output = ModelOutput(batch.targets, None)
    extras.generator_terms("a", torch.full((BATCH, 16, 8, 8), float("nan")), output, batch,
                           channels)
    extras.generator_terms("b", torch.zeros(BATCH, 16, 8, 8), output, batch, channels)
    before = {k: v.clone() for k, v in extras.modules()["true_face"].state_dict().items()}
    assert np.isnan(extras.discriminator_step(1e-3, 1e-7)["true_face"])
    after = extras.modules()["true_face"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in extras.modules()["true_face"].parameters())


def test_the_generators_backward_leaves_the_discriminators_alone(model: SwapModel) -> None:
    extras = Extras(ExtrasSettings(gan_power=1.0, true_face_power=1.0), model, CPU, seed=0,
                    bf16=True)
    terms = side_pass(extras, model, "b", images(10, 0, 1))
    assert terms.dtype == torch.float32 and terms > 0
    terms.backward()
    assert all(p.grad is None for module in extras.modules().values()
               for p in module.parameters())
    assert any(p.grad is not None for p in model.decoders["b"].parameters())
    model.zero_grad(set_to_none=True)


# ---- colour transfer --------------------------------------------------------------------

def side_data(side: str, faces: torch.Tensor) -> SideData:
    """A side whose cache holds these faces (N x 3 x S x S in [0, 1])."""
    count = len(faces)
    pixels = (faces.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    cache = FaceCache(tuple(range(1, count + 1)), pixels,
                      np.zeros((count, SIZE, SIZE, 1), np.uint8),
                      np.zeros((count, 68, 2), np.float32), ("face",))
    return SideData(side, Person(1, side, side), cache, Sampler(cache, range(count)), (), ())


def test_colour_transfer_moves_bs_faces_towards_as_colours(model: SwapModel) -> None:
    reddish = torch.tensor([0.8, 0.3, 0.2]).view(1, 3, 1, 1)
    side_a = side_data("A", (reddish + 0.1 * images(11, -1, 1, 6)).clamp(0, 1))
    bluish = (torch.tensor([0.2, 0.3, 0.8]).view(1, 3, 1, 1) + 0.1 * images(12, -1, 1)).clamp(0, 1)
    extras = Extras(ExtrasSettings(colour_transfer="mkl"), model, CPU, seed=0)
    moved = extras.recolour("b", bluish, side_a)
    a_means = torch.from_numpy(side_a.cache.images.astype(np.float32) / 255).mean(dim=(0, 1, 2))
    before = (bluish.mean(dim=(2, 3)) - a_means).abs().sum(dim=1)
    after = (moved.mean(dim=(2, 3)) - a_means).abs().sum(dim=1)
    assert (after < before / 5).all(), (before, after)
    assert extras.recolour("a", bluish, side_a) is bluish           # only B's faces move
    none = Extras(ExtrasSettings(), model, CPU, seed=0)
    assert none.recolour("b", bluish, side_a) is bluish


# ---- saving and resuming ----------------------------------------------------------------

RESUMABLE = ExtrasSettings(true_face_power=0.2, gan_power=0.2, face_style_power=0.5,
                           colour_transfer="sot")


def train(extras: Extras, model: SwapModel, side_a: SideData, steps: range) -> None:
    """Steps of the extras alone (the model stays as it is): fixed faces per step."""
    for step in steps:
        faces_b = extras.recolour("b", images(100 + step, 0, 1), side_a)
        side_pass(extras, model, "a", images(200 + step, 0, 1))
        side_pass(extras, model, "b", faces_b)
        extras.discriminator_step(1e-3, 1e-7)


def save(path: Path, state: ExtrasState) -> ExtrasState:
    """Through a checkpoint file, as the trainer keeps the extras: their tensors in its
    `extra` tensors (beside the clipper's), their JSON in its state."""
    holder = torch.nn.Linear(1, 1)
    taken = checkpoint.capture(holder, torch.optim.SGD(holder.parameters(), lr=0.1), {},
                               {"iteration": 1, STATE_KEY: state.meta},
                               {"clip.norms": torch.ones(3), **state.tensors})
    checkpoint.write(path, taken)
    loaded = checkpoint.read(path)
    return ExtrasState(loaded.extra, loaded.state[STATE_KEY])


def test_a_saved_and_resumed_run_repeats_a_straight_one_exactly(
        model: SwapModel, tmp_path: Path) -> None:
    side_a = side_data("A", images(13, 0, 1, 6))
    straight = Extras(RESUMABLE, model, CPU, seed=5)
    train(straight, model, side_a, range(3))
    first = Extras(RESUMABLE, model, CPU, seed=5)
    train(first, model, side_a, range(1))
    path = tmp_path / "checkpoint.safetensors"
    state = save(path, first.state_dict())
    with safe_open(str(path), framework="pt") as opened:
        names = set(opened.keys())
    ours = {name for name in names if name.startswith(f"extra.{PREFIX}")}
    assert ours and names - ours == {"extra.clip.norms", "model.weight", "model.bias"}
    resumed = Extras(RESUMABLE, model, CPU, seed=99)   # other weights until loaded
    assert resumed.load_state_dict(state) == []
    train(resumed, model, side_a, range(1, 3))
    mine, theirs = resumed.state_dict(), straight.state_dict()
    assert json.dumps(mine.meta) == json.dumps(theirs.meta)
    assert mine.tensors.keys() == theirs.tensors.keys()
    for name, tensor in theirs.tensors.items():
        assert torch.equal(mine.tensors[name], tensor), name


def test_discriminators_the_checkpoint_lacks_start_fresh_and_say_so(
        model: SwapModel, tmp_path: Path) -> None:
    earlier = Extras(ExtrasSettings(true_face_power=0.1, colour_transfer="none"), model, CPU,
                     seed=5)
    state = save(tmp_path / "early.safetensors", earlier.state_dict())
    later = Extras(ExtrasSettings(true_face_power=0.1, gan_power=0.1), model, CPU, seed=5)
    fresh = Extras(ExtrasSettings(gan_power=0.1), model, CPU, seed=5)
    train(later, model, side_data("A", images(14, 0, 1)), range(1))
    assert later.load_state_dict(state) == [
        "the GAN discriminator starts fresh: the checkpoint has none"]
    for key, value in fresh.modules()["gan"].state_dict().items():   # not the trained one
        assert torch.equal(later.modules()["gan"].state_dict()[key], value)
    wider = Extras(ExtrasSettings(gan_power=0.1, gan_dims=8), model, CPU, seed=5)
    notes = wider.load_state_dict(later.state_dict())
    assert notes == ["the GAN discriminator starts fresh: the checkpoint has one built for "
                     "{'size': 32, 'patch_size': 4, 'dims': 16}, not "
                     "{'size': 32, 'patch_size': 4, 'dims': 8}",
                     "the true-face code discriminator of the checkpoint is set aside (its "
                     "power is 0 now) and will not be saved"]
    old = ExtrasState({}, {})   # a checkpoint from before the extras
    assert Extras(ExtrasSettings(colour_transfer="rct"), model, CPU, seed=5).load_state_dict(
        old) == ["colour transfer starts its random draws afresh: the checkpoint has none"]
