"""DeepFaceLab's colour transfer of training samples (its ct_mode), batched in torch.

DFL moves each of one person's training faces towards the colours of a face of the other
person drawn at random, before augmentation, over the whole image. The methods are those of
conversion (`pipeline.convert.colour`): rct, lct, mkl, idt and sot, with its constants.
Conversion's `match_colour` works on one image at a time on the CPU: a batch of 16 at 256 px
took 0.12-0.16 s (rct, lct, mkl) and 0.5-2.2 s (idt, sot) on one core, plus, when training on
a GPU, a copy of every batch to the host and back. Here whole batches stay on their device:

- rct: the L*a*b* means and spreads (augment's L*a*b* conversion), as conversion's rct.
- lct, mkl: batched means and covariances; the 3x3 maps come from conversion's own solvers.
- idt, sot: conversion's iterations, but each 1-D distribution is matched through 256-bin
  histograms over both images' range (as DFL's idt matches them) instead of a lookup table
  of quantiles, and each image draws its own random directions, as DFL does per sample.
  DFL's sot also smooths the displacement with a bilateral filter; conversion's does not,
  nor does this.

Every random number comes from the caller's generator. On one CPU core this costs about
what conversion's per-image path does up to 128 px (a batch of 16 at 128 px: rct 0.13 s,
lct and mkl 0.03 s, idt 0.45 s, sot 1 s) and 2-5 times more at 256 px; a GPU runs it in
parallel over the batch.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.convert.colour import (IDT_ITERATIONS, LAB_EPS, MAX_SAMPLES, RGB_EPS, SOT_BATCH,
                                     SOT_STEPS, lct_matrix, mkl_matrix)
from pipeline.train.augment import lab_to_rgb, rgb_to_lab

COLOUR_MODES = ("none", "rct", "lct", "mkl", "idt", "sot")
BINS = 256              # DFL idt's histogram bins
FLAT_RANGE = 1e-8       # below this a range or a bin is flat


def transfer_colour(images: Tensor, references: Tensor, mode: str,
                    generator: torch.Generator) -> Tensor:
    """Each image (N x 3 x S x S, RGB in [0, 1]) moved towards a reference drawn at random
    (with replacement) from `references` (M x 3 x S' x S'); float32 in [0, 1]."""
    _check(images, references, mode)
    if mode == "none":
        return images
    picks = torch.randint(len(references), (len(images),), generator=generator,
                          device=generator.device).to(references.device)
    return transfer_pairs(images, references[picks], mode, generator)


def transfer_pairs(images: Tensor, references: Tensor, mode: str,
                   generator: torch.Generator) -> Tensor:
    """Image i moved towards reference i (both N x 3, any sizes); float32 in [0, 1]."""
    _check(images, references, mode)
    if len(references) != len(images):
        raise ValueError(f"transfer_pairs needs one reference per image, not {len(references)} "
                         f"for {len(images)}")
    if mode == "none":
        return images
    with torch.autocast(images.device.type, enabled=False):
        images = images.float()
        references = references.to(images)
        if references.shape[-2:] != images.shape[-2:]:
            references = F.interpolate(references, size=images.shape[-2:], mode="bilinear",
                                       antialias=True, align_corners=False)
        if mode == "rct":
            return _rct(images, references)
        if mode in ("lct", "mkl"):
            return _linear(images, references, mode)
        return _sliced(images, references, mode, generator)


def _check(images: Tensor, references: Tensor, mode: str) -> None:
    if mode not in COLOUR_MODES:
        raise ValueError(f"unknown colour transfer {mode!r}: choose one of "
                         f"{', '.join(COLOUR_MODES)}")
    for name, batch in (("images", images), ("references", references)):
        if batch.ndim != 4 or batch.shape[1] != 3 or len(batch) == 0:
            raise ValueError(f"{name} must be N x 3 x H x W with N >= 1, not "
                             f"{tuple(batch.shape)}")


def _rct(images: Tensor, references: Tensor) -> Tensor:
    """Reinhard et al. 2001: each L*a*b* channel's mean and spread moved to the reference's."""
    have, wanted = rgb_to_lab(images), rgb_to_lab(references)
    have_var, have_mean = torch.var_mean(have, dim=(2, 3), correction=0, keepdim=True)
    wanted_var, wanted_mean = torch.var_mean(wanted, dim=(2, 3), correction=0, keepdim=True)
    scale = ((wanted_var + LAB_EPS) / (have_var + LAB_EPS)).sqrt()
    return lab_to_rgb((have - have_mean) * scale + wanted_mean)


def _moments(batch: Tensor) -> tuple[Tensor, np.ndarray]:
    """Per image: the mean (N x 3 x 1, float64) and the covariance with the RGB_EPS floor
    (N x 3 x 3 numpy, for conversion's solvers)."""
    flat = batch.flatten(2).double()
    mean = flat.mean(dim=2, keepdim=True)
    centred = flat - mean
    covariance = centred @ centred.transpose(1, 2) / flat.shape[2]
    return mean, covariance.cpu().numpy() + RGB_EPS * np.eye(3)


def _linear(images: Tensor, references: Tensor, mode: str) -> Tensor:
    """lct (DFL's linear transfer) or mkl (Pitie & Kokaram 2007): x -> M (x - mean) + mean'."""
    (have_mean, have_cov), (wanted_mean, wanted_cov) = _moments(images), _moments(references)
    solve = lct_matrix if mode == "lct" else mkl_matrix
    matrices = torch.from_numpy(np.stack([solve(h, w) for h, w in zip(have_cov, wanted_cov)]))
    matrices = matrices.to(have_mean)
    shift = wanted_mean - matrices @ have_mean
    out = (matrices.float() @ images.flatten(2)) + shift.float()
    return out.view_as(images).clamp(0, 1)


def _sliced(images: Tensor, references: Tensor, mode: str,
            generator: torch.Generator) -> Tensor:
    """idt (Pitie et al. 2005): random rotations, each axis's distribution matched in turn;
    sot (DFL's sliced optimal transport): SOT_BATCH random directions per step, moved by the
    mean of their displacements."""
    flat = images.flatten(2)
    wanted = references.flatten(2)
    for _ in range(IDT_ITERATIONS if mode == "idt" else SOT_STEPS):
        if mode == "idt":
            directions, weight = _rotations(len(images), generator), 1.0
        else:
            directions, weight = _unit_directions(len(images), generator), 1 / SOT_BATCH
        directions = directions.to(flat)                     # N x 3 x K, unit columns
        axes = directions.transpose(1, 2)
        have = axes @ flat                                   # N x K x P
        moved = _match_1d(have, axes @ wanted) - have
        flat = flat + (directions * weight) @ moved
    return flat.view_as(images).clamp(0, 1)


def _match_1d(have: Tensor, wanted: Tensor) -> Tensor:
    """Each value of `have` (N x K x P) moved to the value of the same rank in `wanted`
    (N x K x P'), read through BINS-bin histograms of both over their joint range, as DFL's
    idt does: a few passes over the pixels (sorting them was about 5x slower on a CPU).
    The histograms count at most MAX_SAMPLES values of each row (an even stride)."""
    have_low, have_high = torch.aminmax(have, dim=2, keepdim=True)
    wanted_low, wanted_high = torch.aminmax(wanted, dim=2, keepdim=True)
    low = torch.minimum(have_low, wanted_low)
    width = ((torch.maximum(have_high, wanted_high) - low) / BINS).clamp(min=FLAT_RANGE)
    scaled = (have - low) / width                           # bin b holds [b, b + 1)
    have_cdf = _cdf(_strided(scaled))
    wanted_cdf = _cdf(_strided((wanted - low) / width))
    edges = low + width * torch.arange(1, BINS + 1, device=have.device)   # upper edges
    # where wanted's distribution reaches the share that each of have's edges holds
    mapped = _interp(have_cdf, wanted_cdf, edges)
    # between the upper edges of bins b - 1 and b, as np.interp over `edges` reads it
    position = (scaled - 1).clamp_(0, BINS - 1)
    below = position.long().clamp_(max=BINS - 2)
    return torch.lerp(mapped.gather(2, below), mapped.gather(2, below + 1),
                      position.sub_(below))


def _strided(values: Tensor) -> Tensor:
    return values[..., ::-(-values.shape[2] // MAX_SAMPLES)]


def _cdf(scaled: Tensor) -> Tensor:
    """N x K x BINS: the share of each row's values (in bin units) at or below each bin's
    upper edge."""
    bins = scaled.long().clamp_(0, BINS - 1)
    counts = torch.zeros(*scaled.shape[:2], BINS, device=scaled.device)
    counts.scatter_add_(2, bins, torch.ones_like(scaled))
    return counts.cumsum(2) / scaled.shape[2]


def _interp(x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """np.interp along the last axis of N x K x B rows (xp non-decreasing); clamped."""
    upper = torch.searchsorted(xp.contiguous(), x.contiguous()).clamp(1, xp.shape[2] - 1)
    x0, x1 = xp.gather(2, upper - 1), xp.gather(2, upper)
    f0, f1 = fp.gather(2, upper - 1), fp.gather(2, upper)
    share = ((x - x0) / (x1 - x0).clamp(min=FLAT_RANGE)).clamp(0, 1)
    return f0 + share * (f1 - f0)


def _rotations(count: int, generator: torch.Generator) -> Tensor:
    """`count` uniformly random 3x3 orthonormal matrices (QR of gaussian ones, signs fixed)."""
    gaussian = torch.randn((count, 3, 3), generator=generator, device=generator.device)
    q, r = torch.linalg.qr(gaussian.cpu().double())
    return q * torch.sign(torch.diagonal(r, dim1=1, dim2=2)).unsqueeze(1)


def _unit_directions(count: int, generator: torch.Generator) -> Tensor:
    """`count` sets of SOT_BATCH random unit vectors, as 3 x SOT_BATCH columns."""
    gaussian = torch.randn((count, 3, SOT_BATCH), generator=generator, device=generator.device)
    return gaussian / gaussian.norm(dim=1, keepdim=True)
