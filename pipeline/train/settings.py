"""The settings of a training run: what may change from one run of a session to the next.

What may not change (the model and its options, the cut of the faces, the losses) is the
session's frozen config; see `pipeline.train.session_config`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.train.augment import AugmentSettings
from pipeline.train.settings_dict import known_names


@dataclass(frozen=True)
class RunSettings:
    """Per-run settings (faceswap's defaults where it has one)."""

    iterations: int = field(default=100_000, metadata={
        "help": "Stop when the session reaches this many iterations (its total, not this "
                "run's)."})
    batch_size: int = field(default=16, metadata={
        "help": "Faces of each side per iteration. Larger batches train faster per face but "
                "need more memory."})
    learning_rate: float = field(default=5e-5, metadata={
        "help": "Adam's learning rate. Lower it if the loss jumps about or turns NaN."})
    epsilon: float = field(default=1e-7, metadata={
        "help": "Adam's epsilon, which keeps its steps finite; raise it (1e-5, 1e-4) if "
                "mixed precision gives NaNs."})
    warmup: int = field(default=0, metadata={
        "help": "Iterations over which the learning rate rises from 0 to its value at the "
                "start of the session (0: none)."})
    mixed_precision: bool = field(default=True, metadata={
        "help": "Compute in bfloat16 where it is safe and the hardware has it (GPUs, CPUs "
                "with AVX-512 BF16 or AMX): about twice as fast, with float32 weights; "
                "elsewhere float32 is used, as emulated bfloat16 is far slower."})
    save_every: int = field(default=250, metadata={
        "help": "Save the model, a preview and the swap metrics every this many "
                "iterations."})
    snapshot_every: int = field(default=25_000, metadata={
        "help": "Keep a copy of the model every this many iterations (0: never)."})
    backups: int = field(default=3, metadata={
        "help": "How many backups to keep: one is made when the average loss reaches a "
                "new low at a save."})
    nan_retries: int = field(default=3, metadata={
        "help": "How many times a run rolls back to its last good save after a NaN or Inf, "
                "halving the learning rate each time, before it gives up."})
    augment: AugmentSettings = field(default_factory=AugmentSettings, metadata={
        "help": "Random changes made to the training faces."})

    def __post_init__(self) -> None:
        for name in ("iterations", "batch_size", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be 1 or more, not {getattr(self, name)}")
        for name in ("warmup", "snapshot_every", "backups", "nan_retries"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, not {getattr(self, name)}")
        for name in ("learning_rate", "epsilon"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """From a stored or edited dict; unknown names are refused."""
        values = dict(known_names(cls, data, "run setting"))
        if isinstance(values.get("augment"), dict):
            values["augment"] = AugmentSettings(**known_names(
                AugmentSettings, values["augment"], "augmentation setting"))
        return cls(**values)

    def learning_rate_at(self, iteration: int) -> float:
        """The learning rate for an iteration of the session, warm-up included."""
        if self.warmup and iteration < self.warmup:
            return self.learning_rate * (iteration + 1) / self.warmup
        return self.learning_rate



def merge_settings(stored: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A run's settings: the stored ones with some changed (augmentation switch by switch)."""
    merged = {**stored, **overrides}
    if isinstance(stored.get("augment"), dict) and isinstance(overrides.get("augment"), dict):
        merged["augment"] = {**stored["augment"], **overrides["augment"]}
    return merged
