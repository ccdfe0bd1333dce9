"""A session's model files: saves, snapshots and backups under `models/<session id>/`.

Every checkpoint gets a new file named by its iteration, then its row (with the file's
sha256); only then is the save it replaces deleted. A crash at any point leaves at least
one whole checkpoint that the store knows (the rows go through a `CheckpointLedger`: the
store's for a job, an in-memory one in tests), and loading checks each file against its hash,
falling back to older generations when one is damaged. A row's path is resolved through
`store.files.contained` before its file is read, copied or deleted: a row (or a symlink) that
leads out of the project is refused, and nothing outside is touched.
"""
from __future__ import annotations

import logging
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic_files import atomic_path, remove_stale_temps
from pipeline.train import checkpoint
from pipeline.train.reporter import CheckpointLedger
from store import sessions
from store.files.contained import UnsafePathError, folder_inside, remove_stored
from store.files.session_files import checkpoint_path, file_sha256, session_folder
from store.files.temp_names import writer_of


@dataclass(frozen=True)
class Loaded:
    row: sessions.Checkpoint
    checkpoint: checkpoint.Checkpoint


class Keeper:
    def __init__(self, ledger: CheckpointLedger, models: Path, session_id: int,
                 log: logging.LoggerAdapter) -> None:
        """The files of session `session_id` under `models` (the project's models folder),
        named by the rows of `ledger` (that session's)."""
        self.ledger, self.models, self.session_id, self.log = ledger, models, session_id, log
        self.root = models.parent
        self.base = session_folder(models, session_id).relative_to(self.root)
        where = f"sessions row {session_id} (its folder)"
        self.folder = folder_inside(self.root, self.base, where=where)
        for kind in sessions.CHECKPOINT_KINDS:
            remove_stale_temps(folder_inside(self.root, self.base / f"{kind}s", where=where))

    def remove_unrecorded(self) -> tuple[int, int]:
        """Delete the model files no checkpoint row names (archived ones included): a
        worker killed between a file's rename and its row, or between a dropped row and
        its unlink, leaves one. Returns (files, bytes). Only for the run that owns the
        session's files: a live run's just-renamed save has no row yet."""
        recorded = {row.path for row in self.ledger.checkpoints(archived=True)}
        files = size = 0
        for kind in sessions.CHECKPOINT_KINDS:
            for entry in (self.folder / f"{kind}s").iterdir():
                name = f"{kind}s/{entry.name}"
                if (name in recorded or writer_of(entry.name) is not None
                        or not entry.name.endswith(".safetensors")):
                    continue
                bytes_ = entry.lstat().st_size
                if remove_stored(self.root, name, base=self.base,
                                 where=f"an unrecorded file of session {self.session_id}"):
                    files, size = files + 1, size + bytes_
        return files, size

    def save(self, data: checkpoint.Checkpoint, iteration: int, loss_a: float | None,
             loss_b: float | None) -> sessions.Checkpoint:
        """Write the new save, record it, then drop the older saves."""
        older = self.ledger.checkpoints("save")
        relative = _new_name("save", iteration)
        sha = checkpoint.write(self.folder / relative, data)
        self._record("save", iteration, relative, sha, loss_a, loss_b)
        self._drop([row for row in older if row.path != relative])
        return self.ledger.checkpoints("save")[0]

    def copy(self, save: sessions.Checkpoint, kind: str, keep: int | None = None) -> None:
        """A snapshot or backup of a save; with `keep`, only that many newest of the kind."""
        relative = _new_name(kind, save.iteration)
        with atomic_path(self.folder / relative) as temp:
            shutil.copyfile(checkpoint_path(self.models, save), temp)
        self._record(kind, save.iteration, relative, save.sha256, save.loss_a, save.loss_b)
        if keep is not None:
            self._drop(self.ledger.checkpoints(kind)[keep:])

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
            except (checkpoint.CheckpointError, OSError, UnsafePathError) as exc:
                self.log.warning("%s; trying an older one", exc)
        return None

    def _live(self) -> list[sessions.Checkpoint]:
        return sorted(self.ledger.checkpoints(),
                      key=lambda row: (row.iteration, row.kind == "save"), reverse=True)

    def _load(self, row: sessions.Checkpoint) -> Loaded:
        return load_verified(self.models, row)

    def _record(self, kind: str, iteration: int, relative: str, sha: str,
                loss_a: float | None, loss_b: float | None) -> None:
        stale = [row for row in self.ledger.checkpoints(kind) if row.path == relative]
        self.ledger.drop_checkpoints([row.id for row in stale])
        self.ledger.add_checkpoint(kind, iteration, relative, sha, loss_a, loss_b)

    def _drop(self, rows: list[sessions.Checkpoint]) -> None:
        """Forget the rows, then delete their files; a row whose path leads out of the
        project deletes nothing (said in the log)."""
        self.ledger.drop_checkpoints([row.id for row in rows])
        for row in rows:
            try:
                remove_stored(self.root, row.path, where=f"checkpoints row {row.id}",
                              base=self.base)
            except UnsafePathError as exc:
                self.log.warning("%s: its file is not deleted", exc)


def load_verified(models: Path, row: sessions.Checkpoint) -> Loaded:
    """The checkpoint of `row`, read only once its file's hash matches the recorded one."""
    return Loaded(row, checkpoint.read(verified_path(models, row)))


def verified_path(models: Path, row: sessions.Checkpoint) -> Path:
    """The file of `row` (under `models`, the project's models folder), once its path is
    inside the project and its hash matches the recorded one."""
    try:
        path = checkpoint_path(models, row)
    except UnsafePathError as exc:
        raise checkpoint.CheckpointError(f"checkpoint refused: {exc}") from None
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
