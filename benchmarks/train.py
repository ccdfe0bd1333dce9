"""Training speed of the `original` model (64 px): swapdeck's trainer against a
straightforward training loop, same faces, same model, same losses, same process.

Speed is faceswap's EGs/sec: batch size x 2 sides x iterations / seconds.

- trainer: the real `Trainer` (pipeline/train/trainer.py) running its own loop on a real
  session: sampling from the memmapped face cache, batched torch augmentation, bf16
  autocast, fused Adam, its losses and its bookkeeping (loss rows, progress). Saves
  (checkpoint, preview, swap metrics) are left out of the timed window.
- reference: what a person would write without optimising: the same architecture in fp32,
  plain Adam, faceswap's augmentation one image at a time with numpy and OpenCV (random
  rotate/zoom/shift, flip, L*a*b* colour, 5x5 grid warp, resize) in the main process, images
  drawn at random from the same cached faces held in numpy arrays, the same loss functions.
- data feed: the trainer's sampling and augmentation alone (both sides, no model), to show
  whether the feed or the model step limits the trainer.

The contenders take turns round by round, so drift in machine load hits all of them; the
table gives the median examples/s over the rounds (wall clock, the figure to quote) and, as a
check on a busy machine, examples per CPU-second of this process.
Faces: the two WDA clips of ../shared/testdata/videos, ingested, extracted (dlib), clustered
and named (Alexandria side A, Katie side B) as `swapdeck add/extract/cluster/identity` do;
the project is built once in --project and reused.

    .venv/bin/python benchmarks/train.py [--iterations 30] [--rounds 3] [--threads N]
    .venv/bin/python benchmarks/train.py --device cuda --batch 64 [--compile]
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pipeline.job_kinds  # noqa: F401 - registers every job kind
from pipeline.context import JobContext
from pipeline.train.augment import AugmentSettings
from pipeline.train.data import SideData
from pipeline.train.job import new_session
from pipeline.train.losses import LossSettings, face_loss, mask_loss
from pipeline.train.models import build_model, make_config
from pipeline.train.settings import RunSettings
from pipeline.train.trainer import Trainer
from pipeline.worker import Worker, WorkerOptions
from store import identities, jobs, sessions
from store.requests.extract import ExtractSettings
from store.jobs import JobStatus
from store.project import Project, create_project, open_project
from store.training_faces import side_person

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "videos"
PEOPLE = (("WDA_AlexandriaOcasioCortez_000.mp4", "Alexandria", "A"),
          ("WDA_KatieHill_000.mp4", "Katie", "B"))
EXTRACT = ExtractSettings(detector="dlib-hog", aligner="dlib")
MODEL = "original"
NEVER = 10 ** 9          # save_every and iterations far beyond any benchmark
TARGET = 1.5             # trainer / reference


# ---- the faces ---------------------------------------------------------------------------

def drain(project: Project) -> None:
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    logging.getLogger("swapdeck").handlers.clear()


def run_jobs(project: Project, kind: str, params: list[dict]) -> list[dict]:
    """Queue jobs, run them in this process, and return their results (exit if one failed)."""
    with project.connection() as conn:
        job_ids = jobs.enqueue_many(conn, kind, params)
    drain(project)
    with project.connection() as conn:
        done = [jobs.get(conn, job_id) for job_id in job_ids]
    for job in done:
        if job.status != JobStatus.DONE:
            raise SystemExit(f"{kind} job {job.id} {job.status}: {job.error or job.message}")
    return [job.result for job in done]


def build_project(root: Path) -> Project:
    """The WDA pair, ingested, extracted, clustered, named and sided; reused when there."""
    if (root / "project.db").exists():
        project = open_project(root)
        with project.connection() as conn:
            people = {side: side_person(conn, side) for _, _, side in PEOPLE}
        if all(p is not None and p.name == name for (_, name, _), p in zip(PEOPLE,
                                                                          people.values())):
            return project
        raise SystemExit(f"{root} holds another or an unfinished project: remove it or pick "
                         "another --project")
    started = time.perf_counter()
    project = create_project(root)
    added = run_jobs(project, "ingest", [{"path": str(VIDEOS / clip), "label": ""}
                                         for clip, _, _ in PEOPLE])
    source_ids = [result["source_id"] for result in added]
    run_jobs(project, "extract", [{"source_id": source_id, "settings": EXTRACT.to_json()}
                                  for source_id in source_ids])
    run_jobs(project, "cluster", [{"source_ids": [], "method": "average",
                                   "threshold": identities.DEFAULT_THRESHOLD}])
    with project.connection() as conn:
        for source_id, (_, name, side) in zip(source_ids, PEOPLE):
            cluster_id = identities.largest_cluster_of_source(conn, source_id)
            identities.name_cluster(conn, cluster_id, name)
            identities.set_side(conn, name, side)
    print(f"built {root} in {time.perf_counter() - started:.0f} s")
    return project


# ---- the contenders ----------------------------------------------------------------------

def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class TimedTrainer(Trainer):
    """The real Trainer and its own loop; saving is left out, so no checkpoint file, preview
    or swap metrics fall inside a timed window."""

    def _save(self) -> None:
        pass

    def advance(self, iterations: int) -> None:
        """`iterations` more iterations of the trainer's own loop."""
        self.settings = dataclasses.replace(self.settings, iterations=self.iteration + iterations)
        self._loop()
        synchronize(self.device)


