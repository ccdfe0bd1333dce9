"""A model small enough to train in a test in a second or two: the trainer's mechanics
(checkpoints, resume, rollback) do not depend on a model's size."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.train.models.blocks import Decoder
from pipeline.train.models.original import dense_encoder
from pipeline.train.models.registry import (ModelConfig, SwapModel, fixed_size, model_names,
                                            register_model)

NAME = "tiny-test"


@dataclass(frozen=True, kw_only=True)
class TinyConfig(ModelConfig):
    input_size: int = fixed_size(32, "input")
    output_size: int = fixed_size(32, "output")


class Tiny(SwapModel):
    config_type = TinyConfig
    encoder_filters: tuple[int, ...] = (8, 16)

    def __init__(self, config: TinyConfig) -> None:
        encoder = dense_encoder(config.input_size, self.encoder_filters, bottleneck=32,
                                code_channels=16, upscale_filters=16)
        decoders = [Decoder(16, (16, 8), config.learn_mask) for _ in range(2)]
        super().__init__(config, encoder, *decoders)


if NAME not in model_names():
    register_model(NAME)(Tiny)
