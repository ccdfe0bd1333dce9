"""What the clustering benchmarks share: the labelled photos of
../shared/testdata/identities and their descriptors."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pipeline.extract.backends import BackendUnavailableError
from pipeline.extract.extractor import FaceExtractor
from store.requests.extract import ExtractSettings

IDENTITIES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "identities"
MAX_SIDE = 1024


def labelled_photos() -> list[tuple[Path, str]]:
    photos = []
    with (IDENTITIES / "deepface" / "identity_labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            photos.append((IDENTITIES / "deepface" / row["file"], "deepface/" + row["identity"]))
    for group in ("bbt", "johns"):
        for person in sorted((IDENTITIES / group).iterdir()):
            photos += [(p, f"{group}/{person.name}") for p in sorted(person.iterdir())]
    return photos


def load(path: Path) -> np.ndarray:
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.asarray(image)


def describe_labelled_photos() -> tuple[np.ndarray, list[str]]:
    """The largest face's descriptor of each labelled photo, and whose face it is.

    Photos larger than MAX_SIDE are scaled down first; photos without a face are left out.
    """
    extractor = FaceExtractor(ExtractSettings(detector="dlib-hog", aligner="dlib", min_size=0))
    vectors, truth = [], []
    for path, person in labelled_photos():
        try:
            vectors.append(extractor.reference_descriptor(load(path), path.name))
        except BackendUnavailableError:
            continue
        truth.append(person)
    return np.asarray(vectors, np.float32), truth
