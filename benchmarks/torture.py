"""Kill anywhere: a real project is built by real worker processes (the loop of `swapdeck
worker`, pipeline/worker.py) while this script SIGKILLs them at random moments of every stage
(ingest, extract, cluster, train, save, convert, export), restarts them and checks after each
kill:

- `PRAGMA integrity_check` is ok;
- every row committed before the kill is still there (sources, frames, faces and their crops,
  cluster runs, losses and previews up to the newest checkpoint, checkpoints unless a newer one
  of their kind replaced them, session runs, finished conversions, events, finished jobs);
- nothing is doubled (a face by source, frame and box; a source by path; a checkpoint by
  session, kind and iteration; a cluster run or conversion by job);
- no file is left over once the next worker has started (temporary files of dead writers,
  model files no checkpoint row names, partial exports, half-done source or conversion rows);
- every job finishes `done` after restarts (the queue retries a dead worker's job while it gets
  further, so a kill lands without progress only while that cannot fail the job);
- every checkpoint's file matches its sha256.

A kill counts only when it landed while the stage's job was running (a "save" kill: while a
checkpoint save was under way; one that landed in training between saves counts under
"train"). The project: skimage's astronaut as an image, and short synthetic videos of the
astronaut beside a tinted mirror image of her (made with PyAV); the two faces are the two
sides of the tests' tiny model, trained on the CPU.

Workers run `pipeline.worker.main` with the tiny model registered: each in a fresh
interpreter, or with --fork (implied by --quick) forked from this process once it imported
the worker's modules, which saves the seconds of importing torch at every restart.

    .venv/bin/python benchmarks/torture.py [--kills 21] [--seed 1] [--quick] [--keep DIR]

Prints one table (kills, survived, rows lost, duplicates, leftovers per stage) and exits 1
when any check failed.
"""
from __future__ import annotations

import argparse
import importlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage.data import astronaut

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# one torch thread per worker: on a small shared machine, threads fighting for the cores
# make a training step ten times slower
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline.atomic_files import writer_of  # noqa: E402
from store import identities, jobs, sessions, sources  # noqa: E402
from store.requests import convert as convert_requests  # noqa: E402
from store.requests.extract import ExtractSettings  # noqa: E402
from store.jobs import MAX_STALLED_DEATHS, Job, JobStatus, got_further  # noqa: E402
from store.project import Project, create_project  # noqa: E402
from torture_checks import (CHECKPOINT_FOLDERS, Findings, dead_temps,  # noqa: E402
                            half_done_rows, orphan_model_files, quiet_checks)

STAGES = ("ingest", "extract", "cluster", "train", "save", "convert", "export")
QUICK_STAGES = ("ingest", "extract", "cluster", "save")
SIZE = 512                       # video frames: two 256 px faces side by side
EXTRACT = ExtractSettings(detector="dlib-hog", aligner="dlib", size=256)
# the tests' 32 px model (tests/pipeline/train/tiny_model.py), registered in each worker:
# training's mechanics (checkpoints, resume) do not depend on a model's size, and the
# smallest model the train command offers takes ~0.4 s a step on one CPU core
TINY_MODEL = "tests.pipeline.train.tiny_model"
WORKER = ("import sys; import {model}; from pipeline.worker import main; "
          "sys.exit(main(sys.argv[1:]))").format(model=TINY_MODEL)
NEVER = 10 ** 8                  # a save interval the save stage never reaches
POLL_S = 0.004
# the first kill of a stage lands within this long of its job being killable; a miss (the
# job finished first) shrinks the window to most of the time the job took
FIRST_WINDOWS_S = {"ingest": 0.1, "extract": 3.0, "cluster": 0.03, "train": 3.0, "save": 0.03,
                   "convert": 3.0, "export": 0.2}
JOB_TIMEOUT_S = 600
CLUSTERS_PER_TRY = 12


@dataclass(frozen=True)
class Plan:
    """How much work each stage gets, and how many kills."""
    videos: int
    frames: int          # of each video
    extra_frames: int    # of each video added when ingest ran out of work to kill
    iterations: int
    kills: dict[str, int]


def plan_for(kills: int, quick: bool) -> Plan:
    stages = QUICK_STAGES if quick else STAGES
    each, extra = divmod(kills, len(stages))
    spread = {stage: each + (i < extra) for i, stage in enumerate(stages)}
    if quick:
        return Plan(videos=1, frames=4, extra_frames=2, iterations=10, kills=spread)
    return Plan(videos=2, frames=24, extra_frames=6, iterations=60, kills=spread)


