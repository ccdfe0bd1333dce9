"""faceswap's optimizers: torch's Adam, AdamW, NAdam, Adamax and RMSprop, and AdaBelief and
Lion, which torch lacks, written here.

The choice is part of a session's frozen config (its "optimizer" group), because a
checkpoint's optimizer state only fits the optimizer that made it. The learning rate and
epsilon are per-run settings instead: the trainer writes each param group's "lr" and "eps"
before every step, and every optimizer here reads them at that step (Lion has no epsilon and
ignores "eps"). AdaBelief's and Lion's state is tensors plus AdaBelief's integer step, so it
round-trips through `pipeline.train.checkpoint`.

Weight decay follows each method's paper: decoupled from the gradient (the weights shrink by
lr x weight_decay each step) for adamw, adabelief and lion; added to the gradient (L2) for
adam, nadam, adamax and rmsprop, as torch does.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from store.requests.options import field_problems, known_names

OPTIMIZERS = ("adam", "adamw", "nadam", "adamax", "rmsprop", "adabelief", "lion")
WITH_AMSGRAD = ("adam", "adamw", "adabelief")
WITH_BETAS = tuple(name for name in OPTIMIZERS if name != "rmsprop")
BETA_1 = 0.9                        # Keras's (so faceswap's) default, and Lion's
BETA_2 = {"lion": 0.99}             # Lion's paper; 0.999 (Keras's) for the others
RMSPROP_RHO = 0.9                   # Keras's (so faceswap's); torch's own default is 0.99
BETA_BOUNDS = (0.0, 0.9999)         # a beta of 1 never forgets, and bias correction divides by 0


@dataclass(frozen=True)
class OptimizerSettings:
    """The optimizer and its options (faceswap's defaults): frozen in the session's config."""

    optimizer: str = field(default="adam", metadata={"choices": OPTIMIZERS,
        "help": "How gradients become weight updates: adam, adamw (adam with decoupled "
                "weight decay), nadam (Nesterov adam), adamax (infinity-norm adam), rmsprop, "
                "adabelief (steps by the belief in the gradient; wants epsilon near 1e-16) "
                "or lion (sign updates, half adam's memory; wants a 3-10x lower rate)."})
    beta_1: float | None = field(default=None, metadata={"bounds": BETA_BOUNDS,
        "default_text": f"{BETA_1}",
        "help": "Decay rate of the running mean of the gradients (every optimizer but "
                "rmsprop)."})
    beta_2: float | None = field(default=None, metadata={"bounds": BETA_BOUNDS,
        "default_text": "0.999; 0.99 for lion",
        "help": "Decay rate of the second running average (of squares, of deviations, or "
                "lion's momentum; every optimizer but rmsprop)."})
    weight_decay: float = field(default=0.0, metadata={"bounds": (0.0, 1.0),
        "help": "Shrink the weights a little every step (0: never); decoupled for adamw, "
                "adabelief and lion (faceswap suggests 0.004 for adamw, lion 3-10x more)."})
    amsgrad: bool = field(default=False, metadata={
        "help": "Use the largest second moment seen so far (AMSGrad): adam, adamw and "
                "adabelief only."})

    def __post_init__(self) -> None:
        problems = field_problems(self)
        if not problems:
            problems = self._combination_problems()
        if problems:
            raise ValueError("; ".join(problems))

    def _combination_problems(self) -> list[str]:
        problems = []
        if self.amsgrad and self.optimizer not in WITH_AMSGRAD:
            problems.append(f"amsgrad is for {', '.join(WITH_AMSGRAD)} only, not "
                            f"{self.optimizer}")
        if self.optimizer not in WITH_BETAS:
            problems += [f"{name} does not apply to {self.optimizer}"
                         for name in ("beta_1", "beta_2") if getattr(self, name) is not None]
        return problems

    @property
    def betas(self) -> tuple[float, float]:
        """The betas this optimizer uses, defaults filled in."""
        beta_1 = BETA_1 if self.beta_1 is None else float(self.beta_1)
        default_2 = BETA_2.get(self.optimizer, 0.999)
        return beta_1, default_2 if self.beta_2 is None else float(self.beta_2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OptimizerSettings:
        """From a stored or edited dict; unknown names are refused."""
        return cls(**known_names(cls, data, "optimizer setting"))


def build_optimizer(settings: OptimizerSettings, parameters: Iterable[torch.Tensor],
                    learning_rate: float, epsilon: float) -> torch.optim.Optimizer:
    """The optimizer `settings` name over `parameters` (Adam and AdamW fused, as before)."""
    params = list(parameters)
    decay = settings.weight_decay
    betas = settings.betas
    match settings.optimizer:
        case "adam":
            return torch.optim.Adam(params, lr=learning_rate, betas=betas, eps=epsilon,
                                    weight_decay=decay, amsgrad=settings.amsgrad, fused=True)
        case "adamw":
            return torch.optim.AdamW(params, lr=learning_rate, betas=betas, eps=epsilon,
                                     weight_decay=decay, amsgrad=settings.amsgrad, fused=True)
        case "nadam":
            return torch.optim.NAdam(params, lr=learning_rate, betas=betas, eps=epsilon,
                                     weight_decay=decay)
        case "adamax":
            return torch.optim.Adamax(params, lr=learning_rate, betas=betas, eps=epsilon,
                                      weight_decay=decay)
        case "rmsprop":
            return torch.optim.RMSprop(params, lr=learning_rate, alpha=RMSPROP_RHO,
                                       eps=epsilon, weight_decay=decay)
        case "adabelief":
            return AdaBelief(params, lr=learning_rate, betas=betas, eps=epsilon,
                             weight_decay=decay, amsgrad=settings.amsgrad)
        case "lion":
            return Lion(params, lr=learning_rate, betas=betas, weight_decay=decay)
    raise ValueError(f"unknown optimizer {settings.optimizer!r} (optimizers: "
                     f"{', '.join(OPTIMIZERS)})")


def _check_hyper(lr: float, betas: tuple[float, float], weight_decay: float) -> None:
    """torch's own optimizers refuse these too; ours should not fail later, mid-run."""
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"the learning rate must be 0 or more, not {lr}")
    if not all(0 <= beta < 1 for beta in betas):
        raise ValueError(f"betas must be from 0 to below 1, not {betas}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be 0 or more, not {weight_decay}")


