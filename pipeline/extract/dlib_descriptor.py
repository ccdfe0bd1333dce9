"""dlib's own face descriptor, one chip at a time: the reference "dlib-torch" must match.

Kept apart from dlib_resnet so that choosing it never imports torch.
"""
from __future__ import annotations

from collections.abc import Sequence

import dlib
import numpy as np

from pipeline.extract.backends import descriptor
from pipeline.extract.model_files import RESNET, dlib_model_file


@descriptor("dlib")
class DlibDescriptor:
    """`face_recognition_model_v1.compute_face_descriptor` per chip (~70-90 ms each on CPU;
    dlib's batched call is no faster). dlib picks its own device (CUDA only in a CUDA build of
    dlib), so `device` is accepted for the factory signature and not used."""
    name = "dlib"

    def __init__(self, device: str = "cpu") -> None:
        self.model = dlib.face_recognition_model_v1(str(dlib_model_file(RESNET)))

    def describe(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        rows = [self.model.compute_face_descriptor(np.ascontiguousarray(chip)) for chip in chips]
        return np.array(rows, np.float32).reshape(len(chips), 128)
