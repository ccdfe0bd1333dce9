"""The pieces of the formats: PNG text chunks, JPEG segments, faceswap's geometry, and the
exact layout of what we write (faceswap's newest reader refuses keys it does not know;
DeepFaceLab's data must unpickle with no globals at all)."""
from __future__ import annotations

import ast
import pickle
import pickletools
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.extract.alignment import transform_points
from pipeline.interop import dfl, faceswap
from pipeline.interop.faceswap_geometry import MEAN_FACE_51, aligned_matrix, legacy_matrix, \
    padding
from pipeline.interop.foreign import ForeignFormatError
from pipeline.interop.jpeg_segments import APP0, APP15, COM, payloads, segments, \
    with_segments
from pipeline.interop.png_chunks import PngMetaError, chunks, itxt_texts, literal, \
    with_texts
from store import jobs
from store.project import create_project
from tests.pipeline.interop.foreign_files import faceswap_face_png
from tests.pipeline.interop.running import run
from tests.pipeline.train.people import astronaut_landmarks, picture

# What faceswap's readers accept (lib/align/objects.py: the dataclasses' fields).
FS_FACE = {"x", "y", "w", "h", "landmarks_xy", "mask", "identity"}
FS_SOURCE = {"alignments_version", "original_filename", "face_index", "source_filename",
             "source_is_video", "source_frame_dims"}
FS_MASK = {"mask", "affine_matrix", "interpolator", "stored_size", "stored_centering"}


def mean_face_landmarks(scale: float = 200.0, at: float = 100.0) -> np.ndarray:
    jaw = np.column_stack([np.linspace(0, 1, 17), 0.5 + 0.5 * np.sin(np.linspace(0, np.pi,
                                                                                   17))])
    return np.vstack([jaw, MEAN_FACE_51]) * scale + at


def test_the_legacy_square_is_the_mean_face_s() -> None:
    landmarks = mean_face_landmarks()
    np.testing.assert_allclose(transform_points(legacy_matrix(landmarks), landmarks[17:]),
                               MEAN_FACE_51, atol=1e-9)
    size = 256
    pad = padding(size, "legacy")
    assert (pad, padding(512, "head"), padding(512, "face")) == (48, 160, 128)
    np.testing.assert_allclose(
        transform_points(aligned_matrix(landmarks, size, "legacy"), landmarks[17:]),
        MEAN_FACE_51 * (size - 2 * pad) + pad, atol=1e-6)


def test_centerings_share_rotation_and_scale_up_to_their_padding() -> None:
    landmarks = transform_points(cv2.getRotationMatrix2D((200, 200), 20, 1.3),
                                 mean_face_landmarks())
    head, face = aligned_matrix(landmarks, 512, "head"), aligned_matrix(landmarks, 512, "face")
    ratio = (512 - 2 * padding(512, "head")) / (512 - 2 * padding(512, "face"))
    np.testing.assert_allclose(head[:, :2], face[:, :2] * ratio, rtol=1e-9)


def tiny_png() -> bytes:
    return cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes()


def test_png_text_chunks_go_before_the_image_data_and_read_back() -> None:
    png = with_texts(tiny_png(), [("faceswap", b"{'a': 1}"), ("swapdeck", b"{}")])
    kinds = [kind for kind, _ in chunks(png)]
    assert kinds.index(b"iTXt") < kinds.index(b"IDAT")
    assert itxt_texts(png) == {"faceswap": b"{'a': 1}", "swapdeck": b"{}"}
    again = with_texts(png, [("faceswap", b"{'a': 2}")])
    assert itxt_texts(again)["faceswap"] == b"{'a': 2}" and kinds.count(b"iTXt") == 2
    assert cv2.imdecode(np.frombuffer(again, np.uint8), cv2.IMREAD_COLOR).shape == (8, 8, 3)


def test_compressed_and_late_text_chunks_are_read() -> None:
    png = tiny_png()
    body = b"iTXt" + b"faceswap\0\1\0\0\0" + zlib.compress(b"{'b': 2}")
    late = (len(body) - 4).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    after_the_image = png[:-12] + late + png[-12:]      # before IEND
    assert literal(itxt_texts(after_the_image)["faceswap"]) == {"b": 2}
    with pytest.raises(PngMetaError, match="runs past"):
        chunks(png[:45])


