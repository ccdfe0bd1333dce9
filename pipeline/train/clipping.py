"""Gradient clipping before each update, as faceswap offers it: none, global_norm, norm,
value and autoclip.

- global_norm: all the gradients together are scaled down to a norm of clip_value.
- norm: each weight's gradient on its own is scaled down to a norm of clip_value.
- value: each number is clamped to [-clip_value, clip_value].
- autoclip (Seetharaman et al. 2020, "AutoClip"; faceswap's AutoClipper): the global norm
  is clipped to a percentile of the norms of the latest updates (this one included), so the
  limit follows the model instead of being guessed. That history is kept in the checkpoint
  (`state_dict`), so a resumed run clips as the uninterrupted one would.

A NaN or Inf in the gradients is never clipped or recorded: `clip` returns the non-finite
norm for the trainer to refuse the step.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np
import torch

from pipeline.train.settings import RunSettings

HISTORY_KEY = "autoclip_history"


class GradientClipper:
    """Clips the gradients of one model's parameters, update after update."""

    def __init__(self, settings: RunSettings) -> None:
        self.mode = settings.clipping
        self.limit = settings.clip_value
        self.percentile = settings.autoclip_percentile
        self.history: deque[float] = deque(maxlen=settings.autoclip_history)

    def clip(self, parameters: Iterable[torch.Tensor]) -> float:
        """Clip the parameters' gradients in place; returns their global L2 norm before
        clipping (measured with clipping "none" too; 0.0 when none has a gradient)."""
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return 0.0
        norms = torch._foreach_norm(grads)
        total = float(torch.linalg.vector_norm(torch.stack([n.float() for n in norms])))
        if not math.isfinite(total):
            return total
        if self.mode == "global_norm":
            _scale_to(grads, total, self.limit)
        elif self.mode == "norm":
            _clip_each(grads, norms, self.limit)
        elif self.mode == "value":
            torch._foreach_clamp_min_(grads, -self.limit)
            torch._foreach_clamp_max_(grads, self.limit)
        elif self.mode == "autoclip":
            self.history.append(total)
            _scale_to(grads, total, self.autoclip_limit())
        return total

    def autoclip_limit(self) -> float:
        """The norm autoclip clips to now: the percentile of the recorded norms."""
        if not self.history:
            return math.inf
        return float(np.percentile(np.fromiter(self.history, float, len(self.history)),
                                   self.percentile))

    def state_dict(self) -> dict[str, torch.Tensor | int | float]:
        """autoclip's recorded norms, oldest first, as float64 (exactly as measured)."""
        return {HISTORY_KEY: torch.tensor(list(self.history), dtype=torch.float64)}

    def load_state_dict(self, state: Mapping[str, torch.Tensor | int | float]) -> None:
        """Continue from `state_dict()`'s output; the newest norms are kept when this run's
        autoclip_history is shorter."""
        history = state.get(HISTORY_KEY)
        if not isinstance(history, torch.Tensor) or history.dim() != 1:
            raise ValueError(f"a gradient clipper's state needs {HISTORY_KEY!r}, a 1-D "
                             "tensor of gradient norms")
        self.history.clear()
        self.history.extend(history.to(torch.float64).tolist())


def _scale_to(grads: list[torch.Tensor], total: float, limit: float) -> None:
    """Scale all gradients together so their global norm is at most `limit`."""
    if total > limit:
        torch._foreach_mul_(grads, limit / total)


def _clip_each(grads: list[torch.Tensor], norms: Iterable[torch.Tensor],
               limit: float) -> None:
    """Scale each gradient on its own so its norm is at most `limit`."""
    scales = [limit / torch.clamp(norm, min=limit) for norm in norms]
    torch._foreach_mul_(grads, scales)
