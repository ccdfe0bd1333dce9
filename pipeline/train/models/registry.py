"""Face-swap models, registered by decorator: `@register_model("original")` on a SwapModel class.

A model is a frozen config dataclass (its options, each with one line of help) plus a
SwapModel: one encoder shared by both sides, then what each side decodes with. Configs are
checked when they are made, so every config that exists can be built.

faceswap's global model options (ICNR and convolution-aware initialisation, reflect padding)
are fields of every config and are applied by `build_model` to whatever layers a model has.
"""
from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, TypeVar

import torch
from torch import Tensor, nn

from store.requests.options import Option, describe_fields

SIDES = ("a", "b")
SUBPIXEL_SCALE = "subpixel_scale"  # attribute set on a convolution that feeds a pixel shuffle
CONV_AWARE_EPS_STD = 0.05          # faceswap's eps_std: noise added to the Fourier basis
CONV_AWARE_CHUNK = 256             # filters made at once by conv_aware_kernel


class ModelOptionError(ValueError):
    """An option a person gave cannot make this model; the message is one line."""


class ModelOutput(NamedTuple):
    face: Tensor            # N x 3 x out x out, sigmoid, in [0, 1]
    mask: Tensor | None     # N x 1 x out x out in [0, 1]; None when learn_mask is off


def fixed_size(pixels: int, what: str) -> Any:
    """A size field for a model whose layers only fit one size."""
    return field(default=pixels, metadata={
        "help": f"Side of the {what} face in pixels (this model works at {pixels} px only).",
        "choices": (pixels,),
    })


