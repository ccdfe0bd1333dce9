"""Faceswap's Original model: the first deepfakes autoencoder, 64 px in and out.

Structure and sizes follow faceswap's plugins/train/model/original.py: about 82 M
parameters, or 61 M with lowmem.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn

from pipeline.train.models.blocks import ConvBlock, Decoder, Dense, UpscaleBlock
from pipeline.train.models.registry import ModelConfig, SwapModel, fixed_size, register_model


@dataclass(frozen=True, kw_only=True)
class OriginalConfig(ModelConfig):
    input_size: int = fixed_size(64, "input")
    output_size: int = fixed_size(64, "output")
    lowmem: bool = field(default=False, metadata={
        "help": "Lower memory: no 1024-filter convolution and a 512-wide bottleneck "
                "(61 M parameters instead of 82 M)."})


def dense_encoder(input_size: int, conv_filters: Sequence[int], bottleneck: int,
                  code_channels: int, upscale_filters: int) -> nn.Sequential:
    """Faceswap's original-family encoder.

    Stride-2 ConvBlocks, a Dense bottleneck, a Dense to a 4x4 map of code_channels, one
    UpscaleBlock to 8x8: the decoders start from 8x8 x upscale_filters.
    """
    layers: list[nn.Module] = []
    channels, side = 3, input_size
    for filters in conv_filters:
        layers.append(ConvBlock(channels, filters))
        channels, side = filters, -(-side // 2)
    layers += [nn.Flatten(),
               Dense(channels * side * side, bottleneck),
               Dense(bottleneck, code_channels * 4 * 4),
               nn.Unflatten(1, (code_channels, 4, 4)),
               UpscaleBlock(code_channels, upscale_filters)]
    return nn.Sequential(*layers)


@register_model("original")
class Original(SwapModel):
    config_type = OriginalConfig

    def __init__(self, config: OriginalConfig) -> None:
        conv_filters = (128, 256, 512) if config.lowmem else (128, 256, 512, 1024)
        encoder = dense_encoder(config.input_size, conv_filters,
                                bottleneck=512 if config.lowmem else 1024,
                                code_channels=1024, upscale_filters=512)
        decoders = [Decoder(512, (256, 128, 64), config.learn_mask) for _ in range(2)]
        super().__init__(config, encoder, *decoders)
