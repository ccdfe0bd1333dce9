"""The occlusion mask's network: a small U-Net (DeepFaceLab's XSeg is one) that maps an
aligned face to a mask logit per pixel.

Each level holds two 3x3 convolutions with group norm and ReLU; the encoder halves the size
and doubles the channels from level to level, the decoder comes back up with transposed
convolutions, joining each level's encoder features (the U's skips). With 16 channels and 5
levels it has about 2 million parameters.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

GROUPS = 8          # group norm's groups (the first level's channels must be a multiple)


@dataclass(frozen=True)
class XSegConfig:
    resolution: int = 256   # side of the square face it masks
    channels: int = 16      # of the first level, doubled at each level down
    levels: int = 5         # the deepest sees resolution / 2**(levels - 1)

    def __post_init__(self) -> None:
        if self.levels < 2 or self.channels < GROUPS or self.channels % GROUPS:
            raise ValueError(f"an XSeg network needs 2 levels or more and a multiple of "
                             f"{GROUPS} channels, not {self.levels} and {self.channels}")
        if self.resolution % (1 << (self.levels - 1)):
            raise ValueError(f"resolution {self.resolution} does not halve {self.levels - 1} "
                             "times into whole pixels")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> XSegConfig:
        return cls(**{k: int(v) for k, v in data.items() if k in ("resolution", "channels",
                                                                  "levels")})


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by group norm and ReLU."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__(nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
                         nn.GroupNorm(GROUPS, outputs), nn.ReLU(inplace=True),
                         nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
                         nn.GroupNorm(GROUPS, outputs), nn.ReLU(inplace=True))


class Up(nn.Module):
    """Double the size (transposed convolution), join the skip, then a ConvBlock."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.grow = nn.ConvTranspose2d(inputs, outputs, 2, stride=2)
        self.block = ConvBlock(2 * outputs, outputs)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.grow(x), skip], dim=1))


class XSeg(nn.Module):
    """images: N x 3 x R x R RGB in [0, 1] -> N x 1 x R x R logits (sigmoid: the mask)."""

    def __init__(self, config: XSegConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.channels << level for level in range(config.levels)]
        self.down = nn.ModuleList(ConvBlock(inputs, outputs)
                                  for inputs, outputs in zip([3, *widths[:-1]], widths))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(Up(inputs, outputs)
                                for inputs, outputs in zip(widths[:0:-1], widths[-2::-1]))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images * 2 - 1
        skips = []
        for level, block in enumerate(self.down):
            x = block(x if level == 0 else self.pool(x))
            skips.append(x)
        for up, skip in zip(self.up, reversed(skips[:-1])):
            x = up(x, skip)
        return self.head(x)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def predict(network: XSeg, images: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """The masks, N x 1 x R x R in [0, 1], of N x 3 x R x R faces (resized to the network's
    resolution first when they are not at it)."""
    size = network.config.resolution
    if images.shape[-1] != size:
        images = nn.functional.interpolate(images, size=(size, size), mode="area")
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = network(images)
    return torch.sigmoid(logits.float())
