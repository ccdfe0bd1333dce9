"""Faceswap's Dfaker model (after dfaker's df): Original's encoder, residual decoders.

Structure and sizes follow faceswap's plugins/train/model/dfaker.py: the faces it makes are
twice the side of the faces it takes (64 -> 128 px, or 128 -> 256 px). The encoder is
Original's (to an 8x8x512 code); each decoder upscales through 512, 256 and 128 filters
(plus 1024 first at 256 px), each step a LeakyReLU(0.2) and a ResidualBlock started from
RandomNormal(0, 0.02), then a 64-filter UpscaleBlock and the output. 113,330,822
parameters at default options (128 px out); 258,046,598 at 256 px.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from pipeline.train.models.blocks import (BranchDecoder, ConvOutput, UpscaleBlock, random_normal,
                                          upscale_residual, upscale_stack)
from pipeline.train.models.original import dense_encoder
from pipeline.train.models.registry import (ModelConfig, ModelOptionError, SwapModel,
                                            register_model)

OUTPUT_SIZES = (128, 256)


@dataclass(frozen=True, kw_only=True)
class DfakerConfig(ModelConfig):
    input_size: int = field(default=64, metadata={
        "help": "Side of the input face in pixels: half the output size (64 or 128).",
        "choices": (64, 128)})
    output_size: int = field(default=128, metadata={
        "help": "Side of the output face in pixels (128 or 256).", "choices": OUTPUT_SIZES})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.input_size * 2 != self.output_size:
            raise ModelOptionError(
                f"model dfaker makes faces twice the side it takes: output_size="
                f"{self.output_size} needs input_size={self.output_size // 2}")


def decoder_filters(output_size: int) -> tuple[int, ...]:
    """The residual steps' filters: one more step (1024) for 256 px."""
    return (1024, 512, 256, 128) if output_size == 256 else (512, 256, 128)


def face_branch(filters: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 512
    for width in filters:
        layers += upscale_residual(channels, width, residual_init=random_normal)
        channels = width
    return nn.Sequential(*layers, UpscaleBlock(channels, 64), ConvOutput(64, 3))


@register_model("dfaker")
class Dfaker(SwapModel):
    config_type = DfakerConfig

    def __init__(self, config: DfakerConfig) -> None:
        encoder = dense_encoder(config.input_size, (128, 256, 512, 1024), bottleneck=1024,
                                code_channels=1024, upscale_filters=512)
        filters = decoder_filters(config.output_size)
        decoders = [BranchDecoder(face_branch(filters),
                                  upscale_stack(512, (*filters, 64), 1) if config.learn_mask
                                  else None)
                    for _ in range(2)]
        super().__init__(config, encoder, *decoders)
