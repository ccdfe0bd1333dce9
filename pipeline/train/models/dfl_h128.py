"""Faceswap's DFL-H128: DeepFaceLab's H128 model, 128 px in and out.

Structure and sizes follow faceswap's plugins/train/model/dfl_h128.py: four ConvBlocks
(128 to 1024 filters) to 8x8, a Dense bottleneck of 512 (256 with lowmem), a Dense to
an 8x8 map of as many channels and an UpscaleBlock to the 16x16 code; each decoder
upscales through 512, 256 and 128 filters (256, 128, 64 with lowmem) to 128 px.
107,716,102 parameters at default options, 48,244,102 with lowmem.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from pipeline.train.models.blocks import Decoder, UpscaleBlock, conv_stack, dense_code
from pipeline.train.models.registry import ModelConfig, SwapModel, fixed_size, register_model


@dataclass(frozen=True, kw_only=True)
class DflH128Config(ModelConfig):
    input_size: int = fixed_size(128, "input")
    output_size: int = fixed_size(128, "output")
    lowmem: bool = field(default=False, metadata={
        "help": "Lower memory: a 256-wide bottleneck and code instead of 512 "
                "(48 M parameters instead of 108 M)."})


@register_model("dfl-h128")
class DflH128(SwapModel):
    config_type = DflH128Config

    def __init__(self, config: DflH128Config) -> None:
        dim = 256 if config.lowmem else 512
        side = config.input_size // 16
        encoder = nn.Sequential(*conv_stack(3, (128, 256, 512, 1024)),
                                *dense_code(1024 * side * side, dim, dim, side),
                                UpscaleBlock(dim, dim))
        decoders = [Decoder(dim, (dim, dim // 2, dim // 4), config.learn_mask)
                    for _ in range(2)]
        super().__init__(config, encoder, *decoders)
