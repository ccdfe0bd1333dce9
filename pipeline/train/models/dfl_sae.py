"""Faceswap's DFL-SAE: DeepFaceLab's SAE model, 64 to 256 px in and out.

Structure and sizes follow faceswap's plugins/train/model/dfl_sae.py. Four ConvBlocks of
3 x encoder_dims x (1, 2, 4, 8) filters take the face to 1/16 of its side. Then:
- df: a Dense bottleneck (autoencoder_dims, 512 by default), a Dense back to a map and an
  UpscaleBlock make the code; each side has its own decoder.
- liae: the encoder stops at the flattened convolutions. Two intermediates (Dense to
  autoencoder_dims, 256 by default, Dense to a map of twice that, UpscaleBlock) read it:
  inter_both (DFL's inter_AB), trained by both sides, and inter_b (DFL's inter_B). Side B
  decodes inter_b + inter_both, side A inter_both twice, concatenated, through ONE
  decoder; a swap B -> A decodes B's faces as side A, as DFL's does.
Each decoder step is an UpscaleBlock to 3 x decoder_dims x (8, 4, 2) filters, a
LeakyReLU(0.2) and two ResidualBlocks; multiscale_decoder adds face outputs after the
first two steps (1/4 and 1/2 of the output side) for the trainer to score too.
130,008,718 parameters at default options (df, 128 px); 121,746,593 as liae.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from pipeline.train.models.blocks import (ConvOutput, UpscaleBlock, conv_stack,
                                          dense_code, upscale_residual, upscale_stack)
from pipeline.train.models.registry import (ModelConfig, ModelOptionError, ModelOutput,
                                            SwapModel, check_side, register_model, size_choices)

ARCHITECTURES = ("df", "liae")
DEFAULT_AE_DIMS = {"df": 512, "liae": 256}


@dataclass(frozen=True, kw_only=True)
class DflSaeConfig(ModelConfig):
    input_size: int = size_choices(128, 64, 256, 16, "input")
    output_size: int = size_choices(128, 64, 256, 16, "output", " (equal to input_size)")
    architecture: str = field(default="df", metadata={
        "help": "df keeps faces more natural; liae (shared decoder) copes better with "
                "differently shaped faces.", "choices": ARCHITECTURES})
    autoencoder_dims: int = field(default=0, metadata={
        "help": "Width of the bottleneck that holds the face; 0 takes the architecture's "
                "own (512 for df, 256 for liae).", "bounds": (0, 1024)})
    encoder_dims: int = field(default=42, metadata={
        "help": "Encoder filters per colour channel: more recognise more features.",
        "bounds": (21, 85)})
    decoder_dims: int = field(default=21, metadata={
        "help": "Decoder filters per colour channel: more render more detail.",
        "bounds": (10, 85)})
    multiscale_decoder: bool = field(default=False, metadata={
        "help": "Also make and score faces at 1/4 and 1/2 size, which can sharpen details."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.output_size != self.input_size:
            raise ModelOptionError(
                f"model dfl-sae makes faces the side it takes: input_size={self.input_size} "
                f"needs output_size={self.input_size}")

    @property
    def ae_dims(self) -> int:
        return self.autoencoder_dims or DEFAULT_AE_DIMS[self.architecture]


class SaeDecoder(nn.Module):
    """Three upscale-residual steps to the face; optional faces after the first two steps;
    a plain upscale mask branch when learn_mask."""

    def __init__(self, in_channels: int, dims: int, multiscale: bool, learn_mask: bool) -> None:
        super().__init__()
        widths = (dims * 24, dims * 12, dims * 6)  # 3 colour channels x dims x (8, 4, 2)
        channels = (in_channels, *widths)
        self.steps = nn.ModuleList(
            nn.Sequential(*upscale_residual(channels[i], widths[i], (True, True)))
            for i in range(3))
        self.faces = nn.ModuleList(ConvOutput(width, 3)
                                   for width in (widths if multiscale else widths[-1:]))
        # faceswap sizes the mask branch by decoder_dims alone, not by 3 x decoder_dims
        self.mask = (upscale_stack(in_channels, (dims * 8, dims * 4, dims * 2), 1)
                     if learn_mask else None)

    def forward(self, code: Tensor, smaller: bool = False
                ) -> tuple[ModelOutput, tuple[Tensor, ...]]:
        """The output and, when `smaller` and multiscale, the faces of the first steps."""
        x, features = code, []
        for step in self.steps:
            x = step(x)
            features.append(x)
        heads = zip(self.faces, features[-len(self.faces):]) if smaller else [(self.faces[-1], x)]
        faces = [head(feature) for head, feature in heads]
        mask = None if self.mask is None else self.mask(code)
        return ModelOutput(faces[-1], mask), tuple(faces[:-1])


def liae_intermediate(in_features: int, dims: int, side: int) -> nn.Sequential:
    """Dense to dims, Dense to a side x side map of 2 x dims, UpscaleBlock."""
    return nn.Sequential(*dense_code(in_features, dims, dims * 2, side),
                         UpscaleBlock(dims * 2, dims * 2))


@register_model("dfl-sae")
class DflSae(SwapModel):
    config_type = DflSaeConfig

    def __init__(self, config: DflSaeConfig) -> None:
        dims, side = config.ae_dims, config.input_size // 16
        filters = tuple(3 * config.encoder_dims * k for k in (1, 2, 4, 8))
        convs, features = conv_stack(3, filters), filters[-1] * side * side
        sizes = (config.decoder_dims, config.multiscale_decoder, config.learn_mask)
        if config.architecture == "liae":
            super().__init__(config, nn.Sequential(*convs, nn.Flatten()))
            self.inter_b = liae_intermediate(features, dims, side)
            self.inter_both = liae_intermediate(features, dims, side)
            self.decoder = SaeDecoder(dims * 4, *sizes)
        else:
            encoder = nn.Sequential(*convs, *dense_code(features, dims, dims, side),
                                    UpscaleBlock(dims, dims))
            super().__init__(config, encoder, SaeDecoder(dims, *sizes),
                             SaeDecoder(dims, *sizes))

    def _decode(self, code: Tensor, side: str) -> ModelOutput:
        return self._decode_scales(code, side, smaller=False)[0]

    def _decode_scales(self, code: Tensor, side: str, smaller: bool = True
                       ) -> tuple[ModelOutput, tuple[Tensor, ...]]:
        if self.decoders:
            return self.decoders[side](code, smaller)
        both = self.inter_both(code)
        own = self.inter_b(code) if side == "b" else both
        return self.decoder(torch.cat([own, both], 1), smaller)

    def decode_multiscale(self, code: Tensor, side: str
                          ) -> tuple[ModelOutput, tuple[Tensor, ...]]:
        check_side(side)
        return self._decode_scales(code, side)

    def side_parameters(self, side: str) -> list[nn.Parameter]:
        check_side(side)
        if self.decoders:
            return list(self.decoders[side].parameters())
        return list(self.inter_b.parameters()) if side == "b" else []