def test_a_header_that_is_code_is_not_run(tmp_path: Path) -> None:
    png = with_texts(tiny_png(), [("faceswap", b"__import__('os').system('touch x')")])
    with pytest.raises(ForeignFormatError, match="not a plain literal"):
        faceswap.read_png_face(tmp_path / "x.png", png)


def test_jpeg_segments_go_after_the_app_segments_and_replace_earlier_ones() -> None:
    jpeg = cv2.imencode(".jpg", np.full((16, 16, 3), 90, np.uint8))[1].tobytes()
    once = with_segments(jpeg, [(APP15, b"one"), (COM, b"swapdeck:{}")])
    twice = with_segments(once, [(APP15, b"two")])
    markers = [marker for marker, _ in segments(twice)[0]]
    assert markers.index(APP0) < markers.index(APP15) and payloads(twice, APP15) == [b"two"]
    assert COM not in markers
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(twice, np.uint8), 1),
                                  cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the astronaut (imported as a still) exported both ways, and its
    alignments file."""
    root = tmp_path_factory.mktemp("exported")
    (root / "in").mkdir()
    frame = cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR)
    (root / "in" / "astronaut_0.png").write_bytes(
        faceswap_face_png(frame, astronaut_landmarks(), "astronaut.png"))
    project = create_project(root / "project")
    assert run(project, "import", path=str(root / "in"), person="Eileen").status == \
        jobs.JobStatus.DONE
    for fmt in ("faceswap", "dfl"):
        assert run(project, "export", folder=str(root / fmt), format=fmt).status == \
            jobs.JobStatus.DONE
    assert run(project, "export-alignments", source_id=1,
               file=str(root / "faces_alignments.fsa")).status == jobs.JobStatus.DONE
    return root


def test_our_faceswap_pngs_hold_exactly_what_faceswap_reads(exported: Path) -> None:
    [png] = (exported / "faceswap").iterdir()
    data = png.read_bytes()
    kinds = [kind for kind, payload in chunks(data)]
    first_text = next(p for k, p in chunks(data) if k == b"iTXt")
    assert first_text.startswith(b"faceswap\0\0\0\0\0") and kinds.index(b"iTXt") < \
        kinds.index(b"IDAT")
    header = ast.literal_eval(itxt_texts(data)["faceswap"].decode("utf-8"))
    assert set(header) == {"alignments", "source"}
    assert set(header["alignments"]) == FS_FACE and set(header["source"]) == FS_SOURCE
    assert header["source"]["original_filename"] == png.name
    for mask in header["alignments"]["mask"].values():
        assert set(mask) == FS_MASK and len(zlib.decompress(mask["mask"])) == 128 * 128
    assert cv2.imread(str(png)).shape == (512, 512, 3)


def test_our_alignments_file_holds_plain_data_in_faceswap_s_layout(exported: Path) -> None:
    data = zlib.decompress((exported / "faces_alignments.fsa").read_bytes())
    assert not [op for op, _, _ in pickletools.genops(data) if "GLOBAL" in op.name]
    loaded = pickle.loads(data)
    assert loaded["__meta__"] == {"version": 2.4}
    [(name, entry)] = loaded["__data__"].items()
    assert name == "astronaut_0.png" and set(entry) == {"faces", "video_meta"}
    assert set(entry["faces"][0]) == FS_FACE | {"thumb"}


def test_our_dfl_jpgs_hold_plain_data_deepfacelab_reads(exported: Path) -> None:
    [jpg] = (exported / "dfl").iterdir()
    data = jpg.read_bytes()
    [app15] = payloads(data, APP15)
    opcodes = [(op.name, arg) for op, arg, _ in pickletools.genops(app15)]
    assert not [name for name, _ in opcodes if "GLOBAL" in name]
    assert ("PROTO", 3) in opcodes       # DeepFaceLab's Python reads protocol 3
    info = pickle.loads(app15)
    assert info["face_type"] == "head" and len(info["landmarks"]) == 68
    assert set(info) >= {"source_filename", "source_rect", "source_landmarks",
                         "image_to_face_mat"}
    face = dfl.read_face(jpg, data)
    assert face is not None and face.person == "Eileen"
    np.testing.assert_allclose(transform_points(face.to_image, face.landmarks),
                               face.image_landmarks, atol=0.01)
