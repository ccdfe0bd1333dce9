"""Requests for the align-edit job that follow from a source's frames: filling a track's gaps
with its face copied from the nearest frame that has it."""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from store.views.alignments import FrameFaces


class NoSuchTrack(LookupError):
    pass


def fill_track_edits(frames: Sequence[FrameFaces], source_id: int,
                     track: int) -> list[dict[str, Any]]:
    """One copy per frame in the track's gaps, from the nearest frame that has the track
    (the earlier one on a tie); none when it has no gaps. NoSuchTrack when no frame has it."""
    having = [f.idx for f in frames if track in f.tracks]
    if not having:
        raise NoSuchTrack(f"source {source_id} has no face of track {track}")
    edits = []
    for frame in (f for f in frames if track in f.gaps):
        at = bisect.bisect(having, frame.idx)
        nearest = min(having[max(at - 1, 0):at + 1], key=lambda i: abs(i - frame.idx))
        edits.append({"source_id": source_id, "frame": frame.idx, "action": "copy",
                      "from": nearest, "track": track})
    return edits
