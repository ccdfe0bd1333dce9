"""Colour matching of the swapped face to the face under it (faceswap's and DeepFaceLab's
colour transfers).

Each transfer learns a colour mapping from the pixels inside the mask (> 0.5) of both faces
and applies it to every pixel of the swapped face, so the feathered edge outside the mask
changes the same way. When the mask holds fewer than MIN_MASK_PIXELS pixels the statistics
come from the whole face instead. Covariances carry a small floor, so flat (single-colour)
faces give finite results: a flat face just moves to the target's mean.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

COLOUR_METHODS = ("none", "avg-color", "rct", "lct", "mkl", "idt", "sot", "hist-match",
                  "manual-balance")
MIN_MASK_PIXELS = 64
# Variance floor in RGB [0, 1] units (DeepFaceLab's lct uses the same).
RGB_EPS = 1e-5
# The same floor in L*a*b* units (L in 0..100).
LAB_EPS = 1e-1
# Samples per face for idt and sot's distributions (an even stride over the mask).
MAX_SAMPLES = 16384
QUANTILES = 256
HIST_QUANTILES = 1024
LUT_SIZE = 4096
IDT_ITERATIONS = 8
SOT_STEPS, SOT_BATCH = 10, 5    # DeepFaceLab's color_transfer_sot defaults
SEED = 0
BALANCE_NAMES = ("red", "green", "blue")


def match_colour(face: np.ndarray, target: np.ndarray, mask: np.ndarray, method: str, *,
                 balance: tuple[float, float, float] = (0, 0, 0), contrast: float = 0,
                 brightness: float = 0) -> np.ndarray:
    """`face` recoloured to match `target` (both float32 SxSx3 RGB in [0, 1]) by `method`.

    `balance` (red, green, blue), `contrast` and `brightness` are percentages, -100 to 100,
    used by manual-balance only. Returns a new float32 array clipped to [0, 1].
    """
    if method not in COLOUR_METHODS:
        raise ValueError(f"unknown colour matching {method!r}: choose one of "
                         f"{', '.join(COLOUR_METHODS)}")
    if len(balance) != 3:
        raise ValueError(f"manual-balance takes three balances (red, green, blue), "
                         f"not {len(balance)}")
    _check_percent(dict(zip(BALANCE_NAMES, balance))
                   | {"contrast": contrast, "brightness": brightness})
    face = np.asarray(face, np.float32)
    if face.ndim != 3 or face.shape[2] != 3:
        raise ValueError(f"the face must be an RGB image, not shape {face.shape}")
    if method == "none":
        return np.clip(face, 0, 1)
    if method == "manual-balance":
        return _manual_balance(face, balance, contrast, brightness)
    target = np.asarray(target, np.float32)
    if target.shape != face.shape:
        raise ValueError(f"face {face.shape} and target {target.shape} differ in size")
    if np.shape(mask) != face.shape[:2]:
        raise ValueError(f"mask {np.shape(mask)} does not fit the face {face.shape[:2]}")
    chosen = (np.asarray(mask) > 0.5).astype(np.uint8)
    if cv2.countNonZero(chosen) < MIN_MASK_PIXELS:
        chosen[...] = 1
    if method == "avg-color":
        shift = np.subtract(cv2.mean(target, chosen)[:3], cv2.mean(face, chosen)[:3])
        return np.clip(face + shift.astype(np.float32), 0, 1)
    if method == "rct":
        return _rct(face, target, chosen)
    inside = np.flatnonzero(chosen)
    have = face.reshape(-1, 3)[inside]
    wanted = target.reshape(-1, 3)[inside]
    if method in ("lct", "mkl"):
        out = _linear(face, have, wanted, lct_matrix if method == "lct" else mkl_matrix)
    elif method == "hist-match":
        out = _hist_match(face, have, wanted)
    else:
        out = _sliced(face, _stride(inside), _stride(wanted), method)
    return np.clip(out, 0, 1)


def _check_percent(values: dict[str, float]) -> None:
    for name, value in values.items():
        if not -100 <= value <= 100:
            raise ValueError(f"manual-balance {name} must be between -100 and 100 percent, "
                             f"not {value:g}")


def _manual_balance(face: np.ndarray, balance: tuple[float, float, float], contrast: float,
                    brightness: float) -> np.ndarray:
    """faceswap's manual balance in RGB: a positive balance moves a channel towards full, a
    negative one towards zero; contrast pivots on mid grey; brightness 100 adds half range."""
    out = face.copy()
    for channel, percent in enumerate(balance):
        share = percent / 100
        plane = out[..., channel]
        out[..., channel] = plane + (1 - plane) * share if share >= 0 else plane * (1 + share)
    if contrast or brightness:
        out = (out - 0.5) * (1 + contrast / 100) + 0.5 + brightness / 200
    return np.clip(out, 0, 1)


def _rct(face: np.ndarray, target: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Reinhard et al. 2001: each L*a*b* channel's mean and spread moved to the target's."""
    lab = cv2.cvtColor(np.clip(face, 0, 1), cv2.COLOR_RGB2Lab)
    have_mean, have_std = cv2.meanStdDev(lab, mask=chosen)
    wanted_mean, wanted_std = cv2.meanStdDev(cv2.cvtColor(np.clip(target, 0, 1),
                                                          cv2.COLOR_RGB2Lab), mask=chosen)
    scale = np.sqrt((wanted_std[:, 0] ** 2 + LAB_EPS) / (have_std[:, 0] ** 2 + LAB_EPS))
    shift = wanted_mean[:, 0] - have_mean[:, 0] * scale
    out = cv2.transform(lab, np.hstack([np.diag(scale), shift[:, None]]).astype(np.float32))
    return np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0, 1)


