"""faceswap's formats: the alignment data in an extracted face's PNG header, and the
alignments file (`.fsa`: a zlib-compressed pickle; `.json` and plain pickles from older
versions) of {frame name: {"faces": [...], "video_meta": {...}}} under "__data__", with
"__meta__": {"version": ...}. A face is {x, y, w, h (its detected box, ints), landmarks_xy
(68 points in the frame), mask: {name: {mask (zlib of uint8 pixels), affine_matrix (frame
to mask pixels), interpolator, stored_size, stored_centering}}, identity: {}}; the file
adds a thumbnail; a PNG header adds "source": {alignments_version, original_filename,
face_index, source_filename, source_is_video, source_frame_dims (height, width)}.

Pickles are read through `safe_pickle` only; headers with `ast.literal_eval` only.
"""
from __future__ import annotations

import json
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.extract.alignment import transform_points
from pipeline.interop.faceswap_geometry import MASK_CENTERING, aligned_matrix, \
    mask_interpolator
from pipeline.interop.foreign import ForeignFace, ForeignFormatError, ForeignMask, matrix, \
    points
from pipeline.interop.png_chunks import FACESWAP, SWAPDECK, PngMetaError, chunks, \
    itxt_texts, literal
from pipeline.interop.safe_pickle import UnsafePickleError, safe_loads

VERSION = 2.4
MAX_ALIGNMENTS_BYTES = 1024 * 1024 * 1024
# A mask painted by hand in faceswap's manual tool; the others are made by networks.
HAND_MASK = "custom"
MAX_MASK_SIZE = 1024


def read_png_face(path: Path, data: bytes) -> ForeignFace | None:
    """The face of a faceswap face PNG; None when it has no faceswap header."""
    try:
        texts = itxt_texts(data)
        if FACESWAP not in texts:
            return None
        header = literal(texts[FACESWAP])
        size = _square_size(data)
    except PngMetaError as exc:
        raise ForeignFormatError(str(exc)) from None
    if not isinstance(header, dict) or not isinstance(header.get("alignments"), dict) or \
            not isinstance(header.get("source"), dict):
        raise ForeignFormatError("its faceswap header has no alignments and source")
    source = header["source"]
    face = _face(header["alignments"], str(path), str(source.get("source_filename") or ""),
                 _whole(source.get("face_index", 0), "face_index"))
    legacy = _number(source.get("alignments_version", VERSION), "version") < 2.0
    to_image = aligned_matrix(face.landmarks, size, "legacy" if legacy else "head")
    return ForeignFace(
        origin=face.origin, frame_name=face.frame_name, face_index=face.face_index,
        is_video=bool(source.get("source_is_video", False)),
        frame_dims=_dims(source.get("source_frame_dims")), box=face.box,
        landmarks=face.landmarks, image=path, to_image=to_image,
        image_landmarks=transform_points(to_image, face.landmarks).astype(np.float32),
        mask=face.mask, person=swapdeck_person(texts.get(SWAPDECK)))


def _face(entry: Any, origin: str, frame_name: str, face_index: int) -> ForeignFace:
    """A face of an alignments entry (file or header): box, landmarks, hand-painted mask."""
    if not isinstance(entry, dict):
        raise ForeignFormatError(f"{origin}: a face entry is not a dict")
    given = entry.get("landmarks_xy", entry.get("landmarksXY"))
    landmarks = points(given, f"{origin}: its landmarks")
    x, y, w, h = (_number(entry.get(key), key) for key in "xywh")
    masks = entry.get("mask") or {}
    mask = _mask(masks.get(HAND_MASK), origin) if isinstance(masks, dict) else None
    return ForeignFace(origin=origin, frame_name=frame_name, face_index=face_index,
                       is_video=None, frame_dims=None, box=(x, y, x + w, y + h),
                       landmarks=landmarks, mask=mask)


def _mask(entry: Any, origin: str) -> ForeignMask | None:
    """A stored mask's pixels and frame-to-mask matrix; None when there is none."""
    if not isinstance(entry, dict):
        return None
    size = _whole(entry.get("stored_size", 128), "stored_size")
    data = entry.get("mask")
    if not 8 <= size <= MAX_MASK_SIZE or not isinstance(data, bytes):
        raise ForeignFormatError(f"{origin}: its {HAND_MASK} mask is not {size} px of data")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, size * size + 1)
    except zlib.error:
        raw = b""
    if len(raw) != size * size:
        raise ForeignFormatError(f"{origin}: its {HAND_MASK} mask is damaged")
    pixels = np.frombuffer(raw, np.uint8).reshape(size, size)
    return ForeignMask(pixels, matrix(entry.get("affine_matrix"), f"{origin}: mask matrix"))


