"""DeepFaceLab's discriminators: DFL's layer rules and the shapes they give."""
from __future__ import annotations


import pytest
import torch

from pipeline.train.discriminators import (CodeDiscriminator, PatchDiscriminator,
                                           patch_layers, receptive_field)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_receptive_field_adds_kernel_steps_scaled_by_the_strides_before() -> None:
    assert receptive_field((2,)) == 3
    assert receptive_field((2, 2)) == 7          # 3 + 2 * 2
    assert receptive_field((2, 2, 1)) == 15      # 3 + 2 * 2 + 2 * 4
    assert receptive_field((2, 1, 2)) == 11      # 3 + 2 * 2 + 2 * 2


@pytest.mark.parametrize("patch_size, strides", [
    (3, (2,)), (4, (2,)),
    (5, (2,)),             # fields 3 and 7 are as near: the smaller wins, as in DFL
    (8, (2, 2)),           # DFL's default at 64 px: field 7; the last stride is free, 2 wins
    (11, (2, 1, 2)),       # field 11 needs a stride of 1 in the second layer
    (16, (2, 2, 2)),       # 128 px: field 15 in three layers (four could make it too)
    (32, (2, 2, 2, 2)),    # 256 px: field 31
])
def test_patch_layers_take_the_fewest_layers_nearest_the_patch(
        patch_size: int, strides: tuple[int, ...]) -> None:
    assert patch_layers(patch_size) == strides


def test_patch_layers_get_close_to_every_allowed_size() -> None:
    for patch_size in (3, 20, 50, 100, 300, 640):
        field = receptive_field(patch_layers(patch_size))
        assert abs(field - patch_size) <= max(2, patch_size // 8), (patch_size, field)


@pytest.mark.parametrize("code_size, positions", [(8, 2), (16, 2), (4, 2)])
def test_the_code_discriminator_gives_logits_per_position(code_size: int,
                                                          positions: int) -> None:
    # 1 + code_size // 8 stride-2 layers: 8 -> 4 -> 2; 16 -> 8 -> 4 -> 2; 4 -> 2
    discriminator = CodeDiscriminator(12, code_size)
    logits = discriminator(torch.randn(3, 12, code_size, code_size))
    assert logits.shape == (3, 1, positions, positions)
    convolutions = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convolutions] == \
        [256 * 2 ** i for i in range(1 + code_size // 8)] + [1]


@pytest.mark.parametrize("size, patch_size, center", [(32, 4, 16), (64, 8, 16), (48, 16, 6),
                                                      (36, 16, 5)])
def test_the_patch_discriminator_gives_patch_and_pixel_logits(size: int, patch_size: int,
                                                              center: int) -> None:
    discriminator = PatchDiscriminator(patch_size, 3, 4)
    low, high = discriminator(torch.rand(2, 3, size, size))
    assert low.shape == (2, 1, center, center)      # 36 -> 18 -> 9 -> 5: odd sizes round up
    assert high.shape == (2, 1, size, size)
    widths = [conv.out_channels for conv in discriminator.down]
    assert widths == [4 * 2 ** (i + 1) for i in range(len(discriminator.strides))]


def test_patch_discriminator_widths_stop_at_512() -> None:
    discriminator = PatchDiscriminator(16, 3, 128)
    assert [conv.out_channels for conv in discriminator.down] == [256, 512, 512]
