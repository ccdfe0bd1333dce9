"""DeepFaceLab's aligned faces: a JPEG whose APP15 segment holds a pickled dict (older
versions: a PNG with a `fcWp` chunk). Keys read: landmarks (68 points in the aligned image),
source_landmarks (in the frame), source_rect (l, t, r, b), image_to_face_mat (frame to
image), source_filename, face_type, and seg_ie_polys ({"polys": [{"type": 1 include / 0
exclude, "pts": points in the image}]}, the XSeg editor's labels). The pickle is read through
`safe_pickle` only, and written with plain types only (protocol 3, which DeepFaceLab's
Python reads)."""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.extract.alignment import umeyama
from pipeline.interop.faceswap import swapdeck_person
from pipeline.interop.foreign import ForeignFace, ForeignFormatError, frame_number, matrix, \
    points
from pipeline.interop.jpeg_segments import APP15, COM, COMMENT_TAG, JpegMetaError, \
    payloads, with_segments
from pipeline.interop.png_chunks import DFL_CHUNK, PngMetaError, chunks
from pipeline.interop.safe_pickle import UnsafePickleError, safe_loads
from store.mask_labels import Polygon

# The face type swapdeck's crops are written as: the widest, so that DeepFaceLab warps any
# narrower type it trains on out of it from the landmarks.
FACE_TYPE = "head"
POLY_MODES = {1: "include", 0: "exclude"}


def read_face(path: Path, data: bytes) -> ForeignFace | None:
    """The face of a DeepFaceLab aligned image; None when it carries no face data."""
    try:
        if data.startswith(b"\xff\xd8"):
            found = payloads(data, APP15)
            notes = [p[len(COMMENT_TAG):] for p in payloads(data, COM)
                     if p.startswith(COMMENT_TAG)]
        else:
            found = [payload for kind, payload in chunks(data) if kind == DFL_CHUNK]
            notes = []
        info = safe_loads(found[0]) if found else None
    except (JpegMetaError, PngMetaError) as exc:
        raise ForeignFormatError(str(exc)) from None
    except UnsafePickleError as exc:
        raise ForeignFormatError(f"its DeepFaceLab data was {exc}") from None
    if not isinstance(info, dict) or not info:
        return None
    return _face(path, info, swapdeck_person(notes[0] if notes else None))


def _face(path: Path, info: dict[Any, Any], person: str | None) -> ForeignFace:
    """The face a DeepFaceLab dict describes; without source landmarks, a still only."""
    if "landmarks" not in info:
        raise ForeignFormatError("its DeepFaceLab data has no landmarks")
    image_landmarks = points(info["landmarks"], "its landmarks")
    landmarks = to_image = box = None
    if info.get("source_landmarks") is not None:
        landmarks = points(info["source_landmarks"], "its source landmarks")
        given = info.get("image_to_face_mat")
        to_image = matrix(given, "its image_to_face_mat") if given is not None else \
            umeyama(landmarks, image_landmarks)
        box = _rect(info.get("source_rect"), landmarks)
    name = info.get("source_filename")
    stem = path.stem.rsplit("_", 1)
    index = frame_number(stem[1]) if len(stem) == 2 else None
    return ForeignFace(
        origin=str(path), frame_name=name if isinstance(name, str) else "",
        face_index=index or 0, is_video=None, frame_dims=None, box=box,
        landmarks=landmarks, image=path, to_image=to_image, image_landmarks=image_landmarks,
        polygons=_polygons(info.get("seg_ie_polys")), person=person)


def _rect(value: Any, landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """source_rect (l, t, r, b), else the box around the landmarks."""
    try:
        rect = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        rect = ()
    if len(rect) == 4 and all(np.isfinite(rect)) and rect[2] > rect[0] and rect[3] > rect[1]:
        return rect
    (x0, y0), (x1, y1) = landmarks.min(axis=0), landmarks.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _polygons(value: Any) -> tuple[Polygon, ...]:
    """XSeg polygons: the current {"polys": [...]} layout or the older [(type, pts)]."""
    if isinstance(value, dict):
        entries = [(p.get("type"), p.get("pts")) for p in value.get("polys", [])
                   if isinstance(p, dict)]
    elif isinstance(value, list):
        entries = [tuple(p) for p in value if isinstance(p, (list, tuple)) and len(p) == 2]
    else:
        return ()
    found = []
    for kind, pts in entries:
        try:
            array = np.asarray(pts, np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise ForeignFormatError("an XSeg polygon's points are not numbers") from None
        if kind in POLY_MODES and len(array) >= 3 and np.isfinite(array).all():
            found.append(Polygon(POLY_MODES[kind], tuple(map(tuple, array.tolist()))))
    return tuple(found)


def face_dict(image_landmarks: np.ndarray, frame_name: str, box: tuple[float, ...],
              landmarks: np.ndarray, to_image: np.ndarray,
              polygons: tuple[Polygon, ...]) -> dict[str, Any]:
    """The APP15 dict DeepFaceLab's tools read, of plain types."""
    info: dict[str, Any] = {
        "face_type": FACE_TYPE,
        "landmarks": np.asarray(image_landmarks, np.float64).tolist(),
        "eyebrows_expand_mod": 1.0, "source_filename": frame_name,
        "source_rect": tuple(int(round(v)) for v in box),
        "source_landmarks": np.asarray(landmarks, np.float64).tolist(),
        "image_to_face_mat": np.asarray(to_image, np.float64).tolist()}
    if polygons:
        modes = {mode: kind for kind, mode in POLY_MODES.items()}
        info["seg_ie_polys"] = {"polys": [{"type": modes[p.mode],
                                           "pts": [list(point) for point in p.points]}
                                          for p in polygons]}
    return info


def jpg_face(jpeg: bytes, info: dict[str, Any], person: str | None) -> bytes:
    """The JPEG with its APP15 face data and swapdeck's note of the person."""
    note = COMMENT_TAG + json.dumps({"person": person}).encode("utf-8")
    return with_segments(jpeg, [(APP15, pickle.dumps(info, protocol=3)), (COM, note)])