def _square_size(data: bytes) -> int:
    kind, payload = chunks(data)[0]
    if kind != b"IHDR" or len(payload) < 8:
        raise PngMetaError("no image header")
    width, height = struct.unpack(">II", payload[:8])
    if width != height or width < 8:
        raise PngMetaError(f"a {width}x{height} image, not a square face")
    return width


def swapdeck_person(text: bytes | None) -> str | None:
    """The person swapdeck wrote beside a face, if it did (JSON {"person": ...})."""
    try:
        person = json.loads(text.decode("utf-8")).get("person") if text else None
    except (ValueError, AttributeError):
        return None
    return person.strip() or None if isinstance(person, str) else None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not np.isfinite(value):
        raise ForeignFormatError(f"{what} is not a number ({value!r})"[:120])
    return float(value)


def _whole(value: Any, what: str) -> int:
    number = _number(value, what)
    if number != int(number) or number < 0:
        raise ForeignFormatError(f"{what} is not a whole number ({value!r})"[:120])
    return int(number)


def _dims(value: Any) -> tuple[int, int] | None:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        height, width = (_whole(v, "source_frame_dims") for v in value)
        return height, width
    return None


def read_alignments(path: Path, data: bytes) -> tuple[float, dict[str, list[ForeignFace]]]:
    """(version, frame name -> its faces) of an alignments file."""
    loaded = _load(path, data)
    if not isinstance(loaded, dict):
        raise ForeignFormatError(f"{path.name} does not hold a dict of frames")
    meta = loaded.get("__meta__")
    version = _number(meta.get("version", 1.0), "version") if isinstance(meta, dict) else 1.0
    frames = loaded.get("__data__", loaded)
    if not isinstance(frames, dict):
        raise ForeignFormatError(f"{path.name}: its __data__ is not a dict of frames")
    read: dict[str, list[ForeignFace]] = {}
    for name, entry in frames.items():
        if name == "__meta__":
            continue
        faces = entry.get("faces") if isinstance(entry, dict) else entry
        if not isinstance(name, str) or not isinstance(faces, list):
            raise ForeignFormatError(f"{path.name}: frame {name!r} has no list of faces"[:160])
        read[name] = [_face(face, f"{path.name}: {name} face {index}", name, index)
                      for index, face in enumerate(faces)]
    return version, read


def _load(path: Path, data: bytes) -> Any:
    """An alignments file's contents: JSON, a pickle, or (`.fsa`) a compressed pickle."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(data.decode("utf-8"))
        if suffix == ".fsa":
            inflater = zlib.decompressobj()
            data = inflater.decompress(data, MAX_ALIGNMENTS_BYTES)
            if inflater.unconsumed_tail:
                raise ForeignFormatError(f"{path.name} inflates past "
                                         f"{MAX_ALIGNMENTS_BYTES:,} bytes")
        return safe_loads(data, max_bytes=MAX_ALIGNMENTS_BYTES)
    except ForeignFormatError:
        raise
    except (zlib.error, UnicodeDecodeError, ValueError) as exc:
        kind = "refused" if isinstance(exc, UnsafePickleError) else "not readable"
        raise ForeignFormatError(f"{path.name} {kind}: {exc}") from None


def mask_entry(pixels: np.ndarray, to_mask: np.ndarray) -> dict[str, Any]:
    """A mask as faceswap stores one: face-centred, with the matrix from the frame."""
    return {"mask": zlib.compress(np.ascontiguousarray(pixels, np.uint8).tobytes()),
            "affine_matrix": np.asarray(to_mask, np.float64).tolist(),
            "interpolator": mask_interpolator(to_mask), "stored_size": int(pixels.shape[0]),
            "stored_centering": MASK_CENTERING}


def face_entry(box: tuple[float, ...], landmarks: np.ndarray,
               masks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A face as faceswap's alignments hold it (ints for the box, as its detectors give)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0,
            "landmarks_xy": np.asarray(landmarks, np.float32).tolist(), "mask": masks,
            "identity": {}}


def png_header(entry: dict[str, Any], original_filename: str, face_index: int,
               frame_name: str, is_video: bool, frame_dims: tuple[int, int]) -> bytes:
    """The text of a face PNG's faceswap header: a Python literal, as faceswap writes it."""
    source = {"alignments_version": VERSION, "original_filename": original_filename,
              "face_index": face_index, "source_filename": frame_name,
              "source_is_video": is_video, "source_frame_dims": tuple(frame_dims)}
    return str({"alignments": entry, "source": source}).encode("utf-8")


def alignments_file(frames: dict[str, list[dict[str, Any]]]) -> bytes:
    """An `.fsa` file: plain types only, pickled and compressed as faceswap stores it."""
    data = {name: {"faces": [{**face, "thumb": None} for face in faces], "video_meta": {}}
            for name, faces in frames.items()}
    return zlib.compress(pickle.dumps({"__meta__": {"version": VERSION}, "__data__": data},
                                      protocol=4))
