"""The settings of a training run: what may change from one run of a session to the next.

What may not change (the model and its options, the cut of the faces, the losses) is the
session's frozen config; see `pipeline.train.session_config`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.train.augment import AugmentSettings
from pipeline.train.extras import ExtrasSettings
from store.requests.catalogue import load
from store.requests.options import field_problems, known_names

CLIPPINGS = ("none", "global_norm", "norm", "value", "autoclip")


@dataclass(frozen=True)
class RunSettings:
    """Per-run settings (faceswap's defaults where it has one)."""

    iterations: int = field(default=100_000, metadata={"bounds": (1, 1_000_000_000),
        "help": "Stop when the session reaches this many iterations (its total, not this "
                "run's)."})
    batch_size: int = field(default=16, metadata={"bounds": (1, 4096),
        "help": "Faces of each side per iteration. Larger batches train faster per face but "
                "need more memory."})
    learning_rate: float = field(default=5e-5, metadata={
        "bounds": (1e-10, 1.0), "aliases": ("--lr",),
        "help": "The optimizer's learning rate. Lower it if the loss jumps about or turns "
                "NaN (lion wants one 3 to 10 times lower than adam's)."})
    epsilon: float = field(default=1e-7, metadata={"bounds": (1e-20, 1.0),
        "help": "The optimizer's epsilon, which keeps its steps finite; raise it (1e-5, "
                "1e-4) if mixed precision gives NaNs. adabelief wants far less (about "
                "1e-16); lion has none."})
    warmup: int = field(default=0, metadata={"bounds": (0, 1_000_000_000),
        "help": "Iterations over which the learning rate rises from 0 to its value at the "
                "start of the session (0: none)."})
    mixed_precision: bool = field(default=True, metadata={
        "help": "Compute in bfloat16 where it is safe and the hardware has it (GPUs, CPUs "
                "with AVX-512 BF16 or AMX): about twice as fast, with float32 weights; "
                "elsewhere float32 is used, as emulated bfloat16 is far slower."})
    save_every: int = field(default=250, metadata={"bounds": (1, 1_000_000_000),
        "help": "Save the model, a preview and the swap metrics every this many "
                "iterations."})
    snapshot_every: int = field(default=25_000, metadata={"bounds": (0, 1_000_000_000),
        "help": "Keep a copy of the model every this many iterations (0: never)."})
    backups: int = field(default=3, metadata={"bounds": (0, 1000),
        "help": "How many backups to keep: one is made when the average loss reaches a "
                "new low at a save."})
    nan_retries: int = field(default=3, metadata={"bounds": (0, 100),
        "help": "How many times a run rolls back to its last good save after a NaN or Inf, "
                "halving the learning rate each time, before it gives up."})
    accumulation: int = field(default=1, metadata={"bounds": (1, 100),
        "help": "Batches whose gradients are averaged into each update (faceswap's gradient "
                "accumulation): an iteration then trains batch_size x accumulation faces of "
                "each side in the memory of one batch."})
    clipping: str = field(default="none", metadata={"choices": CLIPPINGS,
        "help": "Gradient clipping before each update: global_norm (all gradients together "
                "to a norm of clip_value), norm (each weight's gradient to that norm), value "
                "(each number to +-clip_value), autoclip (all together to a percentile of "
                "the norms seen so far) or none."})
    clip_value: float = field(default=1.0, metadata={"bounds": (0.001, 10.0),
        "help": "The largest gradient norm (global_norm, norm) or value (value) that "
                "clipping lets through."})
    autoclip_percentile: float = field(default=10.0, metadata={"bounds": (0.0, 100.0),
        "help": "autoclip clips the gradient norm to this percentile of the norms seen so "
                "far (10: nine in ten updates are clipped)."})
    autoclip_history: int = field(default=10_000, metadata={"bounds": (100, 100_000),
        "help": "How many of the latest updates' gradient norms autoclip takes its "
                "percentile of."})
    freeze_weights: bool = field(default=False, metadata={
        "help": "Keep the encoder (the weights --load-weights reuses) as it is and train only "
                "the rest, as faceswap's freeze-weights does."})
    gpus: int = field(default=1, metadata={"bounds": (1, 64),
        "help": "GPUs to train on: more than 1 runs one process per GPU under torchrun "
                "(DistributedDataParallel), each with its own batch of batch_size faces."})
    augment: AugmentSettings = field(default_factory=AugmentSettings, metadata={
        "help": "Random changes made to the training faces."})
    extras: ExtrasSettings = field(default_factory=ExtrasSettings, metadata={
        "help": "DeepFaceLab's extras: true face, GAN, face and background style, colour "
                "transfer."})

    def __post_init__(self) -> None:
        if problems := field_problems(self):
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """From a stored or edited dict; unknown names are refused."""
        values = dict(known_names(cls, data, "run setting"))
        if isinstance(values.get("augment"), dict):
            values["augment"] = AugmentSettings(**known_names(
                AugmentSettings, values["augment"], "augmentation setting"))
        if isinstance(values.get("extras"), dict):
            values["extras"] = ExtrasSettings.from_dict(values["extras"])
        return cls(**values)

    def learning_rate_at(self, iteration: int) -> float:
        """The learning rate for an iteration of the session, warm-up included."""
        if self.warmup and iteration < self.warmup:
            return self.learning_rate * (iteration + 1) / self.warmup
        return self.learning_rate


def merge_settings(stored: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A run's settings: the stored ones with some changed (the nested groups, augmentation
    and extras, setting by setting)."""
    return load().train.merge(stored, overrides)
