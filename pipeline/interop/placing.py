"""Imported faces become faces of the project: each frame they sit in is decoded once, and
each face gets its crop, masks, quality and descriptor as extraction gives them, from the
points it came with (never aligned again). A face already in its frame (a box overlapping it
by more than half: imported before, or found by extraction) is not added twice; it only
takes the person the import names. Hand-made mask labels (DeepFaceLab's XSeg polygons,
faceswap's painted `custom` mask) are stored as the face's mask label."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from pipeline.context import JobContext
from pipeline.curate.tracks import box_overlap
from pipeline.extract.alignment import align_to_mean_face, transform_points
from pipeline.extract.backends import Detection
from pipeline.extract.extractor import FaceExtractor, FrameFaces
from pipeline.extract.frames import read_frames
from pipeline.interop.foreign import ForeignFace, ForeignMask
from store import faces, identities, interop, mask_labels, pixel_limit
from store.faces import Box, NewFace, PendingFrame, crop_matrix
from store.mask_labels import LabelError, Polygon
from store.requests.extract import MASKS, ExtractSettings
from store.sources import Source

SAME_FACE = 0.5      # box IoU above which an imported face is one already in the frame
BATCH_FACES = 64


@dataclass(frozen=True)
class Placement:
    """A face to store in a frame, everything in that frame's pixels."""
    frame: PendingFrame
    box: Box
    landmarks: np.ndarray
    polygons: tuple[Polygon, ...] = ()
    mask: ForeignMask | None = None
    person: str | None = None


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def placement(face: ForeignFace, frame: PendingFrame, still: bool) -> Placement:
    """Where `face` lands: in its own frame, or (`still`) in its own image."""
    if still:
        assert face.image_landmarks is not None
        to_image = face.to_image
        mask = None if face.mask is None or to_image is None else ForeignMask(
            face.mask.pixels, (_homogeneous(face.mask.matrix)
                               @ np.linalg.inv(_homogeneous(to_image)))[:2])
        box = None if face.box is None or to_image is None else _moved_box(face.box, to_image)
        return Placement(frame, box or _around(face.image_landmarks), face.image_landmarks,
                         face.polygons, mask, face.person)
    assert face.landmarks is not None
    polygons: tuple[Polygon, ...] = ()
    if face.polygons and face.to_image is not None:
        back = cv2.invertAffineTransform(face.to_image)
        polygons = tuple(Polygon(p.mode, _moved(back, p.points)) for p in face.polygons)
    return Placement(frame, face.box or _around(face.landmarks), face.landmarks, polygons,
                     face.mask, face.person)


def _moved(matrix: np.ndarray, points: tuple[tuple[float, float], ...]
           ) -> tuple[tuple[float, float], ...]:
    moved = transform_points(matrix, np.asarray(points, np.float64))
    return tuple((float(x), float(y)) for x, y in moved)


