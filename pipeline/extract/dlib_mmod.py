"""dlib's MMOD CNN face detector rebuilt in PyTorch, loaded from dlib's own model file.

`mmod_human_face_detector.dat` is read as it is at load time. The network is the `net_type` of
dlib's dnn_mmod_face_detection_ex.cpp:

    input_rgb_image_pyramid<pyramid_down<6>>: every level 5/6 of the one above, tiled into one
        image, (x - mean) / 256
    downsampler: 3 x (con 5x5/2, affine, relu)    (16, 32, 32 filters)
    3 x (con 5x5, affine, relu)                   (45 filters)
    con 9x9, one filter per detector window       -> a score map at 1/8 of the tiled image
    loss_mmod: a detection wherever the score is above the threshold (0), non-max suppressed

What the file holds is read from it: the detector windows and the non-max suppression test
(loss_mmod's options), the input's mean and pyramid padding, every layer's weights, window,
stride and padding. What it does not hold is dlib's and is taken from dlib's source: the
pyramid's 5/6 rate (a type parameter), the tiling of the levels, how an output position maps
back to the image, and the padding of files written before the padding was stored (10 between
levels, 11 around them).

How dlib turns the score map into boxes (loss_mmod_::to_label):
- output position (c, r) -> input position through each con from the output down:
  p * stride - padding + size // 2;
- a window-sized box centred there, width w spanning p - (w-1)/2 .. p + (w-1)/2;
- the pyramid level whose tile is nearest the box's centre; the box moved to that tile's
  origin and scaled up level by level (p * 6/5 + 0.3, pyramid_down<6>'s point_up);
- corners rounded to whole pixels (right and bottom inclusive, as dlib's rectangles);
- boxes by descending score, each kept unless it overlaps a kept one: intersection over the
  area of the box around both above the file's IoU threshold, or over either box's area above
  its covered threshold.
Upsampling before detection (dlib's Python `cnn_face_detection_model_v1(image, n)`) is
pyramid_up with pyramid_down<2>: a bilinear resize to rect_up of the image's rectangle, the
boxes brought back with point_down (p / 2 - (1.25, 0.75)) and rounded.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.devices import available_cores, cpu_threads
from pipeline.extract.backends import Detection, detector
from pipeline.extract.dlib_backend import upsample_for
from pipeline.extract.dlib_format import (DlibFormatError, DlibLayer, DlibReader, fold_affine,
                                          read_layers, read_wrappers)
from pipeline.extract.model_files import MMOD, dlib_model_file

PYRAMID_N = 6  # pyramid_down<6>: each level (N-1)/N of the one above
MIN_LEVEL_ROWS = 5  # dlib's tiled pyramid stops before a level this short
OLD_PYRAMID_PADDING = (10, 11)  # between levels, around them: "input_rgb_image_pyramid" files
UP_OFFSET = (1.25, 0.75)  # pyramid_down<2>'s point_up: (p + offset) * 2
# Tiled images per forward pass at most (pixels of the tiled image, all frames together).
BATCH_PIXELS = 12_000_000

Box = tuple[int, int, int, int]  # left, top, right, bottom; right and bottom inclusive

# ---------------------------------------------------------------------------------------------
# The file


@dataclass(frozen=True)
class DetectorWindow:
    width: int
    height: int
    label: str = ""


@dataclass(frozen=True)
class MmodFile:
    """What loss_mmod, the input layer and the layers of the file say."""
    windows: tuple[DetectorWindow, ...]
    nms_iou: float  # overlaps_nms: IoU (over the box around both) above which a box goes
    nms_covered: float  # ... or the share of either box covered above which it goes
    mean_rgb: tuple[float, float, float]
    pyramid_padding: tuple[int, int]  # between levels, around them
    layers: tuple[DlibLayer, ...]


def _read_windows(r: DlibReader, version: int) -> tuple[DetectorWindow, ...]:
    if version == 1:
        return (DetectorWindow(r.int(), r.int()),)
    windows = []
    for _ in range(r.int()):
        if (window_version := r.int()) not in (1, 2):
            raise DlibFormatError(f"detector window version {window_version}, expected 1 or 2")
        width, height = r.int(), r.int()
        windows.append(DetectorWindow(width, height, r.str() if window_version == 2 else ""))
    return tuple(windows)


def _read_options(r: DlibReader) -> tuple[tuple[DetectorWindow, ...], float, float]:
    """loss_mmod's options (mmod_options versions 1 to 4): windows and the NMS test."""
    if not 1 <= (version := r.int()) <= 4:
        raise DlibFormatError(f"mmod_options version {version}, expected 1 to 4")
    windows = _read_windows(r, version)
    r.float(), r.float(), r.float()  # losses per false alarm and miss, truth match: training
    nms_iou, nms_covered = r.float(), r.float()
    r.float(), r.float()  # overlaps_ignore: training only
    if version >= 3 and r.int() != 1:
        raise DlibFormatError("an MMOD network without an image pyramid (assume_image_pyramid "
                              "no) is not a face detector this module runs")
    if version >= 4:
        bounding_box_regression = r.bool()
        r.float()  # bbr_lambda
        if bounding_box_regression:
            raise DlibFormatError("MMOD with bounding box regression is not supported")
    if not windows or any(w.width < 1 or w.height < 1 for w in windows):
        raise DlibFormatError(f"detector windows {windows} in the file")
    return windows, nms_iou, nms_covered


