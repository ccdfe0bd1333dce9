"""A crafted project folder, opened and used the way a person would: every path column set to
`../..` or an absolute path, symlinks out of the folder, jobs queued elsewhere with outside
targets. Each case is refused with a message naming the table, row and path, and the files
outside the project are never opened for reading, changed or deleted.

"Never read" is watched for real: one canary is a FIFO, and a thread keeps trying to open
its writing end without blocking, which only succeeds while some process has it open for
reading (a reader blocks in open() until then, so none can slip by). The other canaries are
compared by type, content and mtime, and so is the folder that holds them.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from pipeline.extract.frames import read_frame
from pipeline.errors import JobError
from pipeline.train import checkpoint
from pipeline.train.data_settings import DataSettings
from pipeline.train.face_cache import cache_key, cache_paths, find_cache
from pipeline.train.job import new_session
from pipeline.train.keeper import Keeper
from pipeline.train.store_reporter import StoreCheckpointLedger
from pipeline.train.transfer import TransferError, transfer_file
from pipeline.worker import Worker, WorkerOptions
from store import conversions, jobs, sessions, sources
from store.schema.connection import write
from store.files.contained import UnsafePathError
from store.faces import PendingFrame
from store.jobs import JobStatus
from store.project import OWN_ENTRIES, SUBFOLDERS, Project, ProjectError, open_project
from tests.pipeline.train.tiny_model import NAME as TINY
from tui.cli.main import main


class Canaries:
    """Files outside the project that nothing may open for reading, change or delete."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.file = folder / "canary"
        self.file.write_text("untouched")
        self.fifo = folder / "fifo"
        os.mkfifo(self.fifo)
        self.dir = folder / "dir"
        self.dir.mkdir()
        (self.dir / "inner").write_text("kept")
        self.readers = 0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        self.before = self.state()

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            try:
                descriptor = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:   # ENXIO: nobody has it open for reading
                continue
            self.readers += 1
            os.close(descriptor)   # the reader gets an end of file and goes on

    def state(self) -> dict[str, tuple]:
        entries = {}
        for path in [self.folder, *sorted(self.folder.rglob("*"))]:
            info = path.lstat()
            content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
            entries[str(path)] = (stat.S_IFMT(info.st_mode), info.st_mtime_ns, content)
        return entries

    def check(self) -> None:
        time.sleep(0.05)   # a reader blocked in open() now would be counted
        assert self.readers == 0, "a file outside the project was opened for reading"
        assert self.state() == self.before, "a file outside the project changed"

    def close(self) -> None:
        self._stop.set()
        self._watcher.join()


@pytest.fixture
def canaries(tmp_path: Path) -> Iterator[Canaries]:
    watched = Canaries(tmp_path / "outside")
    yield watched
    watched.close()
    watched.check()


def cli(*args: str | Path) -> int:
    return main([str(arg) for arg in args])


def tiny_checkpoint(iteration: int) -> checkpoint.Checkpoint:
    return checkpoint.Checkpoint({"w": torch.full((4,), float(iteration))},
                                 {"state": {}, "param_groups": []}, {},
                                 {"iteration": iteration})


def add_checkpoint(project: Project, session_id: int, kind: str, iteration: int,
                   path: str) -> int:
    """A checkpoint row for `path`; a real file is written there when it is a plain path
    inside the session's folder."""
    file = project.models / str(session_id) / path
    sha = ("0" * 64 if os.path.isabs(path) or ".." in path or file.is_symlink()
           else checkpoint.write(file, tiny_checkpoint(iteration)))
    with project.connection() as conn:
        return sessions.add_checkpoint(conn, session_id, kind, iteration, path, sha, 0.1, 0.2)


def new_tiny_session(project: Project) -> sessions.Session:
    """A new session "s" of the tiny model for two new people, Ann (A) and Bob (B)."""
    with project.connection() as conn:
        with write(conn):
            for name, side in (("Ann", "A"), ("Bob", "B")):
                conn.execute("INSERT INTO identities (name, side, created_at) VALUES (?, ?, ?)",
                             (name, side, time.time()))
        return new_session(conn, "s", TINY, {}, seed=7)


