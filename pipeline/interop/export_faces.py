"""Facesets written as faceswap face PNGs (cut again from the frames as faceswap cuts them:
head-centred, coverage 1, our masks and hand-made label in its header) or as DeepFaceLab
aligned JPGs (our stored crops, unchanged, with its APP15 data and our labels' polygons).
Each file also carries the face's person for swapdeck's import (an iTXt or comment that
the other tools pass over). Called by the `export` job (pipeline/curate/export.py)."""
from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.atomic_files import atomic_write
from pipeline.context import JobContext
from pipeline.errors import JobError
from pipeline.extract.alignment import transform_points
from pipeline.extract.frames import read_frames
from pipeline.extract.masks import MASK_KINDS, hull_mask
from pipeline.ingest.job import still_the_same
from pipeline.inline_images import decode_inline
from pipeline.interop import dfl, faceswap
from pipeline.interop.faceswap_geometry import MASK_CENTERING, MASK_SIZE, aligned_matrix, \
    warp_interpolation
from pipeline.interop.png_chunks import FACESWAP, SWAPDECK, with_texts
from pipeline.masks.labels import label_truth
from store import faces, interop, mask_labels, pixel_limit, sources
from store.faces import Face, crop_matrix
from store.interop import FrameOfFace
from store.mask_labels import Polygon

FORMATS = ("faceswap", "dfl")
HAND_MASK = "custom"


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def frame_name(source: sources.Source, frame_idx: int, path: str | None, style: str) -> str:
    """A frame's file name as the other tool names it: faceswap `<video stem>_000001<ext>`,
    DeepFaceLab `00001.png` (its frames of a video); an image's own file name."""
    if source.kind == "video":
        video = Path(source.path)
        return (f"{video.stem}_{frame_idx + 1:06d}{video.suffix}" if style == "faceswap"
                else f"{frame_idx + 1:05d}.png")
    return path or Path(source.path).name


def faceswap_masks(conn, face: Face) -> dict[str, dict[str, Any]]:
    """Our landmark masks drawn in faceswap's mask space, and the face's label as `custom`."""
    to_mask = aligned_matrix(face.landmarks, MASK_SIZE, MASK_CENTERING)
    points = transform_points(to_mask, face.landmarks)
    masks = {kind: faceswap.mask_entry(hull_mask(points, kind, MASK_SIZE), to_mask)
             for kind in MASK_KINDS}
    label = mask_labels.get_label(conn, face.id)
    if label is not None:
        to_label = crop_matrix(face.matrix, label.size)
        label_to_mask = _homogeneous(to_mask) @ np.linalg.inv(_homogeneous(to_label))
        painted = cv2.warpAffine(label_truth(label), label_to_mask[:2], (MASK_SIZE, MASK_SIZE),
                                 flags=cv2.INTER_AREA)
        masks[HAND_MASK] = faceswap.mask_entry(painted, to_mask)
    return masks


def _label_polygons(conn, face: Face, to_image: np.ndarray) -> tuple[Polygon, ...]:
    """The face's label polygons in the pixels of its exported image (a base mask, being a
    picture, has no place in DeepFaceLab's polygons)."""
    label = mask_labels.get_label(conn, face.id)
    if label is None:
        return ()
    label_to_image = _homogeneous(to_image) @ np.linalg.inv(
        _homogeneous(crop_matrix(face.matrix, label.size)))
    return tuple(Polygon(p.mode, tuple(map(tuple, transform_points(
        label_to_image[:2], np.asarray(p.points, np.float64)).tolist())))
        for p in label.polygons)


