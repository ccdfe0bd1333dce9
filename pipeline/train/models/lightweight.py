"""Faceswap's Lightweight model: Original cut down for ~2 GB GPUs, 64 px in and out.

Structure and sizes follow faceswap's plugins/train/model/lightweight.py: a smaller
encoder (no 1024-filter convolution, 512-wide bottleneck, 4x4x512 code) and decoders
that start from 8x8x256 but upscale through wider layers (512, 256, 128). About 51 M
parameters, most of them in the encoder's first Dense.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.train.models.blocks import Decoder
from pipeline.train.models.original import dense_encoder
from pipeline.train.models.registry import ModelConfig, SwapModel, fixed_size, register_model


@dataclass(frozen=True, kw_only=True)
class LightweightConfig(ModelConfig):
    input_size: int = fixed_size(64, "input")
    output_size: int = fixed_size(64, "output")


@register_model("lightweight")
class Lightweight(SwapModel):
    config_type = LightweightConfig

    def __init__(self, config: LightweightConfig) -> None:
        encoder = dense_encoder(config.input_size, (128, 256, 512), bottleneck=512,
                                code_channels=512, upscale_filters=256)
        decoders = [Decoder(256, (512, 256, 128), config.learn_mask) for _ in range(2)]
        super().__init__(config, encoder, *decoders)
