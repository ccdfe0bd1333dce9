"""The s3fd detector and fan aligner through their real loading and inference code, with
random weights (no download) saved where face-alignment's loader looks; faithfulness to
face-alignment's own per-face results; the offline error; `model_status`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import face_alignment
import face_alignment.utils
import numpy as np
import pytest
import torch
from face_alignment.detection.sfd.sfd_detector import SFDDetector
from skimage.data import astronaut, coffee

from pipeline.extract import weights
from pipeline.extract.backends import (ALIGNERS, DETECTORS, BackendUnavailableError, Detection,
                                       create)
from pipeline.extract.fan_backend import FAN_URL, S3FD_URL, FanAligner, S3fdDetector
from tests.paths import REPO
from tests.pipeline.fan_weights import (FAN_FILE, S3FD_FILE, TAMED_SCORE, forbid_downloads,
                                        random_fan, random_s3fd, tamed_s3fd,
                                        write_hub_checkpoints)

# one test process writes the weights and loads both pipelines for every test here
pytestmark = pytest.mark.xdist_group("fan_backend")
FACE_BOX = (170.0, 40.0, 270.0, 170.0)  # about the astronaut's face; the tamed S3FD's one box


def face_frame() -> np.ndarray:
    """The part of the astronaut that holds FACE_BOX: S3FD's work grows with the frame's area
    (seconds a 512 px frame on one core), and the tamed S3FD finds its box in any frame."""
    return astronaut()[:256, :320].copy()


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return forbid_downloads(monkeypatch)


def without_numba_jit(monkeypatch: pytest.MonkeyPatch) -> None:
    """What NUMBA_DISABLE_JIT=1 does, for face-alignment's two numba helpers (~9 s of JIT);
    the variable itself only acts when face_alignment.utils is imported, at collection here."""
    for name in ("_get_preds_fromhm", "transform_np"):
        function = getattr(face_alignment.utils, name)
        monkeypatch.setattr(face_alignment.utils, name, getattr(function, "py_func", function))


@pytest.fixture(scope="module")
def weights_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub cache holds the tamed S3FD and a random FAN (about 185 MB)."""
    home = tmp_path_factory.mktemp("torch_home")
    write_hub_checkpoints(home, tamed_s3fd(FACE_BOX, seed=0), random_fan(seed=1))
    return home


def use_torch_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(home))
    assert Path(torch.hub.get_dir()) == home / "hub"  # read at call time, as the loader does


@pytest.fixture(scope="module")
def backends(weights_home: Path) -> tuple[S3fdDetector, FanAligner]:
    """Both built by their registered factories, through face-alignment's loader."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        forbid_downloads(monkeypatch)
        use_torch_home(monkeypatch, weights_home)
        return (create(DETECTORS, "detector", "s3fd", "cpu"),
                create(ALIGNERS, "aligner", "fan", "cpu"))


@pytest.fixture(scope="module")
def reference(weights_home: Path) -> face_alignment.FaceAlignment:
    """face-alignment's own pipeline, on the same files."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        forbid_downloads(monkeypatch)
        use_torch_home(monkeypatch, weights_home)
        return face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device="cpu",
                                            flip_input=False, compile=False)


@pytest.fixture
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_torch_home(monkeypatch, tmp_path)
    return tmp_path


def test_s3fd_finds_the_one_face_in_each_frame(backends, reference) -> None:
    detector, _ = backends
    frames = [face_frame(), face_frame()[:, ::-1].copy()]
    found = detector.detect(frames)
    assert [len(f) for f in found] == [1, 1]
    for (detection,), frame in zip(found, frames):
        assert detection.box == pytest.approx(FACE_BOX, abs=1e-3)
        assert detection.score == pytest.approx(TAMED_SCORE, abs=1e-5)
        (theirs,) = reference.face_detector.detect_from_image(frame)
        assert theirs == pytest.approx([*detection.box, detection.score], abs=1e-3)


