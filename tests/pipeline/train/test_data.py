"""The trainer's data on a real store: which faces, the cut, the decoded cache, the sampler."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipeline.errors import JobCancelled
from pipeline.extract.alignment import transform_points
from pipeline.extract.mean_face import MEAN_FACE_68
from pipeline.train import face_cache
from pipeline.train.cut import CENTRES, CROP_BOUNDS, FACESWAP_UNIT, cut_image, window
from pipeline.train.data import TrainingData, held_out_ids, open_training_data
from pipeline.train.data_settings import DataSettings, TrainingDataError
from pipeline.train.sampler import Sampler
from store import identities
from store.faces import crop_matrix
from store.project import Project
from tests.pipeline.train.people import CROP, seed_person

SETTINGS = DataSettings(size=64)
BATCH = 4


def open_data(project: Project, settings: DataSettings = SETTINGS, **options) -> TrainingData:
    with project.connection() as conn:
        return open_training_data(project, conn, settings, BATCH, **options)


def cache_files(project: Project, side: str) -> list[Path]:
    return sorted(project.cache.glob(f"*train-{side}-*"))


# Which faces

def test_each_side_takes_its_persons_usable_faces(project: Project) -> None:
    ann = seed_person(project, "Ann", 12, "A", rejected={3})
    bob = seed_person(project, "Bob", 8, "B", seed=1)
    seed_person(project, "Cyd", 6, seed=2)  # on no side
    with project.connection() as conn:
        identities.set_excluded(conn, [ann[5]], True)
        conn.execute("DELETE FROM face_images WHERE face_id = ?", (ann[7],))  # no crop
    data = open_data(project)
    assert data.a.person.name == "Ann" and data.b.person.name == "Bob"
    assert data.a.cache.face_ids == tuple(f for i, f in enumerate(ann) if i not in (3, 5, 7))
    assert data.b.cache.face_ids == tuple(bob)


def test_a_side_without_a_person_is_refused_with_what_to_do(project: Project) -> None:
    seed_person(project, "Ann", 8, "A")
    seed_person(project, "Bob", 8)
    with pytest.raises(TrainingDataError, match="no person is marked side B: mark one on the "
                                                r"Faces screen \(B\) or with `swapdeck identity "
                                                f"{project.root} side NAME B`"):
        open_data(project)


def test_too_few_faces_are_refused(project: Project) -> None:
    seed_person(project, "Ann", 8, "A")
    seed_person(project, "Bob", 3, "B", seed=1)
    with pytest.raises(TrainingDataError, match="side B [(]Bob[)] has 3 usable faces, fewer "
                                                "than the batch size 4"):
        open_data(project)


def test_both_sides_one_person_is_refused(project: Project,
                                          pair: dict[str, list[int]]) -> None:
    with project.connection() as conn:
        ann = identities.find_identity(conn, "Ann")
    with pytest.raises(TrainingDataError, match="sides A and B are both Ann"):
        open_data(project, identity_a=ann, identity_b=ann)


# The cut

@pytest.mark.parametrize("centering, coverage, offset", [
    ("face", 0.875, 0.0), ("face", 0.75, 0.05), ("face", 0.9, -0.03),
    ("legacy", 1.0, 0.0), ("legacy", 0.625, 0.2), ("head", 0.65, 0.0), ("head", 0.625, -0.05),
])
def test_template_points_land_where_the_cut_says(centering: str, coverage: float,
                                                 offset: float) -> None:
    cut = window(centering, coverage, offset)
    side = coverage * FACESWAP_UNIT / (1 - {"legacy": 0.375, "face": 0.5, "head": 0.625}[centering])
    centre = np.array(CENTRES[centering]) - [0, FACESWAP_UNIT * offset]
    assert cut.side == pytest.approx(side) and (cut.x, cut.y) == pytest.approx(tuple(centre))
    left, top, right, bottom = CROP_BOUNDS
    x0, y0, x1, y1 = cut.bounds
    assert left <= x0 < x1 <= right and top <= y0 < y1 <= bottom
    to_cut = cut.template_to_cut(64)
    corner = centre - side / 2
    points = np.array([centre, corner, corner + side, centre + [side / 4, -side / 8]])
    assert transform_points(to_cut, points) == pytest.approx(
        np.array([[32, 32], [0, 0], [64, 64], [48, 24]]), abs=1e-9)


@pytest.mark.parametrize("size", [48, 512])  # shrinking and enlarging the crop
def test_the_cut_image_puts_a_pixel_where_its_matrix_does(size: int) -> None:
    cut = window("face", 0.8, 0.04)
    to_crop = crop_matrix(np.eye(2, 3), CROP)
    dot = np.round(transform_points(to_crop, np.array([[cut.x + 0.3, cut.y - 0.2]])))[0]
    crop = np.zeros((CROP, CROP), np.float32)
    cv2.circle(crop, (int(dot[0]), int(dot[1])), 4, 1.0, -1)
    image = cut_image(crop, cut, size)
    ys, xs = np.mgrid[:size, :size]
    found = np.array([(xs * image).sum(), (ys * image).sum()]) / image.sum()
    assert found == pytest.approx(transform_points(cut.crop_to_cut(CROP, size), dot[None])[0],
                                  abs=0.3)


def test_legacy_centres_the_nose_and_face_centres_between_eyes_and_nose() -> None:
    nose_tip, eyes = MEAN_FACE_68[30], MEAN_FACE_68[36:48].mean(axis=0)
    legacy = transform_points(window("legacy", 1.0, 0).template_to_cut(64), nose_tip[None])[0]
    assert legacy == pytest.approx([32, 32], abs=1)
    to_face = window("face", 0.875, 0).template_to_cut(64)
    eyes_y, nose_y = transform_points(to_face, np.array([eyes, nose_tip]))[:, 1]
    assert eyes_y < 32 < nose_y


def test_a_cut_that_leaves_the_stored_crop_is_refused() -> None:
    with pytest.raises(TrainingDataError, match="head centering at 87.5% coverage and \\+0% "
                                                "vertical offset reaches outside the stored "
                                                "crop .*at most 67.4%"):
        DataSettings(centering="head", coverage=0.875)
    with pytest.raises(ValueError, match="no coverage fits there"):
        window("head", 0.7, 0.25)
    window("head", 0.674, 0.0)
    window("face", 0.932, 0.0)
    with pytest.raises(ValueError, match="at most 93.2%"):
        window("face", 0.94, 0.0)


def test_settings_are_checked_and_round_trip() -> None:
    with pytest.raises(TrainingDataError, match="size is from 32 to 1024, not 8; mask_type "
                                                "must be none, components, extended or a "
                                                "stored mask kind .* not 'Bisenet face'"):
        DataSettings(mask_type="Bisenet face", size=8)
    settings = DataSettings(centering="legacy", coverage=0.7, mask_blur=5)
    assert DataSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    with pytest.raises(TrainingDataError, match="unknown data setting"):
        DataSettings.from_dict({"zoom": 1})


# The cache

def test_the_cache_is_built_once_and_reused(project: Project,
                                            pair: dict[str, list[int]]) -> None:
    seen: list[tuple[int, int]] = []
    first = open_data(project, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (34, 34) and all(total == 34 for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    files = {path: path.stat().st_mtime_ns for path in project.cache.iterdir()}
    assert len(files) == 6
    images = first.a.cache.images
    assert images.shape == (24, 64, 64, 3) and images.dtype == np.uint8
    assert isinstance(images, np.memmap)
    seen.clear()
    again = open_data(project, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == []
    assert {path: path.stat().st_mtime_ns for path in project.cache.iterdir()} == files
    assert np.array_equal(again.a.cache.images, images)
    assert np.array_equal(again.b.cache.masks, first.b.cache.masks)


def test_excluding_a_face_rebuilds_that_side_and_deletes_its_old_cache(
        project: Project, pair: dict[str, list[int]]) -> None:
    open_data(project)
    old_a, old_b = cache_files(project, "A"), cache_files(project, "B")
    with project.connection() as conn:
        identities.set_excluded(conn, [pair["A"][2]], True)
    seen: list[tuple[int, int]] = []
    data = open_data(project, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (23, 23)
    assert pair["A"][2] not in data.a.cache.face_ids and len(data.a.cache.face_ids) == 23
    new_a = cache_files(project, "A")
    assert len(new_a) == 3 and not set(new_a) & set(old_a)
    assert cache_files(project, "B") == old_b


def test_other_settings_make_another_cache(project: Project, pair: dict[str, list[int]]) -> None:
    open_data(project)
    data = open_data(project, DataSettings(size=48, mask_type="none"))
    assert data.a.cache.mask_channels == ("eye", "mouth")
    assert data.a.cache.masks.shape == (24, 48, 48, 2)
    assert len(cache_files(project, "A")) == 3


def test_a_cancelled_build_leaves_nothing_and_the_next_one_works(
        project: Project, pair: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(face_cache, "BATCH", 5)
    calls = []

    def cancel_on_the_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        open_data(project, checkpoint=cancel_on_the_third)
    assert list(project.cache.iterdir()) == []
    data = open_data(project, checkpoint=lambda: None)
    assert len(data.a.cache.face_ids) == 24


def test_a_crash_before_the_manifest_leaves_no_cache_and_stale_temps_go(
        project: Project, pair: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(path: Path, write) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(face_cache, "atomic_write", crash)
    with pytest.raises(OSError):
        open_data(project)
    left = cache_files(project, "A")
    assert [p.name.split(".", 1)[1] for p in left] == ["images.npy", "masks.npy"]  # whole files
    assert np.load(left[0], mmap_mode="r").shape == (24, 64, 64, 3)
    stale = project.cache / ".train-A-0123.images.npy.999.tmp"
    stale.write_bytes(b"half a file")
    monkeypatch.undo()
    seen: list[tuple[int, int]] = []
    data = open_data(project, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (34, 34)  # rebuilt: a cache without its manifest is no cache
    assert not stale.exists() and len(cache_files(project, "A")) == 3
    assert data.a.cache.images.shape == (24, 64, 64, 3)


# Masks

def test_masks_line_up_with_the_image(project: Project, pair: dict[str, list[int]]) -> None:
    cache = open_data(project, DataSettings(size=128)).a.cache
    assert cache.mask_channels == ("face", "eye", "mouth")
    for row in range(0, 24, 5):
        image = cache.images[row].astype(np.float32).mean(axis=-1)
        face, eye, mouth = (cache.masks[row][..., k].astype(np.float32) / 255 for k in range(3))
        points = cache.landmarks[row]
        for mask, part in ((eye, slice(36, 48)), (mouth, slice(48, 60))):
            ys, xs = np.mgrid[:128, :128]
            centre = np.array([(xs * mask).sum(), (ys * mask).sum()]) / mask.sum()
            assert centre == pytest.approx(points[part].mean(axis=0), abs=2.5)
        assert face[tuple(np.round(points[30, ::-1]).astype(int))] == 1.0  # over the nose
        assert face[:4, :4].max() == 0 and face.mean() > 0.2
        # Her eyes are darker than her face: the eye mask sits on the eyes in the pixels too.
        assert (image * eye).sum() / eye.sum() < (image * face).sum() / face.sum() - 15


def test_the_face_mask_is_blurred_by_mask_blur(project: Project,
                                               pair: dict[str, list[int]]) -> None:
    sharp = open_data(project, DataSettings(size=64, mask_blur=0)).a.cache.masks[0][..., 0]
    soft = open_data(project, DataSettings(size=64, mask_blur=9)).a.cache.masks[0][..., 0]
    between = lambda mask: ((mask > 10) & (mask < 245)).sum()  # noqa: E731
    assert between(soft) > 2 * between(sharp)


# The sampler

def test_samples_are_tensors_of_the_cache(project: Project, pair: dict[str, list[int]]) -> None:
    data = open_data(project)
    images, masks = data.a.sampler.sample(torch.Generator().manual_seed(0), 6)
    assert images.shape == (6, 3, 64, 64) and images.dtype == torch.float32
    assert masks.shape == (6, 3, 64, 64) and 0 <= float(masks.min()) and float(masks.max()) <= 1
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    generator = torch.Generator().manual_seed(0)
    rows = Sampler(data.a.cache, data.a.sampler.rows).next_rows(generator, 6)
    expected = torch.from_numpy(np.array(data.a.cache.images[rows[2]])).permute(2, 0, 1)
    assert torch.equal(images[2], expected.float() / 255)


def test_each_epoch_draws_every_face_once_in_an_order_from_the_seed(
        project: Project, pair: dict[str, list[int]]) -> None:
    data = open_data(project)
    rows = data.b.sampler.rows  # 10 faces
    first = Sampler(data.b.cache, rows).next_rows(torch.Generator().manual_seed(3), 10)
    again = Sampler(data.b.cache, rows).next_rows(torch.Generator().manual_seed(3), 10)
    other = Sampler(data.b.cache, rows).next_rows(torch.Generator().manual_seed(4), 10)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert sorted(first) == list(range(10))
    generator = torch.Generator().manual_seed(5)
    fresh = Sampler(data.b.cache, rows)
    batches = np.concatenate([fresh.next_rows(generator, 4) for _ in range(5)])  # 2 epochs
    assert sorted(batches[:10]) == list(range(10)) and sorted(batches[10:]) == list(range(10))
    assert fresh.epoch == 2


def test_a_resumed_sampler_draws_what_an_unbroken_one_would(
        project: Project, pair: dict[str, list[int]]) -> None:
    data = open_data(project)
    generator = torch.Generator().manual_seed(11)
    for _ in range(4):  # 28 faces of an epoch of 20 (A without its held-out faces)
        data.a.sampler.next_rows(generator, 7)
    saved = json.loads(json.dumps(data.sampler_state()))
    saved_generator = generator.get_state()
    unbroken = [data.a.sampler.next_rows(generator, 7) for _ in range(5)]

    resumed = open_data(project)
    assert resumed.load_sampler_state(saved)
    generator = torch.Generator()
    generator.set_state(saved_generator)
    assert all(np.array_equal(resumed.a.sampler.next_rows(generator, 7), batch)
               for batch in unbroken)
    assert resumed.a.sampler.epoch == data.a.sampler.epoch


def test_a_saved_position_for_other_faces_starts_afresh(
        project: Project, pair: dict[str, list[int]]) -> None:
    data = open_data(project)
    data.b.sampler.next_rows(torch.Generator().manual_seed(0), 3)
    saved = data.sampler_state()
    with project.connection() as conn:
        identities.set_excluded(conn, [pair["B"][0]], True)
    changed = open_data(project)
    assert not changed.load_sampler_state(saved)
    assert changed.b.sampler.state()["position"] == 0


def test_held_out_faces_are_fixed_and_never_sampled(project: Project,
                                                    pair: dict[str, list[int]]) -> None:
    data = open_data(project)
    held_out = data.a.held_out_ids
    assert len(held_out) == 8 and set(held_out) <= set(pair["A"]) and data.b.held_out_ids == ()
    assert open_data(project).a.held_out_ids == held_out
    generator = torch.Generator().manual_seed(2)
    drawn = {data.a.cache.face_ids[row] for _ in range(30)
             for row in data.a.sampler.next_rows(generator, BATCH)}
    assert drawn == set(pair["A"]) - set(held_out)
    images, masks = data.a.faces(held_out)
    assert images.shape == (8, 3, 64, 64) and masks.shape == (8, 3, 64, 64)


def test_held_out_share_grows_with_the_faces_and_leaves_a_batch() -> None:
    assert len(held_out_ids(range(1000), 16)) == 50
    assert len(held_out_ids(range(100), 16)) == 8
    assert len(held_out_ids(range(20), 16)) == 4
    assert held_out_ids(range(16), 16) == ()
    before, after = held_out_ids(range(1000), 16), held_out_ids(range(1100), 16)
    assert len(set(before) & set(after)) >= 45  # adding faces keeps most of them


def test_previews_are_fixed_spread_and_not_held_out(project: Project,
                                                    pair: dict[str, list[int]]) -> None:
    data = open_data(project, previews=4)
    assert data.b.preview_ids == tuple(pair["B"][i] for i in (0, 3, 6, 9))
    assert len(data.a.preview_ids) == 4 and not set(data.a.preview_ids) & set(data.a.held_out_ids)
    assert open_data(project, previews=4).a.preview_ids == data.a.preview_ids
