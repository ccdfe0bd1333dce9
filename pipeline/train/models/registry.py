"""Face-swap models, registered by decorator: `@register_model("original")` on a SwapModel class.

A model is a frozen config dataclass (its options, each with one line of help) plus a
SwapModel: one encoder shared by both sides and one decoder per side. Configs are checked
when they are made, so every config that exists can be built.
"""
from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, TypeVar

from torch import Tensor, nn

from pipeline.train.settings_dict import OptionInfo, describe_fields

SIDES = ("a", "b")


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


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Options every model has. Subclasses give the sizes defaults and add their own options.

    Field metadata: "help" (required, one line) and "choices" (optional, allowed values).
    A value must have exactly its field's type: True is not an int, 1 is not a bool.
    """
    model_name: ClassVar[str] = ""  # set by register_model

    input_size: int = field(metadata={"help": "Side of the face the model takes, in pixels."})
    output_size: int = field(metadata={"help": "Side of the face the model makes, in pixels."})
    learn_mask: bool = field(default=False, metadata={
        "help": "Also learn a face mask: each decoder gets a second branch that outputs it."})

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


class SwapModel(nn.Module):
    """One encoder shared by both sides and one decoder per side.

    Training runs each side through its own decoder; a swap encodes side A's faces and
    decodes them with side B's decoder.
    """
    name: ClassVar[str]                     # set by register_model
    config_type: ClassVar[type[ModelConfig]]

    def __init__(self, config: ModelConfig, encoder: nn.Module, decoder_a: nn.Module,
                 decoder_b: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.decoders = nn.ModuleDict({"a": decoder_a, "b": decoder_b})

    def encode(self, images: Tensor) -> Tensor:
        size = self.config.input_size
        if tuple(images.shape[-2:]) != (size, size):
            raise ValueError(f"model {self.name} takes {size}x{size} faces, got "
                             f"{images.shape[-1]}x{images.shape[-2]}")
        return self.encoder(images)

    def decode(self, code: Tensor, side: str) -> ModelOutput:
        if side not in SIDES:
            raise ValueError(f"side must be 'a' or 'b', got {side!r}")
        return self.decoders[side](code)

    def forward(self, images: Tensor, side: str) -> ModelOutput:
        return self.decode(self.encode(images), side)


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
    try:
        return _BY_CONFIG[type(config)](config)
    except KeyError:
        raise ModelOptionError(f"{type(config).__name__} is no registered model's config") from None


def config_to_dict(config: ModelConfig) -> dict[str, object]:
    """The options as a JSON-ready dict (the model's name is stored beside it)."""
    return dataclasses.asdict(config)


def config_from_dict(name: str, data: Mapping[str, object]) -> ModelConfig:
    """The config stored by config_to_dict, checked again.

    An option missing from `data` takes its default: an option added later must default
    to the architecture that existed before it.
    """
    return make_config(name, data)


def describe_options(name: str) -> list[OptionInfo]:
    """Every option of model `name` in declaration order, for help screens and forms."""
    return describe_fields(config_class(name))
