"""The settings of a conversion: faceswap's Convert options, grouped as the Convert screen and
`swapdeck convert --help` show them. Percentages are typed as faceswap types them.

`python -m pipeline.catalogue` writes them to store/requests/catalogue.json (the convert family)
for the TUI and the CLI, which may not import this package.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pipeline.convert.blend import BLEND_METHODS
from pipeline.convert.colour import COLOUR_METHODS
from pipeline.convert.masks import DEFAULT_SMOOTHING
from pipeline.convert.sharpen import SHARPEN_METHODS
from store.requests.convert import FrameRangesError
from store.requests.convert import frame_ranges as store_frame_ranges
from store.requests.options import field_problems

DIRECTIONS = ("a-to-b", "b-to-a")
FORMATS = ("video", "png", "gif")
CODECS = ("h264", "h265")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower")


class ConvertSettingsError(ValueError):
    """Settings a conversion cannot run with; the message says which and why."""


@dataclass(frozen=True)
class SwapSettings:
    direction: str = field(default="a-to-b", metadata={"choices": DIRECTIONS,
        "help": "a-to-b puts the B person's face on the A person in the video (the usual "
                "swap); b-to-a the other way round."})
    person: str | None = field(default=None, metadata={
        "default_text": "the session's person on the side swapped from",
        "help": "The person whose face is replaced (a name from the Faces screen); everyone "
                "else in the frame is left alone."})
    face_scale: float = field(default=0.0, metadata={"bounds": (-20, 20),
        "help": "Grow (positive) or shrink (negative) the swapped face around its centre, in "
                "percent, -20 to 20."})
    batch_size: int = field(default=16, metadata={"bounds": (1, 256),
        "help": "Faces swapped by the model at once, 1 to 256 (larger is faster until the "
                "memory runs out)."})


@dataclass(frozen=True)
class FrameSettings:
    frames: str | None = field(default=None, metadata={"default_text": "every frame",
        "help": "Which frames to swap, by index from 0: ranges like 0-99,150-200."})
    keep_unchanged: bool = field(default=True, metadata={
        "help": "Keep the frames outside the ranges, and those without the person, as they "
                "are (otherwise they are left out of the output, and so is the audio)."})
    smoothing: int = field(default=0, metadata={"bounds": (0, 99),
        "help": "Average each face's landmarks over this many frames (odd, 0 or 1: off) to "
                "stop the swapped face jittering; 3 to 7 suits most videos."})


@dataclass(frozen=True)
class MaskSettings:
    mask: str = field(default="auto", metadata={
        "help": "Which part of the swapped face is pasted: extended (face and forehead), "
                "components (the face's parts), learned (the model's own mask), none (the "
                "whole square), auto (learned when the model learned a mask, else extended), "
                "or any mask stored for the source's faces: bisenet-face, bisenet-hair, "
                "bisenet-head (face parsing: swapdeck masks add), xseg-NAME (a trained "
                "occlusion mask: swapdeck masks apply). One the source lacks is refused, "
                "naming those it has."})
    mask_and: str | None = field(default=None, metadata={
        "default_text": "none (the mask alone)",
        "help": "A second mask, intersected with the first: the face is pasted only where "
                "both take it in (a face-parsing or occlusion mask with a landmark mask, as "
                "faceswap's users combine them); any mask the first may be but auto."})
    erosion: float = field(default=0.0, metadata={"bounds": (-50, 50),
        "help": "Shrink (positive) or grow (negative) the mask, in percent of the face, "
                "-50 to 50."})
    mask_blur: float = field(default=3.0, metadata={"bounds": (0, 50),
        "help": "Soften the mask's edge, in percent of the face, 0 to 50."})
    mask_smoothing: int | None = field(default=None, metadata={"bounds": (0, 15),
        "default_text": f"{DEFAULT_SMOOTHING} for stored masks (bisenet-*, xseg-*), else off",
        "help": "Average each face's mask with the same face's (its track's) in this many "
                "frames around it, the masks aligned by the faces' landmarks, so the mask's "
                "edge holds still instead of flickering; odd, 0 or 1: off, 0 to 15. The "
                "learned mask and none are never averaged."})


@dataclass(frozen=True)
class ColourSettings:
    colour: str = field(default="avg-color", metadata={"choices": COLOUR_METHODS,
        "help": "How the swapped face's colours are matched to the face under it: avg-color "
                "(mean per channel), rct (Reinhard), lct (linear), mkl (Monge-Kantorovitch), "
                "idt (iterative distribution), sot (sliced optimal transport), hist-match, "
                "manual-balance (the values below) or none."})
    balance_red: float = field(default=0.0, metadata={"bounds": (-100, 100),
        "help": "manual-balance: red, -100 to 100 percent."})
    balance_green: float = field(default=0.0, metadata={"bounds": (-100, 100),
        "help": "manual-balance: green, -100 to 100 percent."})
    balance_blue: float = field(default=0.0, metadata={"bounds": (-100, 100),
        "help": "manual-balance: blue, -100 to 100 percent."})
    contrast: float = field(default=0.0, metadata={"bounds": (-100, 100),
        "help": "manual-balance: contrast, -100 to 100 percent."})
    brightness: float = field(default=0.0, metadata={"bounds": (-100, 100),
        "help": "manual-balance: brightness, -100 to 100 percent."})


@dataclass(frozen=True)
class BlendSettings:
    blend: str = field(default="alpha", metadata={"choices": BLEND_METHODS,
        "help": "How the face meets the frame: alpha (the blurred mask mixes them) or "
                "seamless (Poisson cloning: evens out the light, slower)."})
    sharpen: str = field(default="none", metadata={"choices": SHARPEN_METHODS,
        "help": "Sharpen the swapped face: box, gaussian, unsharp (mask) or none."})
    sharpen_amount: float = field(default=150.0, metadata={"bounds": (0, 500),
        "help": "How much to sharpen, in percent, 0 to 500."})
    sharpen_radius: float = field(default=0.3, metadata={"bounds": (0.1, 5),
        "help": "The sharpening radius, in percent of the face, 0.1 to 5."})


@dataclass(frozen=True)
class OutputSettings:
    format: str = field(default="video", metadata={"choices": FORMATS,
        "help": "video (the source's timing and audio), png (a folder of images) or gif."})
    codec: str = field(default="h264", metadata={"choices": CODECS,
        "help": "video: H.264 (plays everywhere) or H.265 (smaller files)."})
    crf: int = field(default=18, metadata={"bounds": (0, 51),
        "help": "video: quality, 0 (lossless) to 51 (worst); 18 looks like the source."})
    preset: str = field(default="veryfast", metadata={"choices": PRESETS,
        "help": "video: the encoder's speed; slower presets make smaller files."})
    audio: bool = field(default=True, metadata={
        "help": "video: copy the source's audio in (when it has any)."})


GROUPS: tuple[tuple[str, type, str], ...] = (
    ("swap", SwapSettings, "Who is swapped, and how"),
    ("frames", FrameSettings, "Which frames, and how steady"),
    ("mask", MaskSettings, "Which part of the face is pasted"),
    ("colour", ColourSettings, "Matching the face's colours to the frame"),
    ("blend", BlendSettings, "Blending and sharpening"),
    ("output", OutputSettings, "The file written"),
)


@dataclass(frozen=True)
class ConvertSettings:
    swap: SwapSettings = field(default_factory=SwapSettings)
    frames: FrameSettings = field(default_factory=FrameSettings)
    mask: MaskSettings = field(default_factory=MaskSettings)
    colour: ColourSettings = field(default_factory=ColourSettings)
    blend: BlendSettings = field(default_factory=BlendSettings)
    output: OutputSettings = field(default_factory=OutputSettings)

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> ConvertSettings:
        """From {setting: value} as the CLI and the screen send them; unknown names and bad
        values raise ConvertSettingsError naming every problem."""
        owners = {f.name: name for name, group, _ in GROUPS for f in fields(group)}
        unknown = sorted(set(values) - set(owners))
        if unknown:
            raise ConvertSettingsError(f"unknown convert setting(s): {', '.join(unknown)} "
                                       "(swapdeck convert --help lists them)")
        parts: dict[str, dict[str, Any]] = {name: {} for name, _, _ in GROUPS}
        for name, value in values.items():
            parts[owners[name]][name] = value
        settings = cls(**{name: group(**parts[name]) for name, group, _ in GROUPS})
        if problems := settings.problems():
            raise ConvertSettingsError("; ".join(problems))
        return settings

    def flat(self) -> dict[str, Any]:
        return {name: value for group in asdict(self).values() for name, value in group.items()}

    def problems(self) -> list[str]:
        found = [problem for group_name, _, _ in GROUPS
                 for problem in field_problems(getattr(self, group_name))]
        if self.mask.mask_and == "auto":
            found.append("mask_and is a mask kind, not auto")
        if self.frames.frames is not None:
            try:
                frame_ranges(self.frames.frames)
            except ConvertSettingsError as exc:
                found.append(str(exc))
        return found

def frame_ranges(text: str) -> list[tuple[int, int]]:
    """'0-99,150,200-210' as inclusive (first, last) pairs, in order (store's reading, as
    the Convert screen counts them)."""
    try:
        return store_frame_ranges(text)
    except FrameRangesError as exc:
        raise ConvertSettingsError(str(exc)) from exc


def in_ranges(index: int, ranges: list[tuple[int, int]] | None) -> bool:
    return ranges is None or any(first <= index <= last for first, last in ranges)