@pytest.fixture
def session(project: Project) -> sessions.Session:
    """A session of the tiny model at iteration 30 with a whole snapshot at 20."""
    made = new_tiny_session(project)
    with project.connection() as conn:
        with write(conn):
            conn.execute("UPDATE sessions SET iteration = 30 WHERE id = ?", (made.id,))
    add_checkpoint(project, made.id, "snapshot", 20, "snapshots/iter_000000020-aaaa.safetensors")
    return made


def crafted_path(how: str, project: Project, session_id: int, canaries: Canaries,
                 name: str) -> str:
    """A checkpoint path that leads to the FIFO canary: by `..`, absolute, or by a symlink
    inside the session's folder."""
    if how == "traversal":
        return os.path.relpath(canaries.fifo, project.models / str(session_id))
    if how == "absolute":
        return str(canaries.fifo)
    link = project.models / str(session_id) / "saves" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(canaries.fifo)
    return f"saves/{name}"


CRAFTS = ["traversal", "absolute", "symlink"]


@pytest.mark.parametrize("how", CRAFTS)
def test_crafted_checkpoint_paths_are_refused_by_every_command(
        project: Project, session: sessions.Session, canaries: Canaries, how: str,
        tmp_path: Path, capsys) -> None:
    save_path = crafted_path(how, project, session.id, canaries, "iter_000000030-bbbb.safetensors")
    backup_path = crafted_path(how, project, session.id, canaries,
                               "iter_000000025-cccc.safetensors")
    save = add_checkpoint(project, session.id, "save", 30, save_path)
    backup = add_checkpoint(project, session.id, "backup", 25, backup_path)
    save_refused = (f"the file of the save at 30 is refused: checkpoints row {save} names "
                    f"{save_path!r}, which leads out of the project folder")

    assert cli("sessions", project.root) == 0
    assert "model files missing or damaged" in capsys.readouterr().out

    assert cli("session", "show", project.root, "s") == 0
    out = capsys.readouterr().out
    assert f"PROBLEM: {save_refused}: resume would not start from it; restore the snapshot " \
           "at 20" in out
    assert f"checkpoints row {backup} names {backup_path!r}" in out

    assert cli("session", "show", project.root, "s", "--verify", "--json") == 0
    files = {c["id"]: c["file"] for c in json.loads(capsys.readouterr().out)["checkpoints"]}
    assert files[save] == files[backup] == "refused"
    assert sorted(files.values()) == ["ok", "refused", "refused"]   # the snapshot is whole

    assert cli("resume", project.root, "s", "--iterations", "40", "--no-worker") == 2
    assert save_refused in capsys.readouterr().err

    assert cli("restore", project.root, "s", backup, "--yes") == 2
    err = capsys.readouterr().err
    assert f"the file of the backup at 25 is refused: checkpoints row {backup} names " \
           f"{backup_path!r}" in err and "choose another checkpoint" in err

    exports = tmp_path / "exports"
    exports.mkdir()
    assert cli("session", "export", project.root, "s", "--csv", "--out", exports) == 0
    with (exports / "s-checkpoints.csv").open() as handle:
        assert {row["id"]: row["file"] for row in csv.DictReader(handle)}[str(save)] == "refused"

    assert cli("session", "delete", project.root, "s", "--yes") == 0
    with project.connection() as conn:
        assert sessions.list_sessions(conn) == []
    canaries.check()


def test_a_session_folder_that_is_a_symlink_out_is_never_followed(
        project: Project, canaries: Canaries, capsys) -> None:
    made = new_tiny_session(project)
    (project.models / str(made.id)).symlink_to(canaries.dir)
    with project.connection() as conn:
        row = sessions.add_checkpoint(conn, made.id, "save", 10, "inner", "0" * 64, None, None)
    assert cli("session", "show", project.root, "s", "--verify") == 0
    assert f"checkpoints row {row} names 'inner', which leads out" in capsys.readouterr().out
    assert cli("resume", project.root, "s", "--iterations", "40", "--no-worker") == 2
    assert "is refused" in capsys.readouterr().err
    with project.connection() as conn:
        with pytest.raises(UnsafePathError, match=f"sessions row {made.id} .its folder."):
            Keeper(StoreCheckpointLedger(conn, made.id), project.models, made.id,
                   logging.LoggerAdapter(logging.getLogger(), {}))
    assert cli("session", "delete", project.root, "s", "--yes") == 0
    assert "0 files" in capsys.readouterr().out
    assert not (project.models / str(made.id)).is_symlink()   # the link went, not its target
    canaries.check()