def _linear(face: np.ndarray, have: np.ndarray, wanted: np.ndarray,
            solve: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    (have_mean, have_cov), (wanted_mean, wanted_cov) = _moments(have), _moments(wanted)
    matrix = solve(have_cov, wanted_cov)
    shift = wanted_mean - matrix @ have_mean
    return cv2.transform(face, np.hstack([matrix, shift[:, None]]).astype(np.float32))


def _moments(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (with the RGB_EPS floor) of N x 3 samples, in float64."""
    covariance, mean = cv2.calcCovarMatrix(
        samples, None, cv2.COVAR_NORMAL | cv2.COVAR_ROWS | cv2.COVAR_SCALE)
    return mean[0], covariance + RGB_EPS * np.eye(3)


def _sqrtm(cov: np.ndarray, power: float = 0.5) -> np.ndarray:
    """cov ** power for a symmetric positive (semi)definite matrix; covariances come with the
    RGB_EPS floor already, the clamp only absorbs rounding below zero."""
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.maximum(values, 1e-12) ** power) @ vectors.T


def lct_matrix(have: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """DeepFaceLab's linear colour transfer (its default "pca" mode): the 3x3 map that turns
    the colour covariance `have` into `wanted` through their symmetric square roots,
    wanted^(1/2) have^(-1/2). Both are 3x3 (with the RGB_EPS floor); training's batched
    colour transfer uses it as well."""
    return _sqrtm(wanted) @ _sqrtm(have, -0.5)


def mkl_matrix(have: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Pitie & Kokaram 2007: the 3x3 linear map with the least displacement that turns the
    colour covariance `have` (A) into `wanted` (B): A^-1/2 (A^1/2 B A^1/2)^1/2 A^-1/2.
    Training's batched colour transfer uses it as well."""
    root, inverse_root = _sqrtm(have), _sqrtm(have, -0.5)
    return inverse_root @ _sqrtm(root @ wanted @ root) @ inverse_root


def _stride(samples: np.ndarray) -> np.ndarray:
    step = -(-len(samples) // MAX_SAMPLES)
    return samples[::step]


def _quantiles(samples: np.ndarray, count: int = QUANTILES) -> np.ndarray:
    """`count` evenly spaced order statistics of each column."""
    ordered = np.sort(samples, axis=0)
    return ordered[np.linspace(0, len(ordered) - 1, count).round().astype(np.intp)]


def _map_1d(plane: np.ndarray, have_q: np.ndarray, wanted_q: np.ndarray) -> np.ndarray:
    """Each value of `plane` moved from the quantiles `have_q` to the matching `wanted_q`
    (linear between them, clamped beyond), read from a LUT_SIZE table with cv2.remap: several
    times faster than np.interp per pixel; the input is rounded to range / LUT_SIZE steps."""
    low, high = float(have_q[0]), float(have_q[-1])
    if high - low < 1e-6:   # a flat distribution can only move
        return plane + np.float32(wanted_q.mean() - low)
    table = np.interp(np.linspace(low, high, LUT_SIZE), have_q, wanted_q).astype(np.float32)
    position = (plane - np.float32(low)) * np.float32((LUT_SIZE - 1) / (high - low))
    return cv2.remap(table[None], position, np.zeros_like(position), cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_REPLICATE)


def _hist_match(face: np.ndarray, have: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """faceswap's match-hist: each channel's distribution inside the mask mapped onto the
    target's through their cumulative histograms (here: HIST_QUANTILES matched quantiles of
    every masked pixel; a strided sample leaves visibly coarser histograms)."""
    have_q, wanted_q = _quantiles(have, HIST_QUANTILES), _quantiles(wanted, HIST_QUANTILES)
    return cv2.merge([_map_1d(plane, have_q[:, c], wanted_q[:, c])
                      for c, plane in enumerate(cv2.split(face))])


def _sliced(face: np.ndarray, inside: np.ndarray, wanted: np.ndarray,
            method: str) -> np.ndarray:
    """Distribution transfer along 1-D projections.

    idt (Pitie et al. 2005): each iteration rotates the colour space at random and matches
    the three axes' 1-D distributions. sot (DeepFaceLab's sliced optimal transport): each step
    matches SOT_BATCH random directions and moves by the mean of their displacements.
    """
    rng = np.random.default_rng(SEED)
    out = face.copy()
    wanted = wanted.reshape(-1, 1, 3)
    for _ in range(IDT_ITERATIONS if method == "idt" else SOT_STEPS):
        if method == "idt":
            directions, weight = _random_rotation(rng), 1.0
        else:
            directions = rng.standard_normal((3, SOT_BATCH))
            directions /= np.linalg.norm(directions, axis=0)
            weight = 1 / SOT_BATCH
        axes = list(directions.T.astype(np.float32)[:, None])
        # cv2.transform is fast to and from 1 and 3 channels only: project one axis at a
        # time and move back three at a time.
        projected = [cv2.transform(out, axis) for axis in axes]
        have_q = _quantiles(np.stack([plane.reshape(-1)[inside] for plane in projected], 1))
        wanted_q = _quantiles(np.stack([cv2.transform(wanted, axis)[:, 0] for axis in axes], 1))
        moved = [_map_1d(plane, have_q[:, k], wanted_q[:, k]) - plane
                 for k, plane in enumerate(projected)]
        for first in range(0, len(moved), 3):
            group = moved[first:first + 3]
            back = np.zeros((3, 3), np.float32)
            back[:, :len(group)] = directions[:, first:first + 3] * weight
            group += [np.zeros_like(moved[0])] * (3 - len(group))
            out += cv2.transform(cv2.merge(group), back)
    return out


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 orthonormal matrix (QR of a gaussian one, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))
