"""faceswap's optimizers: settings, what each optimizer does, and bit-exact resumes."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline.train import checkpoint
from pipeline.train.optimizers import (
    OPTIMIZERS, WITH_AMSGRAD, AdaBelief, Lion, OptimizerSettings, build_optimizer)
from store.requests.options import describe_fields

EPSILON = 1e-7


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The same regression batch for a step, however the run got there."""
    generator = torch.Generator().manual_seed(1000 + step)
    inputs = torch.randn(16, 4, generator=generator)
    return inputs, torch.stack([inputs[:, 0] - inputs[:, 1], inputs[:, 2] * 0.5], dim=1)


def train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: range,
          learning_rate: float) -> float:
    """Steps as the trainer takes them (lr and eps set in every group first); the last loss."""
    loss = torch.tensor(0.0)
    for step in steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * min(1.0, (step + 1) / 4)   # a warm-up
            group["eps"] = EPSILON
        optimizer.zero_grad(set_to_none=True)
        inputs, targets = batch(step)
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def rate_for(name: str) -> float:
    return 3e-3 if name == "lion" else 1e-2


# ---- settings -----------------------------------------------------------------------------

def test_defaults_are_faceswaps_adam_built_as_before() -> None:
    settings = OptimizerSettings()
    assert (settings.optimizer, settings.betas, settings.weight_decay, settings.amsgrad) == (
        "adam", (0.9, 0.999), 0.0, False)
    params = list(tiny_net(0).parameters())
    built = build_optimizer(settings, params, 5e-5, EPSILON)
    before = torch.optim.Adam(params, lr=5e-5, eps=EPSILON, fused=True)
    assert type(built) is torch.optim.Adam
    assert built.defaults == before.defaults   # old checkpoints load into it unchanged


@pytest.mark.parametrize(("name", "betas"), [("adam", (0.9, 0.999)), ("lion", (0.9, 0.99)),
                                              ("adabelief", (0.9, 0.999))])
def test_unset_betas_take_each_optimizers_default(name: str,
                                                  betas: tuple[float, float]) -> None:
    settings = OptimizerSettings(optimizer=name)
    assert settings.betas == betas
    optimizer = build_optimizer(settings, tiny_net(0).parameters(), 1e-4, EPSILON)
    assert tuple(optimizer.param_groups[0]["betas"]) == betas
    assert OptimizerSettings(optimizer=name, beta_1=0.8, beta_2=0.95).betas == (0.8, 0.95)


def test_rmsprop_decays_as_keras_does() -> None:
    optimizer = build_optimizer(OptimizerSettings(optimizer="rmsprop"),
                                tiny_net(0).parameters(), 1e-4, EPSILON)
    assert optimizer.param_groups[0]["alpha"] == 0.9


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_amsgrad_only_where_the_optimizer_has_it(name: str) -> None:
    if name in WITH_AMSGRAD:
        optimizer = build_optimizer(OptimizerSettings(optimizer=name, amsgrad=True),
                                    tiny_net(0).parameters(), 1e-4, EPSILON)
        assert optimizer.param_groups[0]["amsgrad"] is True
    else:
        with pytest.raises(ValueError, match=f"amsgrad is for adam, adamw, adabelief only, "
                                             f"not {name}"):
            OptimizerSettings(optimizer=name, amsgrad=True)


