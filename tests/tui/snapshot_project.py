"""A realistic project for the snapshot tests (tests/tui/test_snapshots.py), written straight
into a real store: no worker runs and nothing is trained, so it is built in a second or two,
and every row a screen shows is the same on every run and every machine.

What the project ("demo") holds:
- three ready sources with files on disk (beside the project, so none reads as changed): two
  videos and a folder of photos; and a failed ingest of an empty file;
- their extractions: faces with thumbnails and descriptors of three people (a few rejected at
  extraction), clustered into three clusters, two of them named Ann (side A) and Bob (side
  B), a few of Ann's faces excluded by hand;
- two training sessions of Ann → Bob: `ann-bob-original` (two runs, at iteration 600 of 1,000,
  a loss row per iteration, a preview, swap metrics and a save at every 100th, snapshots
  and backups, all with whole model files) and `ann-bob-lightweight` (one run of 150);
- a finished conversion of the first video with the first session (its output on disk);
- the jobs that did all this, the worker that ran them (it stopped two hours before NOW)
  and its event log.

Every time written is fixed: while the project is built, the store's modules read a
`FrozenClock` instead of the real time (`frozen_clock`), stepped along a made-up day; the
tests show the project through the same clock, stopped at NOW. Pictures are drawn from
scikit-image's astronaut with fixed numpy seeds and stored as PNG (lossless: no JPEG decoder
can shade a pixel differently).
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import os
import pkgutil
import struct
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from store import conversions, events, faces, identities, jobs, sessions, sources
from store.faces import DESCRIPTOR_MODEL, EncodedImage, NewFace
from store.jobs import JobStatus
from store.project import Project, create_project
from store.requests.extract import ExtractSettings
from store.sources import FrameRow, MediaFacts

NAME = "demo"                 # the project's folder, and what the header shows
NOW = datetime(2025, 6, 14, 9, 30, tzinfo=timezone.utc).timestamp()
DAY_BEFORE = NOW - 86_400     # when the work began
WORKER_HOST = "gpu-box"       # not this machine: its pid is never looked up
WORKER_PID = 48213
FACE_SIZE = 96                # the thumbnails' and crops' side
TILE = 64                     # a training preview's tile (the model's output size)
CLOCKED_PACKAGES = ("store", "tui", "screens")


# --- the clock -------------------------------------------------------------------------------

class FrozenClock:
    """Stands in for the `time` module in the project's own modules: `time()` says `now`;
    everything else (monotonic, sleep, localtime...) is the real module's."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def clocked_modules() -> list[ModuleType]:
    """Every module of store, tui and screens that reads `time.time()` (each imported now,
    so that none imported later reads the real clock); the CLI is left out."""
    for package_name in CLOCKED_PACKAGES:
        package = importlib.import_module(package_name)
        for found in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not found.name.startswith("tui.cli") and not found.name.endswith("__main__"):
                importlib.import_module(found.name)
    return [module for name, module in sorted(sys.modules.items())
            if name.split(".")[0] in CLOCKED_PACKAGES
            and isinstance(getattr(module, "time", None), (ModuleType, FrozenClock))
            and getattr(module.time, "__name__", "time") == "time"]


@contextmanager
def frozen_clock(now: float) -> Iterator[FrozenClock]:
    """The project's modules read `clock.time()` (set `clock.now` to move it) while inside."""
    clock = FrozenClock(now)
    modules = clocked_modules()
    before = {module: module.time for module in modules}
    for module in modules:
        module.time = clock   # type: ignore[attr-defined]
    try:
        yield clock
    finally:
        for module, original in before.items():
            module.time = original   # type: ignore[attr-defined]


# --- pictures ----------------------------------------------------------------------------------

@functools.cache
def _astronaut() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()


