"""Follow each person through a video: link faces of neighbouring frames into tracks.

A face joins the track whose predicted box it overlaps, whose landmarks moved little and
whose mean descriptor is near its own; tracks survive a few frames without a face (a missed
detection, a hand in front). Across a shot cut boxes mean nothing, so there only the
descriptor links, with a stricter bound. Each frame's faces are matched to the open tracks
at once (Hungarian assignment), so two people crossing do not swap tracks greedily.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

# A track stays open this many extracted frames after its last face.
MAX_GAP = 12
# Descriptor distances (dlib's 128-d space, where 0.6 separates people): within a shot,
# and across a cut, where nothing else links.
SAME_PERSON = 0.6
ACROSS_CUT = 0.45
# The predicted box must overlap the new one at least this much (intersection over union).
MIN_OVERLAP = 0.2
# A shot cut: the frame's layout changes more than this (1 - correlation of the 16x9 grey
# signatures; within a shot, flashes and pans included, it stays under about 0.3 on the test
# clips, and cuts reach 0.35 to 1) ...
CUT_CHANGE = 0.3
CUT_CONTRAST = 2.0   # ... and this many times the median change of the frames around
CUT_CONTEXT = 3      # frames on each side
SIGNATURE_SIZE = (16, 9)
BLANK_SPREAD = 1.0   # grey levels: a frame less varied than this is blank (black, white)
_NO_LINK = 1e6


@dataclass(frozen=True)
class Sighting:
    """One face as the tracker sees it."""
    face_id: int
    frame: int                 # the frame's index in the source
    box: np.ndarray            # (4,) x0, y0, x1, y1 in frame pixels
    landmarks: np.ndarray      # (68, 2) frame pixels
    descriptor: np.ndarray     # (128,)


@dataclass
class _Open:
    members: list[int]                       # indices into the sightings
    box: np.ndarray
    velocity: np.ndarray                     # box change per frame
    landmarks: np.ndarray
    descriptor_sum: np.ndarray
    last_frame: int
    count: int = field(default=1)

    @property
    def descriptor(self) -> np.ndarray:
        return self.descriptor_sum / self.count


def frame_signature(image: np.ndarray) -> np.ndarray:
    """A frame's layout in brief: its grey levels at 16x9 (144 bytes to store)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, SIGNATURE_SIZE, interpolation=cv2.INTER_AREA).ravel()


def signature_change(a: np.ndarray, b: np.ndarray) -> float:
    """1 - the correlation of two signatures: near 0 within a shot, a flash included (it
    brightens, the layout stays), near 1 across a cut. A blank frame is unlike any other."""
    a, b = (np.asarray(s, np.float32) for s in (a, b))
    spread_a, spread_b = a.std(), b.std()
    if spread_a < BLANK_SPREAD or spread_b < BLANK_SPREAD:
        return 0.0 if spread_a < BLANK_SPREAD and spread_b < BLANK_SPREAD else 1.0
    return 1.0 - float(np.mean((a - a.mean()) * (b - b.mean())) / (spread_a * spread_b))


def cut_frames(frames: Sequence[int], signatures: Sequence[np.ndarray | None]) -> set[int]:
    """The frames that start a new shot: their layout jumps from the previous frame's, well
    above the change between the frames around it (fast motion changes it over several
    frames; a cut, in one). Frames without a signature never count as a cut."""
    changes = [signature_change(before, after)
               if before is not None and after is not None else 0.0
               for before, after in zip(signatures, signatures[1:])]
    cuts = set()
    for n, change in enumerate(changes):
        around = changes[max(0, n - CUT_CONTEXT):n] + changes[n + 1:n + 1 + CUT_CONTEXT]
        if change > CUT_CHANGE and change > CUT_CONTRAST * float(np.median(around or [0.0])):
            cuts.add(frames[n + 1])
    return cuts


def link(sightings: Sequence[Sighting], cuts: set[int], step: int = 1) -> list[list[int]]:
    """Tracks as lists of indices into `sightings`, each in frame order; `step` is the
    distance between extracted frames (extraction's every-n), `cuts` the frames that start
    a shot."""
    by_frame: dict[int, list[int]] = {}
    for index, sighting in enumerate(sightings):
        by_frame.setdefault(sighting.frame, []).append(index)
    open_tracks: list[_Open] = []
    done: list[list[int]] = []
    for frame in sorted(by_frame):
        still, ended = [], []
        for track in open_tracks:
            (still if frame - track.last_frame <= MAX_GAP * step else ended).append(track)
        done += [t.members for t in ended]
        open_tracks = still
        cut = {id(t): any(track_frame in cuts for track_frame in range(t.last_frame + 1,
                                                                        frame + 1))
               for t in open_tracks}
        arrivals = [sightings[i] for i in by_frame[frame]]
        costs = np.array([[_cost(t, s, frame, cut[id(t)]) for s in arrivals]
                          for t in open_tracks]).reshape(len(open_tracks), len(arrivals))
        linked: set[int] = set()
        for row, col in zip(*linear_sum_assignment(costs)):
            if costs[row, col] < _NO_LINK:
                track = open_tracks[row]
                _extend(track, by_frame[frame][col], arrivals[col], cut[id(track)])
                linked.add(col)
        open_tracks += [_start(by_frame[frame][col], s) for col, s in enumerate(arrivals)
                        if col not in linked]
    done += [t.members for t in open_tracks]
    return sorted(done, key=lambda members: members[0])


def _cost(track: _Open, sighting: Sighting, frame: int, cut: bool) -> float:
    distance = float(np.linalg.norm(track.descriptor - sighting.descriptor))
    if cut:
        return 1.0 + distance if distance < ACROSS_CUT else _NO_LINK
    elapsed = frame - track.last_frame
    predicted = track.box + track.velocity * elapsed
    overlap = box_overlap(predicted, sighting.box)
    if overlap < MIN_OVERLAP or distance >= SAME_PERSON:
        return _NO_LINK
    shift = _centre(predicted) - _centre(track.box)
    motion = np.linalg.norm(sighting.landmarks - (track.landmarks + shift), axis=1).mean()
    return (1.0 - overlap) + distance + float(motion / _side(sighting.box))


def _start(index: int, sighting: Sighting) -> _Open:
    return _Open([index], sighting.box.astype(np.float64), np.zeros(4),
                 sighting.landmarks.astype(np.float64),
                 sighting.descriptor.astype(np.float64), sighting.frame)


def _extend(track: _Open, index: int, sighting: Sighting, cut: bool) -> None:
    """Add a face; across a cut the box starts again from rest."""
    elapsed = sighting.frame - track.last_frame
    velocity = (sighting.box - track.box) / elapsed
    if cut:
        track.velocity = np.zeros(4)
    else:
        track.velocity = velocity if track.count == 1 else 0.5 * (track.velocity + velocity)
    track.members.append(index)
    track.box = sighting.box.astype(np.float64)
    track.landmarks = sighting.landmarks.astype(np.float64)
    track.descriptor_sum = track.descriptor_sum + sighting.descriptor
    track.last_frame = sighting.frame
    track.count += 1


def box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x0, y0, x1, y1 boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def _side(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], box[3] - box[1], 1.0))