def open_trainer(project: Project, batch: int, device: torch.device,
                 compile_model: bool) -> TimedTrainer:
    """A new session of MODEL on the sided pair, begun as Trainer.run() begins, with a real
    (queued, never claimed) train job behind its context."""
    conn = project.connect()
    settings = {"batch_size": batch, "save_every": NEVER, "iterations": NEVER}
    count = len(sessions.list_sessions(conn))
    session = new_session(conn, f"benchmark {count + 1}", MODEL, {}, settings=settings, seed=0)
    job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
    log = logging.LoggerAdapter(logging.getLogger("swapdeck.benchmark"), {"job_id": job_id})
    ctx = JobContext(project, conn, job_id, threading.Event(), log)
    trainer = TimedTrainer(ctx, session, RunSettings.from_dict(session.settings), device)
    trainer.begin()
    if compile_model:
        trainer.step_module = torch.compile(trainer.step_module)  # type: ignore[assignment]
    return trainer


def close_trainer(trainer: TimedTrainer) -> None:
    trainer._end("benchmark finished")
    jobs.finish(trainer.ctx.conn, trainer.ctx.job_id, JobStatus.DONE,
                message="benchmark finished (nothing saved)")
    trainer.ctx.conn.close()


def augment_one(image: np.ndarray, masks: np.ndarray, rng: np.random.Generator,
                settings: AugmentSettings, size: int) -> tuple[np.ndarray, ...]:
    """faceswap's augmentation of one uint8 RGB image and its masks: (input, target, masks)."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32) / 255
    for channel, amount in enumerate((settings.colour_lightness, settings.colour_ab,
                                      settings.colour_ab)):
        shift = rng.uniform(-amount, amount)
        values = lab[:, :, channel]
        lab[:, :, channel] = values + (1 - values) * shift if shift >= 0 else values * (1 + shift)
    image = cv2.cvtColor((lab * 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    side = image.shape[0]
    matrix = cv2.getRotationMatrix2D((side // 2, side // 2),
                                     rng.uniform(-settings.rotation, settings.rotation),
                                     rng.uniform(1 - settings.zoom, 1 + settings.zoom))
    matrix[:, 2] += rng.uniform(-settings.shift, settings.shift, 2) * side
    image = cv2.warpAffine(image, matrix, (side, side), borderMode=cv2.BORDER_REPLICATE)
    masks = cv2.warpAffine(masks, matrix, (side, side), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < settings.flip_chance:
        image, masks = cv2.flip(image, 1), cv2.flip(masks, 1)
    grid = np.linspace(0, side - 1, 5, dtype=np.float32)
    map_x, map_y = np.meshgrid(grid, grid)
    noise = rng.normal(scale=side * 5 / 256, size=(2, 5, 5)).astype(np.float32)
    map_x = cv2.resize(map_x + noise[0], (side, side))
    map_y = cv2.resize(map_y + noise[1], (side, side))
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)
    return (cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA),
            cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA),
            cv2.resize(masks, (size, size), interpolation=cv2.INTER_AREA).reshape(size, size, -1))


class Reference:
    """A plain fp32 training loop with per-image OpenCV augmentation."""

    def __init__(self, sides: tuple[SideData, SideData], batch: int,
                 device: torch.device) -> None:
        torch.manual_seed(0)
        self.config = make_config(MODEL, {})
        self.model = build_model(self.config).to(device)
        run = RunSettings()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=run.learning_rate,
                                          eps=run.epsilon)
        self.augment, self.loss = run.augment, LossSettings()
        self.batch, self.device = batch, device
        self.rng = np.random.default_rng(0)
        # each side's training faces, read into memory once
        self.faces = [(side.side.lower(), np.array(side.cache.images[side.sampler.rows]),
                       np.array(side.cache.masks[side.sampler.rows]), side.cache.mask_channels)
                      for side in sides]

    def to_tensor(self, images: list[np.ndarray]) -> torch.Tensor:
        batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
        return batch.to(self.device)

    def step(self) -> float:
        self.optimizer.zero_grad()
        total = torch.zeros((), device=self.device)
        for side, images, masks, names in self.faces:
            picks = self.rng.choice(len(images), self.batch, replace=False)
            augmented = [augment_one(images[i], masks[i], self.rng, self.augment,
                                     self.config.input_size) for i in picks]
            inputs, targets, target_masks = (self.to_tensor(list(part))
                                             for part in zip(*augmented))
            channels = {name: target_masks[:, i:i + 1] for i, name in enumerate(names)}
            output = self.model(inputs, side)
            loss = face_loss(output.face, targets, channels.get("face"), channels.get("eye"),
                             channels.get("mouth"), self.loss)
            if output.mask is not None and "face" in channels:
                loss = loss + self.loss.mask_loss_weight * mask_loss(output.mask,
                                                                     channels["face"])
            total = total + loss
        total.backward()
        self.optimizer.step()
        return total.item()

    def advance(self, iterations: int) -> None:
        for _ in range(iterations):
            self.step()
        synchronize(self.device)


def feed(trainer: TimedTrainer) -> Callable[[int], None]:
    """The trainer's sampling and augmentation of both sides alone, on its own generators."""
    sample = torch.Generator().manual_seed(1)
    augment = torch.Generator(trainer.device).manual_seed(2)
    batch = trainer.settings.batch_size

    def advance(iterations: int) -> None:
        for _ in range(iterations):
            for side in (trainer.data.a, trainer.data.b):
                images, masks = side.sampler.sample(sample, batch, trainer.device)
                trainer.augmenter(images, masks, augment)
        synchronize(trainer.device)
    return advance


