"""How the training faces are cut and masked: part of a session's frozen config, since a
model learns one cut and one size."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.train.cut import CENTERINGS, MIN_COVERAGE, Window, window
from store.requests.options import field_problems, known_names

# The landmark masks are drawn from a face's points when a face lacks them; any other kind
# (face parsing, a trained occlusion mask: xseg-NAME) must be stored for every training face,
# which is checked against the project when the session is queued.
LANDMARK_MASKS = ("components", "extended")
MASK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
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
    coverage: float = field(default=0.875, metadata={"bounds": (MIN_COVERAGE, 1.0),
        "help": "How much of the centering's area to train on, 0.625 to 1: less zooms in "
                "for more detail, more takes in the edges of the face. Our stored crop holds "
                "face centering up to about 0.93 and head centering up to about 0.67."})
    vertical_offset: float = field(default=0.0, metadata={"bounds": (-0.25, 0.25),
        "help": "Move the cut up (positive: more forehead, less chin) or down (negative), as "
                "a fraction of the face's size, -0.25 to 0.25."})
    mask_type: str = field(default="extended", metadata={
        "help": "The face mask to train with: extended (face and forehead), components (the "
                "face's parts), none, or a mask stored after extraction, which every training "
                "face must have: bisenet-face, bisenet-hair, bisenet-head (face parsing: "
                "swapdeck masks add) or xseg-NAME (a trained occlusion mask: swapdeck masks "
                "apply)."})
    mask_blur: int = field(default=3, metadata={"bounds": (0, 9),
        "help": "Gaussian blur of the face mask's edge, in pixels of a 128 px image (scaled "
                "with the training size), 0 to 9; an even size is rounded up to odd."})
    size: int = field(default=128, metadata={
        "bounds": (MIN_SIZE, MAX_SIZE), "default_text": "the model's largest size",
        "help": f"Side of the cached training images in pixels, {MIN_SIZE} to {MAX_SIZE}: "
                "the largest size the model reads or makes (smaller inputs are resized from "
                "it)."})

    def __post_init__(self) -> None:
        problems = field_problems(self)
        if not MASK_NAME.fullmatch(self.mask_type):
            problems.append(f"mask_type must be none, components, extended or a stored mask "
                            f"kind such as bisenet-face, not {self.mask_type!r}")
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