# How each person looks: their faces are the astronaut mirrored or not, in a colour cast.
LOOKS = {"Ann": (False, (1.0, 1.0, 1.0)), "Bob": (True, (0.55, 0.8, 1.35)),
         "Cleo": (False, (1.25, 1.05, 0.55))}


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def face_pixels(person: str, rng: np.random.Generator, size: int = FACE_SIZE,
                blur: float = 0.0) -> np.ndarray:
    """A jittered crop around the astronaut's face in `person`'s look, `size` px square."""
    from PIL import Image, ImageFilter

    side = int(rng.integers(170, 230))
    top, left = int(rng.integers(10, 50)), int(rng.integers(140, 200))
    crop = _astronaut()[top:top + side, left:left + side]
    mirrored, cast = LOOKS[person]
    if mirrored:
        crop = crop[:, ::-1]
    tinted = np.clip(crop * np.array(cast), 0, 255).astype(np.uint8)
    image = Image.fromarray(tinted).resize((size, size), Image.Resampling.LANCZOS)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)


def training_preview(iteration: int, target: int) -> bytes:
    """A preview as the trainer lays it out: A, A→A, A→B over B, B→B, B→A; the swaps are
    blurrier the earlier the iteration."""
    rng = np.random.default_rng(iteration)
    blur = 3.0 * (1 - iteration / target)
    rows = []
    for person, other in (("Ann", "Bob"), ("Bob", "Ann")):
        seed = int(rng.integers(1 << 30))
        original = face_pixels(person, np.random.default_rng(seed), TILE)
        same = face_pixels(person, np.random.default_rng(seed), TILE, blur)
        swapped = face_pixels(other, np.random.default_rng(seed), TILE, blur + 0.5)
        rows.append(np.concatenate([original, same, swapped], axis=1))
    return _png(np.concatenate(rows, axis=0))


@functools.cache
def convert_preview_pictures() -> tuple[bytes, bytes]:
    """One frame of the first video before and after the swap (Ann's face, then Bob's)."""
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[...] = np.linspace(30, 90, 320, dtype=np.uint8)[None, :, None]
    frame[120:, :] = (60, 48, 40)
    before, after = frame.copy(), frame.copy()
    before[30:150, 100:220] = face_pixels("Ann", np.random.default_rng(5), 120)
    after[30:150, 100:220] = face_pixels("Bob", np.random.default_rng(5), 120, 0.6)
    return _png(before), _png(after)


def _safetensors(tensor_seed: int) -> bytes:
    """A small, whole safetensors file (header, then 16 float32 values)."""
    values = np.random.default_rng(tensor_seed).normal(size=16).astype("<f4").tobytes()
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "encoder.weight": {"dtype": "F32", "shape": [4, 4],
                                            "data_offsets": [0, len(values)]}}).encode()
    return struct.pack("<Q", len(header)) + header + values


# --- the build ---------------------------------------------------------------------------------

