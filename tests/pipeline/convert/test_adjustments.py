"""The converter's per-face adjustments: masks, colour matching, pasting and sharpening."""
from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from pipeline.convert.blend import BLEND_METHODS, paste
from pipeline.convert.colour import COLOUR_METHODS, match_colour
from pipeline.convert.masks import adjust_mask, face_mask
from pipeline.convert.sharpen import SHARPEN_METHODS, sharpen
from pipeline.extract.alignment import align_to_mean_face, transform_points
from pipeline.extract.masks import hull_mask, landmark_mask
from pipeline.extract.mean_face import MEAN_FACE_68
from store.faces import crop_matrix

SIZE = 256
TRANSFERS = ("avg-color", "rct", "lct", "mkl", "idt", "sot", "hist-match")


@functools.cache
def _astronaut() -> np.ndarray:
    return astronaut()


def crop(top: int = 10, left: int = 120, span: int = 220) -> np.ndarray:
    """The astronaut's face, float32 SIZE^2 RGB in [0, 1]."""
    image = _astronaut()[top:top + span, left:left + span]
    return cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def swapped() -> np.ndarray:
    """A stand-in for the model's face: another framing, mirrored, with a colour cast, and
    continuous values like a network's output (8-bit ties cannot be split by any matching)."""
    noise = np.random.default_rng(0).normal(0, 0.01, (SIZE, SIZE, 3)).astype(np.float32)
    face = crop(30, 100, 240)[:, ::-1] * np.float32([0.85, 0.95, 0.7]) + 0.04 + noise
    return np.clip(face, 0, 1)


def ellipse(size: int = SIZE) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, size // 2 + 10), (size * 3 // 10, size * 4 // 10), 0, 0, 360,
                1, -1)
    return mask


