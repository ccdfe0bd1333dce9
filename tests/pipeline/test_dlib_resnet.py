"""dlib-torch against dlib's own face descriptor, on real faces.

scikit-image's astronaut always runs; the labelled photos of ../shared/testdata join in when
that folder is there (bbt: 8 people x 5 greyscale crops; johns: 5 men named John; obama).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np
import pytest
import torch
from PIL import Image
from skimage.data import astronaut

from pipeline.extract.backends import DESCRIPTORS
from pipeline.extract.dlib_descriptor import DlibDescriptor
from pipeline.extract.dlib_resnet import (DlibFormatError, DlibResNet, TorchDlibDescriptor,
                                          load_dlib_resnet, read_dlib_network)
from pipeline.extract.model_files import MMOD, RESNET, SHAPE_68, dlib_model_file

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
JOHNS_PER_PERSON = 5  # of 11: enough pairs, and dlib's own descriptor costs ~70 ms a face
THRESHOLD = 0.6  # dlib's same-person distance
# one test process finds and describes the faces and loads the network for every test here
pytestmark = pytest.mark.xdist_group("dlib_resnet")


@dataclass(frozen=True)
class Faces:
    chips: list[np.ndarray]
    labels: list[str]  # who; "" where unknown
    reference: np.ndarray  # dlib's own descriptors


def _chips(detector: dlib.fhog_object_detector, predictor: dlib.shape_predictor,
           image: np.ndarray, upsample: int) -> list[np.ndarray]:
    return [dlib.get_face_chip(image, predictor(image, box), size=150, padding=0.25)
            for box in detector(image, upsample)]


@pytest.fixture(scope="module")
def faces() -> Faces:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_file(SHAPE_68)))
    chips = _chips(detector, predictor, astronaut(), upsample=0)  # 1 finds her mission patch
    assert len(chips) == 1
    labels = ["astronaut"]
    photos: list[tuple[Path, str]] = []
    if TESTDATA.is_dir():
        for person in sorted((TESTDATA / "identities" / "bbt").iterdir()):
            photos += [(p, f"bbt/{person.name}") for p in sorted(person.iterdir())]
        for person in sorted((TESTDATA / "identities" / "johns").iterdir()):
            photos += [(p, f"johns/{person.name}")
                       for p in sorted(person.iterdir())[:JOHNS_PER_PERSON]]
        photos += [(p, "") for p in sorted((TESTDATA / "stills" / "obama").glob("*.jpg"))]
    for path, label in photos:
        image = np.asarray(Image.open(path).convert("RGB"))
        # The 150x150 identity crops need upsampling to find the face; large stills do not.
        found = _chips(detector, predictor, image, upsample=1 if image.shape[0] <= 300 else 0)
        chips += found
        labels += [label if len(found) == 1 else ""] * len(found)
    return Faces(chips, labels, DlibDescriptor("cpu").describe(chips))


@pytest.fixture(scope="module")
def network() -> DlibResNet:
    return load_dlib_resnet(dlib_model_file(RESNET))


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_file_is_dlibs_face_descriptor_network() -> None:
    net = read_dlib_network(dlib_model_file(RESNET))
    assert net.chip_size == (150, 150)
    np.testing.assert_allclose(net.mean_rgb, (122.782, 117.001, 104.298), atol=1e-4)
    kinds = [layer.kind for layer in net.layers]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "con": 29, "affine": 29, "relu": 29, "max_pool": 1, "avg_pool": 5, "add_prev": 14,
        "fc": 1}


@pytest.mark.parametrize("bf16, min_cosine, max_distance", [
    (False, 0.99999, 1e-4),
    (True, 0.999, 0.05),
], ids=["fp32", "bf16"])
@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="no CUDA device")),
])
def test_matches_dlib_on_real_faces(faces: Faces, network: DlibResNet, device: str, bf16: bool,
                                    min_cosine: float, max_distance: float) -> None:
    model = load_dlib_resnet(dlib_model_file(RESNET)) if device == "cuda" else network
    ours = TorchDlibDescriptor(device, 16, bf16, model).describe(faces.chips)  # 5 batches
    assert ours.shape == (len(faces.chips), 128) and ours.dtype == np.float32
    cosine = _cosine(ours, faces.reference)
    distance = np.linalg.norm(ours - faces.reference, axis=1)
    print(f"{device} bf16={bf16}: {len(faces.chips)} faces, min cosine {cosine.min():.7f}, "
          f"max Euclidean difference {distance.max():.2e}")
    assert cosine.min() > min_cosine, faces.labels[int(cosine.argmin())]
    assert distance.max() < max_distance


def test_same_and_different_people(faces: Faces, network: DlibResNet) -> None:
    """Every pair of the five Johns: the same man closer than 0.6, different men farther."""
    johns = [i for i, label in enumerate(faces.labels) if label.startswith("johns/")]
    if not johns:
        pytest.skip(f"real test data not found: {TESTDATA / 'identities' / 'johns'}")
    ours = TorchDlibDescriptor("cpu", model=network).describe([faces.chips[i] for i in johns])
    labels = np.array([faces.labels[i] for i in johns])
    distance = np.linalg.norm(ours[:, None] - ours[None], axis=2)
    same = labels[:, None] == labels[None]
    pairs = ~np.eye(len(johns), dtype=bool)
    assert distance[same & pairs].max() < THRESHOLD < distance[~same].min()


def test_both_backends_are_registered() -> None:
    assert DESCRIPTORS["dlib"] is DlibDescriptor
    assert DESCRIPTORS["dlib-torch"] is TorchDlibDescriptor


def test_rejects_chips_of_the_wrong_size(network: DlibResNet) -> None:
    model = TorchDlibDescriptor("cpu", model=network)
    with pytest.raises(ValueError, match="150, 150, 3"):
        model.describe([np.zeros((160, 160, 3), np.uint8)])
    assert model.describe([]).shape == (0, 128)


def test_rejects_other_networks_and_truncated_files(tmp_path: Path) -> None:
    with pytest.raises(DlibFormatError, match="loss_mmod"):
        load_dlib_resnet(dlib_model_file(MMOD))
    truncated = tmp_path / "half.dat"
    data = dlib_model_file(RESNET).read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(DlibFormatError, match="ends early"):
        load_dlib_resnet(truncated)


def test_rejects_a_layer_with_other_geometry(tmp_path: Path) -> None:
    """Tags and skips leave no trace in the file, so the loader checks every window, stride
    and padding against the wiring it builds: here the stem's max_pool padded by 1."""
    data = dlib_model_file(RESNET).read_bytes()
    pool = b"\x0amax_pool_2\x01\x03\x01\x03\x01\x02\x01\x02\x01\x00"  # 3x3, stride 2, pad 0
    assert data.count(pool) == 1
    padded = tmp_path / "padded.dat"
    padded.write_bytes(data.replace(pool, pool[:-1] + b"\x01"))
    with pytest.raises(DlibFormatError, match="max_pool"):
        load_dlib_resnet(padded)
