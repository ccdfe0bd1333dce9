"""One swapped face into its frame: mask, colour match, sharpen, blend (faceswap's order)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipeline.convert.alignments import Target
from pipeline.convert.blend import paste
from pipeline.convert.colour import match_colour
from pipeline.convert.masks import (FACE_MASK_KINDS, FALLBACK_MASK, adjust_mask, cut_mask,
                                    face_mask)
from pipeline.convert.settings import ConvertSettings
from pipeline.convert.sharpen import sharpen
from pipeline.convert.swapper import Swapper
from pipeline.convert.track_masks import TrackMasks, chosen_masks
from pipeline.extract.alignment import transform_points


class Composer:
    """Applies one conversion's settings to each swapped face.

    `tracks` holds the masks read per face (track_masks): every stored kind chosen must be
    there."""

    def __init__(self, swapper: Swapper, settings: ConvertSettings,
                 tracks: Mapping[str, TrackMasks] | None = None) -> None:
        self.swapper, self.settings = swapper, settings
        self.mask_kinds = chosen_masks(settings.mask, swapper.learns_mask)
        self.tracks = dict(tracks or {})
        unread = [k for k in self.mask_kinds if k not in FACE_MASK_KINDS and k not in self.tracks]
        if unread:
            raise ValueError(f"no stored masks given for {', '.join(unread)}")
        size = swapper.size
        # face scale: the pasted square grows or shrinks about its centre
        scale = 1 + settings.swap.face_scale / 100
        self.rescale = np.array([[scale, 0, size / 2 * (1 - scale)],
                                 [0, scale, size / 2 * (1 - scale)], [0, 0, 1]])

    def input_face(self, frame: np.ndarray, target: Target) -> np.ndarray:
        return self.swapper.cut(frame, target.matrix, self.swapper.model.config.input_size)

    def apply(self, frame: np.ndarray, target: Target, face: np.ndarray,
              learned: np.ndarray | None) -> None:
        """Paste `face` (the model's output for `target`) into `frame`, in place."""
        size, s = self.swapper.size, self.settings
        to_cut = self.swapper.frame_to_cut(target.matrix)
        under = self.swapper.cut(frame, target.matrix, size).astype(np.float32) / 255
        mask = self.mask(target, to_cut, learned)
        mask = adjust_mask(mask, s.mask.erosion / 100, s.mask.mask_blur / 100)
        face = match_colour(face, under, mask, s.colour.colour,
                            balance=(s.colour.balance_red, s.colour.balance_green,
                                     s.colour.balance_blue),
                            contrast=s.colour.contrast, brightness=s.colour.brightness)
        face = sharpen(face, s.blend.sharpen, s.blend.sharpen_amount,
                       s.blend.sharpen_radius / 100)
        to_frame = np.linalg.inv(np.vstack([to_cut, [0, 0, 1]])) @ self.rescale
        paste(frame, face, mask, to_frame[:2], s.blend.blend)

    def mask(self, target: Target, to_cut: np.ndarray,
             learned: np.ndarray | None) -> np.ndarray:
        """The chosen masks of the model's face (frame -> face pixels `to_cut`), intersected."""
        masks = [self._one_mask(kind, target, to_cut, learned) for kind in self.mask_kinds]
        return masks[0] if len(masks) == 1 else np.minimum(*masks)

    def missing(self) -> dict[str, int]:
        """How many faces had no stored mask of each kind (FALLBACK_MASK stood in)."""
        return {kind: len(track.missing) for kind, track in self.tracks.items()
                if track.missing}

    def _one_mask(self, kind: str, target: Target, to_cut: np.ndarray,
                  learned: np.ndarray | None) -> np.ndarray:
        size = self.swapper.size
        track = self.tracks.get(kind)
        crop = track.crop_mask(target.face) if track is not None else None
        if crop is not None:
            return cut_mask(crop, target.face.matrix, to_cut, size)
        points = transform_points(to_cut, target.landmarks)
        return face_mask(kind if kind in FACE_MASK_KINDS else FALLBACK_MASK, size, points,
                         learned)
