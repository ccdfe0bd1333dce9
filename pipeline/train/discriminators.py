"""DeepFaceLab's two discriminators (SAEHD), written for PyTorch.

- CodeDiscriminator ("true face"): reads the encoder's code and says which person it came
  from. 1 + code_size // 8 stride-2 convolutions (4x4 first, then 3x3) of 256, 512, ...
  (times 2 per layer, at most 8 x 256) filters with LeakyReLU(0.1), then a 1x1 convolution to
  one logit per position.
- PatchDiscriminator (DFL's UNetPatchDiscriminator, after Schonfeld et al. 2020, "A U-Net
  Based Discriminator for GANs"): a 1x1 entry convolution to `base` filters, a stack of 3x3
  convolutions whose strides are chosen so that the receptive field is the wanted patch size
  (`patch_layers`), each doubling the filters up to 512, then the mirror stack of transposed
  convolutions with skip connections, all with LeakyReLU(0.2). It gives two sets of logits:
  one per patch at the bottom of the U (`center`) and one per pixel at the top (`pixels`).

As in DFL, kernels are Glorot uniform and biases zero. TensorFlow's 'SAME' padding of a
stride-2 convolution pads only after (bottom and right) on even sizes; here both sides are
padded, which shifts the sampling grid by a pixel and leaves every shape as DFL's. Where an
odd size makes an up-sampled map one pixel larger than its skip, it is cropped (DFL's
TensorFlow graph would refuse such a size).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

CODE_FILTERS = 256       # DFL's CodeDiscriminator ch
CODE_SLOPE = 0.1
PATCH_SLOPE = 0.2
PATCH_MAX_FILTERS = 512
PATCH_MAX_LAYERS = 9     # DFL searches stacks of 1 to 9 layers
PATCH_KERNEL = 3


def _init(module: nn.Module) -> None:
    """Glorot-uniform kernels and zero biases (DFL's leras defaults)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class CodeDiscriminator(nn.Module):
    """Logits N x 1 x h x w: high where it takes the code for the 'real' person's."""

    def __init__(self, code_channels: int, code_size: int) -> None:
        super().__init__()
        if code_channels < 1 or code_size < 1:
            raise ValueError(f"a code discriminator needs a code of at least 1 x 1 x 1, not "
                             f"{code_channels} x {code_size} x {code_size}")
        layers: list[nn.Module] = []
        channels = code_channels
        for index in range(1 + code_size // 8):
            filters = CODE_FILTERS * min(2 ** index, 8)
            kernel = 4 if index == 0 else 3
            layers += [nn.Conv2d(channels, filters, kernel, stride=2, padding=1),
                       nn.LeakyReLU(CODE_SLOPE)]
            channels = filters
        layers.append(nn.Conv2d(channels, 1, 1))
        self.layers = nn.Sequential(*layers)
        _init(self)

    def forward(self, code: Tensor) -> Tensor:
        return self.layers(code)


def receptive_field(strides: Sequence[int], kernel: int = PATCH_KERNEL) -> int:
    """The receptive field of a stack of `kernel`-sized convolutions with these strides."""
    field, step = kernel, strides[0]
    for stride in strides[1:]:
        field += (kernel - 1) * step
        step *= stride
    return field


def patch_layers(patch_size: int) -> tuple[int, ...]:
    """The strides of DFL's patch discriminator for a wanted patch size.

    Stacks of 1 to 9 3x3 convolutions, the first of stride 2 and each other of stride 1 or
    2: for each receptive field the fewest layers win, then the most striding; the field
    nearest `patch_size` is taken (the smaller one on a tie). Candidates are visited in DFL's
    order (per depth, stride patterns counting down from all 2s), so ties fall as in DFL.
    """
    if patch_size < 1:
        raise ValueError(f"a patch size must be 1 or more, not {patch_size}")
    best: dict[int, tuple[int, int, tuple[int, ...]]] = {}
    for depth in range(1, PATCH_MAX_LAYERS + 1):
        for pattern in range(2 ** (depth - 1) - 1, -1, -1):
            strides = (2, *(1 + (pattern >> bit & 1) for bit in range(depth - 1)))
            field = receptive_field(strides)
            known = best.get(field)
            if known is None or depth < known[0] or (depth == known[0]
                                                     and sum(strides) > known[1]):
                best[field] = (depth, sum(strides), strides)
    nearest = min(sorted(best), key=lambda field: abs(field - patch_size))
    return best[nearest][2]


class PatchDiscriminator(nn.Module):
    """(center, pixels) logits: N x 1 x (S / product of strides)^2 and N x 1 x S x S."""

    def __init__(self, patch_size: int, in_channels: int, base_filters: int) -> None:
        super().__init__()
        self.strides = patch_layers(patch_size)
        widths = [min(base_filters * 2 ** level, PATCH_MAX_FILTERS)
                  for level in range(len(self.strides) + 1)]
        self.entry = nn.Conv2d(in_channels, widths[0], 1)
        self.down = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], PATCH_KERNEL, stride, padding=1)
            for i, stride in enumerate(self.strides))
        deepest = len(self.strides) - 1
        # deepest first: each reads the level below, joined with its skip (but the deepest)
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1] * (1 if i == deepest else 2), widths[i],
                               PATCH_KERNEL, stride, padding=1, output_padding=stride - 1)
            for i, stride in reversed(list(enumerate(self.strides))))
        self.center_out = nn.Conv2d(widths[-1], 1, 1)
        self.center_conv = nn.Conv2d(widths[-1], widths[-1], 1)
        self.exit = nn.Conv2d(widths[0] * 2, 1, 1)
        self.activation = nn.LeakyReLU(PATCH_SLOPE)
        _init(self)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = self.activation(self.entry(images))
        skips = []
        for conv in self.down:
            skips.append(x)
            x = self.activation(conv(x))
        center = self.center_out(x)
        x = self.activation(self.center_conv(x))
        for conv, skip in zip(self.up, reversed(skips)):
            x = self.activation(conv(x))[..., :skip.shape[-2], :skip.shape[-1]]
            x = torch.cat([skip, x], dim=1)
        return center, self.exit(x)