@pytest.mark.parametrize("how", CRAFTS)
def test_training_never_reads_or_deletes_through_a_crafted_row(
        project: Project, session: sessions.Session, canaries: Canaries, how: str,
        caplog) -> None:
    """The keeper a train job uses: resume refuses a crafted newest checkpoint, a save drops
    crafted older saves without deleting anything outside (a symlink goes as a link), a
    copy of one is refused."""
    older = add_checkpoint(project, session.id, "save", 10,
                           crafted_path(how, project, session.id, canaries, "old.safetensors"))
    with project.connection() as conn:
        keeper = Keeper(StoreCheckpointLedger(conn, session.id), project.models, session.id,
                        logging.LoggerAdapter(logging.getLogger("crafted"), {}))
        crafted_save = sessions.checkpoint(conn, older)
        with pytest.raises(UnsafePathError, match=f"checkpoints row {older}"):
            keeper.copy(crafted_save, "snapshot")
        newest = add_checkpoint(project, session.id, "save", 35,
                                crafted_path(how, project, session.id, canaries,
                                             "new.safetensors"))
        with pytest.raises(checkpoint.CheckpointError,
                           match=f"checkpoint refused: checkpoints row {newest}"):
            keeper.newest()
        assert keeper.newest_good().row.iteration == 20   # the whole snapshot
        with caplog.at_level(logging.WARNING, "crafted"):
            keeper.save(tiny_checkpoint(40), 40, 0.1, 0.2)
        assert [c.iteration for c in sessions.checkpoints(conn, session.id, "save")] == [40]
    if how == "symlink":   # a link inside the project goes as a link
        saves = project.models / str(session.id) / "saves"
        assert not (saves / "old.safetensors").is_symlink()
        assert not (saves / "new.safetensors").is_symlink()
    else:
        assert f"checkpoints row {older}" in caplog.text and "not deleted" in caplog.text
    canaries.check()


def test_a_crafted_transfer_entry_names_its_row(project: Project, canaries: Canaries) -> None:
    where = "sessions row 1 (load_weights)"
    relative = os.path.relpath(canaries.fifo, project.models / "transfer")
    with pytest.raises(TransferError, match=r"sessions row 1 \(load_weights\): '\.\./"):
        transfer_file(project, relative.removesuffix(".safetensors"), where=where)
    sha = "a" * 64
    (project.models / "transfer").mkdir()
    (project.models / "transfer" / f"{sha}.safetensors").symlink_to(canaries.fifo)
    with pytest.raises(TransferError, match="leads out of the project folder"):
        transfer_file(project, sha, where=where)
    canaries.check()


def test_a_cache_file_that_leads_out_is_never_read(project: Project,
                                                   canaries: Canaries) -> None:
    settings = DataSettings(size=32)
    paths = cache_paths(project.cache, "A", cache_key([], settings))
    for path in (paths.manifest, paths.images, paths.masks):
        path.symlink_to(canaries.fifo)
    assert find_cache(project.cache, "A", [], settings) is None
    canaries.check()


@pytest.mark.parametrize("how", ["traversal", "absolute"])
def test_crafted_frame_paths_are_refused(project: Project, canaries: Canaries,
                                         tmp_path: Path, how: str) -> None:
    media = tmp_path / "media"
    media.mkdir()
    stored = (os.path.relpath(canaries.fifo, media) if how == "traversal"
              else str(canaries.fifo))
    with project.connection() as conn:
        with write(conn):
            source_id = conn.execute(
                "INSERT INTO sources (path, kind, status, size, mtime_ns, width, height,"
                " frame_count, added_at) VALUES (?, 'folder', 'ready', 0, 0, 64, 64, 1, ?)",
                (str(media), time.time())).lastrowid
            frame_id = conn.execute(
                "INSERT INTO frames (source_id, idx, path) VALUES (?, 0, ?)",
                (source_id, stored)).lastrowid
        source = sources.get(conn, source_id)
    refusal = f"frames row {frame_id}: path '.*' (climbs out|is absolute)"
    with pytest.raises(JobError, match=refusal):
        read_frame(source, PendingFrame(frame_id, 0, None, stored), max_pixels=100_000_000)
    canaries.check()


