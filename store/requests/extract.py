"""The settings of an extraction (names, defaults, bounds and help, in field metadata) and
the extract job's request.

The CLI, the Extract screen and the extract job all read them from here (the TUI cannot
import the pipeline); a pipeline test checks the backend names against its registry.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from store import faces, sources
from store.errors import RequestError
from store.requests.options import field_problems

AUTO = "auto"
DETECTORS = (AUTO, "dlib-hog", "mmod", "dlib-mmod", "s3fd")
ALIGNERS = (AUTO, "dlib", "fan")
# The masks extraction stores by default: the landmark hulls, cheap and needing no weights.
MASKS = ("components", "extended")
# Face parsing (BiSeNet, CelebAMask-HQ classes): face (skin, brows, eyes, nose, lips), face
# with hair, head (face, hair, ears, neck). They need the network's weights.
PARSING_MASKS = ("bisenet-face", "bisenet-hair", "bisenet-head")
MASK_KINDS = MASKS + PARSING_MASKS
MIN_CROP, MAX_CROP = 256, 1024


@dataclass(frozen=True)
class ExtractSettings:
    every_n: int = field(default=1, metadata={"bounds": (1, 100_000),
        "help": "extract every n-th frame (1: every frame)"})
    detector: str = field(default=AUTO, metadata={"choices": DETECTORS,
        "help": "face detector: dlib-hog (fast, CPU), mmod (dlib's CNN in PyTorch: finds "
                "turned faces too, slower on CPU), dlib-mmod (the same in dlib: very slow), "
                "s3fd (face-alignment, needs its weights; best on GPU); auto picks s3fd with "
                "CUDA, else dlib-hog"})
    aligner: str = field(default=AUTO, metadata={"choices": ALIGNERS,
        "help": "68-point aligner: dlib (CPU) or fan (face-alignment 2D-FAN, needs its "
                "weights); auto picks fan with CUDA, else dlib"})
    size: int = field(default=512, metadata={"bounds": (MIN_CROP, MAX_CROP),
        "help": f"side of the aligned crop stored per face, {MIN_CROP} to {MAX_CROP} px (it "
                "has head room: face or head centering is cut from it at train time)"})
    min_size: float = field(default=2.0, metadata={"bounds": (0.0, 99.0),
        "help": "smallest face kept, as a percentage of the frame's short side (smaller ones "
                "are stored as rejected)"})
    detect_size: int = field(default=640, metadata={"bounds": (0, 8192),
        "help": "long side, in px, a frame is scaled down to for detection (boxes are scaled "
                "back, landmarks found on the full frame); 0: the full frame. Smaller is "
                "faster and finds fewer small faces: HOG and MMOD find faces down to ~80 px of "
                "it, ~40 px when min size asks for smaller ones (they upsample it once)"})
    filter: tuple[str, ...] = field(default=(), metadata={
        "help": "reference photos: keep only faces that look like these people"})
    nfilter: tuple[str, ...] = field(default=(), metadata={
        "help": "reference photos: drop faces that look like these people"})
    threshold: float = field(default=0.6, metadata={"bounds": (0.01, 1.99),
        "help": "identity distance under which a face counts as the same person as a "
                "reference photo (dlib descriptors; 0.6 is dlib's usual threshold)"})
    masks: tuple[str, ...] = field(default=MASKS, metadata={
        "help": f"landmark masks to store, and face-parsing ones, comma-separated: "
                f"{', '.join(MASK_KINDS)} (BiSeNet's face, face with hair, and head; its "
                "weights are downloaded on first use)"})
    mask_glasses: bool = field(default=True, metadata={
        "help": "face-parsing masks take in glasses (no: the lenses and frames are left out "
                "of the mask, as an obstruction)"})
    mask_mouth: bool = field(default=True, metadata={
        "help": "face-parsing masks take in the inside of the mouth (no: only the lips; "
                "teeth and tongue are left out)"})

    def problems(self) -> list[str]:
        """What is wrong with these settings, one line each (empty when they are fine)."""
        found = field_problems(self)
        unknown = [m for m in self.masks if m not in MASK_KINDS]
        if unknown:
            found.append(f"unknown mask(s) {', '.join(unknown)} "
                         f"(known: {', '.join(MASK_KINDS)})")
        return found

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExtractSettings:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


HELP = {setting.name: setting.metadata["help"] for setting in fields(ExtractSettings)}


def extract_jobs(conn: sqlite3.Connection, references: Sequence[str], settings: ExtractSettings, *,
                 force: bool = False, skip_existing: bool = False,
                 drop_manual: bool = False) -> list[dict]:
    """The params of one extract job per source; sources already extracted are left out when
    `skip_existing`. A forced one keeps the faces placed by hand unless `drop_manual`."""
    params = []
    for reference in references:
        try:
            source = sources.resolve(conn, reference)
        except sources.SourceNotFoundError as exc:
            raise RequestError(str(exc)) from None
        if skip_existing and faces.get_extraction(conn, source.id) is not None:
            continue
        params.append({"source_id": source.id, "settings": settings.to_json(), "force": force,
                       "drop_manual": drop_manual})
    return params


def manual_faces_at_stake(conn: sqlite3.Connection, params: Sequence[dict]) -> int:
    """How many faces placed by hand the forced re-extractions these jobs ask for would find
    (kept, or dropped with `drop_manual`)."""
    return sum(faces.count_manual(conn, p["source_id"]) for p in params if p.get("force"))
