"""faceswap's warp-to-landmarks (from dfaker), batched on the images' device.

Instead of a random warp, each model input is warped so that its 68 landmarks land on those
of a face of the other side: one drawn at random from the CLOSEST faces whose landmarks are
nearest (mean squared distance over all points, as faceswap measures it), each of its points
jittered by a normal LANDMARK_SIGMA of the size. faceswap pins the image with 8 edge anchors
(the corners and the middles of the sides) and drops the jaw points that fall inside the
face's core (the hull of points 17-67 of both faces: a jaw folded over a turned face), then
interpolates linearly between the points; we fit a thin-plate spline through the same points
instead, a smooth warp, evaluated on a coarse grid and interpolated over the pixels.

Landmarks are in the batch images' pixels (x, y; pixel i's centre at i). They follow the
image's random affine: both faces' points are moved, and mirrored with the left and right
points swapped when the image is flipped.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.extract.landmarks import JAW, MIRROR_68

POINTS = 68
CLOSEST = 10                # faceswap draws among the 10 closest faces of the other side
LANDMARK_SIGMA = 2 / 256    # its normal jitter of those points, as a fraction of the size
SMOOTHING = 3e-3            # the spline's regulariser (see landmark_warp_grid)
COARSE = 64                 # the spline is evaluated on at most COARSE x COARSE points
DIRECTIONS = 360            # the face core's hull, as its extent in this many directions
_MIRROR = torch.from_numpy(MIRROR_68)


def closest_landmarks(own: np.ndarray, other: np.ndarray, count: int = CLOSEST,
                      chunk: int = 1024) -> np.ndarray:
    """own: A x 68 x 2, other: B x 68 x 2 (the same pixels) -> A x min(count, B) indices
    into `other`, closest first (ties by index). Computed once per side when training starts.
    """
    if own.ndim != 3 or other.ndim != 3 or own.shape[1:] != (POINTS, 2) \
            or other.shape[1:] != (POINTS, 2):
        raise ValueError(f"landmarks must be N x {POINTS} x 2, not {own.shape} and "
                         f"{other.shape}")
    if count < 1 or len(other) == 0:
        raise ValueError(f"closest_landmarks needs a count of 1 or more and faces to choose "
                         f"from, not {count} of {len(other)}")
    count = min(count, len(other))
    theirs = other.reshape(len(other), -1).astype(np.float64)
    their_norms = (theirs ** 2).sum(1)
    found = []
    for start in range(0, len(own), chunk):
        mine = own[start:start + chunk].reshape(-1, POINTS * 2).astype(np.float64)
        distances = (mine ** 2).sum(1, keepdims=True) + their_norms - 2 * mine @ theirs.T
        found.append(_smallest(distances, count))
    return np.concatenate(found) if found else np.zeros((0, count), np.int64)


def _smallest(distances: np.ndarray, count: int) -> np.ndarray:
    """Each row's `count` smallest columns, in order (equal distances by index)."""
    if count < distances.shape[1]:
        part = np.argpartition(distances, count - 1, axis=1)[:, :count]
    else:
        part = np.broadcast_to(np.arange(distances.shape[1]), distances.shape)
    values = np.take_along_axis(distances, part, axis=1)
    order = np.lexsort((part, values), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def check_landmarks(images: torch.Tensor, landmarks: torch.Tensor | None,
                    candidates: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's landmarks (N x 68 x 2) and candidates (N x K x 68 x 2) as float32 on the
    images' device, or a ValueError that says what is missing or wrong."""
    count = images.shape[0]
    if landmarks is None or candidates is None:
        raise ValueError(f"warp_to_landmarks needs landmarks (N x {POINTS} x 2) and the other "
                         f"side's closest candidates (N x K x {POINTS} x 2) for each batch")
    if tuple(landmarks.shape) != (count, POINTS, 2):
        raise ValueError(f"landmarks must be {count} x {POINTS} x 2 for this batch, not "
                         f"{tuple(landmarks.shape)}")
    if candidates.ndim != 4 or candidates.shape[0] != count or candidates.shape[1] < 1 \
            or tuple(candidates.shape[2:]) != (POINTS, 2):
        raise ValueError(f"candidates must be {count} x K x {POINTS} x 2 (K >= 1) for this "
                         f"batch, not {tuple(candidates.shape)}")
    return (landmarks.to(images.device, torch.float32),
            candidates.to(images.device, torch.float32))


def choose(candidates: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """N x K x 68 x 2 candidates, one picked per image by its draw in [0, 1)."""
    count = candidates.shape[1]
    picked = (uniform * count).long().clamp(0, count - 1)
    return candidates[torch.arange(len(candidates), device=candidates.device), picked]


def move_landmarks(points: torch.Tensor, linear: torch.Tensor, offset: torch.Tensor,
                   flipped: torch.Tensor, size: int) -> torch.Tensor:
    """Where N x 68 x 2 pixel points go when an image is resampled at `linear q + offset`
    (output q, in grid_sample's normalised coordinates), left and right swapped where
    `flipped`."""
    normalised = (points * 2 + 1) / size - 1
    inverse = torch.linalg.inv(linear.to(points))
    moved = (normalised - offset.to(points).unsqueeze(1)) @ inverse.transpose(1, 2)
    pixels = ((moved + 1) * size - 1) / 2
    mirrored = pixels[:, _MIRROR.to(points.device)]
    return torch.where(flipped.view(-1, 1, 1), mirrored, pixels)


def landmark_warp_grid(source: torch.Tensor, target: torch.Tensor, size: int) -> torch.Tensor:
    """N x 2 x S x S: where each output pixel reads (grid_sample's normalised coordinates)
    so that the image's `source` points (N x 68 x 2 pixels) appear at `target`.

    The spline is lightly smoothed (SMOOTHING): each point lands within a fraction of a
    percent of the size of its target on average, a little more where close points (the
    lips) were jittered across each other, and those crossings do not fold the image."""
    edge = 1 - 1 / size                              # the outer pixels' centres
    src = (source.double() * 2 + 1) / size - 1
    dst = (target.double() * 2 + 1) / size - 1
    anchors = torch.tensor(((-1, -1), (-1, 1), (1, 1), (1, -1), (0, -1), (0, 1), (1, 0),
                            (-1, 0)), dtype=torch.float64, device=src.device) * edge
    anchors = anchors.expand(len(src), -1, -1)
    kept = torch.ones(src.shape[:2], dtype=torch.bool, device=src.device)
    kept[:, JAW] = ~(_in_core(src[:, JAW], src, dst) | _in_core(dst[:, JAW], src, dst))
    controls, values = torch.cat([dst, anchors], 1), torch.cat([src, anchors], 1)
    kept = torch.cat([kept, torch.ones(anchors.shape[:2], dtype=torch.bool,
                                       device=src.device)], 1)
    weights, affine = _fit(controls, values, kept)
    coarse = min(size, COARSE)
    ticks = torch.linspace(-edge, edge, coarse, dtype=torch.float64, device=src.device)
    where = torch.stack(torch.meshgrid(ticks, ticks, indexing="xy"), -1).view(1, -1, 2)
    field = _spline(where.expand(len(src), -1, -1), controls, weights, affine)
    grid = field.view(len(src), coarse, coarse, 2).permute(0, 3, 1, 2).to(source.dtype)
    if coarse != size:
        grid = F.interpolate(grid, size=(size, size), mode="bilinear", align_corners=True)
    return grid


def _in_core(points: torch.Tensor, source: torch.Tensor, target: torch.Tensor
             ) -> torch.Tensor:
    """N x P: whether each point lies in the hull of both faces' points 17-67, tested as
    "not beyond the hull's extent in any of DIRECTIONS directions" (its circumscribed
    polygon, within 4e-5 of the image's size of the hull: a fiftieth of a pixel at 1024)."""
    angles = torch.arange(DIRECTIONS, dtype=points.dtype, device=points.device) \
        * (2 * math.pi / DIRECTIONS)
    directions = torch.stack([angles.cos(), angles.sin()])             # 2 x D
    core = torch.cat([source[:, JAW.stop:], target[:, JAW.stop:]], 1)
    reach = (core @ directions).amax(1, keepdim=True)                   # N x 1 x D
    return ((points @ directions) <= reach).all(-1)


def _radial(squared: torch.Tensor) -> torch.Tensor:
    """The thin-plate kernel r^2 log r^2 (0 at r = 0), from r^2."""
    return torch.xlogy(squared, squared)


def _fit(controls: torch.Tensor, values: torch.Tensor, kept: torch.Tensor
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """The spline through `values` at `controls` (N x n x 2 each), over the kept points:
    weights N x n x 2 (0 where dropped) and the affine part N x 3 x 2. A dropped point's row
    and column become the identity's, so one solve serves a batch of different point sets."""
    count, points = controls.shape[:2]
    keep = kept.to(controls.dtype)
    squared = (controls.unsqueeze(2) - controls.unsqueeze(1)).square().sum(-1)
    identity = torch.eye(points, dtype=controls.dtype, device=controls.device)
    kernel = (_radial(squared) + SMOOTHING * identity) * keep.unsqueeze(2) * keep.unsqueeze(1)
    kernel = kernel + torch.diag_embed(1 - keep)
    affine = torch.cat([torch.ones_like(controls[..., :1]), controls], -1) * keep.unsqueeze(-1)
    system = torch.cat([torch.cat([kernel, affine], 2),
                        torch.cat([affine.transpose(1, 2), controls.new_zeros(count, 3, 3)], 2)],
                       1)
    right = torch.cat([values * keep.unsqueeze(-1), controls.new_zeros(count, 3, 2)], 1)
    solution = torch.linalg.solve(system, right)
    return solution[:, :points], solution[:, points:]


def _spline(where: torch.Tensor, controls: torch.Tensor, weights: torch.Tensor,
            affine: torch.Tensor) -> torch.Tensor:
    """The spline's value at N x M x 2 points: affine part plus the weighted kernels."""
    squared = (where.square().sum(-1, keepdim=True) + controls.square().sum(-1).unsqueeze(1)
               - 2 * where @ controls.transpose(1, 2)).clamp(min=0)
    linear = torch.cat([torch.ones_like(where[..., :1]), where], -1) @ affine
    return linear + _radial(squared) @ weights