@pytest.mark.parametrize(("values", "message"), [
    ({"optimizer": "sgd"}, "optimizer is one of adam, .*, not 'sgd'"),
    ({"beta_1": 1.0}, "beta_1 is from 0 to 0.9999, not 1"),
    ({"beta_2": -0.1}, "beta_2 is from 0 to 0.9999, not -0.1"),
    ({"beta_1": float("nan")}, "beta_1 is from 0 to 0.9999, not nan"),
    ({"weight_decay": 2.0}, "weight_decay is from 0 to 1, not 2"),
    ({"weight_decay": "0.1"}, "weight_decay is a number, not '0.1'"),
    ({"amsgrad": 1}, "amsgrad is yes or no, not 1"),
    ({"optimizer": "rmsprop", "beta_2": 0.9}, "beta_2 does not apply to rmsprop"),
    ({"momentum": 0.9}, "unknown optimizer setting.*momentum"),
])
def test_settings_refuse_bad_values(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        OptimizerSettings.from_dict(values)
    assert "\n" not in str(raised.value)


def test_settings_round_trip_and_describe_themselves() -> None:
    settings = OptimizerSettings(optimizer="adamw", beta_2=0.99, weight_decay=0.004,
                                 amsgrad=True)
    assert OptimizerSettings.from_dict(settings.to_dict()) == settings
    assert OptimizerSettings.from_dict({}) == OptimizerSettings()
    described = {option.name: option for option in describe_fields(OptimizerSettings)}
    assert described["optimizer"].choices == OPTIMIZERS
    assert described["beta_2"].optional and described["beta_2"].default_text
    assert all(option.help for option in described.values())


# ---- what the optimizers do ------------------------------------------------------------

@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_fits_a_tiny_regression(name: str) -> None:
    model = tiny_net(0)
    optimizer = build_optimizer(OptimizerSettings(optimizer=name), model.parameters(),
                                rate_for(name), EPSILON)
    inputs, targets = batch(0)
    with torch.no_grad():
        first = float(torch.nn.functional.mse_loss(model(inputs), targets))
    last = train(model, optimizer, range(60), rate_for(name))
    assert last < first / 3


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_follows_the_groups_lr_and_eps(name: str) -> None:
    """The trainer writes "lr" and "eps" before every step; each step must use them."""
    def one_step(learning_rate: float, eps: float) -> torch.Tensor:
        model = tiny_net(0)
        optimizer = build_optimizer(OptimizerSettings(optimizer=name), model.parameters(),
                                    1.0, 1.0)
        train(model, optimizer, range(2), 1e-3)
        before = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
        for group in optimizer.param_groups:
            group["lr"], group["eps"] = learning_rate, eps
        optimizer.zero_grad()
        inputs, targets = batch(7)
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        return torch.nn.utils.parameters_to_vector(model.parameters()).detach() - before

    small = one_step(1e-3, 1e-8)
    torch.testing.assert_close(one_step(2e-3, 1e-8), 2 * small, rtol=1e-4, atol=1e-6)
    if name == "lion":
        assert torch.equal(one_step(1e-3, 10.0), small)   # lion has no epsilon
    else:
        assert not torch.allclose(one_step(1e-3, 10.0), small)


def gradients() -> list[torch.Tensor]:
    """Two steps' gradients; the first weight's second one equals its running mean, so its
    variance shrinks (AMSGrad then keeps the first)."""
    return [torch.tensor([0.5, -2.0, 0.0, 1e-3]), torch.tensor([0.05, 1.5, 0.0, 4.0])]


def stepped(optimizer_type: type[torch.optim.Optimizer], **options: object) -> torch.Tensor:
    """The weight after one step per gradient of `gradients()`, from [1, -1, 0.5, 2]."""
    weight = torch.tensor([1.0, -1.0, 0.5, 2.0], requires_grad=True)
    optimizer = optimizer_type([weight], **options)
    for grad in gradients():
        weight.grad = grad.clone()
        optimizer.step()
    return weight.detach()


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adabelief_matches_its_paper_by_hand(amsgrad: bool) -> None:
    lr, b1, b2, eps, decay = 0.1, 0.9, 0.999, 1e-8, 0.01
    w = torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=torch.float64)
    m = torch.zeros(4, dtype=torch.float64)
    s = torch.zeros(4, dtype=torch.float64)
    s_max = torch.zeros(4, dtype=torch.float64)
    for t, g in enumerate(gradients(), start=1):
        g = g.double()
        w = w * (1 - lr * decay)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        s_max = torch.maximum(s_max, s)
        used = s_max if amsgrad else s
        w = w - lr * (m / (1 - b1 ** t)) / ((used / (1 - b2 ** t)).sqrt() + eps)
    got = stepped(AdaBelief, lr=lr, betas=(b1, b2), eps=eps, weight_decay=decay,
                  amsgrad=amsgrad)
    torch.testing.assert_close(got, w.float(), rtol=1e-6, atol=1e-7)