# ---- media ---------------------------------------------------------------------------------

def two_faces(index: int, variant: int) -> np.ndarray:
    """The astronaut on the left, her tinted mirror image on the right, drifting a little."""
    crop = astronaut()[0:256, 120:376]
    other = crop[:, ::-1].astype(np.float32)
    other[..., 0] *= 0.7
    other[..., 2] = other[..., 2] * 1.2 + 20
    frame = np.full((SIZE, SIZE, 3), 40 + 10 * variant, np.uint8)
    shift = int(4 * np.sin(index / 4 + variant))
    frame[128 + shift:384 + shift, 0:256] = crop
    frame[128 - shift:384 - shift, 256:512] = np.clip(other, 0, 255).astype(np.uint8)
    return frame


def write_video(path: Path, frames: int, variant: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "bf": "0"}
        stream.codec_context.time_base = Fraction(1, 25)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(two_faces(index, variant), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def make_media(folder: Path, plan: Plan) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    still = folder / "astronaut.png"
    Image.fromarray(astronaut()).save(still)
    return [still] + [write_video(folder / f"pair{n}.mp4", plan.frames, n)
                      for n in range(plan.videos)]


# ---- workers ------------------------------------------------------------------------------

class ForkedWorker:
    """`pipeline.worker.main` in a process forked from this one, which imported the worker's
    modules once: the same worker loop in a process of its own, started in a fraction of
    the second a fresh interpreter needs to import torch, dlib and scikit-learn."""

    def __init__(self, argv: list[str], log: Path) -> None:
        worker = importlib.import_module("pipeline.worker")
        sys.stdout.flush()
        sys.stderr.flush()
        with log.open("w") as stderr, open(os.devnull, "w") as devnull:
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.dup2(devnull.fileno(), 1)
                    os.dup2(stderr.fileno(), 2)
                    code = worker.main(argv)
                finally:
                    os._exit(code)
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(POLL_S)
        return self.returncode


class Workers:
    """Starts real worker processes on the project (`python -m pipeline.worker`, or forked
    when `fork`), each draining the queue and then exiting; their stderr in numbered logs."""

    def __init__(self, project: Project, logs: Path, fork: bool) -> None:
        self.project, self.logs, self.fork = project, logs, fork
        self.count = 0
        self.current: subprocess.Popen | ForkedWorker | None = None
        if fork:
            importlib.import_module("pipeline.extract.extractor")  # extract jobs import it
            importlib.import_module("pipeline.worker")  # every job kind, once
            importlib.import_module(TINY_MODEL)
            importlib.import_module("torch._dynamo")  # the optimizers import it: seconds

    def start(self) -> subprocess.Popen | ForkedWorker:
        self.count += 1
        log = self.logs / f"worker-{self.count}.log"
        argv = [str(self.project.root), "--no-inbox", "--exit-when-idle"]
        if self.fork:
            self.current = ForkedWorker(argv, log)
            return self.current
        with log.open("w") as stderr:
            self.current = subprocess.Popen(
                [sys.executable, "-c", WORKER, *argv], cwd=REPO,
                stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self.current

    @property
    def alive(self) -> bool:
        return self.current is not None and self.current.poll() is None

    def kill(self) -> None:
        assert self.current is not None
        os.kill(self.current.pid, signal.SIGKILL)
        self.current.wait()  # reaped: a zombie's pid would look alive to the next worker

    def log_tail(self) -> str:
        return (self.logs / f"worker-{self.count}.log").read_text()[-2000:]

    def finish(self, timeout: float = JOB_TIMEOUT_S) -> None:
        """Run a worker until the queue is drained."""
        process = self.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SystemExit(f"a worker ran past {timeout:.0f}s:\n{self.log_tail()}") from None

    def close(self) -> None:
        if self.alive:
            self.kill()


# ---- the tally -----------------------------------------------------------------------------

@dataclass
class Tally:
    kills: int = 0
    survived: int = 0
    missed: int = 0
    findings: Findings = field(default_factory=Findings)
    failed_jobs: list[str] = field(default_factory=list)


class StageFailed(Exception):
    """A stage's job ended failed: the stages after it have nothing to work on."""


@dataclass
class Torture:
    """One run: the project, its workers, the seeded random moments, and what was found."""
    project: Project
    workers: Workers
    rng: random.Random
    plan: Plan
    media: list[Path]
    export_root: Path
    tallies: dict[str, Tally]
    snap: dict[str, set[tuple]] | None = None
    windows: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)
    current_stage: str = ""
    session_id: int = 0
    swept_checked: bool = False   # whether this worker's start sweep was checked

    @contextmanager
    def conn(self) -> Iterator[sqlite3.Connection]:
        with self.project.connection() as conn:
            yield conn

    def _record(self, stage: str, found: Findings) -> Findings:
        """Count what was found, each thing once (a leftover stays until swept), for the
        stage it first showed in; returns what is new."""
        new = Findings(*([x for x in found_list if x not in self.reported]
                         for found_list in (found.lost, found.duplicates, found.leftovers)))
        self.reported.update(found.lines_raw())
        self.tallies[stage].findings.add(new)
        self.problems += [f"{stage}: {line}" for line in new.lines()]
        return new

    # -- one kill --------------------------------------------------------------------------

    def _running(self, conn: sqlite3.Connection, job_ids: list[int], pid: int) -> Job | None:
        row = conn.execute("SELECT id FROM workers WHERE pid = ? ORDER BY id DESC LIMIT 1",
                           (pid,)).fetchone()
        for job_id in job_ids if row else []:
            job = jobs.get(conn, job_id)
            if job.status == JobStatus.RUNNING and job.worker_id == row[0]:
                return job
        return None

    def _wait_for_killable(self, job_ids: list[int]) -> Job | None:
        """The stage's job the current worker runs, once a kill cannot fail it; None when
        the worker drained the queue first. The first time, the leftovers its start should
        have swept are looked for."""
        process = self.workers.current
        assert process is not None
        deadline = time.monotonic() + JOB_TIMEOUT_S
        with self.conn() as conn:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    return None
                job = self._running(conn, job_ids, process.pid)
                if job is not None and not self.swept_checked:
                    self.swept_checked = True
                    self._record(self.current_stage,
                                 Findings(leftovers=dead_temps([self.project.root])))
                if job is not None and self._killable(conn, job):
                    return job
                time.sleep(POLL_S)
        raise SystemExit(f"no job of {job_ids} could be killed within {JOB_TIMEOUT_S}s:\n"
                         f"{self.workers.log_tail()}")

    @staticmethod
    def _killable(conn: sqlite3.Connection, job: Job) -> bool:
        """A kill now cannot fail the job: it has fewer deaths without progress than fail
        it, or this attempt already got further than the ones before."""
        if job.stalled_deaths + 1 < MAX_STALLED_DEATHS:
            return True
        fresh = jobs.get(conn, job.id)
        return got_further(fresh.progress_marks, fresh.marks_at_claim)

    def _any_in(self, job_ids: list[int], *statuses: JobStatus) -> bool:
        with self.conn() as conn:
            return any(jobs.get(conn, job_id).status in statuses for job_id in job_ids)

    def _wait(self, until: Callable[[], bool], job_ids: list[int],
              interval: float = POLL_S) -> bool:
        """Wait for `until`; False when the worker exited first or has none of the stage's
        jobs left to run (a stage of quick jobs queues many, run back to back)."""
        while not until():
            if not self.workers.alive or not self._any_in(job_ids, JobStatus.QUEUED,
                                                          JobStatus.RUNNING):
                return False
            time.sleep(interval)
        return True

    def kill_during(self, stage: str, job_ids: list[int],
                    trigger: Callable[[Job], Callable[[], bool]] | None = None) -> bool:
        """Start a worker and SIGKILL it at a random moment while one of `job_ids` runs
        (after `trigger(job)` is armed, when given), then check the store. A job that
        finishes first is a miss, and the same worker goes on to the next. Returns False
        when the worker drained the queue before a kill landed."""
        self.workers.start()
        self.swept_checked = self.workers.count == 1
        while True:
            job = self._wait_for_killable(job_ids)
            if job is None:
                return False
            window = self.windows.setdefault(stage, FIRST_WINDOWS_S[stage])
            started = time.monotonic()
            armed = trigger(job) if trigger is not None else (lambda: True)
            if self._wait(armed, [job.id], POLL_S / 4):
                at = time.monotonic() + self.rng.uniform(0, window)
                if self._wait(lambda: time.monotonic() >= at, job_ids):
                    self.workers.kill()
                    if self._any_in(job_ids, JobStatus.RUNNING):
                        self.check_after_kill(self.landed_in(stage))
                        return True
            # the job finished first: aim earlier next time
            self.windows[stage] = max(0.005, 0.7 * (time.monotonic() - started))
            self.tallies[stage].missed += 1
            if not self.workers.alive:
                return True

    def landed_in(self, stage: str) -> str:
        """The stage a landed kill counts for: a save kill that landed between saves
        counts for training (and the next one aims earlier)."""
        if stage == "save" and not self._save_under_way():
            self.windows[stage] *= 0.7
            return "train"
        return stage

    def check_after_kill(self, stage: str) -> None:
        tally = self.tallies.setdefault(stage, Tally())
        tally.kills += 1
        with self.conn() as conn:
            found, self.snap = quiet_checks(conn, self.project.models, self.snap)
        if self._record(stage, found).clean:
            tally.survived += 1

    # -- stages ------------------------------------------------------------------------------

    def stage(self, stage: str, job_ids: list[int], more: Callable[[], list[int]] | None = None,
              trigger: Callable[[Job], Callable[[], bool]] | None = None) -> list[int]:
        """Kill the stage's jobs as planned, then let a worker finish them; `more` queues
        further work when they finished before every kill landed."""
        self.current_stage = stage
        tally = self.tallies[stage]
        wanted = self.plan.kills.get(stage, 0)
        tries = 0
        while tally.kills < wanted and tries < 4 * wanted + 4:
            tries += 1
            if not self.kill_during(stage, job_ids, trigger):
                self._check_jobs(stage, job_ids)
                if more is None:
                    break
                job_ids = job_ids + more()
        self.workers.finish()
        self.after_stage(stage, job_ids)
        return job_ids

    def _check_jobs(self, stage: str, job_ids: list[int]) -> None:
        tally = self.tallies[stage]
        with self.conn() as conn:
            for job in (jobs.get(conn, job_id) for job_id in job_ids):
                line = f"job {job.id} ({job.kind}) ended {job.status.label}: {job.error}"
                if job.status != JobStatus.DONE and line not in tally.failed_jobs:
                    tally.failed_jobs.append(line)
                    self.problems.append(f"{stage}: {line}")
        if tally.failed_jobs:
            tally.survived = 0
            raise StageFailed(stage)

    def after_stage(self, stage: str, job_ids: list[int]) -> None:
        """Every job done, nothing left over, and the store as whole as after a kill."""
        found = Findings()
        with self.conn() as conn:
            quiet, self.snap = quiet_checks(conn, self.project.models, self.snap)
            found.add(quiet)
            found.lost += loss_gaps(conn)
            found.leftovers += orphan_model_files(conn, self.project.models)
            found.leftovers += half_done_rows(conn)
        found.leftovers += dead_temps([self.project.root, self.export_root])
        if not self._record(stage, found).clean:
            self.tallies[stage].survived = 0
        self._check_jobs(stage, job_ids)

    def _save_under_way(self) -> bool:
        """After a kill in the save stage: whether it landed inside a save: a checkpoint's
        temp file, a checkpoint file without a row, two saves (the older not dropped yet),
        or the newest save without its preview."""
        folder = self.project.models / str(self.session_id)
        files = {f"{kind}/{path.name}" for kind in CHECKPOINT_FOLDERS
                 for path in (folder / kind).glob("*")}
        with self.conn() as conn:
            rows = conn.execute(
                "SELECT kind, iteration, path FROM checkpoints WHERE session_id = ?"
                " AND archive_id IS NULL ORDER BY iteration DESC", (self.session_id,)).fetchall()
            previews = {row[0] for row in conn.execute(
                "SELECT iteration FROM previews WHERE session_id = ?", (self.session_id,))}
        saves = [iteration for kind, iteration, _ in rows if kind == "save"]
        return (bool(files - {path for _, _, path in rows}) or len(saves) > 1
                or (bool(saves) and saves[0] not in previews))


def loss_gaps(conn: sqlite3.Connection) -> list[str]:
    """Sessions whose loss rows are not one per iteration from 1 to where it stands."""
    gaps = []
    for session_id, iteration in conn.execute("SELECT id, iteration FROM sessions"):
        have = [row[0] for row in conn.execute(
            "SELECT iteration FROM losses WHERE session_id = ? ORDER BY iteration",
            (session_id,))]
        if have != list(range(1, iteration + 1)):
            missing = sorted(set(range(1, iteration + 1)) - set(have))
            gaps.append(f"session {session_id} at iteration {iteration} has {len(have)} loss "
                        f"rows (missing {missing[:10]})")
    return gaps


# ---- the run ---------------------------------------------------------------------------------

def queue(project: Project, kind: str, params: list[dict]) -> list[int]:
    with project.connection() as conn:
        return jobs.enqueue_many(conn, kind, params)


def ingest_params(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path), "label": "", "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def name_sides(project: Project) -> None:
    """The astronaut (left faces and the still) is side A, her mirror image side B."""
    with project.connection() as conn:
        rows = conn.execute("SELECT id, x0, x1, source_id FROM faces").fetchall()
        kinds = {s.id: s.kind for s in sources.list_sources(conn)}
        left = [r[0] for r in rows if kinds[r[3]] == "image" or r[2] < SIZE / 2]
        right = [r[0] for r in rows if kinds[r[3]] == "video" and r[1] > SIZE / 2]
        identities.move_faces(conn, left, "astro")
        identities.set_side(conn, "astro", "A")
        identities.move_faces(conn, right, "mirror")
        identities.set_side(conn, "mirror", "B")


def train_settings(iterations: int, save_every: int) -> dict:
    return {"batch_size": 4, "iterations": iterations, "save_every": save_every,
            "snapshot_every": 2 * save_every, "backups": 1, "mixed_precision": False}


def run(root: Path, kills: int, seed: int, quick: bool,
        fork: bool) -> tuple[dict[str, Tally], list[str]]:
    """Build and torture a project in `root`: each stage's tally and the problems found."""
    plan = plan_for(kills, quick)
    logs = root / "logs"
    logs.mkdir(parents=True)
    project = create_project(root / "project")
    stages = QUICK_STAGES if quick else STAGES
    torture = Torture(project, Workers(project, logs, fork), random.Random(seed), plan,
                      make_media(root / "media", plan), root / "exports",
                      {stage: Tally() for stage in stages})
    try:
        _stages(torture, stages)
    except StageFailed as exc:
        torture.problems.append(f"stopped after the {exc} stage: a job of it failed")
    finally:
        torture.workers.close()
    return torture.tallies, torture.problems


def _stages(t: Torture, stages: tuple[str, ...]) -> None:
    project, plan = t.project, t.plan
    extra_media = iter(range(100, 200))

    def more_ingest() -> list[int]:
        # each try a longer video: on a loaded machine a short one is ingested before the
        # kill can land
        number = next(extra_media)
        video = write_video(t.media[0].parent / f"extra{number}.mp4",
                            plan.extra_frames * 2 ** min(number - 100, 5), 0)
        t.media.append(video)
        return queue(project, "ingest", [ingest_params(video)])

    t.stage("ingest", queue(project, "ingest", [ingest_params(p) for p in t.media]),
            more_ingest)
    with project.connection() as conn:
        source_ids = [s.id for s in sources.list_sources(conn)]
    t.stage("extract", queue(project, "extract", [
        {"source_id": s, "settings": EXTRACT.to_json()} for s in source_ids]))
    cluster = {"source_ids": [], "method": "average", "threshold": identities.DEFAULT_THRESHOLD}
    # a cluster of a few faces takes milliseconds: a try queues many, run back to back, and
    # the kill lands in whichever one runs then
    t.stage("cluster", queue(project, "cluster", [cluster] * CLUSTERS_PER_TRY),
            lambda: queue(project, "cluster", [cluster] * CLUSTERS_PER_TRY))
    name_sides(project)
    _train_and_save(t, stages)
    if "convert" not in stages:
        return
    with project.connection() as conn:
        video = next(s for s in sources.list_sources(conn) if s.kind == "video")
        session = sessions.get(conn, t.session_id)

    def more_convert() -> list[int]:
        with project.connection() as conn:
            params = convert_requests.convert_params(conn, project.outputs, session, video, {})
        return queue(project, "convert", [params])

    t.stage("convert", more_convert(), more_convert)
    exports = iter(range(1000))

    def more_export() -> list[int]:
        folder = t.export_root / f"faces{next(exports)}"
        return queue(project, "export", [{"folder": str(folder), "person": None,
                                          "include_excluded": False}])

    t.stage("export", more_export(), more_export)


def _train_and_save(t: Torture, stages: tuple[str, ...]) -> None:
    """A new session trained with a save every few iterations (the train stage), then
    runs that save only when asked (`swapdeck save`): each kill of the save stage waits
    for a save's file to be written, then lands at a random moment of the save. Without a
    train stage, the session's first run is the save stage's first job."""
    project, plan = t.project, t.plan
    target = [plan.iterations]
    new = {"new_session": {"name": "torture", "model": "tiny-test", "model_options": {},
                           "seed": 1}}

    def more_training() -> list[int]:
        if not t.session_id:
            return queue(project, "train", [{**new, "settings": train_settings(
                target[0], NEVER)}])
        target[0] += plan.iterations
        return queue(project, "train", [{"session_id": t.session_id,
                                         "settings": train_settings(target[0], NEVER)}])

    def session_of(job: Job) -> int | None:
        if "session_id" in job.params:
            return int(job.params["session_id"])
        with project.connection() as conn:
            session = sessions.created_by(conn, job.id)
        return session.id if session else None

    def save_asked(job: Job) -> Callable[[], bool]:
        """Ask for a save once training runs; armed when a save's file is being written."""
        pid = t.workers.current.pid
        asked: list[Path] = []

        def armed() -> bool:
            if not asked:
                session_id = session_of(job)
                if session_id is None:
                    return False
                t.session_id = session_id
                with project.connection() as conn:
                    sessions.request_save(conn, session_id)
                asked.append(project.models / str(session_id) / "saves")
            return any((w := writer_of(p.name)) is not None and w.pid == pid
                       for p in asked[0].glob(".*"))
        return armed

    if "train" in stages:
        [job_id] = t.stage("train", queue(project, "train", [
            {**new, "settings": train_settings(plan.iterations, 5)}]))[:1]
        with project.connection() as conn:
            t.session_id = sessions.created_by(conn, job_id).id
    t.stage("save", more_training(), more_training, trigger=save_asked)


# ---- the table -----------------------------------------------------------------------------

COLUMNS = ("stage", "kills", "survived", "rows lost", "duplicates", "leftovers")


def table(tallies: dict[str, Tally]) -> str:
    rows = [(stage, t.kills, t.survived, len(t.findings.lost), len(t.findings.duplicates),
             len(t.findings.leftovers)) for stage, t in tallies.items()]
    rows.append(("total", *(sum(row[i] for row in rows) for i in range(1, len(COLUMNS)))))
    widths = [max(len(str(x)) for x in column) for column in zip(COLUMNS, *rows)]
    lines = ["  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w)
                       for i, (x, w) in enumerate(zip(row, widths))) for row in [COLUMNS, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, lines[1])
    return "\n".join(lines)


def failed(tallies: dict[str, Tally]) -> bool:
    return any(not t.findings.clean or t.failed_jobs or t.survived < t.kills
               for t in tallies.values())


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SIGKILL the worker at random moments of every stage, restart it, and "
                    "check that no committed work is lost, doubled or left half done.")
    parser.add_argument("--kills", type=int, default=None,
                        help="kills in all, spread over the stages (default: 21, or 4 with "
                             "--quick)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    parser.add_argument("--quick", action="store_true",
                        help="a few kills on little data; no convert or export stage, the "
                             "save stage trains the session; forked workers (--fork)")
    parser.add_argument("--fork", action="store_true",
                        help="start each worker by forking this process, which imported the "
                             "worker's modules once, instead of a fresh interpreter per "
                             "worker (the same worker loop, started in a fraction of the time)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the project in DIR (new or empty) and keep it, with "
                             "the workers' logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    kills = args.kills if args.kills is not None else (4 if args.quick else 21)
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        print(f"torture: --keep {args.keep} is not empty", file=sys.stderr)
        return 2
    root = args.keep or Path(tempfile.mkdtemp(prefix="swapdeck-torture-"))
    started = time.monotonic()
    try:
        tallies, problems = run(root, kills, args.seed, args.quick, args.fork or args.quick)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    for line in problems:
        print(line)
    missed = sum(t.missed for t in tallies.values())
    print(table(tallies))
    print(f"seed {args.seed}; {missed} kills missed (the job finished first) and were not "
          f"counted; {time.monotonic() - started:.0f} s")
    return 1 if failed(tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
