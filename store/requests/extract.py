"""The settings of an extraction: names, defaults, limits and help, in one place.

The CLI, the Extract screen and the extract job all read them from here (the TUI cannot
import the pipeline); a pipeline test checks the backend names against its registry.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from store import faces, sources
from store.errors import RequestError

AUTO = "auto"
DETECTORS = (AUTO, "dlib-hog", "dlib-mmod", "s3fd")
ALIGNERS = (AUTO, "dlib", "fan")
MASKS = ("components", "extended")
MIN_CROP, MAX_CROP = 256, 1024

HELP = {
    "every_n": "extract every n-th frame (1: every frame)",
    "detector": "face detector: dlib-hog (fast, CPU), dlib-mmod (CNN, slow on CPU), s3fd "
                "(face-alignment, needs its weights; best on GPU); auto picks s3fd with CUDA, "
                "else dlib-hog",
    "aligner": "68-point aligner: dlib (CPU) or fan (face-alignment 2D-FAN, needs its weights); "
               "auto picks fan with CUDA, else dlib",
    "size": f"side of the aligned crop stored per face, {MIN_CROP} to {MAX_CROP} px (it has head "
            "room: face or head centering is cut from it at train time)",
    "min_size": "smallest face kept, as a percentage of the frame's short side (smaller ones "
                "are stored as rejected)",
    "filter": "reference photos: keep only faces that look like these people",
    "nfilter": "reference photos: drop faces that look like these people",
    "threshold": "identity distance under which a face counts as the same person as a "
                 "reference photo (dlib descriptors; 0.6 is dlib's usual threshold)",
    "masks": f"landmark masks to store, comma-separated: {', '.join(MASKS)}",
}


@dataclass(frozen=True)
class ExtractSettings:
    every_n: int = 1
    detector: str = AUTO
    aligner: str = AUTO
    size: int = 512
    min_size: float = 2.0
    filter: tuple[str, ...] = ()
    nfilter: tuple[str, ...] = ()
    threshold: float = 0.6
    masks: tuple[str, ...] = MASKS

    def problems(self) -> list[str]:
        """What is wrong with these settings, one line each (empty when they are fine)."""
        found = []
        if self.every_n < 1:
            found.append(f"--every-n must be 1 or more, not {self.every_n}")
        if self.detector not in DETECTORS:
            found.append(f"unknown detector {self.detector!r} (known: {', '.join(DETECTORS)})")
        if self.aligner not in ALIGNERS:
            found.append(f"unknown aligner {self.aligner!r} (known: {', '.join(ALIGNERS)})")
        if not MIN_CROP <= self.size <= MAX_CROP:
            found.append(f"--size must be {MIN_CROP} to {MAX_CROP}, not {self.size}")
        if not 0 <= self.min_size < 100:
            found.append(f"--min-size is a percentage of the frame, 0 to 100, not {self.min_size}")
        if not 0 < self.threshold < 2:
            found.append(f"--threshold must be between 0 and 2, not {self.threshold}")
        unknown = [m for m in self.masks if m not in MASKS]
        if unknown:
            found.append(f"unknown mask(s) {', '.join(unknown)} (known: {', '.join(MASKS)})")
        return found

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExtractSettings:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


def extract_jobs(conn: sqlite3.Connection, references: Sequence[str], settings: ExtractSettings, *,
                 force: bool = False, skip_existing: bool = False) -> list[dict]:
    """The params of one extract job per source; sources already extracted are left out when
    `skip_existing`."""
    params = []
    for reference in references:
        try:
            source = sources.resolve(conn, reference)
        except sources.SourceNotFoundError as exc:
            raise RequestError(str(exc)) from None
        if skip_existing and faces.get_extraction(conn, source.id) is not None:
            continue
        params.append({"source_id": source.id, "settings": settings.to_json(), "force": force})
    return params
