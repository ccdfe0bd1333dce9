"""faceswap's training augmentation as batched tensor operations, on the batch's device.

Order, as faceswap's TrainingDataGenerator does it: colour (random L*a*b* lightness and
colour shifts, then, for some images, CLAHE on the lightness; image only), then one random
affine per image (rotation, zoom, shift and the horizontal flip), applied to the image and its
masks alike. The targets and masks are that transformed image resized to the output size; the
model input is its warp resized to the input size: a random warp (a 5x5 grid of control
points, each moved by a normal amount, interpolated to a smooth dense flow) or, with
warp_to_landmarks, a warp of its landmarks onto those of a similar face of the other side
(augment_landmarks.py). Every random number comes from the caller's `torch.Generator`, drawn
in a fixed order whatever the switches (the newer draws after the older ones), so a seed gives
the same geometry with colour or CLAHE on or off and a resumed run repeats its batches.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F

from pipeline.train.augment_landmarks import (LANDMARK_SIGMA, POINTS, check_landmarks,
                                              choose, landmark_warp_grid, move_landmarks)
from pipeline.train.clahe import equalise_lightness, grid_sizes
from store.requests.options import field_problems

WARP_POINTS = 5            # faceswap's control grid is 5 x 5 over the whole image
WARP_SIGMA = 5 / 256       # its normal displacement, as a fraction of the image size


@dataclass(frozen=True)
class AugmentSettings:
    """The random changes made to each training image (faceswap's defaults and ranges)."""

    zoom: float = field(default=0.05, metadata={"bounds": (0, 0.25),
        "help": "Random zoom in or out, as a fraction of the image size (0.05 = up to 5%)."})
    rotation: float = field(default=10.0, metadata={"bounds": (0, 90),
        "help": "Random rotation either way, in degrees."})
    shift: float = field(default=0.05, metadata={"bounds": (0, 0.25),
        "help": "Random shift sideways and up or down, as a fraction of the image size."})
    flip_chance: float = field(default=0.5, metadata={"bounds": (0, 1),
        "help": "Chance (0 to 1) that an image is mirrored left to right."})
    colour_lightness: float = field(default=0.30, metadata={"bounds": (0, 0.75),
        "help": "Random lightness change, as a fraction of L in L*a*b* (0.30 = up to 30%)."})
    colour_ab: float = field(default=0.08, metadata={"bounds": (0, 0.5),
        "help": "Random colour change, as a fraction of a and b in L*a*b* (0.08 = up to 8%)."})
    clahe_chance: float = field(default=0.5, metadata={"bounds": (0, 1),
        "help": "Chance (0 to 1) that an image's contrast is evened out tile by tile (CLAHE "
                "on its lightness), one of the colour changes."})
    clahe_max_size: int = field(default=4, metadata={"bounds": (1, 8),
        "help": "Largest random CLAHE grid step: an image of size S gets b + k * (b // 2) "
                "tiles a side, b = max(2, S // 128), k drawn from 0 to this."})
    warp: bool = field(default=True, metadata={
        "help": "Randomly warp the model's input (faceswap's no-warp turns this off)."})
    warp_to_landmarks: bool = field(default=False, metadata={
        "help": "Warp the model's input onto the landmarks of a similar face of the other "
                "side instead of randomly (needs warp on)."})
    flip: bool = field(default=True, metadata={
        "help": "Randomly mirror images (faceswap's no-flip turns this off)."})
    colour: bool = field(default=True, metadata={
        "help": "Randomly change lightness, colour and contrast (faceswap's "
                "no-augment-color turns this off)."})

    def __post_init__(self) -> None:
        if problems := field_problems(self):
            raise ValueError("augmentation " + "; ".join(problems))


class AugmentedBatch(NamedTuple):
    """One side's training batch: float32, N x C x H x W."""

    inputs: torch.Tensor    # N x 3 x input_size^2: warped (when warp is on), for the encoder
    targets: torch.Tensor   # N x 3 x output_size^2: the un-warped image the decoder must make
    masks: torch.Tensor     # N x K x output_size^2: the masks, moved like the targets


class _Draws(NamedTuple):
    """The random numbers of one batch, drawn in one fixed order."""

    lab: torch.Tensor        # N x 3 in [-1, 1): L, a, b shifts before scaling
    rotation: torch.Tensor   # N in [-1, 1)
    zoom: torch.Tensor       # N in [-1, 1)
    shift: torch.Tensor      # N x 2 in [-1, 1)
    flip: torch.Tensor       # N in [0, 1)
    warp: torch.Tensor       # N x 2 x P x P standard normal
    clahe: torch.Tensor      # N in [0, 1): CLAHE when below clahe_chance
    clahe_grid: torch.Tensor  # N in [0, 1): its grid step
    choice: torch.Tensor     # N in [0, 1): which of the other side's closest faces
    jitter: torch.Tensor     # N x 68 x 2 standard normal: noise on that face's landmarks


def _draw(count: int, generator: torch.Generator, device: torch.device) -> _Draws:
    """Draw on the generator's own device (a CPU generator can feed a GPU batch), then move."""
    def uniform(*shape: int) -> torch.Tensor:
        values = torch.rand(shape, generator=generator, device=generator.device)
        return (values * 2 - 1).to(device)

    def fraction() -> torch.Tensor:
        return torch.rand(count, generator=generator, device=generator.device).to(device)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator, device=generator.device).to(device)

    lab, rotation, zoom, shift = uniform(count, 3), uniform(count), uniform(count), \
        uniform(count, 2)
    flip = fraction()
    warp = normal(count, 2, WARP_POINTS, WARP_POINTS)
    clahe_draw = fraction()
    clahe_grid = fraction()
    choice = fraction()
    jitter = normal(count, POINTS, 2)
    return _Draws(lab, rotation, zoom, shift, flip, warp, clahe_draw, clahe_grid, choice,
                  jitter)