def timed(advance: Callable[[int], None], iterations: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of `iterations` iterations."""
    wall, cpu = time.perf_counter(), time.process_time()
    advance(iterations)
    return time.perf_counter() - wall, time.process_time() - cpu


# ---- the run -----------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30,
                        help="timed iterations of each contender, split evenly over the "
                             "rounds (default 30)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; the contenders take turns in each (default 3)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed iterations of each contender first (default 3)")
    parser.add_argument("--batch", type=int, default=16,
                        help="faces of each side per iteration (default 16)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch (and OpenCV) threads (default: torch's default)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the models train (default cpu)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the trainer's model (meant for cuda; the "
                             "reference is never compiled)")
    parser.add_argument("--project", type=Path,
                        default=Path(tempfile.gettempdir()) / "swapdeck-train-bench",
                        help="where the benchmark project is built (and reused)")
    args = parser.parse_args()
    if min(args.rounds, args.batch) < 1 or args.iterations < args.rounds or args.warmup < 0:
        parser.error("--rounds and --batch must be 1 or more, --iterations at least --rounds, "
                     "--warmup 0 or more")
    return args


def unmet_need(args: argparse.Namespace) -> str | None:
    """Why the benchmark cannot run here (None when it can)."""
    missing = [clip for clip, _, _ in PEOPLE if not (VIDEOS / clip).is_file()]
    if missing:
        return (f"no test clips {', '.join(missing)} in {VIDEOS}: the benchmark needs "
                "../shared/testdata beside the project")
    if args.device == "cuda" and not torch.cuda.is_available():
        return "--device cuda: torch sees no CUDA device"
    return None


Rates = dict[str, list[float]]


def run_rounds(contenders: dict[str, Callable[[int], None]],
               args: argparse.Namespace) -> tuple[Rates, Rates]:
    """Warm up, then the timed rounds, the contenders taking turns (the order reversed every
    other round): each contender's examples/s per round, by wall clock and by CPU time."""
    for advance in contenders.values():
        advance(args.warmup)
    per_round = [args.iterations // args.rounds + (turn < args.iterations % args.rounds)
                 for turn in range(args.rounds)]
    rates: Rates = {label: [] for label in contenders}
    cpu_rates: Rates = {label: [] for label in contenders}
    for turn, iterations in enumerate(per_round):
        order = list(contenders) if turn % 2 == 0 else list(reversed(contenders))
        for label in order:
            wall, cpu = timed(contenders[label], iterations)
            rates[label].append(args.batch * 2 * iterations / wall)
            cpu_rates[label].append(args.batch * 2 * iterations / cpu)
        print(f"  round {turn + 1} of {args.rounds} ({iterations} iterations): "
              + ", ".join(f"{label} {rates[label][-1]:.1f}" for label in contenders),
              flush=True)
    return rates, cpu_rates


def report(rates: Rates, cpu_rates: Rates) -> None:
    """The table of medians and the two verdicts; `rates` holds the trainer, the reference
    and the data feed, in that order."""
    medians = {label: statistics.median(values) for label, values in rates.items()}
    trainer_label, reference_label, feed_label = rates
    print(f"\n{'contender':<22}{'examples/s':>11}{'min':>9}{'max':>9}{'vs reference':>14}"
          f"{'per CPU-s':>11}")
    for label, values in rates.items():
        versus = ("-" if label == feed_label
                  else f"{medians[label] / medians[reference_label]:.2f}x")
        print(f"{label:<22}{medians[label]:>11.1f}{min(values):>9.1f}{max(values):>9.1f}"
              f"{versus:>14}{statistics.median(cpu_rates[label]):>11.1f}")
    ratio = medians[trainer_label] / medians[reference_label]
    print(f"\ntrainer / reference: {ratio:.2f}x examples/s (target >= {TARGET}x: "
          f"{'met' if ratio >= TARGET else 'NOT met'})")
    share = medians[trainer_label] / medians[feed_label]
    print(f"data feed: {share:.0%} of a trainer iteration's time is its sampling and "
          f"augmentation, so {'the feed' if share > 0.5 else 'the model step'} limits")


def main() -> int:
    args = parse_args()
    if (need := unmet_need(args)) is not None:
        print(need, file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    device = torch.device(args.device)
    project = build_project(args.project)
    trainer = open_trainer(project, args.batch, device, args.compile)
    try:
        reference = Reference((trainer.data.a, trainer.data.b), args.batch, device)
        contenders: dict[str, Callable[[int], None]] = {
            "trainer" + (" (compiled)" if args.compile else ""): trainer.advance,
            "reference": reference.advance, "data feed only": feed(trainer)}
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device "
              f"{args.device} ({name}); model {MODEL} 64 px, batch {args.batch} per side; "
              f"{len(trainer.data.a.sampler.rows)} + {len(trainer.data.b.sampler.rows)} "
              "training faces")
        rates, cpu_rates = run_rounds(contenders, args)
    finally:
        close_trainer(trainer)
    report(rates, cpu_rates)
    return 0

if __name__ == "__main__":
    sys.exit(main())
