"""faceswap's learning-rate finder: a short sweep that says what learning rate to train at.

The rate rises exponentially from START_LR to END_LR over the sweep's steps, one training
step at each rate. The loss is smoothed with a bias-corrected exponential moving average;
the sweep stops early when the smoothed loss passes STOP_FACTOR times its lowest (the
model diverged) or the loss is not finite. The suggestion is the rate at the lowest
smoothed loss divided by the strength's divisor: a tenth of it by default, a fifth when
aggressive, two fifths when extreme. No suggestion when that lands at or below START_LR
(the loss never fell: the sweep was too short to see it).

Pure: the caller's `step(rate) -> loss` does the training, so this is tested on made-up
curves.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

START_LR = 1e-10     # faceswap's sweep starts here ...
END_LR = 1e-1        # ... and ends here
BETA = 0.98          # weight of the past in the smoothed loss
STOP_FACTOR = 4.0    # divergence: the smoothed loss above this many times its lowest
DIVISORS = {"default": 10.0, "aggressive": 5.0, "extreme": 2.5}   # lr_sweeps.STRENGTHS


@dataclass(frozen=True, eq=False)   # it holds arrays
class SweepResult:
    rates: np.ndarray          # the learning rate of each step run (float64)
    losses: np.ndarray         # the smoothed loss after each of those steps
    suggested: float | None    # None: the loss never fell far enough to pick a rate
    stop_reason: str | None    # why it stopped before its last step; None if it did not

    @property
    def points(self) -> np.ndarray:
        """(rate, smoothed loss) pairs, one row per step run."""
        return np.stack([self.rates, self.losses], axis=1).reshape(-1, 2)


def schedule(start: float, end: float, iterations: int) -> np.ndarray:
    """`iterations` rates from `start` to `end` (both included), evenly spaced in log."""
    if not 0 < start < end or iterations < 2:
        raise ValueError(f"a sweep needs 0 < start < end and 2 or more iterations, not "
                         f"{start:g} to {end:g} over {iterations}")
    return start * (end / start) ** (np.arange(iterations) / (iterations - 1))


def suggest(rates: np.ndarray, losses: np.ndarray, strength: str,
            start: float = START_LR) -> float | None:
    """The rate at the lowest smoothed loss over the strength's divisor, to 3 significant
    digits (a setting a person can read); None when there is no loss or the pick is at or
    below `start`."""
    if strength not in DIVISORS:
        raise ValueError(f"unknown strength {strength!r} (strengths: {', '.join(DIVISORS)})")
    if len(losses) == 0:
        return None
    rate = float(rates[int(np.argmin(losses))]) / DIVISORS[strength]
    return float(f"{rate:.3g}") if rate > start else None


def sweep(step: Callable[[float], float], iterations: int, strength: str = "default", *,
          start: float = START_LR, end: float = END_LR, beta: float = BETA,
          stop_factor: float = STOP_FACTOR) -> SweepResult:
    """Run `step(rate)` at each rate of the schedule until it ends or the loss diverges."""
    kept_rates: list[float] = []
    kept_losses: list[float] = []
    average, best = 0.0, math.inf
    reason = None
    for number, rate in enumerate(schedule(start, end, iterations).tolist(), start=1):
        loss = step(rate)
        if not math.isfinite(loss):
            reason = f"the loss became {loss} at learning rate {rate:.1e}"
            break
        average = beta * average + (1 - beta) * loss
        smoothed = average / (1 - beta ** number)
        kept_rates.append(rate)
        kept_losses.append(smoothed)
        if number > 1 and smoothed > stop_factor * best:
            reason = (f"the loss diverged at learning rate {rate:.1e} (over {stop_factor:g}x "
                      "its lowest)")
            break
        best = min(best, smoothed)
    rates, losses = np.array(kept_rates), np.array(kept_losses)
    return SweepResult(rates, losses, suggest(rates, losses, strength, start), reason)