def _moved_box(box: Box, matrix: np.ndarray) -> Box:
    x0, y0, x1, y1 = box
    corners = np.array(_moved(matrix, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    return (*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist())


def _around(landmarks: np.ndarray) -> Box:
    return (*landmarks.min(axis=0).astype(float).tolist(),
            *landmarks.max(axis=0).astype(float).tolist())


@dataclass
class Placer:
    """Places the faces of one import job and counts what happened."""
    ctx: JobContext
    added: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    rejected: int = 0
    unreadable: int = 0
    people: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _extractors: dict[int, FaceExtractor] = field(default_factory=dict)

    def place(self, source: Source, placements: list[Placement],
              mark_frames: list[int] | None = None) -> None:
        """Store the placements new to their frames; `mark_frames`: frames to mark as
        extracted (the source is then described by what was imported)."""
        todo = self._new(placements)
        by_frame: dict[int, list[Placement]] = defaultdict(list)
        for item in todo:
            by_frame[item.frame.id].append(item)
        wanted = sorted({item.frame for item in todo}, key=lambda f: f.idx)
        recorded = self._recorded(source)
        settings = replace(recorded, masks=MASKS, min_size=0.0, filter=(), nfilter=())
        pending: list[tuple[NewFace, Placement]] = []
        done = len(self.added)
        for loaded in read_frames(source, wanted, threading.Event(),
                                  pixel_limit.get(self.ctx.conn)):
            self.ctx.checkpoint()
            group = by_frame[loaded.frame.id]
            if loaded.image is None:
                self.ctx.log.warning("source %d: %s", source.id, loaded.error)
                self.unreadable += len(group)
                continue
            made = self._faces(settings, loaded.frame, loaded.image, group)
            pending.extend(zip(made, group))
            if len(pending) >= BATCH_FACES:
                self._store(source, pending)
                pending = []
            placed = len(self.added) + len(pending) - done
            self.ctx.progress(placed, len(todo), f"placed {placed} of {len(todo)} faces")
        self._store(source, pending)
        if mark_frames is not None:
            interop.mark_extracted(self.ctx.conn, source.id, mark_frames,
                                   recorded.to_json(), self.ctx.job_id)

    def _new(self, placements: list[Placement]) -> list[Placement]:
        """The placements no face of their frame (or an earlier placement) already holds;
        the faces that do hold one take its person."""
        held = interop.face_boxes(self.ctx.conn, sorted({p.frame.id for p in placements}))
        todo: list[Placement] = []
        taken: dict[int, list[np.ndarray]] = defaultdict(list)
        for item in placements:
            box = np.asarray(item.box)
            same = [face_id for face_id, other in held.get(item.frame.id, [])
                    if box_overlap(box, np.asarray(other)) > SAME_FACE]
            if same:
                self.present.append(same[0])
                if item.person:
                    self.people[item.person].append(same[0])
            elif all(box_overlap(box, other) <= SAME_FACE for other in taken[item.frame.id]):
                taken[item.frame.id].append(box)
                todo.append(item)
        return todo

    def _recorded(self, source: Source) -> ExtractSettings:
        """The source's extraction settings, else the defaults. Imported faces are made
        with its crop size, landmark masks only and no size limit (a face someone kept is
        kept however small)."""
        done = faces.get_extraction(self.ctx.conn, source.id)
        return ExtractSettings.from_json(done.settings) if done else ExtractSettings()

    def _faces(self, settings: ExtractSettings, frame: PendingFrame, image: np.ndarray,
               group: list[Placement]) -> list[NewFace]:
        """The frame's faces made as extraction makes them, from the points given."""
        if settings.size not in self._extractors:
            self._extractors[settings.size] = FaceExtractor(settings)
        located = [FrameFaces(Detection(tuple(map(float, p.box)), 1.0),
                              np.asarray(p.landmarks, np.float32),
                              align_to_mean_face(np.asarray(p.landmarks, np.float64)))
                   for p in group]
        return self._extractors[settings.size].complete([frame.id], [image], [located])

    def _store(self, source: Source, pending: list[tuple[NewFace, Placement]]) -> None:
        """Store a batch in one transaction, then the people and labels they came with."""
        if not pending:
            return
        ids = interop.add_faces(self.ctx.conn, source.id, [face for face, _ in pending])
        for face_id, (face, item) in zip(ids, pending):
            self.added.append(face_id)
            self.rejected += face.rejected is not None
            if item.person:
                self.people[item.person].append(face_id)
            if item.polygons or item.mask is not None:
                self._label(face_id, face, item)

    def _label(self, face_id: int, face: NewFace, item: Placement) -> None:
        """The polygons and painted mask as the face's mask label, in its label's pixels."""
        size = mask_labels.label_size(self.ctx.conn, face_id)
        to_label = crop_matrix(face.matrix, size)
        polygons = tuple(Polygon(p.mode, _moved(to_label, p.points)) for p in item.polygons)
        base = None
        if item.mask is not None:
            to_mask = _homogeneous(to_label) @ np.linalg.inv(_homogeneous(item.mask.matrix))
            warped = cv2.warpAffine(item.mask.pixels, to_mask[:2], (size, size),
                                    flags=cv2.INTER_LINEAR)
            base = cv2.imencode(".png", np.where(warped > 127, 255, 0).astype(np.uint8))[1]
        try:
            mask_labels.save_label(self.ctx.conn, face_id, size, polygons,
                                   None if base is None else base.tobytes())
        except LabelError as exc:
            self.ctx.log.warning("face %d: its imported mask label was not kept: %s",
                                 face_id, exc)

    def name_people(self, person: str | None) -> None:
        """Give the faces their people: `person` for all, else the one each file named."""
        chosen = {person: self.added + self.present} if person else self.people
        for name, face_ids in chosen.items():
            if face_ids:
                identities.move_faces(self.ctx.conn, sorted(set(face_ids)), name)
