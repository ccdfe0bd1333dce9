"""Where the model files of `face_recognition_models` lie, found without importing the package.

Importing it fails with setuptools >= 82 (it needs pkg_resources), so only its location is used.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from pipeline.extract.backends import BackendUnavailableError

SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"
MMOD = "mmod_human_face_detector.dat"


def dlib_model_file(name: str) -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            "the face_recognition_models package is not installed: pip install "
            "face-recognition-models")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise BackendUnavailableError(f"dlib model file missing: {path} (reinstall "
                                      "face-recognition-models)")
    return path
