"""Where the Alignments review is in a source's frames, and which frames its filter finds.

The filters are faceswap's: frames with no face, with several, with a landmark jump (a
face's points changing shape from its track's previous face), with a low detection score,
with a gap in a track, and frames without a face of a named person (where a swap of them
would be missing)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from store.views.alignments import FrameFaces, FrameFilter

JUMPS = 0.05        # the landmark jump filter's threshold (share of the box side)
LOW_SCORE = 0.2     # the low detection score filter's threshold


def filter_choices(people: Sequence[str]) -> list[tuple[str, FrameFilter | None]]:
    """The filters `f` goes through, in order, with their names."""
    return [("every frame", None), ("no face", FrameFilter(no_face=True)),
            ("several faces", FrameFilter(multi=True)),
            (f"landmark jump > {JUMPS}", FrameFilter(jumps=JUMPS)),
            (f"detection score < {LOW_SCORE}", FrameFilter(low_score=LOW_SCORE)),
            ("gap in a track", FrameFilter(track_gaps=True)),
            *((f"no face of {person}", FrameFilter(person=person)) for person in people)]


@dataclass
class Navigator:
    frames: list[FrameFaces]
    filters: list[tuple[str, FrameFilter | None]]
    position: int = 0
    chosen: int = 0                     # the filter, an index in `filters`
    matching: list[int] = field(default_factory=list)   # positions the filter finds

    def __post_init__(self) -> None:
        self._match()

    @property
    def current(self) -> FrameFaces | None:
        return self.frames[self.position] if self.frames else None

    @property
    def filter_name(self) -> str:
        return self.filters[self.chosen][0]

    def matching_indices(self) -> set[int]:
        return {self.frames[p].idx for p in self.matching}

    def step(self, by: int) -> bool:
        """Move by `by` frames (within the ends); False when already there."""
        moved = min(max(self.position + by, 0), max(len(self.frames) - 1, 0))
        changed, self.position = moved != self.position, moved
        return changed

    def to_end(self, which: int) -> bool:
        """To the first frame (0) or the last (-1)."""
        return self.step(-self.position if which == 0 else len(self.frames))

    def next_match(self, direction: int) -> bool:
        """To the next (1) or previous (-1) frame the filter finds; False when none."""
        ahead = [p for p in self.matching if (p - self.position) * direction > 0]
        if not ahead:
            return False
        self.position = min(ahead) if direction > 0 else max(ahead)
        return True

    def next_filter(self) -> None:
        self.chosen = (self.chosen + 1) % len(self.filters)
        self._match()

    def replace(self, frames: list[FrameFaces],
                filters: list[tuple[str, FrameFilter | None]]) -> None:
        """New figures for the frames (after an edit), staying on the same frame and filter
        where they still exist."""
        idx = self.current.idx if self.current else None
        name = self.filter_name
        self.frames, self.filters = frames, filters
        names = [n for n, _ in filters]
        self.chosen = names.index(name) if name in names else 0
        positions = [p for p, f in enumerate(frames) if f.idx == idx]
        self.position = positions[0] if positions else min(self.position,
                                                           max(len(frames) - 1, 0))
        self._match()

    def _match(self) -> None:
        wanted = self.filters[self.chosen][1]
        self.matching = [p for p, frame in enumerate(self.frames)
                         if wanted is None or wanted.keeps(frame)]
