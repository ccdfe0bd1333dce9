"""How the training faces are cut and masked: part of a session's frozen config, since a
model learns one cut and one size."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.train.cut import CENTERINGS, MIN_COVERAGE, Window, window
from pipeline.train.settings_dict import known_names

MASK_TYPES = ("none", "components", "extended")
MIN_SIZE, MAX_SIZE = 32, 1024


class TrainingDataError(ValueError):
    """The faces cannot become training data as asked; the message says what to do."""


@dataclass(frozen=True)
class DataSettings:
    """faceswap 2's defaults: face centering, 87.5% coverage, the extended mask, blur 3."""

    centering: str = field(default="face", metadata={"choices": CENTERINGS,
        "help": "What the training image is centred on: face (the middle of the face), head "
                "(the middle of the skull: a wider cut for swapping the whole head) or legacy "
                "(the nose, as faceswap's first extractor did)."})
    coverage: float = field(default=0.875, metadata={
        "help": "How much of the centering's area to train on, 0.625 to 1: less zooms in "
                "for more detail, more takes in the edges of the face. Our stored crop holds "
                "face centering up to about 0.93 and head centering up to about 0.67."})
    vertical_offset: float = field(default=0.0, metadata={
        "help": "Move the cut up (positive: more forehead, less chin) or down (negative), as "
                "a fraction of the face's size, -0.25 to 0.25."})
    mask_type: str = field(default="extended", metadata={"choices": MASK_TYPES,
        "help": "The face mask to train with: extended (face and forehead), components (the "
                "face's parts) or none."})
    mask_blur: int = field(default=3, metadata={
        "help": "Gaussian blur of the face mask's edge, in pixels of a 128 px image (scaled "
                "with the training size), 0 to 9; an even size is rounded up to odd."})
    size: int = field(default=128, metadata={"default_text": "the model's largest size",
        "help": f"Side of the cached training images in pixels, {MIN_SIZE} to {MAX_SIZE}: "
                "the largest size the model reads or makes (smaller inputs are resized from "
                "it)."})

    def __post_init__(self) -> None:
        problems = []
        if self.centering not in CENTERINGS:
            problems.append(f"centering is one of {', '.join(CENTERINGS)}, not "
                            f"{self.centering!r}")
        if not (math.isfinite(self.coverage) and MIN_COVERAGE <= self.coverage <= 1):
            problems.append(f"coverage is a fraction from {MIN_COVERAGE} to 1, not "
                            f"{self.coverage}")
        if not (math.isfinite(self.vertical_offset) and abs(self.vertical_offset) <= 0.25):
            problems.append(f"vertical_offset is from -0.25 to 0.25, not {self.vertical_offset}")
        if self.mask_type not in MASK_TYPES:
            problems.append(f"mask_type is one of {', '.join(MASK_TYPES)}, not "
                            f"{self.mask_type!r}")
        if not 0 <= self.mask_blur <= 9:
            problems.append(f"mask_blur is from 0 to 9, not {self.mask_blur}")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            problems.append(f"size is from {MIN_SIZE} to {MAX_SIZE}, not {self.size}")
        if not problems:
            try:
                window(self.centering, self.coverage, self.vertical_offset)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise TrainingDataError("; ".join(problems))

    @property
    def window(self) -> Window:
        return window(self.centering, self.coverage, self.vertical_offset)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSettings:
        """From a stored or edited dict; unknown names are refused."""
        return cls(**known_names(cls, data, "data setting", TrainingDataError))