def export_faceset(ctx: JobContext, chosen: list[Face], folder: Path,
                   fmt: str) -> dict[str, Any]:
    """Write `chosen` into `folder` in `fmt` (faceswap or dfl); the job's result."""
    if fmt not in FORMATS:
        raise JobError(f"unknown export format {fmt!r} (png, {', '.join(FORMATS)})")
    where = interop.frames_of_faces(ctx.conn, [face.id for face in chosen])
    people = interop.person_names(ctx.conn)
    names: set[str] = set()
    by_source: dict[int, list[Face]] = defaultdict(list)
    for face in chosen:
        by_source[face.source_id].append(face)
    done = fallback = 0
    for source_id, group in by_source.items():
        source = sources.get(ctx.conn, source_id)
        for face, image in _with_images(ctx, source, group, where, fmt):
            ctx.checkpoint()
            person = people.get(face.identity_id) if face.identity_id else None
            at = where[face.id]
            stem = f"{Path(frame_name(source, at.frame.idx, at.frame.path, fmt)).stem}_" \
                   f"{at.face_index}"
            stem = stem if stem not in names else f"{source.id}_{stem}"
            names.add(stem)
            name, data = _file(ctx, source, face, at, image, person, fmt, stem)
            atomic_write(folder / name, lambda temp, data=data: temp.write_bytes(data))
            done += 1
            fallback += image is None and fmt == "faceswap"
            ctx.progress(done, len(chosen), f"exported {done}/{len(chosen)} faces")
    cut = f" ({fallback} cut from the stored crops: their source is gone or changed, so " \
          "their edges may be black)" if fallback else ""
    return {"message": f"{done} faces exported to {folder} for {fmt}{cut}", "faces": done,
            "folder": str(folder)}


def _with_images(ctx: JobContext, source: sources.Source, group: list[Face],
                 where: dict[int, FrameOfFace], fmt: str
                 ) -> Iterator[tuple[Face, np.ndarray | None]]:
    """Each face with its frame (BGR) when faceswap's crop must be cut from it, else None."""
    if fmt != "faceswap" or not Path(source.path).exists() or not still_the_same(ctx, source):
        yield from ((face, None) for face in group)
        return
    by_frame: dict[int, list[Face]] = defaultdict(list)
    for face in group:
        by_frame[where[face.id].frame.id].append(face)
    wanted = sorted({where[f.id].frame for f in group}, key=lambda frame: frame.idx)
    for loaded in read_frames(source, wanted, threading.Event(), pixel_limit.get(ctx.conn)):
        image = None if loaded.image is None else cv2.cvtColor(loaded.image, cv2.COLOR_RGB2BGR)
        yield from ((face, image) for face in by_frame[loaded.frame.id])


def _file(ctx: JobContext, source: sources.Source, face: Face, at: FrameOfFace,
          frame: np.ndarray | None, person: str | None, fmt: str,
          stem: str) -> tuple[str, bytes]:
    """The file name (`stem` and the format's suffix) and bytes of one exported face."""
    style_name = frame_name(source, at.frame.idx, at.frame.path, fmt)
    stored = faces.face_image(ctx.conn, face.id)
    size = ctx.conn.execute("SELECT size FROM face_images WHERE face_id = ?",
                            (face.id,)).fetchone()[0]
    if fmt == "dfl":
        to_image = crop_matrix(face.matrix, size)
        polygons = _label_polygons(ctx.conn, face, to_image)
        info = dfl.face_dict(transform_points(to_image, face.landmarks), style_name, face.box,
                             face.landmarks, to_image, polygons)
        return f"{stem}.jpg", dfl.jpg_face(_jpeg(stored, face.id), info, person)
    to_image = aligned_matrix(face.landmarks, size, "head")
    if frame is None:
        frame = _crop(stored.data, face.id)
        to_image = (_homogeneous(to_image)
                    @ np.linalg.inv(_homogeneous(crop_matrix(face.matrix, size))))[:2]
        dims = (source.height or 0, source.width or 0)
    else:
        dims = frame.shape[:2]
    image = cv2.warpAffine(frame, to_image, (size, size), flags=warp_interpolation(to_image),
                           borderMode=cv2.BORDER_CONSTANT)
    entry = faceswap.face_entry(face.box, face.landmarks, faceswap_masks(ctx.conn, face))
    header = faceswap.png_header(entry, f"{stem}.png", at.face_index, style_name,
                                 source.kind == "video", dims)
    note = json.dumps({"person": person}).encode("utf-8")
    png = cv2.imencode(".png", image)[1].tobytes()
    return f"{stem}.png", with_texts(png, [(FACESWAP, header), (SWAPDECK, note)])


def _crop(data: bytes, face_id: int) -> np.ndarray:
    crop = decode_inline(data, cv2.IMREAD_COLOR, f"face {face_id}")
    if crop is None:
        raise JobError(f"face {face_id}: its stored crop could not be read")
    return crop


def _jpeg(stored: faces.EncodedImage, face_id: int) -> bytes:
    """The stored crop as JPEG bytes (as stored when it is one: no second compression)."""
    if stored.format == "jpeg":
        return stored.data
    return cv2.imencode(".jpg", _crop(stored.data, face_id),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