def inside(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return image[mask > 0.5].astype(np.float64)


def face_points(size: int = SIZE) -> np.ndarray:
    """The mean face's 68 points placed in a size^2 face, as a model's output holds them."""
    return MEAN_FACE_68 * (size * 0.55) + (size * 0.2, size * 0.12)


# ---- masks ----

@pytest.mark.parametrize("kind", ["components", "extended"])
def test_landmark_mask_draws_the_hulls_of_the_points_in_the_crop(kind):
    points = MEAN_FACE_68 @ np.array([[300, 40], [-40, 300]]) + (500, 200)
    matrix = align_to_mean_face(points)
    in_crop = transform_points(crop_matrix(matrix, SIZE), points)
    mask = landmark_mask(points, matrix, kind)
    assert np.array_equal(mask, hull_mask(in_crop, kind, SIZE))
    assert set(np.unique(mask)) == {0, 255} and 0.1 < (mask > 0).mean() < 0.7


def test_face_mask_from_landmarks_is_binary_and_extended_takes_in_the_forehead():
    components = face_mask("components", SIZE, face_points(), None)
    extended = face_mask("extended", SIZE, face_points(), None)
    for mask in (components, extended):
        assert mask.dtype == np.float32 and mask.shape == (SIZE, SIZE)
        assert set(np.unique(mask)) == {0.0, 1.0}
    assert 0.15 < components.mean() < extended.mean() < 0.8
    assert np.all(extended >= components)           # extended only adds
    top = np.flatnonzero(components.any(axis=1))[0]
    assert np.flatnonzero(extended.any(axis=1))[0] < top - 5


def test_face_mask_learned_none_and_errors():
    learned = np.zeros((64, 64), np.float32)
    learned[16:48, 16:48] = 1
    mask = face_mask("learned", SIZE, None, learned)
    assert mask.shape == (SIZE, SIZE) and mask.dtype == np.float32
    assert mask[128, 128] == 1 and mask[10, 10] == 0 and 0.2 < mask.mean() < 0.3
    assert np.array_equal(face_mask("learned", 64, None, learned[..., None]), learned)
    assert np.array_equal(face_mask("none", 32, None, None), np.ones((32, 32), np.float32))
    with pytest.raises(ValueError, match="did not learn a mask: choose components or extended"):
        face_mask("learned", SIZE, face_points(), None)
    with pytest.raises(ValueError, match="unknown mask 'bisenet'"):
        face_mask("bisenet", SIZE, face_points(), None)
    with pytest.raises(ValueError, match="needs the face's landmarks"):
        face_mask("extended", SIZE, None, None)


def test_erosion_shrinks_the_mask_and_negative_erosion_grows_it():
    mask = ellipse()
    assert np.array_equal(adjust_mask(mask, 0, 0), mask)
    # faceswap's scale: the ellipse is that share of the mask's radius (~88 px) across.
    shrunk, grown = adjust_mask(mask, 0.2, 0), adjust_mask(mask, -0.2, 0)
    assert shrunk.sum() < 0.9 * mask.sum() and np.all(shrunk <= mask)
    assert grown.sum() > 1.1 * mask.sum() and np.all(grown >= mask)
    assert adjust_mask(mask, 0.4, 0).sum() < shrunk.sum()


def test_blur_softens_the_edge_and_keeps_the_centre():
    mask = ellipse()
    blurred = adjust_mask(mask, 0, 0.05)
    assert blurred.dtype == np.float32
    assert np.count_nonzero((blurred > 0.02) & (blurred < 0.98)) > 10 * np.count_nonzero(
        (mask > 0) & (mask < 1))
    assert abs(blurred[SIZE // 2 + 10, SIZE // 2] - 1) < 1e-5
    assert blurred[2, 2] == 0
    assert abs(blurred.sum() - mask.sum()) < 0.02 * mask.sum()    # the edge moves neither way


def test_adjust_mask_rejects_out_of_range_settings():
    with pytest.raises(ValueError, match="erosion must be between -50 and 50 percent, not 60"):
        adjust_mask(ellipse(), 0.6, 0)
    with pytest.raises(ValueError, match="blur must be between 0 and 50 percent"):
        adjust_mask(ellipse(), 0, -0.1)


# ---- colour ----

@pytest.mark.parametrize("method", TRANSFERS)
def test_transfers_move_the_masked_mean_to_the_target(method):
    face, target, mask = swapped(), crop(), ellipse()
    out = match_colour(face, target, mask, method)
    assert out.dtype == np.float32 and out.shape == face.shape
    assert 0 <= out.min() and out.max() <= 1
    before = np.abs(inside(face, mask).mean(0) - inside(target, mask).mean(0)).max()
    after = np.abs(inside(out, mask).mean(0) - inside(target, mask).mean(0)).max()
    assert before > 0.05
    assert after < 0.01, f"{method}: masked mean off by {after:.4f}"


@pytest.mark.parametrize("method, tolerance", [("lct", 0.01), ("mkl", 0.01), ("idt", 0.03),
                                               ("sot", 0.05), ("hist-match", 0.05)])
def test_distribution_transfers_match_the_covariance(method, tolerance):
    face, target, mask = swapped(), crop(), ellipse()
    wanted = np.cov(inside(target, mask), rowvar=False)
    out = np.cov(inside(match_colour(face, target, mask, method), mask), rowvar=False)
    error = np.abs(out - wanted).max() / np.abs(wanted).max()
    before = np.abs(np.cov(inside(face, mask), rowvar=False) - wanted).max() / np.abs(wanted).max()
    assert before > 0.1
    assert error < tolerance, f"{method}: covariance off by {error:.1%}"


def test_rct_matches_mean_and_spread_in_lab():
    face, target, mask = swapped(), crop(), ellipse()
    lab = lambda image: inside(cv2.cvtColor(image, cv2.COLOR_RGB2Lab), mask)  # noqa: E731
    out, wanted = lab(match_colour(face, target, mask, "rct")), lab(target)
    assert np.abs(out.mean(0) - wanted.mean(0)).max() < 0.5          # L in 0..100
    assert np.abs(out.std(0) / wanted.std(0) - 1).max() < 0.03


def test_hist_match_makes_the_channel_histograms_match():
    face, target, mask = swapped(), crop(), ellipse()
    out = match_colour(face, target, mask, "hist-match")

    def distance(image):
        return max(np.abs(np.histogram(inside(image, mask)[:, c], 32, (0, 1))[0]
                          - np.histogram(inside(target, mask)[:, c], 32, (0, 1))[0]).sum()
                   for c in range(3)) / np.count_nonzero(mask > 0.5)

    assert distance(face) > 0.3
    assert distance(out) < 0.02


def test_statistics_come_from_inside_the_mask_only():
    face, target, mask = swapped(), crop(), ellipse()
    painted = target.copy()
    painted[mask <= 0.5] = (0, 1, 0)
    for method in ("avg-color", "lct", "idt"):
        assert np.allclose(match_colour(face, painted, mask, method),
                           match_colour(face, target, mask, method), atol=1e-6)


def test_idt_and_sot_are_deterministic():
    face, target, mask = swapped(), crop(), ellipse()
    for method in ("idt", "sot"):
        assert np.array_equal(match_colour(face, target, mask, method),
                              match_colour(face, target, mask, method))


def test_none_is_identity():
    face = swapped()
    assert np.array_equal(match_colour(face, crop(), ellipse(), "none"), face)


def test_manual_balance():
    face = swapped()
    mask = ellipse()
    red = match_colour(face, crop(), mask, "manual-balance", balance=(40, 0, 0))
    assert red[..., 0].mean() > face[..., 0].mean() + 0.1
    assert np.array_equal(red[..., 1:], face[..., 1:])
    less_blue = match_colour(face, crop(), mask, "manual-balance", balance=(0, 0, -50))
    assert np.allclose(less_blue[..., 2], face[..., 2] * 0.5)
    assert np.array_equal(match_colour(face, crop(), mask, "manual-balance"), face)
    contrast = match_colour(face, crop(), mask, "manual-balance", contrast=50)
    assert contrast.std() > 1.2 * face.std()
    brighter = match_colour(face, crop(), mask, "manual-balance", brightness=30)
    assert brighter.mean() > face.mean() + 0.1


@pytest.mark.parametrize("method", COLOUR_METHODS)
def test_flat_images_and_empty_masks_give_no_nan(method):
    grey = np.full((SIZE, SIZE, 3), 0.4, np.float32)
    face, target, mask = swapped(), crop(), ellipse()
    cases = [(grey, target, mask), (face, grey, mask), (grey, grey * 1.5, mask),
             (face, target, np.zeros_like(mask)), (face, target, np.full_like(mask, 0.5))]
    for one, other, where in cases:
        out = match_colour(one, other, where, method)
        assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1, method
    if method not in ("none", "manual-balance"):
        # A flat face takes the target's colour.
        flat = match_colour(grey, grey * 1.5, mask, method)
        assert np.allclose(flat, 0.6, atol=0.01), method


def test_an_empty_mask_takes_statistics_from_the_whole_face():
    face, target = swapped(), crop()
    out = match_colour(face, target, np.zeros((SIZE, SIZE), np.float32), "avg-color")
    whole = match_colour(face, target, np.ones((SIZE, SIZE), np.float32), "avg-color")
    assert np.array_equal(out, whole)


def test_match_colour_rejects_bad_settings():
    face, target, mask = swapped(), crop(), ellipse()
    with pytest.raises(ValueError, match="unknown colour matching 'reinhard'"):
        match_colour(face, target, mask, "reinhard")
    with pytest.raises(ValueError, match="red must be between -100 and 100 percent, not 150"):
        match_colour(face, target, mask, "manual-balance", balance=(150, 0, 0))
    with pytest.raises(ValueError, match="brightness must be between -100 and 100"):
        match_colour(face, target, mask, "manual-balance", brightness=-101)
    with pytest.raises(ValueError, match="differ in size"):
        match_colour(face, target[:128], mask, "rct")


# ---- pasting ----

def shifted(x: float, y: float, scale: float = 1.0) -> np.ndarray:
    return np.array([[scale, 0, x], [0, scale, y]], np.float64)


def test_paste_puts_the_face_where_the_matrix_says():
    frame = np.zeros((720, 1280, 3), np.uint8)
    face = crop()
    paste(frame, face, np.ones((SIZE, SIZE), np.float32), shifted(300, 200))
    expected = np.rint(face * 255).astype(np.uint8)
    assert np.array_equal(frame[200:200 + SIZE, 300:300 + SIZE], expected)
    outside = np.ones(frame.shape[:2], bool)
    outside[200:200 + SIZE, 300:300 + SIZE] = False
    assert not frame[outside].any()


def test_paste_enlarged_and_rotated_faces_land_on_their_centre():
    frame = np.zeros((720, 1280, 3), np.uint8)
    face = np.zeros((SIZE, SIZE, 3), np.float32)
    face[118:138, 118:138] = 1
    angle = np.deg2rad(30)
    rotation = 2 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([640.0, 360.0])
    matrix = np.hstack([rotation, (centre - rotation @ [127.5, 127.5])[:, None]])
    paste(frame, face, np.ones((SIZE, SIZE), np.float32), matrix)
    ys, xs = np.nonzero(frame[..., 0] > 128)
    assert abs(xs.mean() - 640) < 1 and abs(ys.mean() - 360) < 1
    assert 1200 < len(xs) < 2000            # the 20 px square at twice the size


def test_paste_leaves_pixels_outside_the_mask_untouched():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    before = frame.copy()
    mask = adjust_mask(ellipse(), 0, 0.05)
    matrix = shifted(500.25, 300.5, 1.37)
    paste(frame, crop(), mask, matrix)
    reach = cv2.warpAffine(mask, matrix, (1280, 720), flags=cv2.INTER_LINEAR)
    changed = np.any(frame != before, axis=2)
    assert changed.sum() > 0.5 * np.count_nonzero(reach > 0.5)
    assert not changed[reach == 0].any()


@pytest.mark.parametrize("x, y", [(-100, -60), (1280 - 150, 300), (500, 720 - 40),
                                  (-200, 720 - 100)])
def test_paste_handles_faces_partly_outside_the_frame(x, y):
    frame = np.zeros((720, 1280, 3), np.uint8)
    face = crop()
    assert paste(frame, face, np.ones((SIZE, SIZE), np.float32), shifted(x, y)) is None
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + SIZE, 1280), min(y + SIZE, 720)
    expected = np.rint(face[top - y:bottom - y, left - x:right - x] * 255).astype(np.uint8)
    assert np.array_equal(frame[top:bottom, left:right], expected)
    assert frame.sum() == frame[top:bottom, left:right].sum()


@pytest.mark.parametrize("method", BLEND_METHODS)
def test_a_face_wholly_outside_the_frame_changes_nothing(method):
    frame = np.full((720, 1280, 3), 7, np.uint8)
    for matrix in (shifted(-400, 100), shifted(1300, 100), shifted(100, 800),
                   shifted(-300, -300)):
        assert paste(frame, crop(), ellipse(), matrix, method) is None
    assert (frame == 7).all()


@pytest.mark.parametrize("x, y", [(-100, -60), (1280 - 150, 300), (500, 720 - 40),
                                  (1280 - 120, 720 - 90), (-200, 300), (300, -220)])
def test_seamless_works_at_the_frame_edge(x, y):
    frame = np.full((720, 1280, 3), 90, np.uint8)
    before = frame.copy()
    mask = adjust_mask(face_mask("none", SIZE, None, None), 0.05, 0.05)
    assert paste(frame, crop(), mask, shifted(x, y), "seamless") is None
    assert np.any(frame != before)


def test_seamless_evens_out_the_light_and_keeps_the_face_in_place():
    frame = np.full((720, 1280, 3), 40, np.uint8)
    face = np.clip(crop() + 0.3, 0, 1)
    mask = adjust_mask(ellipse(), 0, 0.02)
    alpha, seamless = frame.copy(), frame.copy()
    paste(alpha, face, mask, shifted(400, 200), "alpha")
    assert paste(seamless, face, mask, shifted(400, 200), "seamless") is None
    core = np.zeros((720, 1280), bool)
    core[200:200 + SIZE, 400:400 + SIZE] = adjust_mask(ellipse(), 0.2, 0) > 0.5
    # Darker towards the dark frame than the plain paste, with the same details in place.
    assert seamless[core].mean() < alpha[core].mean() - 20

    def detail(image):
        grey = image.astype(np.float32).mean(axis=2)
        return (grey - cv2.GaussianBlur(grey, (0, 0), 2))[core]

    assert np.corrcoef(detail(seamless), detail(alpha))[0, 1] > 0.9


def test_seamless_falls_back_to_alpha_for_a_sliver_of_mask():
    frame = np.zeros((720, 1280, 3), np.uint8)
    reason = paste(frame, crop(), ellipse(), shifted(600, 300, 0.012), "seamless")
    assert reason is not None and "pasted with alpha" in reason
    assert frame.any()


def test_paste_rejects_bad_input():
    frame = np.zeros((720, 1280, 3), np.uint8)
    with pytest.raises(ValueError, match="unknown blending 'poisson'"):
        paste(frame, crop(), ellipse(), shifted(0, 0), "poisson")
    with pytest.raises(ValueError, match="frame must be uint8 RGB"):
        paste(frame.astype(np.float32), crop(), ellipse(), shifted(0, 0))
    with pytest.raises(ValueError, match="does not fit the face"):
        paste(frame, crop(), ellipse(128), shifted(0, 0))


# ---- sharpening ----

def detail_energy(image: np.ndarray) -> float:
    return float(np.var(cv2.Laplacian(image.mean(axis=2), cv2.CV_32F)))


@pytest.mark.parametrize("method", [m for m in SHARPEN_METHODS if m != "none"])
def test_sharpening_adds_high_frequency_energy(method):
    face = crop()
    out = sharpen(face, method, 150, 0.003)
    assert out.dtype == np.float32 and out.shape == face.shape
    assert 0 <= out.min() and out.max() <= 1
    assert detail_energy(out) > 1.5 * detail_energy(face), method
    assert detail_energy(sharpen(face, method, 300, 0.003)) > detail_energy(out)


def test_sharpen_none_and_zero_amount_are_identity():
    face = crop()
    assert np.array_equal(sharpen(face, "none", 150, 0.003), face)
    assert np.array_equal(sharpen(face, "gaussian", 0, 0.003), face)


def test_unsharp_leaves_detail_under_the_threshold_alone():
    ramp = np.repeat(np.linspace(0.2, 0.6, SIZE, dtype=np.float32)[None, :, None], SIZE, 0)
    ripple = ramp + 0.004 * np.sin(np.arange(SIZE, dtype=np.float32))[None, :, None]
    ripple = np.repeat(ripple, 3, axis=2)
    assert np.array_equal(sharpen(ripple, "unsharp", 200, 0.01), ripple)
    assert not np.array_equal(sharpen(ripple, "unsharp", 200, 0.01, threshold=0), ripple)


def test_sharpen_rejects_bad_settings():
    with pytest.raises(ValueError, match="unknown sharpening 'laplace'"):
        sharpen(crop(), "laplace", 150, 0.003)
    with pytest.raises(ValueError, match="amount must be between 0 and 500 percent, not 600"):
        sharpen(crop(), "box", 600, 0.003)
    with pytest.raises(ValueError, match="radius must be above 0 and at most 5 percent"):
        sharpen(crop(), "box", 150, 0.2)
