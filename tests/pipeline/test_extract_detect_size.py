"""Detection on a frame scaled down to the detect size: boxes and landmarks in full-frame
pixels, HOG's upsampling decided on the image it sees, the pixel cap kept."""
from __future__ import annotations

import dlib
import numpy as np
import pytest
from skimage.data import astronaut

from pipeline.extract.dlib_backend import shape_points, shape_predictor
from pipeline.extract.extractor import (DETECT_MAX_PIXELS, FaceExtractor, detection_image,
                                        detection_scale)
from store.requests.extract import ExtractSettings

MIN_SIZE = 10.0  # % of the short side: 154 px of the 3x frame (no upsampling), 51 of 512


@pytest.mark.parametrize("shape, detect_size, expected", [
    ((1080, 1920, 3), 640, (360, 640)),
    ((1280, 720, 3), 640, (640, 360)),
    ((360, 640, 3), 640, (360, 640)),  # never enlarged
    ((1080, 1920, 3), 0, (1080, 1920)),
    ((6000, 8000, 3), 0, (3464, 4619)),  # 0 still keeps to DETECT_MAX_PIXELS
])
def test_the_detection_image(shape: tuple[int, int, int], detect_size: int,
                             expected: tuple[int, int]) -> None:
    image = np.zeros(shape, np.uint8)
    small, (fx, fy) = detection_image(image, detect_size)
    assert small.shape[:2] == expected
    assert small.shape[0] * small.shape[1] <= DETECT_MAX_PIXELS + sum(expected)  # rounding
    assert fx == pytest.approx(shape[1] / expected[1]) and fy == pytest.approx(
        shape[0] / expected[0])
    assert detection_scale(shape, detect_size) <= 1.0


def test_boxes_and_landmarks_come_back_in_full_frame_pixels() -> None:
    """The astronaut made 3x larger by repeating pixels and detected at 512 px: the detector
    sees exactly the original, so its boxes are the original's times 3 and the landmarks,
    found on the full frame, the original's times 3 (within a few px). HOG upsamples once for
    the detection image, as on the original, and so finds her mission patch too; on the full
    3x frame it would not have."""
    original = astronaut()
    large = np.ascontiguousarray(original.repeat(3, axis=0).repeat(3, axis=1))
    extractor = FaceExtractor(ExtractSettings(detector="dlib-hog", aligner="dlib",
                                              detect_size=512, min_size=MIN_SIZE))
    [found] = extractor.locate([large])
    rects, _, _ = dlib.get_frontal_face_detector().run(original, 1, 0.0)
    assert len(found) == len(rects) == 2
    for face, rect in zip(found, rects):
        expected = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()]) * 3
        np.testing.assert_allclose(face.detection.box, expected, atol=3)
    [(face, rect)] = [(f, r) for f, r in zip(found, rects) if r.top() < 256]  # not the patch
    points = shape_points(shape_predictor()(original, rect)) * 3
    assert np.abs(face.landmarks - points).mean() < 4


def test_detect_size_0_is_the_full_frame() -> None:
    extractor = FaceExtractor(ExtractSettings(detector="dlib-hog", aligner="dlib",
                                              detect_size=0, min_size=20.0))
    [[face]] = extractor.locate([astronaut()])
    [rect] = dlib.get_frontal_face_detector()(astronaut(), 0)  # 102 px wanted: no upsampling
    assert face.detection.box == (rect.left(), rect.top(), rect.right(), rect.bottom())