def test_s3fd_decodes_random_heads_as_face_alignment(tmp_path: Path) -> None:
    """Untamed random heads fire all over small frames: hundreds of boxes through decoding
    and NMS, batched over frames and split by size, each frame as face-alignment sees it."""
    net = random_s3fd(seed=2)
    torch.save(net.state_dict(), tmp_path / "s3fd.pth")
    theirs = SFDDetector("cpu", path_to_detector=str(tmp_path / "s3fd.pth"))
    image = astronaut()
    frames = [image[:128, 150:278], image[100:228, 200:328], coffee()[:96, :160]]
    found = S3fdDetector(net, "cpu").detect(frames)
    assert min(len(f) for f in found) > 20
    for frame, detections in zip(frames, found):
        expected = np.array(theirs.detect_from_image(frame.copy()))
        got = np.array([[*d.box, d.score] for d in detections])
        np.testing.assert_allclose(got, expected, atol=1e-3)


def test_fan_gives_68_points_in_each_face_crop(backends) -> None:
    detector, aligner = backends
    frame = face_frame()
    (points,), = aligner.landmarks([frame], detector.detect([frame]))
    assert points.shape == (68, 2) and points.dtype == np.float32
    assert np.isfinite(points).all()
    # FAN's crop is a square 200 * (w + h) / 195 pixels wide, centred 12% of h above the box.
    x0, y0, x1, y1 = FACE_BOX
    half = 100 * (x1 - x0 + y1 - y0) / 195
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2 - 0.12 * (y1 - y0)])
    assert (np.abs(points - centre) <= half + 2).all()  # + whole-pixel rounding
    assert len(np.unique(points, axis=0)) > 10  # random weights still spread the points


# Two frames, one box partly outside its frame; in batches of 2 the first pass mixes frames
# and the second frame's faces are split across passes.
FRAMES = [coffee(), astronaut()]
BOXES = [[Detection((-30.0, 250.0, 150.0, 430.0), 0.8)],
         [Detection(FACE_BOX, 0.99), Detection((100.0, 150.0, 260.0, 330.0), 0.9)]]