def test_adabelief_amsgrad_keeps_the_largest_variance() -> None:
    """Only the first weight's variance shrinks: AMSGrad keeps the larger one there, so
    that weight steps less, and the others step alike."""
    plain = stepped(AdaBelief, lr=0.1, amsgrad=False)
    largest = stepped(AdaBelief, lr=0.1, amsgrad=True)
    assert largest[0] > plain[0]
    assert torch.equal(largest[1:], plain[1:])


def test_lion_matches_its_paper_by_hand() -> None:
    lr, b1, b2, decay = 0.1, 0.9, 0.99, 0.5
    w = torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=torch.float64)
    m = torch.zeros(4, dtype=torch.float64)
    for g in gradients():
        g = g.double()
        w = w - lr * (torch.sign(b1 * m + (1 - b1) * g) + decay * w)
        m = b2 * m + (1 - b2) * g
    got = stepped(Lion, lr=lr, betas=(b1, b2), weight_decay=decay)
    torch.testing.assert_close(got, w.float(), rtol=1e-6, atol=1e-7)
    # the first step moves every weight with a gradient by exactly lr, whatever its size
    weight = torch.zeros(3, requires_grad=True)
    weight.grad = torch.tensor([1e-6, -30.0, 0.0])
    Lion([weight], lr=0.25).step()
    assert weight.tolist() == [-0.25, 0.25, 0.0]


@pytest.mark.parametrize("optimizer_type", [AdaBelief, Lion])
def test_ours_refuse_bad_hyper_parameters(optimizer_type: type[torch.optim.Optimizer]) -> None:
    weight = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="betas"):
        optimizer_type([weight], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="weight_decay"):
        optimizer_type([weight], weight_decay=-1.0)


# ---- resuming --------------------------------------------------------------------------

RESUME_CASES = [OptimizerSettings(optimizer=name, weight_decay=0.01) for name in OPTIMIZERS]
RESUME_CASES += [OptimizerSettings(optimizer=name, amsgrad=True) for name in WITH_AMSGRAD]


@pytest.mark.parametrize("settings", RESUME_CASES,
                         ids=lambda s: s.optimizer + ("-amsgrad" if s.amsgrad else ""))
def test_state_round_trips_through_a_checkpoint_and_resumes_bit_exactly(
        settings: OptimizerSettings, tmp_path: Path) -> None:
    steps, rate = 3, rate_for(settings.optimizer)
    straight = tiny_net(0)
    straight_optimizer = build_optimizer(settings, straight.parameters(), rate, EPSILON)
    train(straight, straight_optimizer, range(2 * steps), rate)

    first = tiny_net(0)
    first_optimizer = build_optimizer(settings, first.parameters(), rate, EPSILON)
    train(first, first_optimizer, range(steps), rate)
    path = tmp_path / "resume.safetensors"
    checkpoint.write(path, checkpoint.capture(first, first_optimizer, {}, {"iteration": steps}))

    resumed = tiny_net(1)   # other weights, fresh state: everything must come from the file
    resumed_optimizer = build_optimizer(settings, resumed.parameters(), rate, EPSILON)
    checkpoint.restore(checkpoint.read(path), resumed, resumed_optimizer, {})
    train(resumed, resumed_optimizer, range(steps, 2 * steps), rate)

    for name, tensor in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name
    for index, state in straight_optimizer.state_dict()["state"].items():
        resumed_state = resumed_optimizer.state_dict()["state"][index]
        assert resumed_state.keys() == state.keys()
        for key, value in state.items():
            assert (torch.equal(resumed_state[key], value) if isinstance(value, torch.Tensor)
                    else resumed_state[key] == value), key
