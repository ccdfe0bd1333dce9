"""A learning-rate sweep in words and as a plotext curve: the `lr-find` command and the Train
screen show it with the same two functions."""
from __future__ import annotations

from typing import Any

import numpy as np

from store.lr_sweeps import LrSweep

SKIP_BEGIN, SKIP_END = 10, 1   # faceswap's graph leaves out the first steps and the last


def describe_sweep(sweep: LrSweep, session_rate: float | None) -> list[str]:
    """What a sweep found, in a few lines (`session_rate`: the session's learning rate)."""
    lines = [f"sweep {sweep.id}: {sweep.steps} of {sweep.iterations} steps, strength "
             f"{sweep.strength}"]
    if sweep.stop_reason:
        lines.append(f"stopped early: {sweep.stop_reason}")
    if sweep.suggested is None:
        lines.append("no learning rate found: the loss never fell; sweep with more iterations")
    elif session_rate == sweep.suggested:
        lines.append(f"suggested learning rate {sweep.suggested:.3g}: the session's learning "
                     "rate now")
    else:
        lines.append(f"suggested learning rate {sweep.suggested:.3g} (the session's: "
                     f"{session_rate if session_rate is not None else 'the default'})")
    return lines


def draw_sweep(plt: Any, sweep: LrSweep | None) -> None:
    """The smoothed loss against log10 of the learning rate, the suggestion marked; `plt` is
    plotext's module or a PlotextPlot widget's `plt`."""
    plt.clear_figure()
    plt.title("learning-rate sweep: smoothed loss A + B")
    plt.xlabel("log10 learning rate")
    if sweep is None or sweep.steps == 0:
        plt.text("no learning-rate sweep yet", 0, 0)
        return
    shown = (slice(SKIP_BEGIN, sweep.steps - SKIP_END)
             if sweep.steps > SKIP_BEGIN + SKIP_END + 1 else slice(None))
    rates, losses = sweep.rates[shown], sweep.losses[shown]
    plt.plot(np.log10(rates).tolist(), losses.tolist(), marker="braille", label="loss")
    if sweep.suggested is not None:
        at = int(np.clip(np.searchsorted(rates, sweep.suggested), 0, len(rates) - 1))
        where = float(np.log10(sweep.suggested))
        plt.vline(where, "red")
        plt.scatter([where], [float(losses[at])], marker="x", color="red",
                    label=f"suggested {sweep.suggested:.3g}")
