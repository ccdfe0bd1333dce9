"""The decoded training faces of one side, cached in PROJECT/cache/ as .npy files that are
opened with memmap, so a run starts without decoding a crop and its memory stays small.

A side's cache is three files named by a key: `train-A-<key>.images.npy` (N x S x S x 3
uint8, RGB), `train-A-<key>.masks.npy` (N x S x S x K uint8, the channels of
`mask_channels`) and `train-A-<key>.json`, the manifest, written last: a cache without its
manifest is not there. Each file is written beside its final name and moved into place whole,
so a crash leaves no half file. The key hashes the faces (ids, landmarks and matrices, so a
face extracted again under an old id counts as new), the data settings and FORMAT: adding or
excluding faces or changing the cut gives a new cache at the next start, and the side's
other caches are deleted once it is built. The cache is rebuildable: deleting it is safe.
A received project's cache is input too: a cache file that leads out of the project (a
symlink) is never read, the cache is built again instead, and deletions go through
`store.files.contained`.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.atomic_files import atomic_path, atomic_write, remove_stale_temps
from pipeline.extract.alignment import transform_points
from pipeline.extract.masks import landmark_mask
from pipeline.inline_images import decode_inline
from pipeline.train.cut import cut_image
from pipeline.train.data_settings import LANDMARK_MASKS, DataSettings, TrainingDataError
from pipeline.train.mask_channels import AREAS, area_mask, blur, face_mask_blur
from store.files.contained import inside, remove_contained
from store.faces import EncodedImage
from store.files.inline_images import OversizedImageError
from store.training_faces import TrainingFace, stored_crops

FORMAT = 1
BATCH = 64   # faces read from the store per query, between cancellation checks

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class FaceCache:
    """One side's faces, in `face_ids` order: images and masks (memmaps) and the landmarks
    in training-image pixels."""
    face_ids: tuple[int, ...]
    images: np.ndarray          # N x S x S x 3 uint8 RGB
    masks: np.ndarray           # N x S x S x K uint8
    landmarks: np.ndarray       # N x 68 x 2 float32
    mask_channels: tuple[str, ...]

    def rows(self, face_ids: Sequence[int]) -> np.ndarray:
        """The rows of these faces."""
        where = {face_id: row for row, face_id in enumerate(self.face_ids)}
        return np.array([where[face_id] for face_id in face_ids], np.int64)


@dataclass(frozen=True)
class CachePaths:
    """The three files of one side's cache."""
    images: Path
    masks: Path
    manifest: Path


def mask_channels(settings: DataSettings) -> tuple[str, ...]:
    """The names of the mask channels, in order: the face mask unless mask_type is none,
    then the eye and mouth areas."""
    return (() if settings.mask_type == "none" else ("face",)) + tuple(AREAS)


def cache_key(faces: Sequence[TrainingFace], settings: DataSettings) -> str:
    digest = hashlib.sha256(json.dumps({"format": FORMAT, "settings": settings.to_dict()},
                                       sort_keys=True).encode())
    for face in faces:
        digest.update(face.id.to_bytes(8, "little"))
        digest.update(np.asarray(face.landmarks, "<f4").tobytes())
        digest.update(np.asarray(face.matrix, "<f4").tobytes())
    return digest.hexdigest()[:20]


def cut_landmarks(faces: Sequence[TrainingFace], settings: DataSettings) -> np.ndarray:
    """Each face's 68 landmarks in training-image pixels (N x 68 x 2 float32)."""
    to_cut = settings.window.template_to_cut(settings.size)
    return np.array([transform_points(to_cut, transform_points(face.matrix, face.landmarks))
                     for face in faces], np.float32).reshape(len(faces), 68, 2)


def cache_paths(folder: Path, side: str, key: str) -> CachePaths:
    """Where the cache of `side` (A or B) with key `key` (see cache_key) lies in `folder`,
    the project's cache folder: whether those files are there, or safe to read, is not
    checked."""
    stem = f"train-{side}-{key}"
    return CachePaths(folder / f"{stem}.images.npy", folder / f"{stem}.masks.npy",
                  folder / f"{stem}.json")


def find_cache(folder: Path, side: str, faces: Sequence[TrainingFace],
               settings: DataSettings) -> FaceCache | None:
    """The side's cache for these faces and settings, if it was built whole (`folder` is
    the project's cache folder; none of its files is read unless it is inside the project)."""
    paths = cache_paths(folder, side, cache_key(faces, settings))
    face_ids = tuple(face.id for face in faces)
    try:
        for path in (paths.manifest, paths.images, paths.masks):
            inside(folder.parent, path, where="a training cache file")
        manifest = json.loads(paths.manifest.read_text())
        images = np.load(paths.images, mmap_mode="r")
        masks = np.load(paths.masks, mmap_mode="r")
    except (OSError, ValueError):   # UnsafePathError too: built again, over the link
        return None
    size, channels = settings.size, mask_channels(settings)
    if (manifest.get("format") != FORMAT or tuple(manifest.get("face_ids", ())) != face_ids
            or images.shape != (len(faces), size, size, 3)
            or masks.shape != (len(faces), size, size, len(channels))):
        return None
    return FaceCache(face_ids, images, masks, cut_landmarks(faces, settings), channels)