class Builder:
    """Writes the project's rows at the clock's times, one piece of history at a time."""

    def __init__(self, project: Project, media: Path, clock: FrozenClock) -> None:
        self.project = project
        self.media = media
        self.clock = clock
        self.conn = project.connect()
        self.worker_id = 0
        self.rng = np.random.default_rng(2025)

    def at(self, offset_s: float) -> None:
        """Move the clock to `offset_s` seconds after DAY_BEFORE."""
        self.clock.now = DAY_BEFORE + offset_s

    def log(self, offset_s: float, message: str, job_id: int | None = None,
            level: str = "info") -> None:
        self.at(offset_s)
        events.add(self.conn, level, "worker", message, job_id)

    def job(self, offset_s: float, seconds: float, kind: str, params: dict[str, Any],
            message: str, result: dict[str, Any] | None = None, error: str | None = None,
            total: float | None = None) -> int:
        """A job queued at `offset_s` and run by the worker for `seconds`, done (or failed,
        with `error`); `total` is its progress total (reached when done)."""
        self.at(offset_s)
        job_id = jobs.enqueue(self.conn, kind, params)
        started = DAY_BEFORE + offset_s + 1
        self.conn.execute("UPDATE jobs SET status = ?, worker_id = ?, started_at = ?,"
                          " heartbeat_at = ?, attempts = 1, progress = ?, total = ? WHERE id = ?",
                          (JobStatus.RUNNING, self.worker_id, started, started + seconds,
                           total if error is None and total else 0, total, job_id))
        self.log(offset_s + 1, f"job {job_id} ({kind}) started, attempt 1 (0 deaths in a row "
                 "without progress)", job_id)
        self.at(offset_s + 1 + seconds)
        if error is None:
            jobs.finish(self.conn, job_id, JobStatus.DONE, message=message,
                        result={"message": message, **(result or {})})
            self.log(offset_s + 1 + seconds, f"job {job_id} done: {message}", job_id)
        else:
            jobs.finish(self.conn, job_id, JobStatus.FAILED, message="failed", error=error)
            self.log(offset_s + 1 + seconds, f"job {job_id} failed: {error}", job_id, "error")
        return job_id

    def worker(self) -> None:
        """The worker that ran everything: it stopped two hours before NOW."""
        self.at(-60)
        self.worker_id = self.conn.execute(
            "INSERT INTO workers (host, pid, kinds, started_at, heartbeat_at, stopped_at)"
            " VALUES (?, ?, NULL, ?, ?, ?)",
            (WORKER_HOST, WORKER_PID, DAY_BEFORE - 60, NOW - 7_300, NOW - 7_290)).lastrowid
        self.log(-59, f"worker {self.worker_id} started on {WORKER_HOST} (pid {WORKER_PID}), "
                 "taking every kind of job")

    # --- sources and faces ---------------------------------------------------------------

    def media_file(self, name: str, size: int) -> Path:
        path = self.media / name
        path.write_bytes(b"\0" * size)
        os.utime(path, ns=(int(DAY_BEFORE - 3_600) * 10**9,) * 2)
        return path

    def photo_folder(self, name: str, count: int) -> Path:
        folder = self.media / name
        folder.mkdir()
        for i in range(count):
            (folder / f"{name[:-7]}_{i + 1:02d}.jpg").write_bytes(b"\0" * 2048)
        os.utime(folder, ns=(int(DAY_BEFORE - 3_600) * 10**9,) * 2)
        return folder

    def ingest(self, offset_s: float, path: Path, kind: str, facts: MediaFacts,
               frames: list[FrameRow]) -> int:
        stat = path.stat()
        summary = (f"{facts.frame_count} frames, {facts.width}x{facts.height}, "
                   f"{facts.fps:.4g} fps, audio {facts.audio_codec}" if kind == "video"
                   else f"{facts.frame_count} images, {facts.width}x{facts.height}")
        job_id = self.job(offset_s, 6, "ingest", {"path": str(path), "label": "",
                                                  "size": stat.st_size,
                                                  "mtime_ns": stat.st_mtime_ns},
                          summary, total=facts.frame_count)
        self.at(offset_s + 2)
        source_id = sources.begin_ingest(self.conn, str(path), "", kind, stat.st_size,
                                         stat.st_mtime_ns, job_id)
        sources.add_frames(self.conn, source_id, frames)
        sources.complete_ingest(self.conn, source_id, facts)
        self.conn.execute("UPDATE jobs SET result = json_set(result, '$.source_id', ?)"
                          " WHERE id = ?", (source_id, job_id))
        return source_id

    def new_face(self, frame_id: int, face_idx: int, person: str, vector: np.ndarray,
                 rejected: str | None = None) -> NewFace:
        rng = self.rng
        png = EncodedImage("png", _png(face_pixels(person, rng)))
        x0, y0 = float(rng.uniform(200, 800)), float(rng.uniform(80, 260))
        width = 40.0 if rejected else float(rng.uniform(180, 260))
        return NewFace(frame_id, face_idx, (x0, y0, x0 + width, y0 + width * 1.2),
                       float(np.round(rng.uniform(0.93, 0.999), 3)), np.zeros((68, 2)),
                       np.zeros((2, 3)), float(np.round(rng.uniform(40, 400), 1)),
                       float(np.round(rng.uniform(-25, 25), 1)),
                       float(np.round(rng.uniform(-12, 12), 1)),
                       float(np.round(rng.uniform(-6, 6), 1)),
                       0.03 if rejected else float(np.round(width / 720, 3)), rejected, None,
                       png, FACE_SIZE, png, {}, FACE_SIZE, {DESCRIPTOR_MODEL: vector})

    def extract(self, offset_s: float, source_id: int, every_n: int,
                people_at: dict[int, list[str]], vectors: dict[str, Iterator[np.ndarray]],
                made: dict[str, list[int]]) -> None:
        """Extract the source every `every_n` frames: the people in each frame (a name
        starting with "small" is a face rejected as too small), their face ids in `made`."""
        settings = ExtractSettings(every_n=every_n, detector="s3fd", aligner="fan", size=256)
        frame_ids = dict(self.conn.execute("SELECT idx, id FROM frames WHERE source_id = ?"
                                           " ORDER BY idx", (source_id,)).fetchall())
        chosen = [idx for idx in sorted(frame_ids) if idx % every_n == 0]
        kept = sum(not n.startswith("small") for idx in chosen for n in people_at.get(idx, []))
        rejected = sum(n.startswith("small") for idx in chosen for n in people_at.get(idx, []))
        summary = f"{kept} faces" + (f" ({rejected} more rejected)" if rejected else "") + \
            f" in {len(chosen)} frames"
        job_id = self.job(offset_s, 95, "extract", {"source_id": source_id,
                                                    "settings": settings.to_json()},
                          summary, {"source_id": source_id, "faces": kept,
                                    "rejected": rejected, "frames": len(chosen)},
                          total=len(chosen))
        self.at(offset_s + 2)
        faces.start_extraction(self.conn, source_id, settings.to_json(), len(chosen), job_id)
        new = []
        for idx in chosen:
            for face_idx, person in enumerate(people_at.get(idx, [])):
                small = person.startswith("small")
                name = person.removeprefix("small ")
                reason = ("too small (1.4% of the frame, minimum 2%)" if small else None)
                new.append((name, self.new_face(frame_ids[idx], face_idx, name,
                                                next(vectors[name]), reason)))
        faces.save_frames(self.conn, source_id, [frame_ids[idx] for idx in chosen],
                          [face for _, face in new])
        self.at(offset_s + 90)
        faces.finish_extraction(self.conn, source_id)
        stored = [f.id for f in faces.list_faces(self.conn, source_id)]
        for face_id, (name, face) in zip(stored, new):
            if face.rejected is None:
                made.setdefault(name, []).append(face_id)

    def cluster(self, offset_s: float, made: dict[str, list[int]],
                descriptors: dict[int, np.ndarray]) -> list[int]:
        """The cluster job's run, recorded as the job records it; the clusters' ids."""
        order = ("Ann", "Bob", "Cleo")
        face_ids = sorted(i for name in order for i in made[name])
        label_of = {i: order.index(name) for name in order for i in made[name]}
        labels = np.array([label_of[i] for i in face_ids])
        vectors = np.stack([descriptors[i] for i in face_ids])
        centres = np.stack([vectors[labels == k].mean(axis=0) for k in range(len(order))])
        distances = np.round(self.rng.uniform(0.04, 0.42, len(face_ids)), 3)
        message = f"{len(face_ids)} faces in {len(order)} clusters"
        job_id = self.job(offset_s, 3, "cluster", {}, message,
                          {"clusters": len(order), "faces": len(face_ids)},
                          total=len(face_ids))
        self.at(offset_s + 3)
        run_id = identities.record_run(
            self.conn, method="average", threshold=identities.DEFAULT_THRESHOLD, source_ids=[],
            face_ids=face_ids, labels=labels, centres=centres, distances=distances, names={},
            job_id=job_id)
        return [c.id for c in identities.clusters(self.conn, run_id)]

    # --- training -----------------------------------------------------------------------

    def model_file(self, session_id: int, kind: str, iteration: int, data: bytes) -> tuple[
            str, str]:
        """A model file at the keeper's kind of path (its name's suffix made up but fixed);
        (path, sha256)."""
        suffix = (session_id * 7_919 + iteration * 31 + len(kind)) & 0xFFFFFFFF
        relative = f"{kind}s/iter_{iteration:09d}-{suffix:08x}.safetensors"
        path = self.project.models / str(session_id) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return relative, hashlib.sha256(data).hexdigest()

    def train(self, session: sessions.Session, job_id: int, start_s: float, first: int,
              last: int, seconds_per_iteration: float, reason: str,
              losses: np.ndarray) -> None:
        """A run from iteration `first` to `last`: its losses (written 50 at a time, as the
        trainer batches them), and a save with its preview and swap metrics at every
        `save_every`th iteration."""
        settings = session.settings
        self.at(start_s)
        run_id = sessions.start_run(self.conn, session.id, job_id, first,
                                    settings["batch_size"], "cuda:0", settings)
        for iteration in range(first + 1, last + 1):
            if iteration % 50 == 0 or iteration == last:
                done = [(i, float(losses[i - 1, 0]), float(losses[i - 1, 1]))
                        for i in range(max(first + 1, iteration - 49), iteration + 1)]
                self.at(start_s + (iteration - first) * seconds_per_iteration)
                sessions.record_progress(self.conn, session.id, run_id, iteration, done)
            if iteration % settings["save_every"] == 0:
                self.save(session, iteration, losses[iteration - 1])
        self.at(start_s + (last - first) * seconds_per_iteration + 4)
        sessions.end_run(self.conn, run_id, last, reason)

    def save(self, session: sessions.Session, iteration: int, loss: np.ndarray) -> None:
        """What the keeper leaves after a save: the newest save, a backup of each save
        before it (the newest `backups`), a snapshot every `snapshot_every`; and the
        trainer's preview and swap metrics."""
        settings, folder = session.settings, self.project.models / str(session.id)
        loss_a, loss_b = float(loss[0]), float(loss[1])
        data = _safetensors(session.id * 1_000_000 + iteration)
        older = sessions.checkpoints(self.conn, session.id, "save")
        path, sha = self.model_file(session.id, "save", iteration, data)
        sessions.add_checkpoint(self.conn, session.id, "save", iteration, path, sha, loss_a,
                                loss_b)
        for old in older:
            kept = (folder / old.path).read_bytes()
            sessions.drop_checkpoints(self.conn, [old.id])
            (folder / old.path).unlink()
            backup, _ = self.model_file(session.id, "backup", old.iteration, kept)
            sessions.add_checkpoint(self.conn, session.id, "backup", old.iteration, backup,
                                    old.sha256, old.loss_a, old.loss_b)
        for gone in sessions.checkpoints(self.conn, session.id, "backup")[settings["backups"]:]:
            sessions.drop_checkpoints(self.conn, [gone.id])
            (folder / gone.path).unlink()
        if iteration % settings["snapshot_every"] == 0:
            snapshot, _ = self.model_file(session.id, "snapshot", iteration, data)
            sessions.add_checkpoint(self.conn, session.id, "snapshot", iteration, snapshot,
                                    sha, loss_a, loss_b)
        target = settings["iterations"]
        sessions.add_preview(self.conn, session.id, iteration, "png",
                             training_preview(iteration, target))
        progress = iteration / target
        found = 8 if session.model == "original" or iteration > 100 else 0
        sessions.record_metrics(self.conn, session.id, sessions.SwapMetrics(
            iteration, found, round(0.82 - 0.38 * progress, 3), round(0.31 + 0.52 * progress, 3),
            round(11.5 - 7.0 * progress, 2), round(0.14 - 0.08 * progress, 4)))