@pytest.fixture(scope="module")
def reference_points(reference) -> list[list[np.ndarray]]:
    """face-alignment's landmarks for BOXES, one face per call."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_numba_jit(monkeypatch)
        return [[reference.get_landmarks(frame, detected_faces=[np.array([*d.box, d.score])])[0]
                 for d in frame_boxes] for frame, frame_boxes in zip(FRAMES, BOXES)]


@pytest.mark.parametrize("batch_size", [8, 2])
def test_batched_fan_equals_face_alignment_per_face(backends, reference_points,
                                                    batch_size: int) -> None:
    """All faces in one pass, or split across passes: each lands where face-alignment puts it
    one face at a time (exactly, here; both truncate to whole pixels, which a rounding
    difference could tip either side of an integer)."""
    _, aligner = backends
    batched = FanAligner(aligner.net, "cpu", batch_size=batch_size).landmarks(FRAMES, BOXES)
    assert [len(f) for f in batched] == [1, 2]
    for got, expected in zip(sum(batched, []), sum(reference_points, [])):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1)


def test_flipped_fan_equals_face_alignment_flip_input(backends, reference,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, aligner = backends
    frame = astronaut()
    (points,), = FanAligner(aligner.net, "cpu", flip_input=True).landmarks(
        [frame], [[Detection(FACE_BOX, 0.99)]])
    without_numba_jit(monkeypatch)
    monkeypatch.setattr(reference, "flip_input", True)
    (expected,) = reference.get_landmarks(frame, detected_faces=[np.array([*FACE_BOX, 0.99])])
    np.testing.assert_allclose(points, expected, rtol=0, atol=1)


def test_no_faces_no_frames(backends) -> None:
    _, aligner = backends
    assert aligner.landmarks([astronaut()], [[]]) == [[]]
    assert aligner.landmarks([], []) == []
    assert backends[0].detect([]) == []


@pytest.mark.parametrize("table, kind, name", [(DETECTORS, "detector", "s3fd"),
                                               (ALIGNERS, "aligner", "fan")])
def test_offline_without_weights_names_the_fallback(empty_torch_home: Path, offline: list[str],
                                                    table, kind: str, name: str) -> None:
    with pytest.raises(BackendUnavailableError) as raised:
        create(table, kind, name, "cpu")
    message = str(raised.value)
    assert "\n" not in message
    assert "--detector dlib-hog --aligner dlib" in message
    folder = empty_torch_home / "hub" / "checkpoints"
    for needed in (S3FD_FILE, FAN_FILE, S3FD_URL, FAN_URL, str(folder), "$TORCH_HOME"):
        assert needed in message
    assert offline == [S3FD_URL if name == "s3fd" else FAN_URL]  # the loader tried to fetch it


def test_offline_error_lists_only_the_missing_file(empty_torch_home: Path) -> None:
    folder = empty_torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(random_fan(seed=1).state_dict(), folder / FAN_FILE)
    with pytest.raises(BackendUnavailableError) as raised:
        create(DETECTORS, "detector", "s3fd", "cpu")
    assert S3FD_FILE in str(raised.value) and FAN_FILE not in str(raised.value)


def test_an_unreadable_weight_file_says_what_to_do(empty_torch_home: Path) -> None:
    folder = empty_torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / FAN_FILE).write_bytes(b"an HTML error page, say")
    with pytest.raises(BackendUnavailableError, match="cannot load .*delete it"):
        create(ALIGNERS, "aligner", "fan", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_falls_back_to_the_cpu(weights_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_torch_home(monkeypatch, weights_home)
    assert create(DETECTORS, "detector", "s3fd", "cuda").device == "cpu"


def test_weight_names_and_folder_are_face_alignment_and_torch_hubs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (weights.S3FD_URL, weights.FAN_URL) == (S3FD_URL, FAN_URL)
    assert (weights.checkpoint_name(S3FD_URL), weights.checkpoint_name(FAN_URL)) == (S3FD_FILE,
                                                                                     FAN_FILE)
    monkeypatch.delenv("TORCH_HOME", raising=False)
    for xdg in (None, str(tmp_path / "xdg")):
        if xdg is None:
            monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert weights.hub_checkpoint_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    monkeypatch.setenv("TORCH_HOME", "~/elsewhere")
    assert weights.hub_checkpoint_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    assert weights.hub_checkpoint_dir() == Path.home() / "elsewhere" / "hub" / "checkpoints"


def test_model_status_sees_the_hub_files(weights_home: Path, empty_torch_home: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def by_name() -> dict[tuple[str, str], weights.ModelStatus]:
        return {(s.backend, s.kind): s for s in weights.model_status()}

    missing = by_name()
    assert list(missing) == [("dlib-hog", "detector"), ("dlib-mmod", "detector"),
                             ("dlib", "aligner"), ("dlib", "descriptor"), ("s3fd", "detector"),
                             ("fan", "aligner"), ("bisenet", "masker")]
    assert missing["s3fd", "detector"].paths == (empty_torch_home / "hub/checkpoints" / S3FD_FILE,)
    assert not missing["s3fd", "detector"].present and not missing["fan", "aligner"].present
    assert FAN_URL in missing["fan", "aligner"].note
    assert weights.BISENET.sha256 in missing["bisenet", "masker"].note
    assert missing["bisenet", "masker"].paths == (weights.BISENET.path,)
    for key in [("dlib-hog", "detector"), ("dlib-mmod", "detector"), ("dlib", "aligner"),
                ("dlib", "descriptor")]:
        assert missing[key].present  # dlib-bin and face-recognition-models are dependencies

    use_torch_home(monkeypatch, weights_home)
    present = by_name()
    assert present["fan", "aligner"].present and present["s3fd", "detector"].present
    assert present["fan", "aligner"].paths == (weights_home / "hub/checkpoints" / FAN_FILE,)


def test_model_status_loads_neither_torch_nor_dlib() -> None:
    """`swapdeck models` stays quick: file checks only."""
    code = ("import sys\nfrom pipeline.extract.weights import model_status\nmodel_status()\n"
            "print(sorted({'torch', 'face_alignment', 'dlib', 'numba'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"
