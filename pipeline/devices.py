"""Where models run, and in what precision."""
from __future__ import annotations

import torch


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether the hardware runs bf16 natively (elsewhere bf16 is emulated: measured 30x
    slower than fp32 for a model's convolutions on an AVX2-only CPU)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    # torch has no public query for these CPU features; pinned torch==2.13 has both helpers.
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
