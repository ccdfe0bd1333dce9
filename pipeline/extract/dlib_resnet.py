"""dlib's 128-D face descriptor network rebuilt in PyTorch, loaded from dlib's own model file.

`dlib_face_recognition_resnet_model_v1.dat` is read as it is at load time: nothing is converted,
cached or downloaded. The network is the `anet_type` of dlib's dnn_face_recognition_ex.cpp:

    chip 150x150 RGB -> (x - mean) / 256
    stem:   con 7x7/2 (32), affine, relu, max_pool 3x3/2          150 -> 72 -> 35
    blocks: 3 x 32, 64/2 + 3 x 64, 128/2 + 2 x 128, 256/2 + 2 x 256, 256/2
    head:   avg_pool_everything, fc_no_bias 256 -> 128

The affine layers (dlib's frozen form of batch norm) are folded into the convolutions at load.

How dlib writes a network: see dlib_format. For this one:
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.devices import available_cores, cpu_threads, native_bf16
from pipeline.extract.backends import descriptor
from pipeline.extract.dlib_format import (DlibFormatError, DlibLayer, DlibReader, fold_affine,
                                          read_layers, read_wrappers)
from pipeline.extract.model_files import RESNET, dlib_model_file

# ---------------------------------------------------------------------------------------------
# The file


@dataclass(frozen=True)
class DlibNetwork:
    """The parsed file: input mean, chip size and layers from the input up."""
    mean_rgb: tuple[float, float, float]
    chip_size: tuple[int, int]
    layers: tuple[DlibLayer, ...]


def read_dlib_network(path: Path) -> DlibNetwork:
    """Parse a dlib `loss_metric` network of the layers above (weights are views of the file's
    bytes, read-only)."""
    r = DlibReader(Path(path).read_bytes())
    r.version(1, "add_loss_layer")
    if (loss := r.str()) != "loss_metric_2":
        raise DlibFormatError(f"loss layer {loss[:40]!r}, expected loss_metric_2")
    r.float(), r.float()  # margin and distance threshold: training only
    wrappers = read_wrappers(r)
    if (name := r.str()) != "input_rgb_image_sized":
        raise DlibFormatError(f"input layer {name[:40]!r}, expected input_rgb_image_sized")
    mean_rgb = (r.float(), r.float(), r.float())
    chip_size = (r.int(), r.int())
    return DlibNetwork(mean_rgb, chip_size, read_layers(r, wrappers))


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
    """conv weights and bias := dlib's con followed by its affine."""
    filters, biases = fold_affine(con, affine)
    conv.weight.copy_(torch.from_numpy(filters))
    conv.bias.copy_(torch.from_numpy(biases))


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
        with cpu_threads(self.threads) if on_cpu else contextlib.nullcontext():
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
