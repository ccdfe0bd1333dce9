"""Contrast-limited adaptive histogram equalisation (CLAHE), batched on the images' device.

OpenCV's algorithm (cv2.createCLAHE(...).apply on 8-bit images), which faceswap applies to
the L of L*a*b*: the image is cut into a grid of tiles (padded at the bottom and right by
reflection when the size does not divide), each tile's 256-level histogram is clipped at
`clip_limit` times the mean count, the clipped counts are spread evenly over the levels (the
remainder one count each, at an even step from level 0), and each tile's cumulative histogram
becomes its mapping; a pixel's new value is the bilinear mix of the mappings of the four tiles
whose centres surround it. Values are floats: a value between two levels reads the mapping
between them, so an integer image gives OpenCV's result before its final rounding.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LEVELS = 256
CLIP_LIMIT = 2.0    # faceswap's
GRID_DIVISOR = 128  # faceswap's base grid: 1 tile per 128 pixels of the image, at least 2


def grid_sizes(uniform: torch.Tensor, max_size: int, size: int) -> torch.Tensor:
    """faceswap's random tile grid for an image of `size` pixels: base + (base // 2) k with
    base = max(2, size // 128) and k drawn evenly from 0 to max_size (`uniform` in [0, 1))."""
    base = max(2, size // GRID_DIVISOR)
    steps = (uniform * (max_size + 1)).long().clamp(0, max_size)
    return base + (base // 2) * steps


def equalise_lightness(f: torch.Tensor, chosen: torch.Tensor, grids: torch.Tensor
                       ) -> torch.Tensor:
    """CLAHE on the 8-bit lightness (L * 255 / 100) of the `chosen` images (N bools) of
    N x 3 x H x W f, the L*a*b* curve of X, Y and Z (augment.py), with their `grids`; in
    place. L = 116 f_y - 16 and a, b are differences of f, so a change of L is that change,
    over 116, of all three."""
    index = chosen.nonzero().squeeze(1)
    picked = f[index]
    scale = 116 * 2.55                                   # 8-bit L per unit of f_y
    level = picked[:, 1] * scale - 16 * 2.55
    change = (clahe(level, grids[index]) - level) / scale
    f[index] = picked + change.unsqueeze(1)
    return f


def clahe(values: torch.Tensor, grids: torch.Tensor,
          clip_limit: float = CLIP_LIMIT) -> torch.Tensor:
    """N x H x W values in 0..255, equalised with grids[i] x grids[i] tiles for image i."""
    if values.ndim != 3 or grids.shape != values.shape[:1]:
        raise ValueError(f"clahe takes N x H x W values and N grid sizes, not "
                         f"{tuple(values.shape)} and {tuple(grids.shape)}")
    result = torch.empty_like(values)
    for grid in grids.unique().tolist():
        chosen = (grids == grid).nonzero().squeeze(1)
        result[chosen] = _equalise(values[chosen], int(grid), clip_limit)
    return result


def _equalise(values: torch.Tensor, grid: int, clip_limit: float) -> torch.Tensor:
    """N x H x W values, all with the same grid: each pixel through its four nearest tile
    mappings, mixed by its distance to their centres."""
    height, width = values.shape[-2:]
    if grid < 1 or grid > min(height, width):
        raise ValueError(f"a CLAHE grid of {grid} tiles does not fit a {height} x {width} image")
    tile_height, tile_width = -(-height // grid), -(-width // grid)
    luts = _tile_mappings(values, grid, clip_limit)                    # N x grid^2 x LEVELS
    rows = _neighbours(height, tile_height, grid, values)
    columns = _neighbours(width, tile_width, grid, values)
    level = values.clamp(0, LEVELS - 1)
    below = level.floor().clamp(max=LEVELS - 2)
    between = (level - below).flatten(1)
    below = below.long().flatten(1)
    flat = luts.flatten(1)

    def read(row: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
        """Each pixel's value through one neighbouring tile's mapping."""
        tile = (row.view(-1, 1) * grid + column.view(1, -1)).flatten() * LEVELS
        low = flat.gather(1, tile + below)
        high = flat.gather(1, tile + below + 1)
        return torch.lerp(low, high, between).view_as(values)

    (top, bottom, down), (left, right, across) = rows, columns
    across, down = across.view(1, 1, -1), down.view(1, -1, 1)
    upper = torch.lerp(read(top, left), read(top, right), across)
    lower = torch.lerp(read(bottom, left), read(bottom, right), across)
    return torch.lerp(upper, lower, down)


def _tile_mappings(values: torch.Tensor, grid: int, clip_limit: float) -> torch.Tensor:
    """N x grid^2 x LEVELS: each tile's clipped, redistributed cumulative histogram, scaled
    to 0..255 and rounded as OpenCV's 8-bit table is."""
    count, height, width = values.shape
    pad_y, pad_x = -height % grid, -width % grid
    levels = values.round().clamp(0, LEVELS - 1)
    if pad_y or pad_x:  # "reflect" is OpenCV's BORDER_REFLECT_101
        levels = F.pad(levels.unsqueeze(1), (0, pad_x, 0, pad_y), mode="reflect").squeeze(1)
    tile_height, tile_width = (height + pad_y) // grid, (width + pad_x) // grid
    tiles = levels.long().view(count, grid, tile_height, grid, tile_width)
    image = torch.arange(count, device=values.device).view(-1, 1, 1, 1, 1)
    row = torch.arange(grid, device=values.device).view(1, -1, 1, 1, 1)
    column = torch.arange(grid, device=values.device).view(1, 1, 1, -1, 1)
    index = ((image * grid + row) * grid + column) * LEVELS + tiles
    histograms = torch.bincount(index.flatten(), minlength=count * grid * grid * LEVELS)
    area = tile_height * tile_width
    clipped = _clip(histograms.view(count, grid * grid, LEVELS),
                    max(int(clip_limit * area / LEVELS), 1))
    scale = torch.tensor((LEVELS - 1) / area, dtype=torch.float32)
    return (clipped.cumsum(-1).float() * scale.to(values.device)).round().to(values.dtype)


def _clip(histograms: torch.Tensor, limit: int) -> torch.Tensor:
    """Counts above `limit` cut off and handed back evenly: each level gets excess // 256,
    and the remainder r one more each at levels 0, s, 2 s ... (s = max(256 // r, 1))."""
    excess = (histograms - limit).clamp(min=0).sum(-1, keepdim=True)
    spread = histograms.clamp(max=limit) + excess // LEVELS
    remainder = excess % LEVELS
    step = (LEVELS // remainder.clamp(min=1)).clamp(min=1)
    level = torch.arange(LEVELS, device=histograms.device)
    return spread + ((level % step == 0) & (level // step < remainder)).long()


def _neighbours(length: int, tile: int, grid: int, like: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Along one axis: for each pixel, the tiles whose centres lie before and after it
    (clamped at the edges) and how far it is from the first towards the second."""
    position = torch.arange(length, dtype=torch.float32, device=like.device) / tile - 0.5
    first = position.floor()
    weight = (position - first).to(like.dtype)
    before = first.long().clamp(min=0)
    after = (first.long() + 1).clamp(max=grid - 1)
    return before, after, weight
