"""What the trainer needs to agree on across its replicas: one process per GPU under
torch.distributed, or a single process where every agreement is trivial.

Every rank trains on its own batches; DistributedDataParallel averages the gradients, so the
weights stay identical. Rank 0 alone writes to the store and to disk. The decisions that
must not differ between ranks (stop, cancel, save now, a NaN in any rank's loss) are taken
together, with one small all-reduce per iteration.
"""
from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


class Replicas:
    """A single process: rank 0 of a world of one."""

    rank = 0
    world_size = 1

    @property
    def is_writer(self) -> bool:
        """Whether this process writes the store and the model files."""
        return self.rank == 0

    def wrap(self, module: nn.Module, device: torch.device, may_skip: bool = False) -> nn.Module:
        """The module the training step calls (DistributedDataParallel under torch.distributed).
        `may_skip`: some weights may get no gradient in a step (a learned mask's branch when
        the faces have no mask to learn from), which DistributedDataParallel must look for."""
        return module

    def agree(self, flags: list[bool]) -> list[bool]:
        """Each flag, true when it is true on any rank."""
        return flags

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean over the ranks (a NaN on any rank makes it NaN on all of them)."""
        return values

    def gather(self, value: Any) -> list[Any]:
        """Every rank's value, in rank order (on every rank)."""
        return [value]

    def accumulating(self, module: nn.Module) -> AbstractContextManager[Any]:
        """Around a micro-batch whose gradients are summed with the next one's: the wrapped
        `module` then skips its gradient all-reduce (it runs once, with the last)."""
        return nullcontext()

    def average_gradients(self, module: nn.Module) -> None:
        """Average the gradients of a module that is not wrapped (a discriminator)."""

    def barrier(self) -> None:
        """Wait for every rank."""


class DistributedReplicas(Replicas):
    """One of `world_size` processes of an initialised torch.distributed process group."""

    def __init__(self, device: torch.device) -> None:
        if not dist.is_initialized():
            raise RuntimeError("torch.distributed is not initialised")
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.device = device
        # gloo reduces CPU tensors; nccl reduces tensors on this rank's GPU
        self._reduce_device = device if dist.get_backend() == "nccl" else torch.device("cpu")

    def wrap(self, module: nn.Module, device: torch.device, may_skip: bool = False) -> nn.Module:
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids,
                                                   find_unused_parameters=may_skip)

    def agree(self, flags: list[bool]) -> list[bool]:
        values = torch.tensor([int(flag) for flag in flags], dtype=torch.int32,
                              device=self._reduce_device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return [bool(value) for value in values.tolist()]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        reduced = values.detach().to(self._reduce_device, torch.float32, copy=True)
        dist.all_reduce(reduced)
        return reduced.div_(self.world_size).to(values.device)

    def gather(self, value: Any) -> list[Any]:
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def accumulating(self, module: nn.Module) -> AbstractContextManager[Any]:
        assert isinstance(module, nn.parallel.DistributedDataParallel)
        return module.no_sync()

    def average_gradients(self, module: nn.Module) -> None:
        for parameter in module.parameters():
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad.div_(self.world_size)

    def barrier(self) -> None:
        dist.barrier()


def weights_digest(module: nn.Module) -> str:
    """A digest of the exact bytes of every weight, to check that replicas are identical."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class BothSides(nn.Module):
    """Both sides' forward passes as one call. DistributedDataParallel averages gradients
    once per forward; with one call per side, the first backward would miss the other
    decoder's weights."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs_a: torch.Tensor, inputs_b: torch.Tensor) -> tuple[Any, Any]:
        """Each side's (code, output, smaller faces of a multiscale decoder)."""
        return self._side(inputs_a, "a"), self._side(inputs_b, "b")

    def _side(self, inputs: torch.Tensor, side: str) -> tuple[Any, ...]:
        code = self.model.encode(inputs)
        return (code, *self.model.decode_multiscale(code, side))
