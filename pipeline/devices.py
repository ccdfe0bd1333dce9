"""Where models run, and in what precision."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

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


def available_cores() -> int:
    """The cores this process may run on (taskset, cgroup CPU sets), not the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """torch's intra-op threads for one call, then back to what the process had."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
