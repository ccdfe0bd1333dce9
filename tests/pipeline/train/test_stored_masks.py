"""Training on a mask stored after extraction (face parsing, the occlusion mask): refused
before anything is queued while a training face lacks it, and learned from as stored."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pipeline.train.data import open_training_data
from pipeline.train.data_settings import DataSettings, TrainingDataError
from store.project import Project
from store.requests.train import TrainRequestError, new_session_params

KIND = "bisenet-face"
SIZE = 64


def a_half_mask(size: int) -> bytes:
    """A mask whose left half is face: nothing a landmark hull would draw."""
    mask = np.zeros((size, size), np.uint8)
    mask[:, :size // 2] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG")
    return buffer.getvalue()


def store_masks(project: Project, face_ids: list[int]) -> None:
    with project.connection() as conn:
        size = conn.execute("SELECT MAX(size) FROM masks").fetchone()[0] or 256
        conn.executemany("INSERT OR REPLACE INTO masks (face_id, kind, size, data) VALUES"
                         " (?, ?, ?, ?)", [(f, KIND, size, a_half_mask(size)) for f in face_ids])
        conn.commit()


def request(project: Project) -> dict:
    with project.connection() as conn:
        return new_session_params(conn, model="original", model_options={},
                                  settings={"mask_type": KIND})


def test_a_stored_mask_some_faces_lack_is_refused_before_queueing(
        project: Project, pair: dict[str, list[int]]) -> None:
    store_masks(project, pair["A"][:-3])
    with pytest.raises(TrainRequestError, match=f"3 of Ann's faces have no {KIND} mask"):
        request(project)
    store_masks(project, pair["A"])
    with pytest.raises(TrainRequestError, match="of Bob's faces"):
        request(project)
    store_masks(project, pair["B"])
    assert request(project)["new_session"]["data"]["mask_type"] == KIND


def test_the_cache_takes_the_stored_mask_and_a_missing_one_is_a_clear_error(
        project: Project, pair: dict[str, list[int]]) -> None:
    settings = DataSettings(size=SIZE, mask_type=KIND, mask_blur=0)
    store_masks(project, pair["A"] + pair["B"][1:])
    with project.connection() as conn, pytest.raises(TrainingDataError,
                                                     match=f"has no {KIND} mask"):
        open_training_data(project, conn, settings, 4)
    store_masks(project, pair["B"][:1])
    with project.connection() as conn:
        data = open_training_data(project, conn, settings, 4)
    face = data.a.cache.masks[0, :, :, 0].astype(float) / 255
    # the cut's window moves the half line, but the left stays face and the right does not
    assert face[:, :SIZE // 4].mean() > 0.9 and face[:, -SIZE // 4:].mean() < 0.1
