"""Batches of one side's training faces, drawn as faceswap draws them: every face once per
epoch, in an order shuffled afresh for each epoch; a batch that runs past the end of an epoch
goes on into the next.

An epoch's order comes from one seed drawn from the caller's generator, so the sampler's
position (`state()`) is a few integers that fit a checkpoint's JSON: restored together with
the generator's state, a resumed run draws exactly the batches an unbroken one would have.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from pipeline.train.face_cache import FaceCache

SEED_LIMIT = 2 ** 62


class Sampler:
    """Draws batches from `rows` of a cache (the faces it may train on)."""

    def __init__(self, cache: FaceCache, rows: Sequence[int]) -> None:
        if len(rows) == 0:
            raise ValueError("a sampler needs at least one face")
        self.cache = cache
        self.rows = np.asarray(rows, np.int64)
        face_ids = np.asarray([cache.face_ids[row] for row in self.rows], "<i8")
        self.faces_digest = hashlib.sha256(face_ids.tobytes()).hexdigest()[:16]
        self._restart()

    def next_rows(self, generator: torch.Generator, batch_size: int) -> np.ndarray:
        """The cache rows of the next batch."""
        taken: list[np.ndarray] = []
        wanted = batch_size
        while wanted:
            if self._position == len(self._order):
                self._shuffle(int(torch.randint(SEED_LIMIT, (1,), generator=generator,
                                                device=generator.device)))
                self.epoch += 1
            step = min(wanted, len(self._order) - self._position)
            taken.append(self._order[self._position:self._position + step])
            self._position += step
            wanted -= step
        return self.rows[np.concatenate(taken)]

    def sample(self, generator: torch.Generator, batch_size: int,
               device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch: images N x 3 x S x S RGB in [0, 1] and masks N x K x S x S in
        [0, 1] (the cache's `mask_channels`), on `device`."""
        return batch_tensors(self.cache, self.next_rows(generator, batch_size), device)

    def state(self) -> dict[str, Any]:
        return {"faces": self.faces_digest, "epoch": self.epoch, "seed": self._seed,
                "position": self._position}

    def load_state(self, state: dict[str, Any]) -> bool:
        """Continue from a saved position; False (and a fresh start) when the faces are not
        the ones it was saved with, as after adding or excluding faces."""
        if state.get("faces") != self.faces_digest:
            self._restart()
            return False
        if state["seed"] is not None:
            self._shuffle(int(state["seed"]))
        self.epoch, self._position = int(state["epoch"]), int(state["position"])
        return True

    def _restart(self) -> None:
        self.epoch = 0                      # epochs begun
        self._seed: int | None = None       # of the current epoch's order
        self._order = np.zeros(0, np.int64)
        self._position = 0                  # faces of the current epoch already drawn

    def _shuffle(self, seed: int) -> None:
        self._seed = seed
        shuffler = torch.Generator().manual_seed(seed)
        self._order = torch.randperm(len(self.rows), generator=shuffler).numpy()
        self._position = 0


def batch_tensors(cache: FaceCache, rows: np.ndarray,
                  device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Images and masks of cache rows as float tensors on `device`; the bytes travel as
    uint8 (through pinned memory to a GPU) and become floats there."""
    device = torch.device(device)
    images = torch.from_numpy(np.ascontiguousarray(cache.images[rows]))
    masks = torch.from_numpy(np.ascontiguousarray(cache.masks[rows]))
    if device.type == "cuda":
        images, masks = images.pin_memory(), masks.pin_memory()
    return _to_float(images, device), _to_float(masks, device)


def _to_float(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """N x S x S x C uint8 -> N x C x S x S float in [0, 1] on `device`."""
    moved = batch.to(device, non_blocking=True).permute(0, 3, 1, 2).contiguous()
    return moved.float().div_(255)
