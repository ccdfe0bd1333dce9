"""mmod (dlib's MMOD face detector in PyTorch) against dlib's own, and the files it refuses.

The astronaut always runs, cropped around her face so dlib's own detector takes a fraction of
a second; the real clips of ../shared/testdata join in (marked slow) when that folder is there.
"""
from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path

import av
import dlib
import numpy as np
import pytest
from skimage.data import astronaut

from pipeline.extract.backends import DETECTORS, Detection, create
from pipeline.extract.dlib_format import DlibFormatError
from pipeline.extract.dlib_mmod import (TorchMmodDetector, box_iou, build_network,
                                        pyramid_tiles, read_mmod_file)
from pipeline.extract.extractor import detection_image
from pipeline.extract.model_files import MMOD, RESNET, dlib_model_file

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "videos"
CLIPS = ("short_hamilton_clip.mp4", "crowd.mp4", "portrait_720x1280.mp4",
         "Ben_Stiller_Owen_Wilson.mp4")
# the test process that loads both networks runs every test here
pytestmark = pytest.mark.xdist_group("dlib_mmod")


@pytest.fixture(scope="module")
def ours() -> TorchMmodDetector:
    return TorchMmodDetector("cpu")


@pytest.fixture(scope="module")
def theirs() -> dlib.cnn_face_detection_model_v1:
    return dlib.cnn_face_detection_model_v1(str(dlib_model_file(MMOD)))


def dlib_boxes(net: dlib.cnn_face_detection_model_v1, image: np.ndarray,
               upsample: int) -> list[tuple[float, ...]]:
    return [(float(d.rect.left()), float(d.rect.top()), float(d.rect.right()),
             float(d.rect.bottom())) for d in net(image, upsample)]


@pytest.mark.parametrize("upsample, crop", [(0, np.s_[:256, 100:356]),
                                            (1, np.s_[40:200, 140:300])])
def test_finds_the_astronauts_face_as_dlib_does(ours: TorchMmodDetector, theirs,
                                                upsample: int, crop: slice) -> None:
    image = np.ascontiguousarray(astronaut()[crop])
    [expected] = dlib_boxes(theirs, image, upsample)
    [found] = ours.detect([image], upsample)[0]
    assert box_iou(found.box, expected) >= 0.95, (found.box, expected)


def test_is_the_registered_mmod_detector() -> None:
    detector = create(DETECTORS, "detector", "mmod", "cpu", 2.0)
    assert isinstance(detector, TorchMmodDetector) and detector.min_size_percent == 2.0


def test_reads_the_windows_and_suppression_from_the_file() -> None:
    mmod = read_mmod_file(dlib_model_file(MMOD))
    assert [(w.width, w.height) for w in mmod.windows] == [(80, 80)]
    assert 0.3 < mmod.nms_iou < 0.4 and mmod.nms_covered == 1.0
    assert mmod.pyramid_padding == (10, 11)  # an old file: dlib's padding for those
    assert [layer.kind for layer in mmod.layers] == ["con", "affine", "relu"] * 6 + ["con"]


def test_the_tiled_pyramid_keeps_its_levels_apart() -> None:
    tiles, (rows, cols) = pyramid_tiles(360, 640, 10, 11)
    assert (tiles[0].rows, tiles[0].cols) == (360, 640) and (tiles[1].rows, tiles[1].cols) \
        == (300, 533)
    for index, tile in enumerate(tiles):
        assert 0 <= tile.top and tile.top + tile.rows <= rows
        assert 0 <= tile.left and tile.left + tile.cols <= cols
        assert not any(tile.touches(other) for other in tiles[index + 1:])


def test_refuses_other_networks_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(DlibFormatError, match="loss layer 'loss_metric_2', expected loss_mmod_"):
        read_mmod_file(dlib_model_file(RESNET))
    data = dlib_model_file(MMOD).read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(data[:len(data) * 2 // 3])
    with pytest.raises(DlibFormatError, match="the file ends early"):
        TorchMmodDetector("cpu", path=truncated)
    garbage = tmp_path / "garbage.dat"
    garbage.write_bytes(b"\x01\x01\x01\x0aloss_mmod_\x01\x09" + bytes(64))
    with pytest.raises(DlibFormatError, match="mmod_options version 9"):
        TorchMmodDetector("cpu", path=garbage)


def test_refuses_a_network_of_other_layers(tmp_path: Path) -> None:
    mmod = read_mmod_file(dlib_model_file(MMOD))
    without_a_relu = replace(mmod, layers=mmod.layers[:2] + mmod.layers[3:])
    with pytest.raises(DlibFormatError, match="are not dlib's MMOD detector's"):
        build_network(without_a_relu)
    two_windows = replace(mmod, windows=mmod.windows * 2)
    with pytest.raises(DlibFormatError, match="1 score maps for 2 detector windows"):
        build_network(two_windows)
    unknown = tmp_path / "unknown.dat"
    unknown.write_bytes(dlib_model_file(MMOD).read_bytes().replace(b"bn_con2", b"bn_conX", 1))
    with pytest.raises(DlibFormatError, match="layer 'bn_conX' is not one this reader knows"):
        read_mmod_file(unknown)


def clip_frames(clip: str, count: int) -> list[np.ndarray]:
    """`count` frames spread over the clip, scaled to the default detect size."""
    with av.open(str(VIDEOS / clip)) as container:
        stream = container.streams.video[0]
        wanted = set(np.linspace(0, stream.frames - 1, count).round().astype(int))
        images = [detection_image(np.ascontiguousarray(f.to_ndarray(format="rgb24")), 640)[0]
                  for index, f in enumerate(container.decode(stream)) if index in wanted]
    return images


@pytest.mark.slow
@pytest.mark.skipif(not VIDEOS.is_dir(), reason=f"no real test clips: {VIDEOS} is missing")
def test_same_faces_as_dlib_on_the_real_clips(ours: TorchMmodDetector, theirs) -> None:
    """Upsample 0 keeps dlib's side to ~2 s a frame."""
    ious, counts = [], []
    for clip in CLIPS:
        for image in clip_frames(clip, 3):
            expected = dlib_boxes(theirs, image, 0)
            found: list[Detection] = ours.detect([image], 0)[0]
            counts.append((clip, len(found), len(expected)))
            ious += [max((box_iou(f.box, box) for f in found), default=0.0) for box in expected]
    assert all(a == b for _, a, b in counts), counts
    assert ious and statistics.mean(ious) >= 0.95, ious