class Augmenter:
    """Callable: `augmenter(images, masks, generator) -> AugmentedBatch`, plus the landmarks
    when `needs_landmarks`.

    images: N x 3 x S x S RGB in [0, 1]; masks: N x K x S x S (K >= 0: face, eye, mouth...)
    at the same size S, usually larger than the model's sizes.
    """

    def __init__(self, settings: AugmentSettings, input_size: int, output_size: int) -> None:
        if input_size < 1 or output_size < 1:
            raise ValueError(f"input and output sizes must be positive, not {input_size} and "
                             f"{output_size}")
        self.settings = settings
        self.input_size = input_size
        self.output_size = output_size

    @property
    def needs_landmarks(self) -> bool:
        """Whether each call needs `landmarks` and `candidates` (warp to landmarks is on)."""
        return self.settings.warp and self.settings.warp_to_landmarks

    def __call__(self, images: torch.Tensor, masks: torch.Tensor, generator: torch.Generator,
                 landmarks: torch.Tensor | None = None,
                 candidates: torch.Tensor | None = None) -> AugmentedBatch:
        """landmarks: N x 68 x 2, each image's points in its pixels; candidates: N x K x 68 x 2,
        for each image the landmarks of the other side's K closest faces (closest_landmarks),
        in the same pixels. Both are needed only when `needs_landmarks`."""
        _check_batch(images, masks)
        points = check_landmarks(images, landmarks, candidates) if self.needs_landmarks \
            else None
        size = images.shape[-1]
        draws = _draw(images.shape[0], generator, images.device)
        # float32 throughout, even inside a training step's autocast region
        with torch.autocast(images.device.type, enabled=False):
            images = images.float()
            if self.settings.colour:
                images = self._colour(images, draws)
            both = torch.cat([images, masks.to(images)], dim=1)
            affine = _affine(draws, self.settings)
            if self._transforms():
                both = _sample(both, _affine_grid(affine, size), "border")
            warped = self._warp(both[:, :3], draws, affine, points)
            inputs, outputs = resize(warped, self.input_size), resize(both, self.output_size)
        return AugmentedBatch(inputs=inputs, targets=outputs[:, :3], masks=outputs[:, 3:])

    def _colour(self, images: torch.Tensor, draws: _Draws) -> torch.Tensor:
        """The L*a*b* shift, then CLAHE on the lightness of the images drawn for it; the
        images exactly as they are when neither changes anything."""
        settings = self.settings
        shifts = bool(settings.colour_lightness or settings.colour_ab)
        chosen = draws.clahe < settings.clahe_chance
        equalises = bool(chosen.any())
        if not (shifts or equalises):
            return images
        f = _rgb_to_f(images)
        if shifts:
            f = _shift_f(f, draws.lab, settings)
        if equalises:
            grids = grid_sizes(draws.clahe_grid, settings.clahe_max_size, images.shape[-1])
            f = equalise_lightness(f, chosen, grids)
        return _f_to_rgb(f)

    def _transforms(self) -> bool:
        """Whether the affine can differ from the identity (else it is skipped: exact)."""
        settings = self.settings
        flips = settings.flip and settings.flip_chance > 0
        return bool(settings.rotation or settings.zoom or settings.shift or flips)

    def _warp(self, image: torch.Tensor, draws: _Draws, affine: _Affine,
              points: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """The model's input: the moved image, randomly warped or warped to landmarks
        (`points`: the checked landmarks and candidates, when warping to landmarks)."""
        size = image.shape[-1]
        if not self.settings.warp:
            return image
        if points is None:
            return _sample(image, _warp_grid(draws.warp, size), "zeros")
        landmarks, chosen = points[0], choose(points[1], draws.choice)
        if self._transforms():
            landmarks, chosen = (move_landmarks(p, *affine, size) for p in (landmarks, chosen))
        target = chosen + draws.jitter * (LANDMARK_SIGMA * size)
        # faceswap leaves what the warp reads beyond the edges; the anchors keep that a
        # sliver, which repeating the edge fills
        return _sample(image, landmark_warp_grid(landmarks, target, size), "border")


def _check_batch(images: torch.Tensor, masks: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be N x 3 x S x S, not {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be floats in [0, 1], not {images.dtype}")
    if masks.ndim != 4 or masks.shape[0] != images.shape[0] or masks.shape[2:] != images.shape[2:]:
        raise ValueError(f"masks must be N x K x S x S like the images {tuple(images.shape)}, "
                         f"not {tuple(masks.shape)}")


# <<< colour >>>
#
# sRGB (D65) -> linear RGB -> XYZ / white -> f = the L*a*b* curve of each; L*a*b* is then an
# affine map of f. OpenCV's matrix, white point and curves, so L*a*b* matches cv2.cvtColor's.
# The piecewise curves are written as clamps, min and max around their joins, which the
# curves' continuity makes exact: cheaper than torch.where, which is slow on the CPU.

_RGB_TO_XYZ = torch.tensor(((0.412453, 0.357580, 0.180423),
                            (0.212671, 0.715160, 0.072169),
                            (0.019334, 0.119193, 0.950227)), dtype=torch.float64)
_WHITE = torch.tensor((0.950456, 1.0, 1.088754), dtype=torch.float64)
_RGB_TO_WHITE_XYZ = _RGB_TO_XYZ / _WHITE.view(3, 1)
_WHITE_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_WHITE_XYZ)
_F_TO_LAB = torch.tensor(((0.0, 116.0, 0.0), (500.0, -500.0, 0.0), (0.0, 200.0, -200.0)),
                         dtype=torch.float64)
_LAB_TO_F = torch.linalg.inv(_F_TO_LAB)
_LAB_OFFSET = torch.tensor((-16.0, 0.0, 0.0), dtype=torch.float64)
# 8-bit L*a*b*, where faceswap makes its change: L * 255 / 100, a + 128, b + 128.
_UNIT_OFFSET = torch.tensor((0.0, 128.0, 128.0), dtype=torch.float64)
_UNIT_SCALE = torch.tensor((100.0, 255.0, 255.0), dtype=torch.float64)

_GAMMA_KNEE = 0.04045       # sRGB: linear below, a 2.4 power above
_LINEAR_KNEE = 0.0031308    # the same join on the linear side
_F_KNEE = 6 / 29            # L*a*b*: f is linear below t = (6/29)^3, a cube root above
_KAPPA = 7.787              # slope of f's linear part


def _mix(matrix: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Apply a 3 x 3 matrix (or one per image, N x 3 x 3) to the channels of N x 3 x H x W."""
    pattern = "ij,njhw->nihw" if matrix.ndim == 2 else "nij,njhw->nihw"
    return torch.einsum(pattern, matrix.to(batch), batch)


def _channels(vector: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return vector.to(like).view(-1, 3, 1, 1)


def _rgb_to_f(rgb: torch.Tensor) -> torch.Tensor:
    # in place where the tensor is our own: fewer fresh allocations, which cost on the CPU
    linear = rgb.clamp(min=_GAMMA_KNEE).add_(0.055).div_(1.055).pow_(2.4)
    linear += rgb.clamp(max=_GAMMA_KNEE).sub_(_GAMMA_KNEE).div_(12.92)
    xyz = _mix(_RGB_TO_WHITE_XYZ, linear)
    knee = _F_KNEE ** 3
    f = xyz.clamp(min=knee).pow_(1 / 3)
    return f.add_(xyz.clamp_(max=knee).sub_(knee).mul_(_KAPPA))


def _f_to_rgb(f: torch.Tensor) -> torch.Tensor:
    """Back to sRGB, clipped to [0, 1] as an 8-bit conversion would be."""
    xyz = f.clamp(min=_F_KNEE).pow_(3)
    xyz += f.clamp(max=_F_KNEE).sub_(_F_KNEE).div_(_KAPPA)
    linear = _mix(_WHITE_XYZ_TO_RGB, xyz).clamp_(0, 1)
    rgb = linear.clamp(min=_LINEAR_KNEE).pow_(1 / 2.4).mul_(1.055).sub_(0.055)
    rgb += linear.clamp_(max=_LINEAR_KNEE).sub_(_LINEAR_KNEE).mul_(12.92)
    return rgb.clamp_(0, 1)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W sRGB in [0, 1] -> CIE L*a*b* (L 0..100, a and b about -128..127)."""
    return _mix(_F_TO_LAB, _rgb_to_f(rgb)) + _channels(_LAB_OFFSET, rgb)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of `rgb_to_lab`, clipped to [0, 1]."""
    return _f_to_rgb(_mix(_LAB_TO_F, lab - _channels(_LAB_OFFSET, lab)))


def colour_shift(images: torch.Tensor, uniform: torch.Tensor,
                 settings: AugmentSettings) -> torch.Tensor:
    """faceswap's random L*a*b* change of N x 3 x H x W images (see `_shift_f`)."""
    return _f_to_rgb(_shift_f(_rgb_to_f(images), uniform, settings))


def _shift_f(f: torch.Tensor, uniform: torch.Tensor, settings: AugmentSettings) -> torch.Tensor:
    """faceswap's random L*a*b* change, on f. Each channel v, scaled to 0..1 as in 8-bit L*a*b*,
    becomes v + (1 - v) r when r >= 0 and v (1 + r) when r < 0, where r is the uniform draw
    (N x 3 in [-1, 1)) times the lightness or a/b amount: v (1 - |r|) + max(r, 0), an affine
    map per image and channel, folded with L*a*b*'s own affine maps into one 3 x 3 map of f.
    """
    amounts = torch.tensor([settings.colour_lightness, settings.colour_ab, settings.colour_ab])
    shifts = uniform.to(f) * amounts.to(f)                           # N x 3
    gain = 1 - shifts.abs()
    lab_offset, f_to_lab, lab_to_f = (t.to(f) for t in (_LAB_OFFSET, _F_TO_LAB, _LAB_TO_F))
    # lab' = gain * lab + bias, from unit' = gain * unit + max(r, 0)
    bias = _UNIT_OFFSET.to(f) * (gain - 1) + shifts.clamp(min=0) * _UNIT_SCALE.to(f)
    matrix = lab_to_f @ (gain.unsqueeze(-1) * f_to_lab)              # N x 3 x 3
    offset = (gain * lab_offset + bias - lab_offset) @ lab_to_f.T    # N x 3
    return _mix(matrix, f) + _channels(offset, f)


# <<< geometry >>>
# Grids are N x 2 x S x S (x, y) in grid_sample's normalised coordinates: -1 and 1 are the
# outer edges of the image, so pixel i's centre is (2 i + 1) / S - 1.

def _identity(size: int, like: torch.Tensor) -> torch.Tensor:
    """1 x 2 x S x S: where every pixel centre is."""
    centres = (torch.arange(size, dtype=like.dtype, device=like.device) * 2 + 1) / size - 1
    return torch.stack([centres.view(1, -1).expand(size, size),
                        centres.view(-1, 1).expand(size, size)]).unsqueeze(0)


class _Affine(NamedTuple):
    """Each image's random affine: the output point q reads from linear q + offset."""

    linear: torch.Tensor     # N x 2 x 2
    offset: torch.Tensor     # N x 2
    flipped: torch.Tensor    # N bools: mirrored left to right


def _affine(draws: _Draws, settings: AugmentSettings) -> _Affine:
    """The image's rotation, zoom, shift and flip, as where each output point reads.

    faceswap's forward matrix (cv2.getRotationMatrix2D about the centre, plus a shift) maps a
    source point p to A p + t; the output point q reads from A^-1 (F q - t), F the mirror when
    the image is flipped. A shift of a fraction s of the size is 2 s in these coordinates.
    """
    angle = draws.rotation * math.radians(settings.rotation)
    scale = 1 + draws.zoom * settings.zoom
    shift = draws.shift * 2 * settings.shift
    flipped = draws.flip < settings.flip_chance if settings.flip \
        else torch.zeros_like(draws.flip, dtype=torch.bool)
    mirror = 1 - 2 * flipped.to(scale)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # A^-1 = R(-angle) / scale, where cv2's R(angle) = [[cos, sin], [-sin, cos]].
    inverse = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    linear = inverse * torch.stack([mirror, torch.ones_like(mirror)], -1).unsqueeze(-2)
    offset = -(inverse @ shift.unsqueeze(-1)).squeeze(-1)
    return _Affine(linear, offset, flipped)


def _affine_grid(affine: _Affine, size: int) -> torch.Tensor:
    """Where each output pixel reads under the affine."""
    linear, offset = affine.linear, affine.offset
    base = _identity(size, offset)
    # elementwise rather than F.affine_grid's batched matmul: a third of the time on the CPU
    return linear[:, :, :1, None] * base[:, :1] + linear[:, :, 1:, None] * base[:, 1:] \
        + offset[:, :, None, None]


def _warp_grid(noise: torch.Tensor, size: int) -> torch.Tensor:
    """The identity plus a smooth random flow: control points at the corners and evenly
    between, each moved by WARP_SIGMA of the size (2 * WARP_SIGMA in normalised units),
    interpolated bilinearly over every pixel like faceswap's resized map."""
    flow = F.interpolate(noise * (2 * WARP_SIGMA), size=(size, size), mode="bilinear",
                         align_corners=True)
    return _identity(size, flow) + flow


def _sample(batch: torch.Tensor, grid: torch.Tensor, padding: str) -> torch.Tensor:
    """Bilinear read at the grid. faceswap's transform repeats the edge ("border", cv2's
    BORDER_REPLICATE); its warp reads black beyond it ("zeros", cv2.remap's default)."""
    return F.grid_sample(batch, grid.permute(0, 2, 3, 1).to(batch), mode="bilinear",
                         padding_mode=padding, align_corners=False)


@functools.lru_cache(maxsize=16)
def _area_weights(source: int, size: int, dtype: torch.dtype,
                  device: torch.device) -> torch.Tensor:
    """size x source: cv2's INTER_AREA, each output pixel the mean of the input area it
    covers, a partly covered pixel counted by the part covered."""
    scale = source / size
    starts = torch.arange(size, dtype=torch.float64).unsqueeze(1) * scale
    pixels = torch.arange(source, dtype=torch.float64)
    covered = torch.minimum(starts + scale, pixels + 1) - torch.maximum(starts, pixels)
    return (covered.clamp(min=0) / scale).to(device, dtype)


def resize(batch: torch.Tensor, size: int) -> torch.Tensor:
    """N x C x S x S to size x size: faceswap's INTER_AREA down (as two matrix products, the
    fastest form on the CPU too), bilinear up."""
    source = batch.shape[-1]
    if source == size:
        return batch
    if size > source:
        return F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False)
    weights = _area_weights(source, size, batch.dtype, batch.device)
    return weights @ batch @ weights.T
