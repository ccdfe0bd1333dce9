"""A session's model files: saves, snapshots and backups under `models/<session id>/`.

Every checkpoint gets a new file named by its iteration, then its row (with the file's
sha256); only then is the save it replaces deleted. A crash at any point leaves at least
one whole checkpoint that the store knows, and loading checks each file against its hash,
falling back to older generations when one is damaged.
"""
from __future__ import annotations

import logging
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic_files import atomic_path, remove_stale_temps
from pipeline.train import checkpoint
from store import sessions
from store.session_files import file_sha256


@dataclass(frozen=True)
class Loaded:
    row: sessions.Checkpoint
    checkpoint: checkpoint.Checkpoint


class Keeper:
    def __init__(self, conn: sqlite3.Connection, folder: Path, session_id: int,
                 log: logging.LoggerAdapter) -> None:
        self.conn, self.folder, self.session_id, self.log = conn, folder, session_id, log
        folder.mkdir(parents=True, exist_ok=True)
        for kind in sessions.CHECKPOINT_KINDS:
            (folder / f"{kind}s").mkdir(exist_ok=True)
            remove_stale_temps(folder / f"{kind}s")

    def save(self, data: checkpoint.Checkpoint, iteration: int, loss_a: float | None,
             loss_b: float | None) -> sessions.Checkpoint:
        """Write the new save, record it, then drop the older saves."""
        older = sessions.checkpoints(self.conn, self.session_id, "save")
        relative = _new_name("save", iteration)
        sha = checkpoint.write(self.folder / relative, data)
        self._record("save", iteration, relative, sha, loss_a, loss_b)
        self._drop([row for row in older if row.path != relative])
        return sessions.checkpoints(self.conn, self.session_id, "save")[0]

    def copy(self, save: sessions.Checkpoint, kind: str, keep: int | None = None) -> None:
        """A snapshot or backup of a save; with `keep`, only that many newest of the kind."""
        relative = _new_name(kind, save.iteration)
        with atomic_path(self.folder / relative) as temp:
            shutil.copyfile(self.folder / save.path, temp)
        self._record(kind, save.iteration, relative, save.sha256, save.loss_a, save.loss_b)
        if keep is not None:
            self._drop(sessions.checkpoints(self.conn, self.session_id, kind)[keep:])

    def newest(self) -> Loaded | None:
        """The checkpoint a resume continues from (None for a session never saved); a
        damaged one raises CheckpointError: the person decides what to restore instead."""
        rows = self._live()
        return self._load(rows[0]) if rows else None

    def newest_good(self) -> Loaded | None:
        """The newest checkpoint of any kind whose file is whole; damaged ones are logged."""
        for row in self._live():
            try:
                return self._load(row)
            except (checkpoint.CheckpointError, OSError) as exc:
                self.log.warning("%s; trying an older one", exc)
        return None

    def _live(self) -> list[sessions.Checkpoint]:
        return sorted(sessions.checkpoints(self.conn, self.session_id),
                      key=lambda row: (row.iteration, row.kind == "save"), reverse=True)

    def _load(self, row: sessions.Checkpoint) -> Loaded:
        return load_verified(self.folder, row)

    def _record(self, kind: str, iteration: int, relative: str, sha: str,
                loss_a: float | None, loss_b: float | None) -> None:
        stale = [row for row in sessions.checkpoints(self.conn, self.session_id, kind)
                 if row.path == relative]
        sessions.drop_checkpoints(self.conn, [row.id for row in stale])
        sessions.add_checkpoint(self.conn, self.session_id, kind, iteration, relative, sha,
                                loss_a, loss_b)

    def _drop(self, rows: list[sessions.Checkpoint]) -> None:
        sessions.drop_checkpoints(self.conn, [row.id for row in rows])
        for row in rows:
            (self.folder / row.path).unlink(missing_ok=True)


def load_verified(folder: Path, row: sessions.Checkpoint) -> Loaded:
    """The checkpoint of `row`, read only once its file's hash matches the recorded one."""
    return Loaded(row, checkpoint.read(verified_path(folder, row)))


def verified_path(folder: Path, row: sessions.Checkpoint) -> Path:
    """The file of `row`, once its hash matches the recorded one."""
    path = folder / row.path
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise checkpoint.CheckpointError(f"checkpoint missing or unreadable: {path} "
                                         f"({exc.strerror or exc})") from exc
    if digest != row.sha256:
        raise checkpoint.CheckpointError(f"checkpoint damaged: {path} (its hash differs "
                                         "from the one recorded)")
    return path


def _new_name(kind: str, iteration: int) -> str:
    """A file name no recorded checkpoint has: a file the store vouches for is never
    rewritten, even when the same iteration is saved again."""
    return f"{kind}s/iter_{iteration:09d}-{secrets.token_hex(4)}.safetensors"
