"""Trained occlusion masks (XSeg-style): the models, their losses and the masks they make.

A mask model is made when its first train job is queued (store/requests/mask_train.py): a
name, its network (fixed from then on: {"resolution", "channels"}), a seed and, optionally,
a pre-trained network file it starts from. Its newest checkpoint is one file under
`models/masks/<id>/` (the row holds its name there, its sha256 and the iteration it
reached). Applying it writes the mask kind `xseg-<name>` of each kept face, and records
which checkpoint made it (`mask_made_by`), so an apply that is run again, or resumed, skips
the faces that checkpoint has masked already.
"""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from store.errors import RequestError
from store.jobs import JobStatus
from store.schema.connection import rows_in, write

TRAIN_KIND = "mask-train"
APPLY_KIND = "mask-apply"
KIND_PREFIX = "xseg-"
FOLDER = PurePath("models", "masks")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class MaskRequestError(RequestError):
    """A mask train or apply request that cannot be queued; one line."""


class MaskModelError(LookupError):
    """No such mask model."""


@dataclass(frozen=True)
class MaskModel:
    id: int
    name: str
    created_at: float
    settings: dict[str, Any]    # network, seed, from_file
    iteration: int              # of its newest checkpoint (0: not trained yet)
    path: str | None            # that checkpoint's file, relative to `folder`
    sha256: str | None
    updated_at: float | None

    @property
    def kind(self) -> str:
        """The mask kind it writes."""
        return KIND_PREFIX + self.name

    @property
    def folder(self) -> PurePath:
        """Its files' folder, relative to the project folder."""
        return FOLDER / str(self.id)

    @property
    def network(self) -> dict[str, int]:
        """Its network's shape: resolution and channels."""
        return dict(self.settings["network"])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "created_at": self.created_at, "settings": self.settings,
                "iteration": self.iteration, "trained": self.path is not None,
                "updated_at": self.updated_at}


_COLUMNS = "id, name, created_at, settings, iteration, path, sha256, updated_at"


def _model(row: sqlite3.Row | tuple) -> MaskModel:
    id_, name, created_at, settings, iteration, path, sha256, updated_at = tuple(row)
    return MaskModel(id_, name, created_at, json.loads(settings), iteration, path, sha256,
                     updated_at)


def create(conn: sqlite3.Connection, name: str, network: Mapping[str, int],
           from_file: str | None = None, seed: int | None = None) -> MaskModel:
    """A new, untrained mask model (`network`: its resolution and channels, checked by the
    request)."""
    check_name(name)
    settings = {"network": dict(network), "from_file": from_file,
                "seed": secrets.randbelow(2**31) if seed is None else seed}
    with write(conn):
        if by_name(conn, name) is not None:
            raise MaskRequestError(f"there is a mask model {name} already")
        model_id = conn.execute(
            "INSERT INTO mask_models (name, created_at, settings) VALUES (?, ?, ?)",
            (name, time.time(), json.dumps(settings))).lastrowid
    return get(conn, int(model_id))


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise MaskRequestError(f"a mask model's name is 1 to 32 lower-case letters, digits, "
                               f"'-' or '_', starting with a letter or digit; not {name!r}")


def get(conn: sqlite3.Connection, model_id: int) -> MaskModel:
    row = conn.execute(f"SELECT {_COLUMNS} FROM mask_models WHERE id = ?",
                       (model_id,)).fetchone()
    if row is None:
        raise MaskModelError(f"no mask model {model_id}")
    return _model(row)


def by_name(conn: sqlite3.Connection, name: str) -> MaskModel | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM mask_models WHERE name = ?",
                       (name,)).fetchone()
    return None if row is None else _model(row)


def all_models(conn: sqlite3.Connection) -> list[MaskModel]:
    return [_model(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM mask_models ORDER BY id")]


def active_train_job(conn: sqlite3.Connection, model_id: int) -> int | None:
    """The queued or running train job of a mask model, if there is one."""
    row = conn.execute(
        "SELECT id FROM jobs WHERE kind = ? AND status IN (?, ?)"
        " AND json_extract(params, '$.model_id') = ? ORDER BY id LIMIT 1",
        (TRAIN_KIND, JobStatus.QUEUED, JobStatus.RUNNING, model_id)).fetchone()
    return None if row is None else row[0]


# ---- training: losses and checkpoints ---------------------------------------------------

def record_losses(conn: sqlite3.Connection, model_id: int,
                  rows: Iterable[tuple[int, float]]) -> None:
    with write(conn):
        conn.executemany("INSERT OR REPLACE INTO mask_losses (model_id, iteration, loss)"
                         " VALUES (?, ?, ?)", [(model_id, i, loss) for i, loss in rows])


def record_checkpoint(conn: sqlite3.Connection, model_id: int, iteration: int, path: str,
                      sha256: str) -> None:
    """The model's newest checkpoint is now this file (its previous one may be deleted)."""
    with write(conn):
        conn.execute("UPDATE mask_models SET iteration = ?, path = ?, sha256 = ?,"
                     " updated_at = ? WHERE id = ?",
                     (iteration, path, sha256, time.time(), model_id))


def forget_after(conn: sqlite3.Connection, model_id: int, iteration: int) -> None:
    """Drop the losses past `iteration` (recorded by a run that died before saving them)."""
    with write(conn):
        conn.execute("DELETE FROM mask_losses WHERE model_id = ? AND iteration > ?",
                     (model_id, iteration))


def losses(conn: sqlite3.Connection, model_id: int) -> list[tuple[int, float]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT iteration, loss FROM mask_losses WHERE model_id = ? ORDER BY iteration",
        (model_id,))]


# ---- applying: the masks it makes -------------------------------------------------------

def masked_by(conn: sqlite3.Connection, kind: str, sha256: str,
              face_ids: Sequence[int]) -> set[int]:
    """Those of the faces whose mask of `kind` the checkpoint `sha256` made."""
    return {r[0] for r in rows_in(
        conn, "SELECT b.face_id FROM mask_made_by b JOIN masks m ON m.face_id = b.face_id"
              " AND m.kind = b.kind WHERE b.kind = ? AND b.sha256 = ?"
              " AND b.face_id IN ({ids})", list(face_ids), kind, sha256)}


def save_masks(conn: sqlite3.Connection, model: MaskModel, sha256: str, size: int,
               masks: Sequence[tuple[int, bytes]]) -> None:
    """(face id, PNG) masks made by the model's checkpoint `sha256`, in one transaction;
    a face deleted meanwhile is skipped."""
    with write(conn):
        alive = {r[0] for r in rows_in(conn, "SELECT id FROM faces WHERE id IN ({ids})",
                                       [face_id for face_id, _ in masks])}
        rows = [(face_id, png) for face_id, png in masks if face_id in alive]
        conn.executemany(
            "INSERT INTO masks (face_id, kind, size, data) VALUES (?, ?, ?, ?) ON CONFLICT"
            " (face_id, kind) DO UPDATE SET size = excluded.size, data = excluded.data",
            [(face_id, model.kind, size, png) for face_id, png in rows])
        conn.executemany(
            "INSERT INTO mask_made_by (face_id, kind, model_id, sha256) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (face_id, kind) DO UPDATE SET model_id = excluded.model_id,"
            " sha256 = excluded.sha256",
            [(face_id, model.kind, model.id, sha256) for face_id, _ in rows])


def label_count(conn: sqlite3.Connection) -> int:
    """Labelled faces that training can use (their face not rejected since)."""
    return conn.execute("SELECT count(*) FROM mask_labels l JOIN faces f ON f.id = l.face_id"
                        " WHERE f.rejected IS NULL").fetchone()[0]