def read_mmod_file(path: Path) -> MmodFile:
    """Parse a dlib `loss_mmod` network on an `input_rgb_image_pyramid` (weights are views of
    the file's bytes, read-only)."""
    r = DlibReader(Path(path).read_bytes())
    r.version(1, "add_loss_layer")
    if (loss := r.str()) != "loss_mmod_":
        raise DlibFormatError(f"loss layer {loss[:40]!r}, expected loss_mmod_ (dlib's MMOD "
                              "detector)")
    windows, nms_iou, nms_covered = _read_options(r)
    wrappers = read_wrappers(r)
    name = r.str()
    if name not in ("input_rgb_image_pyramid", "input_rgb_image_pyramid2"):
        raise DlibFormatError(f"input layer {name[:40]!r}, expected input_rgb_image_pyramid")
    mean_rgb = (r.float(), r.float(), r.float())
    padding = ((r.int(), r.int()) if name == "input_rgb_image_pyramid2"
               else OLD_PYRAMID_PADDING)
    return MmodFile(windows, nms_iou, nms_covered, mean_rgb, padding, read_layers(r, wrappers))


# ---------------------------------------------------------------------------------------------
# The network


class MmodNetwork(nn.Module):
    """Tiled pyramid (N, 3, H, W), mean-subtracted / 256 -> scores (N, windows, h, w).

    Every con but the last carries its affine in its bias and is followed by a relu.
    """

    def __init__(self, convs: Sequence[nn.Conv2d]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs[:-1]:
            x = F.relu(conv(x), inplace=True)
        return self.convs[-1](x)

    def output_to_input(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(scale, offset) for x and for y: an output position's input position, p * scale +
        offset (dlib's map_output_to_input through every con from the output down)."""
        maps = []
        for axis in (1, 0):
            scale, offset = 1.0, 0.0
            for conv in reversed(self.convs):
                step = conv.kernel_size[axis] // 2 - conv.padding[axis]
                scale, offset = scale * conv.stride[axis], offset * conv.stride[axis] + step
            maps.append((scale, offset))
        return maps[0], maps[1]


def _conv(con: DlibLayer, inputs: int, affine: DlibLayer | None) -> nn.Conv2d:
    filters, biases = fold_affine(con, affine) if affine else con.weights
    if filters.shape[1] != inputs:
        raise DlibFormatError(f"a con of {filters.shape[1]} input channels after {inputs}")
    conv = nn.Conv2d(inputs, filters.shape[0], con.window, con.stride, con.padding)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(filters))
        conv.bias.copy_(torch.tensor(biases))
    return conv


def build_network(mmod: MmodFile) -> MmodNetwork:
    """The layers as convolutions: (con, affine, relu) blocks, then one con whose filters are
    the detector windows' scores."""
    layers = mmod.layers
    kinds = [layer.kind for layer in layers]
    blocks = (len(kinds) - 1) // 3
    if len(kinds) < 4 or kinds != ["con", "affine", "relu"] * blocks + ["con"]:
        raise DlibFormatError(f"layers {kinds} are not dlib's MMOD detector's "
                              "((con, affine, relu) blocks, then a con)")
    convs, channels = [], 3
    for index in range(blocks):
        convs.append(_conv(layers[3 * index], channels, layers[3 * index + 1]))
        channels = convs[-1].out_channels
    convs.append(_conv(layers[-1], channels, None))
    if convs[-1].out_channels != len(mmod.windows):
        raise DlibFormatError(f"{convs[-1].out_channels} score maps for "
                              f"{len(mmod.windows)} detector windows")
    return MmodNetwork(convs).eval()


# ---------------------------------------------------------------------------------------------
# The tiled image pyramid


@dataclass(frozen=True)
class Tile:
    """Where a pyramid level lies in the tiled image."""
    top: int
    left: int
    rows: int
    cols: int

    def touches(self, other: Tile) -> bool:
        return (self.left < other.left + other.cols and other.left < self.left + self.cols
                and self.top < other.top + other.rows and other.top < self.top + self.rows)

    def distance(self, x: float, y: float) -> float:
        """From (x, y) to the nearest pixel of the tile (0 inside)."""
        dx = max(self.left - x, 0.0, x - (self.left + self.cols - 1))
        dy = max(self.top - y, 0.0, y - (self.top + self.rows - 1))
        return math.hypot(dx, dy)


def level_sizes(rows: int, cols: int) -> list[tuple[int, int]]:
    """(rows, cols) of each pyramid level, the image first, down to MIN_LEVEL_ROWS."""
    rate, sizes = (PYRAMID_N - 1.0) / PYRAMID_N, [(rows, cols)]
    while True:
        rows, cols = math.floor(rate * rows), math.floor(rate * cols)
        if rows * cols == 0 or rows < MIN_LEVEL_ROWS:
            return sizes
        sizes.append((rows, cols))


def pyramid_tiles(rows: int, cols: int, padding: int,
                  outer: int) -> tuple[list[Tile], tuple[int, int]]:
    """dlib's tiled pyramid: the levels down the left column while the next would not fit
    beside the one above, the rest up the right side from the bottom (dropping those that would
    touch the image). Returns the tiles, level by level, and the tiled image's (rows, cols)."""
    sizes = level_sizes(rows, cols)
    total = sum(r + padding for r, _ in sizes) - 2 * padding
    height, previous = 0, 0
    for r, c in sizes:
        if c <= cols - previous - padding and (height - rows) * 2 >= total - rows:
            break
        height, previous = height + r + padding, c
    height -= padding
    tiles, y = [], outer
    while y < height + outer and len(tiles) < len(sizes):
        r, c = sizes[len(tiles)]
        tiles.append(Tile(y, outer, r, c))
        y += r + padding
    y -= padding
    for r, c in sizes[len(tiles):]:
        tile = Tile(y - r, outer + cols - c, r, c)
        if tile.touches(tiles[0]):
            break
        tiles.append(tile)
        y -= r + padding
    return tiles, (height + 2 * outer, cols + 2 * outer)


def tiled_pyramid(planes: torch.Tensor, tiles: Sequence[Tile], shape: tuple[int, int],
                  mean: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB pixel values -> (N, 3, rows, cols) tiled pyramid, channels last (as
    the convolutions want it); each level a bilinear resize (corners aligned, as dlib's
    resize_image) of the one above; the gaps zero.

    The levels are resized as (N * 3, 1, H, W) planes: torch resizes one-channel images
    several times faster than three-channel ones, in either memory format."""
    count = planes.shape[0]
    level = torch.addcmul((mean / -256).view(1, 3, 1, 1), planes,
                          torch.tensor(1 / 256, device=planes.device)).view(count * 3, 1,
                                                                              *planes.shape[2:])
    canvas = level.new_zeros((count, *shape, 3)).permute(0, 3, 1, 2)
    for index, tile in enumerate(tiles):
        if index:
            level = F.interpolate(level, (tile.rows, tile.cols), mode="bilinear",
                                  align_corners=True)
        canvas[:, :, tile.top:tile.top + tile.rows, tile.left:tile.left + tile.cols] = \
            level.view(count, 3, tile.rows, tile.cols)
    return canvas


# ---------------------------------------------------------------------------------------------
# Scores to boxes


def _round(value: float) -> int:
    """dlib's drectangle -> rectangle: floor(v + 0.5)."""
    return math.floor(value + 0.5)


def _to_image(tiles: Sequence[Tile], left: float, top: float, right: float,
              bottom: float) -> Box:
    """A box of the tiled image in the image: through the level nearest its centre."""
    cx, cy = _round((left + right) / 2), _round((top + bottom) / 2)
    distances = [tile.distance(cx, cy) for tile in tiles]
    level = distances.index(min(distances))
    tile, scale = tiles[level], PYRAMID_N / (PYRAMID_N - 1.0)
    corners = [left - tile.left, top - tile.top, right - tile.left, bottom - tile.top]
    for _ in range(level):
        corners = [v * scale + 0.3 for v in corners]
    return tuple(_round(v) for v in corners)  # type: ignore[return-value]


def _area(box: Sequence[float]) -> float:
    return max(0, box[2] - box[0] + 1) * max(0, box[3] - box[1] + 1)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes with inclusive right and bottom edges, as
    dlib's rectangles are."""
    inner = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    return inner / (_area(a) + _area(b) - inner)


def overlaps(a: Box, b: Box, iou: float, covered: float) -> bool:
    """dlib's test_box_overlap."""
    inner = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    if inner == 0:
        return False
    outer = _area((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
    return inner / outer > iou or inner / _area(a) > covered or inner / _area(b) > covered


def _rect_down(box: Box, levels: int) -> Box:
    """pyramid_down<2>'s rect_down: a box of the upsampled image in the image."""
    x0, y0, x1, y1 = box
    for _ in range(levels):
        x0, y0 = x0 / 2 - UP_OFFSET[0], y0 / 2 - UP_OFFSET[1]
        x1, y1 = x1 / 2 - UP_OFFSET[0], y1 / 2 - UP_OFFSET[1]
    return _round(x0), _round(y0), _round(x1), _round(y1)


def upsampled_shape(rows: int, cols: int, levels: int) -> tuple[int, int]:
    """The size pyramid_up with pyramid_down<2> gives: rect_up of the image's rectangle."""
    for _ in range(levels):
        rows = _round((rows - 1 + UP_OFFSET[1]) * 2) + 1
        cols = _round((cols - 1 + UP_OFFSET[0]) * 2) + 1
    return rows, cols


# ---------------------------------------------------------------------------------------------
# Detector backend


def upsample(images: torch.Tensor, levels: int) -> torch.Tensor:
    """(N, H, W, 3) 8-bit -> (N, 3, H', W') float, contiguous: pyramid_up `levels` times
    (dlib's bilinear resize of 8-bit pixels, rounded down), resized as one-channel planes."""
    count = images.shape[0]
    x = images.permute(0, 3, 1, 2).reshape(count * 3, 1, *images.shape[1:3]).float()
    for _ in range(levels):
        size = upsampled_shape(x.shape[2], x.shape[3], 1)
        x = F.interpolate(x, size, mode="bilinear", align_corners=True).floor_()
    return x.view(count, 3, *x.shape[2:])


class TorchMmodDetector:
    """dlib's MMOD face detector in PyTorch, frames of one size batched; on a GPU when
    `device` names one. Boxes are dlib's: whole pixels, right and bottom inclusive.

    Upsamples as dlib-mmod does (`upsample_for`: once when the smallest face wanted is under
    the detector window). On CPU it runs on one thread fewer than the cores it may use, for
    the duration of each call, as dlib-torch does (and for the same reason: extraction
    describes one batch while it detects the next).

    Float32 throughout, as dlib: bf16 autocast halved the time on an AMX CPU but moved boxes
    to a neighbouring position or level often enough (near-equal scores) to bring the mean
    IoU against dlib's boxes down to 0.89 on portrait_720x1280.mp4.
    """
    name = "mmod"

    def __init__(self, device: str = "cpu", min_size_percent: float = 0.0, *,
                 threads: int | None = None, adjust_threshold: float = 0.0,
                 path: Path | None = None) -> None:
        self.device = torch.device(device)
        self.file = read_mmod_file(path or dlib_model_file(MMOD))
        self.network = build_network(self.file).to(self.device, memory_format=torch.channels_last)
        self.mean = torch.tensor(self.file.mean_rgb, device=self.device)
        self.to_input = self.network.output_to_input()
        self.min_size_percent = min_size_percent
        self.smallest_face = min(min(w.width, w.height) for w in self.file.windows)
        self.adjust_threshold = adjust_threshold
        self.threads = threads or max(1, available_cores() - 1)

    def detect(self, frames: Sequence[np.ndarray],
               upsample_times: int | None = None) -> list[list[Detection]]:
        """The faces of each frame; `upsample_times` overrides the min-size rule."""
        groups: dict[tuple[tuple[int, ...], int], list[int]] = {}
        for index, frame in enumerate(frames):
            times = upsample_for(frame.shape, self.min_size_percent, self.smallest_face) \
                if upsample_times is None else upsample_times
            groups.setdefault((frame.shape, times), []).append(index)
        found: list[list[Detection]] = [[] for _ in frames]
        on_cpu = self.device.type == "cpu"
        with cpu_threads(self.threads) if on_cpu else contextlib.nullcontext():
            for (shape, times), indexes in groups.items():
                _, (rows, cols) = pyramid_tiles(*upsampled_shape(shape[0], shape[1], times),
                                                *self.file.pyramid_padding)
                per_batch = max(1, BATCH_PIXELS // (rows * cols))
                for start in range(0, len(indexes), per_batch):
                    chunk = indexes[start:start + per_batch]
                    for index, faces in zip(chunk, self._run([frames[i] for i in chunk], times)):
                        found[index] = faces
        return found

    @torch.inference_mode()
    def _run(self, frames: Sequence[np.ndarray], times: int) -> list[list[Detection]]:
        images = upsample(torch.from_numpy(np.stack(frames)).to(self.device), times)
        tiles, shape = pyramid_tiles(images.shape[2], images.shape[3],
                                     *self.file.pyramid_padding)
        scores = self.network(tiled_pyramid(images, tiles, shape, self.mean))
        return [self._faces(map_, tiles, times) for map_ in scores.cpu().numpy()]

    def _faces(self, scores: np.ndarray, tiles: Sequence[Tile], times: int) -> list[Detection]:
        """One frame's score maps (windows, h, w) to its faces, as loss_mmod's to_label."""
        (sx, ox), (sy, oy) = self.to_input
        windows, rows, cols = np.nonzero(scores > self.adjust_threshold)
        values = scores[windows, rows, cols]
        kept: list[tuple[Box, float]] = []
        for i in np.argsort(-values, kind="stable"):
            window, x, y = self.file.windows[windows[i]], sx * cols[i] + ox, sy * rows[i] + oy
            half_w, half_h = (window.width - 1) / 2, (window.height - 1) / 2
            box = _to_image(tiles, x - half_w, y - half_h, x + half_w, y + half_h)
            if not any(overlaps(box, other, self.file.nms_iou, self.file.nms_covered)
                       for other, _ in kept):
                kept.append((box, float(values[i])))
        return [Detection(tuple(map(float, _rect_down(box, times))), score)
                for box, score in kept]


@detector("mmod")
def _mmod(device: str, min_size_percent: float = 0.0) -> TorchMmodDetector:
    return TorchMmodDetector(device, min_size_percent)