def build_cache(folder: Path, side: str, faces: Sequence[TrainingFace], settings: DataSettings,
                conn: sqlite3.Connection, *, on_progress: Progress | None = None,
                checkpoint: Callable[[], None] | None = None) -> FaceCache:
    """Decode, cut and mask the faces into a new cache, reading the store in batches;
    `checkpoint()` may raise to cancel (nothing is left behind), `on_progress(done, total)`
    follows the faces."""
    folder.mkdir(parents=True, exist_ok=True)
    inside(folder.parent, folder, where="the training cache folder")
    remove_stale_temps(folder)   # left by a process that died writing
    key = cache_key(faces, settings)
    paths = cache_paths(folder, side, key)
    count, size, channels = len(faces), settings.size, mask_channels(settings)
    with atomic_path(paths.images) as images_temp, atomic_path(paths.masks) as masks_temp:
        images = np.lib.format.open_memmap(images_temp, "w+", np.uint8, (count, size, size, 3))
        masks = np.lib.format.open_memmap(masks_temp, "w+", np.uint8,
                                          (count, size, size, len(channels)))
        _reserve(images_temp)
        _reserve(masks_temp)
        _decode(faces, settings, conn, images, masks, on_progress, checkpoint)
        images.flush()
        masks.flush()
        del images, masks
    manifest = {"format": FORMAT, "side": side, "key": key, "settings": settings.to_dict(),
                "face_ids": [face.id for face in faces], "mask_channels": list(channels)}
    atomic_write(paths.manifest, lambda temp: temp.write_text(json.dumps(manifest)))
    for old in folder.glob(f"train-{side}-*"):
        if not old.name.startswith(f"train-{side}-{key}."):
            remove_contained(folder.parent, old, where="a training cache file")
    cache = find_cache(folder, side, faces, settings)
    assert cache is not None
    return cache


def _decode(faces: Sequence[TrainingFace], settings: DataSettings, conn: sqlite3.Connection,
            images: np.ndarray, masks: np.ndarray, on_progress: Progress | None,
            checkpoint: Callable[[], None] | None) -> None:
    cut, size = settings.window, settings.size
    kind = None if settings.mask_type == "none" else settings.mask_type
    points = cut_landmarks(faces, settings)
    for start in range(0, len(faces), BATCH):
        if checkpoint is not None:
            checkpoint()
        batch = faces[start:start + BATCH]
        for row, face, stored in zip(range(start, start + len(batch)), batch,
                                     stored_crops(conn, [face.id for face in batch], kind)):
            crop = cv2.cvtColor(_decoded(stored.crop, face.id, cv2.IMREAD_COLOR),
                                cv2.COLOR_BGR2RGB)
            images[row] = cut_image(crop, cut, size)
            channels = []
            if kind is not None:
                mask = (_drawn_mask(face, kind) if stored.mask is None
                        else _decoded(stored.mask, face.id, cv2.IMREAD_GRAYSCALE))
                channels.append(blur(cut_image(mask, cut, size, smooth=False),
                                     face_mask_blur(settings.mask_blur, size)))
            channels += [area_mask(points[row], area, size) for area in AREAS]
            masks[row] = np.stack(channels, axis=-1)
        if on_progress is not None:
            on_progress(start + len(batch), len(faces))


def _drawn_mask(face: TrainingFace, kind: str) -> np.ndarray:
    """A landmark mask the store lacks, drawn from the face's points; other kinds cannot be."""
    if kind not in LANDMARK_MASKS:
        raise TrainingDataError(f"face {face.id} has no {kind} mask: compute it first "
                                f"(swapdeck masks add or apply) or train with another mask")
    return landmark_mask(face.landmarks, face.matrix, kind)


def _reserve(path: Path) -> None:
    """Allocate a memory-mapped file's blocks now: a full disk then fails here with ENOSPC,
    where writing through the map would kill the process with SIGBUS."""
    with open(path, "rb+") as handle:
        os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)


def _decoded(image: EncodedImage, face_id: int, flags: int) -> np.ndarray:
    try:
        decoded = decode_inline(image.data, flags, f"face {face_id}")
    except OversizedImageError as error:
        raise TrainingDataError(f"{error}: exclude the face or extract its source again") \
            from error
    if decoded is None:
        raise TrainingDataError(f"the stored {image.format} of face {face_id} cannot be "
                                "decoded: exclude the face or extract its source again")
    return decoded
