"""Loss and swap-metric graphs drawn with plotext: the Analysis screen's (through
textual-plotext) and `swapdeck session plot`'s are the same drawing.

`plt` is plotext's module or a PlotextPlot widget's `plt`: both have the same functions.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from store.views.loss_series import DEFAULT_POINTS, LossSeries, loss_series
from store.sessions import SwapMetrics

DEFAULT_WINDOW = 50       # points of the rolling average
DEFAULT_ALPHA = 0.05      # weight of the newest point in the exponential average


class Smoothing(StrEnum):
    RAW = "raw"
    ROLLING = "rolling"
    EMA = "ema"


SMOOTHING_HELP = ("raw: the recorded losses (averaged per span when there are more than the "
                  "graph can show); rolling: a moving average over the last points; ema: an "
                  "exponential moving average")


def smooth(values: np.ndarray, how: Smoothing, window: int = DEFAULT_WINDOW,
           alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    if how is Smoothing.RAW or len(values) == 0:
        return values
    if how is Smoothing.ROLLING:
        sums = np.cumsum(np.insert(values, 0, 0.0))
        counts = np.minimum(np.arange(1, len(values) + 1), window)
        ends = np.arange(1, len(values) + 1)
        return (sums[ends] - sums[ends - counts]) / counts
    out = np.empty_like(values)
    average = values[0]
    for i, value in enumerate(values):   # at most a few thousand points
        average = alpha * value + (1 - alpha) * average
        out[i] = average
    return out


@dataclass(frozen=True)
class Curve:
    label: str          # the session's name
    series: LossSeries


@dataclass(frozen=True)
class LegendKey:
    """One line of a graph: its label and the colour it is drawn in (RGB)."""
    label: str
    colour: tuple[int, int, int]


# Loss A and loss B of the chosen session, then of the compared one: set colours, so that a
# legend drawn outside the graph shows the same ones.
LINE_COLOURS = ((70, 160, 255), (255, 145, 50), (90, 200, 120), (220, 100, 220))


def read_curves(conn: sqlite3.Connection, chosen: Sequence[tuple[int, str]],
                last_n: int | None, points: int = DEFAULT_POINTS) -> list[Curve]:
    """The first session's losses (all, or its newest `last_n` iterations), and those of the
    others over the same iterations, so that compared curves line up."""
    curves: list[Curve] = []
    for session_id, name in chosen:
        if not curves:
            series = loss_series(conn, session_id, last_n=last_n, points=points)
        else:
            series = loss_series(conn, session_id, from_iteration=curves[0].series.start,
                                 points=points)
        curves.append(Curve(name, series))
    return curves


def draw_losses(plt: Any, curves: Sequence[Curve], how: Smoothing, log_scale: bool,
                title: str, *, legend: bool = True) -> list[LegendKey]:
    """Loss A and loss B of each session on one graph; the keys of the lines drawn.

    plotext writes its legend over the top left corner of the curves, where a loss curve
    starts: with `legend=False` it writes neither legend nor title, and the caller shows
    the title and the keys in the row above the graph (the Analysis screen does)."""
    plt.clear_figure()
    if legend:
        plt.title(title)
    plt.xlabel("iteration")
    plt.yscale("log" if log_scale else "linear")
    keys: list[LegendKey] = []
    for curve in curves:
        series = curve.series
        if len(series) == 0:
            continue
        prefix = f"{curve.label} " if len(curves) > 1 else ""
        for side, values in (("A", series.loss_a), ("B", series.loss_b)):
            values = smooth(values, how)
            keep = values > 0 if log_scale else np.isfinite(values)
            key = LegendKey(f"{prefix}loss {side}", LINE_COLOURS[len(keys) % len(LINE_COLOURS)])
            plt.plot(series.iterations[keep].tolist(), values[keep].tolist(),
                     label=key.label if legend else None, marker="braille", color=key.colour)
            keys.append(key)
    if not keys:
        plt.text("no losses recorded yet", 0, 0)
    return keys


METRIC_GRAPHS = {
    # name: (title, lines: (label, value of a SwapMetrics row))
    "identity": ("identity of the A→B output (a working swap: like B above like A)",
                 (("like B", lambda m: m.identity_b), ("like A", lambda m: m.identity_a))),
    "errors": ("pose error (degrees) and expression error (inter-ocular units x100)",
               (("pose °", lambda m: m.pose_error),
                ("expression x100", lambda m: None if m.expression_error is None
                 else m.expression_error * 100))),
}


def draw_metrics(plt: Any, metrics: Sequence[SwapMetrics], graph: str, *,
                 legend: bool = True) -> list[LegendKey]:
    """One of METRIC_GRAPHS over the iterations at which metrics were measured; the keys of
    the lines drawn (`legend=False`: plotext writes no legend over them, as in draw_losses)."""
    title, lines = METRIC_GRAPHS[graph]
    plt.clear_figure()
    plt.title(title)
    plt.xlabel("iteration")
    measured = [m for m in metrics if m.faces]
    if not measured:
        plt.text("no swap metrics yet (measured at each save)", 0, 0)
        return []
    keys: list[LegendKey] = []
    for label, value in lines:
        points = [(m.iteration, value(m)) for m in measured if value(m) is not None]
        if points:
            xs, ys = zip(*points)
            key = LegendKey(label, LINE_COLOURS[len(keys) % len(LINE_COLOURS)])
            plt.plot(list(xs), list(ys), label=label if legend else None, marker="braille",
                     color=key.colour)
            keys.append(key)
    return keys
