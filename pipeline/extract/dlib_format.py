"""Reading dlib's serialized networks (dnn `net_type` files), shared by the networks this
package rebuilds in PyTorch (dlib_resnet, dlib_mmod).

How dlib writes a network (read from the bytes, checked against dlib's core.h and layers.h):
- Integers: one byte `size | 0x80 if negative`, then `size` little-endian magnitude bytes.
  Scalar floats are two such integers, an int64 mantissa and an int16 exponent (value =
  mantissa * 2**exponent; 0.0 is mantissa 0, exponent 11). Strings are a length and bytes;
  bools are the characters '0' / '1'. Tensors (version 2) are the only raw data: four
  dimensions, then little-endian IEEE float32.
- Each `add_layer` writes its version, then its whole subnetwork, then its own layer. So the
  file opens with the loss layer, then the chain of wrapper versions from the output down (2
  for a layer, 1 for a tag or skip, which write nothing else, 3 for the layer on the input),
  then the input layer, and the layers follow from the input up, each trailed by bookkeeping
  (3 bools, 3 empty tensors); the layer on the input also by its sample expansion factor.
- A batch norm layer (`bn_con2`) stands for dlib's `affine_` at inference: dlib converts it
  on load to gamma / sqrt(running variance + eps) and beta - that gamma * running mean.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class DlibFormatError(ValueError):
    """The file is not the network the reader rebuilds."""


class DlibReader:
    """A cursor over the bytes of a dlib file, reading dlib's serialized types."""

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


def split_params(params: np.ndarray, *shapes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """dlib's flat params tensor cut into the views its alias_tensors describe."""
    flat, parts, start = params.reshape(-1), [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(flat[start:start + size].reshape(shape))
        start += size
    if start != flat.size:
        raise DlibFormatError(f"params hold {flat.size} values, the views {start}")
    return tuple(parts)


def _con(r: DlibReader) -> DlibLayer:
    params = r.tensor()
    r.int()  # the number of filters, which their own shape gives
    rows, cols = r.int(), r.int()
    stride, padding = (r.int(), r.int()), (r.int(), r.int())
    filters, biases = split_params(params, r.alias(), r.alias())
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.float()
    return DlibLayer("con", (filters, biases.reshape(-1)), (rows, cols), stride, padding)


def _affine(r: DlibReader) -> DlibLayer:
    params = r.tensor()
    gamma, beta = split_params(params, r.alias(), r.alias())
    if (mode := r.int()) != 0:
        raise DlibFormatError(f"affine_ in mode {mode}, expected per-channel (0)")
    return DlibLayer("affine", (gamma.reshape(-1), beta.reshape(-1)))


def _batch_norm(r: DlibReader) -> DlibLayer:
    """bn_con2 as the affine layer dlib turns it into when a network is loaded to run."""
    params = r.tensor()
    gamma, beta = (v.reshape(-1) for v in split_params(params, r.alias(), r.alias()))
    r.tensor(), r.tensor()  # the last batch's means and inverse deviations: training only
    running_means, running_variances = r.tensor().reshape(-1), r.tensor().reshape(-1)
    r.int(), r.int()  # updates so far, running statistics window
    for _ in range(4):
        r.float()
    eps = r.float()
    if not gamma.size == running_means.size == running_variances.size:
        raise DlibFormatError(f"bn_con2 with {gamma.size} scales and {running_means.size} "
                              "running means")
    scale = (gamma / np.sqrt(running_variances.astype(np.float64) + eps)).astype(np.float32)
    return DlibLayer("affine", (scale, (beta - scale * running_means).astype(np.float32)))


def _pool(r: DlibReader, kind: str) -> DlibLayer:
    window, stride, padding = (r.int(), r.int()), (r.int(), r.int()), (r.int(), r.int())
    return DlibLayer(kind, (), window, stride, padding)


def _fc(r: DlibReader) -> DlibLayer:
    outputs, inputs = r.int(), r.int()
    params = r.tensor()
    weights_shape, biases_shape = r.alias(), r.alias()
    if (bias_mode := r.int()) != 1 or int(np.prod(biases_shape)) != 0:
        raise DlibFormatError(f"fc_ with bias mode {bias_mode}, expected fc_no_bias (1)")
    (weights,) = split_params(params, weights_shape)
    for _ in range(4):
        r.float()
    return DlibLayer("fc", (weights.reshape(inputs, outputs),))


def fold_affine(con: DlibLayer, affine: DlibLayer) -> tuple[np.ndarray, np.ndarray]:
    """The filters and biases of a con followed by its affine: gamma * con(x) + beta."""
    (filters, biases), (gamma, beta) = con.weights, affine.weights
    if gamma.size != filters.shape[0]:
        raise DlibFormatError(f"an affine layer of {gamma.size} channels after a con of "
                              f"{filters.shape[0]} filters")
    return filters * gamma[:, None, None, None], biases * gamma + beta


LAYER_READERS: dict[str, Callable[[DlibReader], DlibLayer]] = {
    "con_4": _con,
    "affine_": _affine,
    "bn_con2": _batch_norm,
    "max_pool_2": lambda r: _pool(r, "max_pool"),
    "avg_pool_2": lambda r: _pool(r, "avg_pool"),
    "relu_": lambda r: DlibLayer("relu"),
    "add_prev_": lambda r: DlibLayer("add_prev"),
    "fc_2": _fc,
}


def read_layer(r: DlibReader) -> DlibLayer:
    name = r.str()
    if name not in LAYER_READERS:
        raise DlibFormatError(f"layer {name[:40]!r} is not one this reader knows "
                              f"({', '.join(LAYER_READERS)})")
    return LAYER_READERS[name](r)


def skip_bookkeeping(r: DlibReader) -> None:
    """What add_layer writes after its layer: 3 flags and 3 (empty) work tensors."""
    for _ in range(3):
        r.bool()
    for _ in range(3):
        r.tensor()


def read_wrappers(r: DlibReader) -> list[int]:
    """The add_layer versions from the output down, up to (and past) the input's (3)."""
    wrappers: list[int] = []  # 2 layer, 1 tag or skip
    while (version := r.int()) != 3:
        if version not in (1, 2):
            raise DlibFormatError(f"unexpected add_layer version {version}")
        wrappers.append(version)
    return wrappers


def read_layers(r: DlibReader, wrappers: list[int]) -> tuple[DlibLayer, ...]:
    """The layers from the input up, read after the input layer; the file must end there."""
    layers = [read_layer(r)]
    skip_bookkeeping(r)
    r.int()  # the input layer's sample expansion factor
    for version in reversed(wrappers):
        if version == 2:
            layers.append(read_layer(r))
            skip_bookkeeping(r)
    if r.pos != len(r.data):
        raise DlibFormatError(f"{len(r.data) - r.pos} bytes left after the network")
    return tuple(layers)