def loss_curve(iterations: int, seed: int, start: tuple[float, float] = (0.19, 0.21),
               floor: tuple[float, float] = (0.045, 0.052)) -> np.ndarray:
    """(iterations, 2) losses A and B: a falling curve with noise."""
    rng = np.random.default_rng(seed)
    steps = np.arange(1, iterations + 1)[:, None]
    mean = np.array(floor) + (np.array(start) - np.array(floor)) * np.exp(-steps / 160)
    noisy = mean * (1 + rng.normal(scale=0.06, size=(iterations, 2)))
    return np.round(noisy, 5)


def people_vectors(seed: int = 0) -> dict[str, np.ndarray]:
    """Three people's descriptor centres, about 0.85 apart (dlib's different-person
    distance)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 128))
    centres *= 0.6 / np.linalg.norm(centres, axis=1, keepdims=True)
    return dict(zip(("Ann", "Bob", "Cleo"), centres))


def _face_vectors(centre: np.ndarray, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    while True:
        yield (centre + rng.normal(scale=0.01, size=128)).astype(np.float32)


def build(project: Project, media: Path) -> dict[str, Any]:
    """Fill `project` (media files go in `media`); what the tests need to know about it."""
    media.mkdir(exist_ok=True)
    with frozen_clock(DAY_BEFORE) as clock:
        b = Builder(project, media, clock)
        try:
            return _build(b)
        finally:
            b.conn.close()


def _sources(b: Builder) -> tuple[int, int, int, Path]:
    """Two videos and a folder of photos, ready, and a failed ingest."""
    b.worker()
    interview = b.media_file("interview_ann.mp4", 48_211)
    podcast = b.media_file("podcast_bob.mp4", 91_877)
    photos = b.photo_folder("ann_photos", 12)
    video = dict(variable_fps=False, rotation=0, video_codec="h264", has_audio=True,
                 audio_codec="aac")
    ann_video = b.ingest(0, interview, "video", MediaFacts(
        "1d" * 32, 1280, 720, 25.0, frame_count=300, duration=12.0, **video),
        [FrameRow(i, i * 512, i / 25) for i in range(300)])
    bob_video = b.ingest(40, podcast, "video", MediaFacts(
        "2e" * 32, 1920, 1080, 30.0, frame_count=450, duration=15.0, **video),
        [FrameRow(i, i * 3000, i / 30) for i in range(450)])
    ann_folder = b.ingest(80, photos, "folder", MediaFacts(
        "3f" * 32, 1024, 1024, None, False, 12, None, 0, None, False, None),
        [FrameRow(i, None, None, f"ann_{i + 1:02d}.jpg") for i in range(12)])
    b.job(120, 1, "ingest", {"path": "/media/shoot/b-roll_03.mp4", "label": "", "size": 0,
                             "mtime_ns": 0}, "failed",
          error="empty file: /media/shoot/b-roll_03.mp4 (0 bytes)")

    return ann_video, bob_video, ann_folder, interview


def _faces(b: Builder, ann_video: int, bob_video: int, ann_folder: int) -> None:
    """Three extractions, a clustering, Ann and Bob named as sides A and B."""
    conn = b.conn
    centres = people_vectors()
    vectors = {name: _face_vectors(centre, seed) for seed, (name, centre)
               in enumerate(centres.items())}
    made: dict[str, list[int]] = {}
    b.extract(300, ann_video, 10, {i: ["Ann"] + (["Cleo"] if 100 <= i <= 150 else [])
                                   + (["small Cleo"] if i in (20, 250) else [])
                                   for i in range(0, 300, 10)}, vectors, made)
    b.extract(500, bob_video, 15, {i: (["Bob"] if i < 360 else [])
                                   + (["Cleo"] if 180 <= i <= 255 else [])
                                   for i in range(0, 450, 15)}, vectors, made)
    b.extract(700, ann_folder, 1, {i: ["Ann"] for i in range(12)}, vectors, made)
    descriptors = {face_id: faces.descriptor(conn, face_id, DESCRIPTOR_MODEL)
                   for ids in made.values() for face_id in ids}
    ann, bob, _ = b.cluster(900, made, descriptors)
    b.at(1_000)
    identities.name_cluster(conn, ann, "Ann")
    identities.name_cluster(conn, bob, "Bob")
    identities.set_side(conn, "Ann", "A")
    identities.set_side(conn, "Bob", "B")
    identities.set_excluded(conn, made["Ann"][3:5], True)



def _sessions(b: Builder) -> tuple[sessions.Session, sessions.Session]:
    """ann-bob-original trained in two runs, ann-bob-lightweight between them."""
    from pipeline.train.job import new_session   # torch: only when the project is built

    conn = b.conn
    # ann-bob-original: 0 → 400 (stopped), then ann-bob-lightweight, then 400 → 600
    original_losses = loss_curve(600, seed=1)
    first_job = b.job(1_200, 40 * 60, "train", {"new_session": {"name": "ann-bob-original"}},
                      "stopped at iteration 400", {"iteration": 400, "iterations_run": 400},
                      total=1_000)
    b.at(1_201)
    original = new_session(conn, "ann-bob-original", "original", {}, settings={
        "iterations": 1_000, "batch_size": 16, "save_every": 100, "snapshot_every": 300},
        seed=7, created_by_job=first_job)
    b.train(original, first_job, 1_205, 0, 400, 6.0, "stopped", original_losses)

    light_losses = loss_curve(150, seed=2, start=(0.24, 0.26), floor=(0.08, 0.09))
    light_job = b.job(4_200, 15 * 60, "train",
                      {"new_session": {"name": "ann-bob-lightweight"}},
                      "stopped at iteration 150", {"iteration": 150, "iterations_run": 150},
                      total=5_000)
    b.at(4_201)
    light = new_session(conn, "ann-bob-lightweight", "lightweight", {}, settings={
        "iterations": 5_000, "batch_size": 32, "save_every": 50, "snapshot_every": 1_000},
        seed=11, created_by_job=light_job)
    b.train(light, light_job, 4_205, 0, 150, 6.0, "stopped", light_losses)

    resume_job = b.job(6_000, 20 * 60, "train", {"session_id": original.id, "settings": {}},
                       "stopped at iteration 600", {"iteration": 600, "iterations_run": 200},
                       total=1_000)
    b.train(sessions.get(conn, original.id), resume_job, 6_005, 400, 600, 6.0, "stopped",
            original_losses)

    return sessions.get(conn, original.id), light


def _conversion(b: Builder, original: sessions.Session, ann_video: int,
                interview: Path) -> None:
    """A conversion of the interview, finished two and a half hours before NOW."""
    conn = b.conn
    output = f"{NAME}/outputs/interview_ann_ann-bob-original.mp4"
    (b.project.outputs / Path(output).name).write_bytes(b"\0" * 1024)
    convert_start = NOW - 9_000 - DAY_BEFORE
    message = f"wrote {output}: 300 frames, 291 faces of Ann swapped in 291"
    convert_job = b.job(convert_start, 410, "convert", {
        "session_id": original.id, "source_id": ann_video, "settings": {}, "output": output,
        "overwrite": False, "person": "Ann"}, message,
        {"output": output, "frames": 300, "swapped": 291, "faces": 291}, total=300)
    b.at(convert_start + 2)
    save = sessions.checkpoints(conn, original.id, "save")[0]
    record = conversions.start(
        conn, job_id=convert_job, session_id=original.id, session_name=original.name,
        source_id=ann_video, source_path=str(interview), source_sha256="1d" * 32,
        checkpoint_iteration=save.iteration, model_sha256=save.sha256, settings_used={},
        output=output, mark="swapdeck:demo:0001")
    b.at(convert_start + 409)
    conversions.finish(conn, record, 300, 291)
    b.log(NOW - 7_300 - DAY_BEFORE, "stop requested from the store")
    b.log(NOW - 7_290 - DAY_BEFORE, f"worker {b.worker_id} stopped", level="info")


def _build(b: Builder) -> dict[str, Any]:
    ann_video, bob_video, ann_folder, interview = _sources(b)
    _faces(b, ann_video, bob_video, ann_folder)
    original, light = _sessions(b)
    _conversion(b, original, ann_video, interview)
    return {"session_id": original.id, "other_session_id": light.id,
            "source_id": ann_video, "sources": [ann_video, bob_video, ann_folder]}


def built_demo(folder: Path) -> dict[str, Any]:
    """Build the project in `folder`/NAME (media beside it, in `folder`/media); its facts
    are in `folder`/made.json for `load_demo`."""
    made = build(create_project(folder / NAME), folder / "media")
    (folder / "made.json").write_text(json.dumps(made))
    return made


def load_demo(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "made.json").read_text())
