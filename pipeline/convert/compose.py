"""One swapped face into its frame: mask, colour match, sharpen, blend (faceswap's order)."""
from __future__ import annotations

import numpy as np

from pipeline.convert.alignments import Target
from pipeline.convert.blend import paste
from pipeline.convert.colour import match_colour
from pipeline.convert.masks import adjust_mask, face_mask
from pipeline.convert.settings import ConvertSettings
from pipeline.convert.sharpen import sharpen
from pipeline.convert.swapper import Swapper
from pipeline.extract.alignment import transform_points


class Composer:
    """Applies one conversion's settings to each swapped face."""

    def __init__(self, swapper: Swapper, settings: ConvertSettings) -> None:
        self.swapper, self.settings = swapper, settings
        self.mask_kind = (settings.mask.mask if settings.mask.mask != "auto" else
                          "learned" if swapper.learns_mask else "extended")
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
        points = transform_points(to_cut, target.landmarks)
        mask = face_mask(self.mask_kind, size, points, learned)
        mask = adjust_mask(mask, s.mask.erosion / 100, s.mask.mask_blur / 100)
        face = match_colour(face, under, mask, s.colour.colour,
                            balance=(s.colour.balance_red, s.colour.balance_green,
                                     s.colour.balance_blue),
                            contrast=s.colour.contrast, brightness=s.colour.brightness)
        face = sharpen(face, s.blend.sharpen, s.blend.sharpen_amount,
                       s.blend.sharpen_radius / 100)
        to_frame = np.linalg.inv(np.vstack([to_cut, [0, 0, 1]])) @ self.rescale
        paste(frame, face, mask, to_frame[:2], s.blend.blend)
