"""dlib's 128-D face descriptor network rebuilt in PyTorch, loaded from dlib's own model file.

`dlib_face_recognition_resnet_model_v1.dat` is read as it is at load time: nothing is converted,
cached or downloaded. The network is the `anet_type` of dlib's dnn_face_recognition_ex.cpp:

    chip 150x150 RGB -> (x - mean) / 256
    stem:   con 7x7/2 (32), affine, relu, max_pool 3x3/2          150 -> 72 -> 35
    blocks: 3 x 32, 64/2 + 3 x 64, 128/2 + 2 x 128, 256/2 + 2 x 256, 256/2
    head:   avg_pool_everything, fc_no_bias 256 -> 128

The affine layers (dlib's frozen form of batch norm) are folded into the convolutions at load.

How dlib writes a network (read from the bytes, checked against dlib's core.h and layers.h):
- Integers: one byte `size | 0x80 if negative`, then `size` little-endian magnitude bytes.
  Scalar floats are two such integers, an int64 mantissa and an int16 exponent (value =
  mantissa * 2**exponent; 0.0 is mantissa 0, exponent 11). Strings are a length and bytes;
  bools are the characters '0' / '1'. Tensors (version 2) are the only raw data: four
  dimensions, then little-endian IEEE float32.
- Each `add_layer` writes its version, then its whole subnetwork, then its own layer. So the
  file opens with the chain of wrapper versions from the output down (2 for a layer, 1 for a
  tag or skip, which write nothing else, 3 for the layer on the input), and the layers follow
  from the input up, each trailed by bookkeeping (3 bools, 3 empty tensors).
- Tags and skips leave only their version, so the wiring of the residual blocks is not in the
  file: it is dnn_face_recognition_ex.cpp's, and the loader checks that every layer's kind,
  shape, stride and padding is the one that wiring needs.
- con_ and the pools use no padding when strided and size/2 when not; sizes round down.
- add_prev adds tensors of different shapes: the result has the larger size in every
  dimension and missing entries count as zero. Both ways happen: a downsampling block's
  shortcut has fewer channels (zero-filled), and at 8 -> 3 and 4 -> 1 pixels its strided
  convolutions give a smaller map than the 2x2 average pool of the shortcut (8 -> 4, 4 -> 2),
  so the block's output lands in the top-left corner of the shortcut's map.
- fc_ stores its weights as (inputs, outputs): y = x @ W.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.devices import native_bf16
from pipeline.extract.backends import descriptor
from pipeline.extract.model_files import RESNET, dlib_model_file

# ---------------------------------------------------------------------------------------------
# dlib's serialization


class DlibFormatError(ValueError):
    """The file is not the network this module rebuilds."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise DlibFormatError(f"the file ends early (byte {self.pos} of {len(self.data)})")
        self.pos += size
        return self.data[self.pos - size:self.pos]

    def int(self) -> int:
        head = self.take(1)[0]
        size = head & 0x7F
        if size > 8:
            raise DlibFormatError(f"bad integer header {head:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self.take(size), "little")
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        special = {32000: float("inf"), 32001: float("-inf"), 32002: float("nan")}
        return special[exponent] if exponent in special else float(np.ldexp(mantissa, exponent))

    def str(self) -> str:
        return self.take(self.int()).decode("latin-1")

    def bool(self) -> bool:
        return self.take(1) == b"1"

    def version(self, expected: int, what: str) -> None:
        if (found := self.int()) != expected:
            raise DlibFormatError(f"{what}: version {found}, expected {expected}")

    def tensor(self) -> np.ndarray:
        self.version(2, "tensor")
        shape = tuple(self.int() for _ in range(4))
        count, start = int(np.prod(shape)), self.pos
        self.take(4 * count)
        return np.frombuffer(self.data, "<f4", count, start).reshape(shape)

    def alias(self) -> tuple[int, ...]:
        """An alias_tensor: the shape of a view into a layer's params (no data)."""
        self.version(1, "alias_tensor")
        return tuple(self.int() for _ in range(4))


@dataclass(frozen=True)
class DlibLayer:
    """One layer of the file, with its weights split out of dlib's flat params tensor."""
    kind: str  # con, affine, relu, max_pool, avg_pool, add_prev, fc
    weights: tuple[np.ndarray, ...] = ()  # con: filters, biases; affine: gamma, beta; fc: W
    window: tuple[int, int] = (0, 0)  # con and pools: rows, cols (0: the whole input)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class DlibNetwork:
    """The parsed file: input mean, chip size and layers from the input up."""
    mean_rgb: tuple[float, float, float]
    chip_size: tuple[int, int]
    layers: tuple[DlibLayer, ...]


def _split(params: np.ndarray, *shapes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    flat, parts, start = params.reshape(-1), [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(flat[start:start + size].reshape(shape))
        start += size
    if start != flat.size:
        raise DlibFormatError(f"params hold {flat.size} values, the views {start}")
    return tuple(parts)


def _read_layer(r: _Reader) -> DlibLayer:
    name = r.str()
    if name == "con_4":
        params = r.tensor()
        _num_filters, rows, cols = r.int(), r.int(), r.int()
        stride, padding = (r.int(), r.int()), (r.int(), r.int())
        filters, biases = _split(params, r.alias(), r.alias())
        for _ in range(4):  # learning-rate and weight-decay multipliers
            r.float()
        return DlibLayer("con", (filters, biases.reshape(-1)), (rows, cols), stride, padding)
    if name == "affine_":
        params = r.tensor()
        gamma, beta = _split(params, r.alias(), r.alias())
        if (mode := r.int()) != 0:
            raise DlibFormatError(f"affine_ in mode {mode}, expected per-channel (0)")
        return DlibLayer("affine", (gamma.reshape(-1), beta.reshape(-1)))
    if name in ("max_pool_2", "avg_pool_2"):
        window, stride, padding = (r.int(), r.int()), (r.int(), r.int()), (r.int(), r.int())
        return DlibLayer(name[:-2], (), window, stride, padding)
    if name in ("relu_", "add_prev_"):
        return DlibLayer(name[:-1])
    if name == "fc_2":
        outputs, inputs = r.int(), r.int()
        params = r.tensor()
        weights_shape, biases_shape = r.alias(), r.alias()
        if (bias_mode := r.int()) != 1 or int(np.prod(biases_shape)) != 0:
            raise DlibFormatError(f"fc_ with bias mode {bias_mode}, expected fc_no_bias (1)")
        (weights,) = _split(params, weights_shape)
        for _ in range(4):
            r.float()
        return DlibLayer("fc", (weights.reshape(inputs, outputs),))
    raise DlibFormatError(f"layer {name[:40]!r} is not part of dlib's face descriptor network")


def _skip_bookkeeping(r: _Reader) -> None:
    """What add_layer writes after its layer: 3 flags and 3 (empty) work tensors."""
    for _ in range(3):
        r.bool()
    for _ in range(3):
        r.tensor()


def read_dlib_network(path: Path) -> DlibNetwork:
    """Parse a dlib `loss_metric` network of the layers above (weights are views of the file's
    bytes, read-only)."""
    r = _Reader(Path(path).read_bytes())
    r.version(1, "add_loss_layer")
    if (loss := r.str()) != "loss_metric_2":
        raise DlibFormatError(f"loss layer {loss[:40]!r}, expected loss_metric_2")
    r.float(), r.float()  # margin and distance threshold: training only
    wrappers: list[int] = []  # versions from the output down: 2 layer, 1 tag or skip
    while (version := r.int()) != 3:
        if version not in (1, 2):
            raise DlibFormatError(f"unexpected add_layer version {version}")
        wrappers.append(version)
    if (name := r.str()) != "input_rgb_image_sized":
        raise DlibFormatError(f"input layer {name[:40]!r}, expected input_rgb_image_sized")
    mean_rgb = (r.float(), r.float(), r.float())
    chip_size = (r.int(), r.int())
    layers = [_read_layer(r)]
    _skip_bookkeeping(r)
    r.int()  # the input layer's sample expansion factor
    for version in reversed(wrappers):
        if version == 2:
            layers.append(_read_layer(r))
            _skip_bookkeeping(r)
    if r.pos != len(r.data):
        raise DlibFormatError(f"{len(r.data) - r.pos} bytes left after the network")
    return DlibNetwork(mean_rgb, chip_size, tuple(layers))


# ---------------------------------------------------------------------------------------------
# The network


@dataclass(frozen=True)
class DlibResNetConfig:
    chip_size: int = 150
    mean_rgb: tuple[float, float, float] = (122.782, 117.001, 104.298)
    stem_channels: int = 32
    # (channels, stride) of each residual block, input side first.
    blocks: tuple[tuple[int, int], ...] = (
        (32, 1), (32, 1), (32, 1),
        (64, 2), (64, 1), (64, 1), (64, 1),
        (128, 2), (128, 1), (128, 1),
        (256, 2), (256, 1), (256, 1),
        (256, 2),
    )
    descriptor_dim: int = 128


def add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: a sum over the larger size of each dimension, missing entries zero
    (extra channels at the end, extra rows and columns at the bottom and right)."""
    if a.shape == b.shape:
        return a + b
    channels, rows, cols = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def grow(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, cols - t.shape[3], 0, rows - t.shape[2], 0, channels - t.shape[1]))
    return grow(a) + grow(b)


def _conv(inputs: int, outputs: int, size: int, stride: int) -> nn.Conv2d:
    """dlib's con_ padding: none when strided, size // 2 otherwise."""
    return nn.Conv2d(inputs, outputs, size, stride, padding=0 if stride > 1 else size // 2)


class ResidualBlock(nn.Module):
    """relu(add_prev(conv(relu(conv(x))), shortcut(x))); a strided block's shortcut is a 2x2
    average pool. The convolutions carry their affine layers in their biases."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv(inputs, outputs, 3, stride)
        self.conv2 = _conv(outputs, outputs, 3, 1)
        self.shortcut = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        return F.relu(add_prev(y, self.shortcut(x)))


class DlibResNet(nn.Module):
    """(N, 150, 150, 3) RGB uint8 chips -> (N, 128) descriptors, as dlib computes them."""

    def __init__(self, config: DlibResNetConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1))
        self.stem = _conv(3, config.stem_channels, 7, 2)
        self.pool = nn.MaxPool2d(3, 2)
        channels = [config.stem_channels] + [c for c, _ in config.blocks]
        self.blocks = nn.Sequential(*(ResidualBlock(channels[i], c, stride)
                                      for i, (c, stride) in enumerate(config.blocks)))
        self.fc = nn.Linear(channels[-1], config.descriptor_dim, bias=False)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        x = (chips.permute(0, 3, 1, 2).to(self.mean.dtype) - self.mean) / 256
        x = self.pool(F.relu(self.stem(x)))
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# Loading


def _config_of(net: DlibNetwork) -> DlibResNetConfig:
    """The block layout the file's convolutions describe (stem, then two per block)."""
    convs = [layer for layer in net.layers if layer.kind == "con"]
    if (net.chip_size[0] != net.chip_size[1] or len(convs) % 2 != 1
            or net.layers[-1].kind != "fc"):
        raise DlibFormatError("not dlib's face descriptor network")
    fc = net.layers[-1].weights[0]
    return DlibResNetConfig(
        chip_size=net.chip_size[0], mean_rgb=net.mean_rgb,
        stem_channels=convs[0].weights[0].shape[0],
        blocks=tuple((c.weights[0].shape[0], c.stride[0]) for c in convs[1::2]),
        descriptor_dim=fc.shape[1])


def _expected_kinds(config: DlibResNetConfig) -> list[str]:
    kinds = ["con", "affine", "relu", "max_pool"]
    for _, stride in config.blocks:
        kinds += ["con", "affine", "relu", "con", "affine"]
        kinds += ["avg_pool"] if stride == 2 else []
        kinds += ["add_prev", "relu"]
    return kinds + ["avg_pool", "fc"]


def _check_geometry(layer: DlibLayer, window: tuple[int, int], stride: tuple[int, int],
                    padding: tuple[int, int]) -> None:
    found, wanted = (layer.window, layer.stride, layer.padding), (window, stride, padding)
    if found != wanted:
        raise DlibFormatError(f"{layer.kind}: (window, stride, padding) {found} in the file, "
                              f"the network needs {wanted}")


def _check_pool(layer: DlibLayer, pool: nn.MaxPool2d | nn.AvgPool2d) -> None:
    _check_geometry(layer, (pool.kernel_size,) * 2, (pool.stride,) * 2, (pool.padding,) * 2)


def _fold(conv: nn.Conv2d, con: DlibLayer, affine: DlibLayer) -> None:
    """conv weights and bias := dlib's con followed by its affine (gamma * conv(x) + beta)."""
    (filters, biases), (gamma, beta) = con.weights, affine.weights
    conv.weight.copy_(torch.from_numpy(filters * gamma[:, None, None, None]))
    conv.bias.copy_(torch.from_numpy(biases * gamma + beta))


@torch.no_grad()
def load_dlib_resnet(path: Path) -> DlibResNet:
    """dlib's face descriptor network with the weights of its model file (fp32, CPU, eval)."""
    net = read_dlib_network(path)
    model = DlibResNet(_config_of(net)).eval()
    kinds = [layer.kind for layer in net.layers]
    if kinds != (expected := _expected_kinds(model.config)):
        raise DlibFormatError(f"layer sequence {kinds} is not {expected}")

    # Walk the file's weighted layers and pools alongside the modules that stand for them.
    weighted = iter(layer for layer in net.layers if layer.kind in ("con", "affine"))
    pools = iter(layer for layer in net.layers if layer.kind.endswith("pool"))
    convs = [model.stem] + [conv for block in model.blocks for conv in (block.conv1, block.conv2)]
    for conv in convs:
        con, affine = next(weighted), next(weighted)
        _check_geometry(con, conv.kernel_size, conv.stride, conv.padding)
        if con.weights[0].shape != conv.weight.shape:
            raise DlibFormatError(f"con filters {con.weights[0].shape} where the network has "
                                  f"{tuple(conv.weight.shape)}")
        _fold(conv, con, affine)
    _check_pool(next(pools), model.pool)
    for block in model.blocks:
        if isinstance(block.shortcut, nn.AvgPool2d):
            _check_pool(next(pools), block.shortcut)
    _check_geometry(next(pools), (0, 0), (1, 1), (0, 0))  # avg_pool_everything
    model.fc.weight.copy_(torch.tensor(net.layers[-1].weights[0].T))
    return model


# ---------------------------------------------------------------------------------------------
# Descriptor backend


@contextlib.contextmanager
def _cpu_threads(count: int) -> Iterator[None]:
    """torch's intra-op threads for one call, then back to what the process had."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def available_cores() -> int:
    """The cores this process may run on (taskset, cgroup CPU sets), not the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@descriptor("dlib-torch")
class TorchDlibDescriptor:
    """dlib's descriptor network in PyTorch, batched; on a GPU when `device` names one.

    Runs under bf16 autocast where the hardware has it: against dlib's fp32 that keeps the
    cosine similarity above 0.9999 (Euclidean distance within 0.012, the identity threshold
    is 0.6) and halves the time on an AVX512-BF16 CPU.

    On CPU it uses one thread fewer than the cores it may run on, for the duration of each
    call. torch's OpenMP threads meet at a barrier in every layer, so one that shares its core
    with another busy process (a second worker, the TUI) holds up the rest. Measured on a
    2-core machine, bf16: 1 thread 1.9-2.0 ms a face whether or not the other core is busy;
    2 threads 1.0-1.3 ms when it is idle, 4.3 ms beside a busy loop and 36-40 ms beside
    another process running torch. Pass `threads` to use every core.
    """
    name = "dlib-torch"

    def __init__(self, device: str = "cpu", batch_size: int = 32, bf16: bool | None = None,
                 model: DlibResNet | None = None, threads: int | None = None) -> None:
        """`model`: an already loaded network to share (moved to `device`)."""
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.bf16 = native_bf16(self.device) if bf16 is None else bf16
        self.model = (model or load_dlib_resnet(dlib_model_file(RESNET))).to(self.device)
        self.threads = threads or max(1, available_cores() - 1)

    @torch.inference_mode()
    def describe(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        size = self.model.config.chip_size
        out = np.empty((len(chips), self.model.config.descriptor_dim), np.float32)
        on_cpu = self.device.type == "cpu"
        with _cpu_threads(self.threads) if on_cpu else contextlib.nullcontext():
            for start in range(0, len(chips), self.batch_size):
                batch = np.stack(chips[start:start + self.batch_size])
                if batch.shape[1:] != (size, size, 3) or batch.dtype != np.uint8:
                    raise ValueError(f"chips must be ({size}, {size}, 3) uint8, got "
                                     f"{batch.shape[1:]} {batch.dtype}")
                x = torch.from_numpy(batch).to(self.device)
                with torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16):
                    descriptors = self.model(x)
                out[start:start + len(batch)] = descriptors.float().cpu().numpy()
        return out