def size_choices(pixels: int, lowest: int, highest: int, step: int, what: str,
                 extra: str = "") -> Any:
    """A size field that takes every multiple of `step` from `lowest` to `highest`."""
    return field(default=pixels, metadata={
        "help": f"Side of the {what} face in pixels: {lowest} to {highest} in steps of "
                f"{step}{extra}.",
        "choices": tuple(range(lowest, highest + 1, step)),
    })


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Options every model has. Subclasses give the sizes defaults and add their own options.

    Field metadata: "help" (required, one line), "choices" (optional, allowed values) and
    "bounds" (optional, lowest and highest allowed number).
    A value must have exactly its field's type: True is not an int, 1 is not a bool.
    """
    model_name: ClassVar[str] = ""  # set by register_model

    input_size: int = field(metadata={"help": "Side of the face the model takes, in pixels."})
    output_size: int = field(metadata={"help": "Side of the face the model makes, in pixels."})
    learn_mask: bool = field(default=False, metadata={
        "help": "Also learn a face mask: each decoder gets a second branch that outputs it."})
    icnr_init: bool = field(default=False, metadata={
        "help": "Start every convolution that feeds a pixel shuffle with ICNR weights, "
                "which avoids early checkerboard artefacts."})
    conv_aware_init: bool = field(default=False, metadata={
        "help": "Start the convolutions with convolution-aware weights (orthogonal in Fourier "
                "space); building the model takes longer."})
    reflect_padding: bool = field(default=False, metadata={
        "help": "Pad convolutions by mirroring the picture's edge instead of with zeros."})

    def __post_init__(self) -> None:
        types = typing.get_type_hints(type(self))
        for option in dataclasses.fields(self):
            value = getattr(self, option.name)
            expected = types[option.name]
            if type(value) is not expected:
                raise ModelOptionError(
                    f"option {option.name} of model {self.model_name} must be "
                    f"{expected.__name__}, got {value!r}")
            choices = option.metadata.get("choices")
            if choices is not None and value not in choices:
                raise ModelOptionError(
                    f"{option.name}={value!r} is not allowed for model {self.model_name} "
                    f"(allowed: {', '.join(map(str, choices))})")
            bounds = option.metadata.get("bounds")
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                raise ModelOptionError(
                    f"{option.name}={value!r} is out of range for model {self.model_name} "
                    f"(allowed: {bounds[0]} to {bounds[1]})")


def check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side must be 'a' or 'b', got {side!r}")


class SwapModel(nn.Module):
    """One encoder shared by both sides, then what each side decodes with.

    Most models give each side its own decoder (`decoders`). Models whose sides share a
    decoder (iae, dfl-sae's liae) pass none, keep their shared and per-side parts as their
    own attributes and override `_decode` and `side_parameters`. Training runs each side
    through its own decoding; a swap encodes side A's faces and decodes them as side B.
    """
    name: ClassVar[str]                     # set by register_model
    config_type: ClassVar[type[ModelConfig]]
    # Submodules whose weights faceswap's load-weights and freeze-weights act on: the
    # parts both sides train. Their parameter names in state_dict start with these.
    transferable: ClassVar[tuple[str, ...]] = ("encoder",)

    def __init__(self, config: ModelConfig, encoder: nn.Module,
                 decoder_a: nn.Module | None = None, decoder_b: nn.Module | None = None) -> None:
        super().__init__()
        if (decoder_a is None) != (decoder_b is None):
            raise ValueError("give both sides a decoder, or neither")
        self.config = config
        self.encoder = encoder
        self.decoders = nn.ModuleDict(
            {} if decoder_a is None else {"a": decoder_a, "b": decoder_b})

    def encode(self, images: Tensor) -> Tensor:
        size = self.config.input_size
        if tuple(images.shape[-2:]) != (size, size):
            raise ValueError(f"model {self.name} takes {size}x{size} faces, got "
                             f"{images.shape[-1]}x{images.shape[-2]}")
        return self.encoder(images)

    def decode(self, code: Tensor, side: str) -> ModelOutput:
        check_side(side)
        return self._decode(code, side)

    def _decode(self, code: Tensor, side: str) -> ModelOutput:
        return self.decoders[side](code)

    def forward(self, images: Tensor, side: str) -> ModelOutput:
        return self.decode(self.encode(images), side)

    def decode_multiscale(self, code: Tensor, side: str
                          ) -> tuple[ModelOutput, tuple[Tensor, ...]]:
        """decode, plus the smaller faces a multiscale decoder also makes, smallest first,
        for the trainer to score against shrunk targets; other models make none."""
        return self.decode(code, side), ()

    def side_parameters(self, side: str) -> list[nn.Parameter]:
        """The parameters only side `side`'s pass uses: a pass of the other side leaves
        them without gradient."""
        check_side(side)
        return list(self.decoders[side].parameters())


_MODELS: dict[str, type[SwapModel]] = {}
_BY_CONFIG: dict[type[ModelConfig], type[SwapModel]] = {}

M = TypeVar("M", bound=SwapModel)


def register_model(name: str) -> Callable[[type[M]], type[M]]:
    """Register a SwapModel class, whose `config_type` is its own ModelConfig subclass."""
    def register(cls: type[M]) -> type[M]:
        config = cls.config_type
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        if config in _BY_CONFIG:
            raise ValueError(f"config {config.__name__} already belongs to model "
                             f"{_BY_CONFIG[config].name!r}")
        incomplete = [option.name for option in dataclasses.fields(config)
                      if not option.metadata.get("help") or option.default is dataclasses.MISSING]
        if incomplete:
            raise ValueError(f"model {name!r}: every option needs a default and help text "
                             f"({', '.join(incomplete)})")
        cls.name = name
        config.model_name = name
        _MODELS[name] = cls
        _BY_CONFIG[config] = cls
        return cls
    return register


def model_names() -> list[str]:
    return sorted(_MODELS)


def config_class(name: str) -> type[ModelConfig]:
    try:
        return _MODELS[name].config_type
    except KeyError:
        raise ModelOptionError(
            f"unknown model {name!r} (models: {', '.join(model_names())})") from None


def make_config(name: str, options: Mapping[str, object]) -> ModelConfig:
    """The config of model `name`: its defaults, overridden by `options`, checked."""
    config = config_class(name)
    known = sorted(option.name for option in dataclasses.fields(config))
    for option in options:
        if option not in known:
            raise ModelOptionError(
                f"unknown option {option!r} for model {name} (options: {', '.join(known)})")
    return config(**options)


def build_model(config: ModelConfig) -> SwapModel:
    """The model of `config`, with the global options applied to its layers."""
    try:
        model_type = _BY_CONFIG[type(config)]
    except KeyError:
        raise ModelOptionError(f"{type(config).__name__} is no registered model's config") from None
    model = model_type(config)
    apply_global_options(model, config)
    return model


def config_to_dict(config: ModelConfig) -> dict[str, object]:
    """The options as a JSON-ready dict (the model's name is stored beside it)."""
    return dataclasses.asdict(config)


def config_from_dict(name: str, data: Mapping[str, object]) -> ModelConfig:
    """The config stored by config_to_dict, checked again.

    An option missing from `data` takes its default: an option added later must default
    to the architecture that existed before it.
    """
    return make_config(name, data)


def describe_options(name: str) -> tuple[Option, ...]:
    """Every option of model `name` in declaration order, for help screens and forms."""
    return describe_fields(config_class(name))


# ---- faceswap's global options, applied to the layers of any built model --------------

def mark_subpixel(conv: nn.Conv2d, scale: int) -> nn.Conv2d:
    """Mark `conv` as feeding a PixelShuffle(scale), so icnr_init finds it."""
    setattr(conv, SUBPIXEL_SCALE, scale)
    return conv


def apply_global_options(model: nn.Module, config: ModelConfig) -> None:
    """Reflect padding and ICNR / convolution-aware starting weights on every nn.Conv2d.

    Draws from torch's generator only when an option is on, so a model without them is
    built exactly as before (and, under torch.manual_seed, always the same).
    """
    for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
        if config.reflect_padding and _pads(conv):
            conv.padding_mode = "reflect"
        scale = getattr(conv, SUBPIXEL_SCALE, 0) if config.icnr_init else 0
        if scale or config.conv_aware_init:
            with torch.no_grad():
                conv.weight.copy_(_starting_kernel(conv.weight, scale, config.conv_aware_init))


def _pads(conv: nn.Conv2d) -> bool:
    """Whether `conv` pads its input: padding "same" or a nonzero amount."""
    return conv.padding == "same" if isinstance(conv.padding, str) else any(conv.padding)


def _starting_kernel(weight: Tensor, scale: int, conv_aware: bool) -> Tensor:
    """The kernel faceswap would start with: convolution-aware or as initialised, and
    with ICNR (scale > 0) every group of scale**2 filters that one pixel shuffle output
    reads made equal, so the shuffle starts as a nearest-neighbour upscale."""
    filters = weight.shape[0] // scale ** 2 if scale else weight.shape[0]
    kernel = weight[:filters]
    if conv_aware:
        kernel = conv_aware_kernel(tuple(kernel.shape), weight.dtype, weight.device)
    return kernel.repeat_interleave(scale ** 2, dim=0) if scale else kernel


def conv_aware_kernel(shape: tuple[int, ...], dtype: torch.dtype = torch.float32,
                      device: torch.device | str = "cpu") -> Tensor:
    """Convolution-aware initialisation (Aghajanyan 2017), as faceswap computes it.

    For each filter, an orthonormal basis of the kernel's real-FFT space (the singular
    vectors of random symmetric matrices) is spread over the input channels, brought back
    to space by the inverse FFT, jittered by N(0, eps_std) and scaled to He variance
    2 / fan_in. `shape` is (filters, channels, height, width); filters are made in chunks
    so a wide convolution needs little more memory than its own kernel.
    """
    filters, channels, height, width = shape
    kernel = torch.empty(shape)
    for first in range(0, filters, CONV_AWARE_CHUNK):
        count = min(CONV_AWARE_CHUNK, filters - first)
        basis = _fourier_basis(count, channels, (height, width // 2 + 1))
        spatial = torch.fft.irfft2(basis.to(torch.complex64), s=(height, width))
        kernel[first:first + count] = spatial + torch.randn(spatial.shape) * CONV_AWARE_EPS_STD
    kernel *= (2 / (channels * height * width) / kernel.var(correction=0)).sqrt()
    return kernel.to(dtype=dtype, device=device)


def _fourier_basis(filters: int, channels: int, freq_shape: tuple[int, int]) -> Tensor:
    """filters x channels x freq_shape: per filter, `channels` vectors of the frequency
    space taken from orthonormal bases (one basis per `size` channels)."""
    size = freq_shape[0] * freq_shape[1]
    if size == 1:
        return torch.randn(filters, channels, *freq_shape) * CONV_AWARE_EPS_STD
    blocks = channels // size + 1
    matrices = torch.randn(filters, blocks, size, size)
    symmetric = (matrices + matrices.transpose(-1, -2)
                 - torch.diag_embed(matrices.diagonal(dim1=-2, dim2=-1)))
    vectors = torch.linalg.svd(symmetric)[0].transpose(-1, -2)
    return vectors.reshape(filters, blocks * size, size)[:, :channels].reshape(
        filters, channels, *freq_shape)
