"""Faceswap's IAE (improved autoencoder): 64 px in and out, one decoder for both sides.

Structure and sizes follow faceswap's plugins/train/model/iae.py. The shared encoder
(four ConvBlocks, 128 to 1024 filters) flattens the face; three intermediates (Dense 1024,
Dense to 4x4x512) read it: one per side for who the face is and one, "both", trained by
both sides, for what it does. The one decoder reads side + both, concatenated (4x4x1024),
and upscales to 64 px. A swap A -> B decodes A's code through B's intermediate and the
shared ones. 117,816,003 parameters at default options.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from pipeline.train.models.blocks import Decoder, conv_stack, dense_code
from pipeline.train.models.registry import (SIDES, ModelConfig, ModelOutput, SwapModel,
                                            check_side, fixed_size, register_model)

ENCODER_DIM = 1024  # faceswap's encoder_dim: the intermediates' width
CODE = 4            # side of the intermediates' maps


@dataclass(frozen=True, kw_only=True)
class IaeConfig(ModelConfig):
    input_size: int = fixed_size(64, "input")
    output_size: int = fixed_size(64, "output")


def intermediate(in_features: int) -> nn.Sequential:
    """Dense to ENCODER_DIM, Dense to a 4x4 map of ENCODER_DIM / 2 channels."""
    return nn.Sequential(*dense_code(in_features, ENCODER_DIM, ENCODER_DIM // 2, CODE))


@register_model("iae")
class Iae(SwapModel):
    config_type = IaeConfig
    transferable = ("encoder", "inter_both")

    def __init__(self, config: IaeConfig) -> None:
        filters = (128, 256, 512, 1024)
        encoder = nn.Sequential(*conv_stack(3, filters), nn.Flatten())
        super().__init__(config, encoder)
        features = filters[-1] * (config.input_size // 16) ** 2
        self.inter = nn.ModuleDict({side: intermediate(features) for side in SIDES})
        self.inter_both = intermediate(features)
        self.decoder = Decoder(ENCODER_DIM, (512, 256, 128, 64), config.learn_mask)

    def _decode(self, code: Tensor, side: str) -> ModelOutput:
        return self.decoder(torch.cat([self.inter[side](code), self.inter_both(code)], 1))

    def side_parameters(self, side: str) -> list[nn.Parameter]:
        check_side(side)
        return list(self.inter[side].parameters())