@pytest.mark.parametrize("name", OWN_ENTRIES)
def test_a_project_whose_own_files_lead_out_is_refused_on_open(
        project: Project, canaries: Canaries, name: str, capsys) -> None:
    entry = project.root / name
    if name in SUBFOLDERS:
        entry.rmdir()
        entry.symlink_to(canaries.dir)
    else:
        if name == "project.db":
            entry.unlink()
        entry.symlink_to(canaries.fifo)
    assert cli("sessions", project.root) == 2
    assert (f"{entry} is a symlink leading out of the project folder" in
            capsys.readouterr().err)
    with pytest.raises(ProjectError, match="symlink leading out"):
        open_project(project.root)
    canaries.check()


def test_a_worker_log_made_a_symlink_after_opening_is_not_followed(
        project: Project, canaries: Canaries) -> None:
    (project.root / "worker.log").symlink_to(canaries.file)
    with pytest.raises(ProjectError, match="worker.log: it is a symlink"):
        project.open_worker_log()
    canaries.check()


def test_queued_jobs_with_outside_targets_do_nothing_outside(
        project: Project, session: sessions.Session, canaries: Canaries, capsys) -> None:
    """A real worker run until idle: a convert with --overwrite onto the canary, queued on
    another machine, is held; a local job whose output folder in the project was made a
    symlink out fails, naming its row; a conversions row naming the canary is only listed."""
    with project.connection() as conn:
        with write(conn):
            held = conn.execute(
                "INSERT INTO jobs (kind, params, priority, created_at, origin) VALUES"
                " ('convert', ?, 0, ?, 'elsewhere/0123:/home/someone/project')",
                (json.dumps({"session_id": session.id, "source_id": 1, "settings": {},
                             "output": str(canaries.file), "overwrite": True}),
                 time.time())).lastrowid
        record = conversions.start(
            conn, job_id=None, session_id=session.id, session_name="s", source_id=None,
            source_path=str(canaries.file), source_sha256="", checkpoint_iteration=20,
            model_sha256="", settings_used={}, output=str(canaries.file), mark="x")
        conversions.finish(conn, record, 1, 1)
    (project.outputs / "sub").symlink_to(canaries.dir)
    output = project.outputs / "sub" / "inner"
    with project.connection() as conn:
        local = jobs.enqueue(conn, "convert", {
            "session_id": session.id, "source_id": 1, "settings": {}, "output": str(output),
            "overwrite": True})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        assert jobs.get(conn, held).status == JobStatus.QUEUED
        assert [job.id for job in jobs.held(conn)] == [held]
        failed = jobs.get(conn, local)
    assert failed.status == JobStatus.FAILED
    assert f"jobs row {local} (output {output})" in failed.error
    assert "is not inside the project folder" in failed.error
    assert cli("conversions", project.root) == 0
    assert str(canaries.file) in capsys.readouterr().out
    canaries.check()


def test_model_files_no_row_names_are_removed_when_a_run_begins(
        project: Project, session: sessions.Session, canaries: Canaries) -> None:
    """A worker killed between a save's rename and its row leaves a file the store does not
    know: the next run removes it (a symlink as a link), and keeps recorded files, temps
    (the start sweep judges those by their writer) and files that are not checkpoints."""
    saves = project.models / str(session.id) / "saves"
    saves.mkdir(parents=True, exist_ok=True)
    orphan = saves / "iter_000000060-dead.safetensors"
    orphan.write_bytes(b"x" * 1000)
    link = saves / "iter_000000070-link.safetensors"
    link.symlink_to(canaries.file)
    temp = saves / ".iter_000000080-beef.safetensors.swapdeck-1-ab12cd34.tmp"
    temp.write_bytes(b"t")
    (saves / "notes.txt").write_text("mine")
    with project.connection() as conn:
        keeper = Keeper(StoreCheckpointLedger(conn, session.id), project.models, session.id,
                        logging.LoggerAdapter(logging.getLogger("orphans"), {}))
        files, size = keeper.remove_unrecorded()
        assert keeper.newest_good().row.iteration == 20   # the recorded snapshot is whole
    assert files == 2 and size >= 1000
    assert not orphan.exists() and not link.is_symlink()
    assert temp.exists() and (saves / "notes.txt").exists()
    canaries.check()