def _with_grads(group: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The group's parameters that have gradients, and those gradients."""
    params = [p for p in group["params"] if p.grad is not None]
    grads = [p.grad for p in params]
    if any(grad.is_sparse for grad in grads):
        raise RuntimeError("sparse gradients are not supported")
    return params, grads


class _DecoupledOptimizer(torch.optim.Optimizer):
    """The step AdaBelief and Lion share: for each param group, its parameters that have
    gradients shrink by lr x weight_decay (decoupled decay), then the method's `_update`."""

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads = _with_grads(group)
            if not params:
                continue
            if group["weight_decay"]:
                torch._foreach_mul_(params, 1 - group["lr"] * group["weight_decay"])
            self._update(group, params, grads)
        return loss

    def _update(self, group: dict[str, Any], params: list[torch.Tensor],
                grads: list[torch.Tensor]) -> None:
        """Move `params` (already decayed) by the method's rule for `grads`."""
        raise NotImplementedError


class AdaBelief(_DecoupledOptimizer):
    """AdaBelief (Zhuang et al. 2020, Algorithm 2): Adam whose second moment is the running
    variance of the gradient around its running mean, so steps are large where the gradient
    is predictable and small where it is not.

        m = b1 m + (1 - b1) g                 s = b2 s + (1 - b2) (g - m)^2 + eps
        w -= lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)

    with decoupled weight decay (w *= 1 - lr weight_decay first) and, with amsgrad, the
    largest s so far in the denominator.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-16,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        _check_hyper(lr, betas, weight_decay)
        if not (math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be 0 or more, not {eps}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def _update(self, group: dict[str, Any], params: list[torch.Tensor],
                grads: list[torch.Tensor]) -> None:
        beta_1, beta_2 = group["betas"]
        lr, eps, amsgrad = group["lr"], group["eps"], group["amsgrad"]
        states = [self._state(p, amsgrad) for p in params]
        for state in states:
            state["step"] += 1
        means = [state["exp_avg"] for state in states]
        variances = [state["exp_avg_var"] for state in states]
        torch._foreach_lerp_(means, grads, 1 - beta_1)
        residuals = torch._foreach_sub(grads, means)
        torch._foreach_mul_(variances, beta_2)
        torch._foreach_addcmul_(variances, residuals, residuals, value=1 - beta_2)
        torch._foreach_add_(variances, eps)
        if amsgrad:
            largest = [state["max_exp_avg_var"] for state in states]
            torch._foreach_maximum_(largest, variances)
            variances = largest
        denominators = torch._foreach_div(variances,
                                          [1 - beta_2 ** state["step"] for state in states])
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, eps)
        torch._foreach_addcdiv_(params, means, denominators,
                                [-lr / (1 - beta_1 ** state["step"]) for state in states])

    def _state(self, param: torch.Tensor, amsgrad: bool) -> dict[str, Any]:
        state = self.state[param]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_var"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        if amsgrad and "max_exp_avg_var" not in state:
            state["max_exp_avg_var"] = torch.zeros_like(param,
                                                        memory_format=torch.preserve_format)
        return state


class Lion(_DecoupledOptimizer):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): every weight
    moves by exactly lr per step, in the direction of the sign of a blend of its momentum and
    gradient; only the momentum is kept (half of Adam's state).

        w -= lr (sign(b1 m + (1 - b1) g) + weight_decay w)      m = b2 m + (1 - b2) g

    A param group's "eps" (the trainer sets it for every optimizer) is ignored.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-4,
                 betas: tuple[float, float] = (0.9, 0.99), weight_decay: float = 0.0) -> None:
        _check_hyper(lr, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    def _update(self, group: dict[str, Any], params: list[torch.Tensor],
                grads: list[torch.Tensor]) -> None:
        beta_1, beta_2 = group["betas"]
        lr = group["lr"]
        momenta = [self._momentum(p) for p in params]
        directions = torch._foreach_lerp(momenta, grads, 1 - beta_1)
        torch._foreach_sign_(directions)
        torch._foreach_add_(params, directions, alpha=-lr)
        torch._foreach_lerp_(momenta, grads, 1 - beta_2)

    def _momentum(self, param: torch.Tensor) -> torch.Tensor:
        state = self.state[param]
        if not state:
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state["exp_avg"]
