"""One run of a training session: the loop, its saves, and its recovery from NaNs.

The run continues from the session's newest whole checkpoint (weights, optimizer, random
generators and the samplers' places), so a stopped or killed run resumes exactly. A NaN or
Inf in the loss (or in the weights at a save) rolls the run back to its last good save with
a halved learning rate, a bounded number of times, instead of ending it.
"""
from __future__ import annotations

import math
import time
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.context import JobContext
from pipeline.devices import native_bf16
from pipeline.errors import JobCancelled, JobError, WorkerStopping
from pipeline.train import checkpoint
from pipeline.train.augment import AugmentedBatch, Augmenter
from pipeline.train.augment_landmarks import closest_landmarks
from pipeline.train.clipping import GradientClipper
from pipeline.train.extras import STATE_KEY as EXTRAS_STATE_KEY
from pipeline.train.extras import Extras, ExtrasState
from pipeline.train.data import SideData, TrainingData, open_training_data
from pipeline.train.keeper import Keeper, Loaded
from pipeline.train.losses import face_loss, mask_loss
from pipeline.train.models.registry import ModelOutput, SwapModel, build_model
from pipeline.train.optimizers import build_optimizer
from pipeline.train.preview import preview_columns, preview_png
from pipeline.train.replicas import BothSides, Replicas, weights_digest
from pipeline.train.reporter import Reporter
from pipeline.train.sampler import batch_tensors
from pipeline.train.session_config import SessionConfig
from pipeline.train.settings import RunSettings
from pipeline.train.store_reporter import StoreReporter
from pipeline.train.swap_metrics import SwapMetricsProbe
from pipeline.train.transfer import freeze, load_transfer
from store import sessions
from store.training_faces import training_centre

RECORD_EVERY = 10          # iterations between losses reported (written to the store)
PROGRESS_WINDOW = 50       # iterations over which the rate and ETA are measured


class NonFinite(Exception):
    """A NaN or Inf where training needs a number."""


@dataclass
class Faults:
    """Test hooks: iterations at which the loss is made NaN once (never set by users)."""
    nan_at: set[int] = field(default_factory=set)


class Trainer:
    """Reads its faces and session through `ctx`; writes nothing itself: what it has to
    say goes to `reporter` (by default the store's, for the job of `ctx`). Replicas other
    than the writer report nothing."""

    def __init__(self, ctx: JobContext, session: sessions.Session, settings: RunSettings,
                 device: torch.device, faults: Faults | None = None,
                 replicas: Replicas | None = None, reporter: Reporter | None = None) -> None:
        self.ctx, self.session, self.settings, self.device = ctx, session, settings, device
        self.reporter: Reporter = reporter or StoreReporter(ctx, session.id)
        self.replicas = replicas or Replicas()
        self.bf16 = settings.mixed_precision and native_bf16(device)
        self.faults = faults or Faults()
        self.config = SessionConfig.from_dict(session.config)
        seed = self.config.seed
        torch.manual_seed(seed)  # the first weights, when there is no checkpoint
        self.model: SwapModel = build_model(self.config.model).to(device)
        self.optimizer = build_optimizer(self.config.optimizer, self.model.parameters(),
                                         settings.learning_rate, settings.epsilon)
        self.clipper = GradientClipper(settings)
        if settings.freeze_weights:
            freeze(self.model)   # before the wrap: DistributedDataParallel syncs what learns
        self.step_module = self.replicas.wrap(BothSides(self.model), device,
                                              may_skip=self.config.model.learn_mask)
        self.extras = self._make_extras()
        # each replica draws its own batches; rank 0 draws what a single process draws
        rank_seed = seed + 2 * self.replicas.rank
        self.generators = {"sample": torch.Generator().manual_seed(rank_seed),
                           "augment": torch.Generator(device).manual_seed(rank_seed + 1)}
        model_config = self.config.model
        self.augmenter = Augmenter(settings.augment, model_config.input_size,
                                   model_config.output_size)
        self.keeper = Keeper(self.reporter, ctx.project.models, session.id, ctx.log)
        self.iteration = 0
        self.saved_at = -1         # the iteration of the newest whole save
        self.best_loss = math.inf
        self.lr_scale = 1.0
        self.rollbacks = 0
        self.recent: deque[tuple[int, float, float]] = deque(maxlen=settings.save_every)
        self.unrecorded: list[tuple[int, float, float]] = []
        self.data: TrainingData
        self.run_id = 0

    def _make_extras(self) -> Extras:
        settings = self.settings
        try:
            extras = Extras(settings.extras, self.model, self.device, seed=self.config.seed,
                            masked=self.config.loss.penalized_mask_loss, bf16=self.bf16,
                            make_optimizer=lambda weights: build_optimizer(
                                self.config.optimizer, weights, settings.learning_rate,
                                settings.epsilon),
                            average_gradients=self.replicas.average_gradients)
        except ValueError as exc:
            raise JobError(str(exc)) from exc
        if self.replicas.world_size > 1 and (extras.active() or extras.modules()):
            raise JobError("DeepFaceLab's true face, GAN and style powers train on one GPU "
                           "only for now: set them to 0 or train with --gpus 1")
        return extras

    # ---- the run ---------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.begin()
        start = self.iteration
        try:
            reason = self._loop()
        except JobCancelled:
            self._save()
            reason = "stopped"
        except WorkerStopping:
            self._save()
            self._end("the worker stopped; it resumes from here")
            raise
        except BaseException as exc:
            self._end(f"error: {type(exc).__name__}: {exc}")
            raise
        self._end(reason)
        return {"message": f"{reason} at iteration {self.iteration}",
                "session_id": self.session.id, "iteration": self.iteration,
                "iterations_run": self.iteration - start, "rollbacks": self.rollbacks,
                "replicas": self.replicas.world_size}

    def begin(self) -> None:
        """Prepare, then start a run: reported with the session's settings."""
        self.prepare()
        ctx = self.ctx
        if not self.replicas.is_writer:
            return
        # what rank 0 alone measures at each save
        self.probe = SwapMetricsProbe(str(self.device))
        self.centres = (training_centre(ctx.conn, self.session.identity_a),
                        training_centre(ctx.conn, self.session.identity_b))
        files, size = self.keeper.remove_unrecorded()
        if files:
            ctx.log.warning("removed %d model file%s of session %d that no checkpoint names "
                            "(%.1f MB, left by a worker killed while saving)", files,
                            "s" if files != 1 else "", self.session.id, size / 1e6)
        self.run_id = self.reporter.run_started(self.iteration, self.settings.batch_size,
                                                str(self.device), self.settings.to_dict())

    def prepare(self) -> None:
        """Open the training data and continue from the newest whole checkpoint; fresh
        weights when the session was never saved (a run that died before its first save
        starts again from iteration 0). Nothing but progress is reported."""
        ctx = self.ctx
        writer = self.replicas.is_writer
        self.data = open_training_data(
            ctx.project, ctx.conn, self.config.data, self.settings.batch_size,
            identity_a=self.session.identity_a, identity_b=self.session.identity_b,
            on_progress=(lambda done, total: self.reporter.progress(
                done, total, f"caching faces {done}/{total}"))
            if writer else None,
            checkpoint=ctx.checkpoint if writer else None)
        # warp to landmarks: each face's nearest faces of the other side, by landmarks
        self.closest: dict[str, np.ndarray] = {}
        if self.augmenter.needs_landmarks:
            for side, other in ((self.data.a, self.data.b), (self.data.b, self.data.a)):
                rows = other.sampler.rows
                nearest = closest_landmarks(side.cache.landmarks, other.cache.landmarks[rows])
                self.closest[side.side] = rows[nearest]
        try:
            loaded = self.keeper.newest()
        except checkpoint.CheckpointError as exc:
            raise JobError(f"{exc}: restore an older checkpoint of session "
                           f"{self.session.name} first (`swapdeck session show` lists them, "
                           "`swapdeck restore` restores one)") from exc
        if loaded is not None:
            self._load(loaded, forget=False)
        elif self.reporter.checkpoints(archived=True):
            raise JobError(f"session {self.session.name} is at iteration "
                           f"{self.session.iteration} but has no model files: restore one of "
                           "its archived checkpoints, or start a new session")
        else:
            if self.session.iteration > 0 and writer:
                ctx.log.warning("session %s reached iteration %d but its run ended before "
                                "the first save: it starts again from iteration 0",
                                self.session.name, self.session.iteration)
            self._start_weights()

    def _start_weights(self) -> None:
        """A session's first weights: the transferred ones over the seeded fresh ones."""
        if self.config.load_weights is not None:
            count = load_transfer(self.ctx.project, self.config.load_weights, self.model,
                                  where=f"sessions row {self.session.id} (load_weights)")
            self.ctx.log.info("started from %d weights of %s", count,
                              self.config.load_weights["origin"])

    def _loop(self) -> str:
        settings = self.settings
        times: deque[tuple[int, float]] = deque([(self.iteration, time.monotonic())],
                                                maxlen=PROGRESS_WINDOW)
        while self.iteration < settings.iterations:
            self._check_stop()
            try:
                loss_a, loss_b = self.train_step(
                    settings.learning_rate_at(self.iteration) * self.lr_scale)
            except NonFinite as exc:
                self._roll_back(str(exc))
                continue
            self.iteration += 1
            self.recent.append((self.iteration, loss_a, loss_b))
            self.unrecorded.append((self.iteration, loss_a, loss_b))
            save_asked = False
            if self.iteration % RECORD_EVERY == 0:
                self._record()
                save_asked = self._save_requested()
            times.append((self.iteration, time.monotonic()))
            self._report(loss_a, loss_b, times)
            if save_asked or self.iteration % settings.save_every == 0:
                try:
                    self._save()
                except NonFinite as exc:
                    self._roll_back(str(exc))
        self._save()
        return f"reached {settings.iterations} iterations"

    def train_step(self, learning_rate: float) -> tuple[float, float]:
        """One optimizer step of both sides at this learning rate: the losses of A and B.
        Raises NonFinite (nothing stepped) when the loss is NaN or Inf."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
            group["eps"] = self.settings.epsilon
        self.optimizer.zero_grad(set_to_none=True)
        batches = self.settings.accumulation
        reported = torch.zeros(2)
        for batch in range(batches):
            last = batch == batches - 1
            with nullcontext() if last else self.replicas.accumulating(self.step_module):
                reported += self._accumulate(batches)
        norm = self.clipper.clip(self.model.parameters())
        if not math.isfinite(norm):
            raise NonFinite(f"the gradients' norm became {norm} at iteration "
                            f"{self.iteration + 1}")
        self.optimizer.step()
        self.extras.discriminator_step(learning_rate, self.settings.epsilon)
        loss_a, loss_b = (reported / batches).tolist()
        return loss_a, loss_b

    def _accumulate(self, batches: int) -> torch.Tensor:
        """Add one batch's gradients (its loss divided by `batches`); the two sides' losses,
        averaged over the replicas."""
        sides = (self.data.a, self.data.b)
        samples = [self._batch(side) for side in sides]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            outputs = self.step_module(samples[0].inputs, samples[1].inputs)
        losses = [self._score(side, sample, output)
                  for side, sample, output in zip(sides, samples, outputs)]
        if self.iteration + 1 in self.faults.nan_at:
            self.faults.nan_at.discard(self.iteration + 1)
            losses[0] = losses[0] * float("nan")
        # every replica takes the same decision, on the losses of all of them
        reported = self.replicas.mean(torch.stack([loss.detach() for loss in losses]))
        if not torch.isfinite(reported).all():
            raise NonFinite(f"the loss became {reported.sum().item()} at iteration "
                            f"{self.iteration + 1}")
        ((losses[0] + losses[1]) / batches).backward()
        return reported.cpu()

    def _batch(self, side: SideData) -> AugmentedBatch:
        rows = side.sampler.next_rows(self.generators["sample"], self.settings.batch_size)
        images, masks = batch_tensors(side.cache, rows, self.device)
        images = self.extras.recolour(side.side.lower(), images, self.data.a)
        if not self.augmenter.needs_landmarks:
            return self.augmenter(images, masks, self.generators["augment"])
        other = self.data.b if side is self.data.a else self.data.a
        landmarks = torch.from_numpy(side.cache.landmarks[rows]).to(self.device)
        candidates = torch.from_numpy(
            other.cache.landmarks[self.closest[side.side][rows]]).to(self.device)
        return self.augmenter(images, masks, self.generators["augment"], landmarks, candidates)

    def _score(self, side: SideData, batch: AugmentedBatch,
               outputs: tuple[torch.Tensor, ModelOutput, tuple[torch.Tensor, ...]]
               ) -> torch.Tensor:
        """The side's loss: its face (and learned mask), plus each smaller face of a
        multiscale decoder against the target shrunk to its size, all weighted alike, plus
        DeepFaceLab's extras when they are on."""
        code, output, smaller = outputs
        channels = _channels(batch.masks, side)
        loss = self._face_loss(output.face, batch.targets, channels)
        for face in smaller:
            size = face.shape[-1]
            loss = loss + self._face_loss(
                face, F.interpolate(batch.targets, size, mode="area"),
                _channels(F.interpolate(batch.masks, size, mode="area"), side))
        if output.mask is not None and "face" in channels:
            loss = loss + self.config.loss.mask_loss_weight * mask_loss(output.mask,
                                                                        channels["face"])
        if self.extras.active():
            loss = loss + self.extras.generator_terms(side.side.lower(), code, output, batch,
                                                      channels)
        return loss

    def _face_loss(self, face: torch.Tensor, targets: torch.Tensor,
                   channels: dict[str, torch.Tensor]) -> torch.Tensor:
        return face_loss(face, targets, channels.get("face"), channels.get("eye"),
                         channels.get("mouth"), self.config.loss)

    # ---- what the replicas agree on ----------------------------------------------------

    def _check_stop(self) -> None:
        """Raise WorkerStopping or JobCancelled on every replica when any replica must stop
        (a single process raises straight from the job's context)."""
        stop = cancel = False
        try:
            if self.replicas.is_writer:
                self.ctx.checkpoint()
            elif self.ctx.stop_event.is_set():
                raise WorkerStopping()
        except WorkerStopping:
            stop = True
        except JobCancelled:
            cancel = True
        stop, cancel = self.replicas.agree([stop, cancel])
        if stop:
            raise WorkerStopping()
        if cancel:
            raise JobCancelled()

    def _save_requested(self) -> bool:
        asked = self.replicas.is_writer and self.reporter.take_save_request()
        return self.replicas.agree([asked])[0]

    # ---- progress, saving, resuming ----------------------------------------------------

    def _report(self, loss_a: float, loss_b: float, times: deque[tuple[int, float]]) -> None:
        if not self.replicas.is_writer:
            return
        (first, started), (last, now) = times[0], times[-1]
        rate = (last - first) / (now - started) if now > started else 0.0
        examples = (rate * self.settings.batch_size * self.settings.accumulation * 2
                    * self.replicas.world_size)
        remaining = self.settings.iterations - self.iteration
        eta = f", {remaining / rate / 60:.0f} min left" if rate else ""
        self.reporter.progress(self.iteration, self.settings.iterations,
                               f"iteration {self.iteration} · loss A {loss_a:.4f} "
                               f"B {loss_b:.4f} · {examples:.1f} examples/s{eta}")

    def _record(self) -> None:
        if self.unrecorded and self.replicas.is_writer:
            self.reporter.losses(self.run_id, self.iteration, self.unrecorded)
        self.unrecorded = []

    def _save(self) -> None:
        """Save (weights checked finite first), preview, swap metrics, backup, snapshot;
        nothing when this iteration is saved already."""
        if self.iteration == self.saved_at:
            return
        weights = [*self.model.state_dict().items(),
                   *((f"{name}.{key}", tensor) for name, module in self.extras.modules().items()
                     for key, tensor in module.state_dict().items())]
        for name, tensor in weights:
            if not torch.isfinite(tensor).all():
                raise NonFinite(f"weight {name} holds NaN or Inf at iteration {self.iteration}")
        self._record()
        replica_states = self._gather_replica_states()
        self.saved_at = self.iteration
        if not self.replicas.is_writer:
            return
        average_a, average_b = self._averages()
        generator_states = {name: state for rank, (_, generators) in enumerate(replica_states)
                            for name, state in _rank_names(generators, rank).items()}
        state = {"iteration": self.iteration, "sampler": replica_states[0][0],
                 "best_loss": self.best_loss}
        if self.replicas.world_size > 1:
            state["replica_samplers"] = [sampler for sampler, _ in replica_states[1:]]
        extras = self.extras.state_dict()
        state[EXTRAS_STATE_KEY] = extras.meta
        captured = checkpoint.capture(self.model, self.optimizer, generator_states, state,
                                      self._clipper_state() | extras.tensors)
        saved = self.keeper.save(captured, self.iteration, average_a, average_b)
        self._preview_and_measure()
        if average_a is not None and average_b is not None:
            average = (average_a + average_b) / 2
            if average < self.best_loss and self.settings.backups:
                self.best_loss = average
                self.keeper.copy(saved, "backup", keep=self.settings.backups)
        every = self.settings.snapshot_every
        if every and self.iteration % every == 0:
            self.keeper.copy(saved, "snapshot")

    def _gather_replica_states(self) -> list[tuple[dict[str, Any], dict[str, torch.Tensor]]]:
        """Every replica's (sampler state, generator states), in rank order; checks on the
        way that the replicas' weights are still identical."""
        own = (self.data.sampler_state(),
               {name: generator.get_state() for name, generator in self.generators.items()})
        if self.replicas.world_size == 1:
            return [own]
        digests = self.replicas.gather(weights_digest(self.model))
        if len(set(digests)) > 1:
            raise JobError(f"the {self.replicas.world_size} replicas' weights differ at "
                           f"iteration {self.iteration}: the run stops rather than save them")
        return self.replicas.gather(own)

    def _clipper_state(self) -> dict[str, torch.Tensor]:
        """The trainer's own tensors beside the model and the optimizer."""
        return {f"clip.{name}": value for name, value in self.clipper.state_dict().items()}

    def _load_clipper_state(self, extra: dict[str, torch.Tensor]) -> None:
        clip = {name[5:]: value for name, value in extra.items() if name.startswith("clip.")}
        self.clipper = GradientClipper(self.settings)
        if clip:
            self.clipper.load_state_dict(clip)

    def _averages(self) -> tuple[float | None, float | None]:
        if not self.recent:
            return None, None
        values = np.array([(a, b) for _, a, b in self.recent])
        return float(values[:, 0].mean()), float(values[:, 1].mean())

    @torch.no_grad()
    def _preview_and_measure(self) -> None:
        a, b = self.data.a, self.data.b
        faces_a, _ = a.faces(a.preview_ids, self.device)
        faces_b, _ = b.faces(b.preview_ids, self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.bf16):
            columns = preview_columns(self.model, faces_a, faces_b)
        self.reporter.preview(self.iteration,
                              preview_png(columns, self.session.name, self.iteration))
        if a.held_out_ids and all(centre is not None for centre in self.centres):
            self.reporter.swap_metrics(self._metrics())

    @torch.no_grad()
    def _metrics(self) -> sessions.SwapMetrics:
        a = self.data.a
        images, _ = a.faces(a.held_out_ids, self.device)
        size = self.config.model.output_size
        inputs = torch.nn.functional.interpolate(images, size=self.config.model.input_size,
                                                 mode="area")
        targets = torch.nn.functional.interpolate(images, size=size, mode="area")
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.bf16):
            swapped = self.model.decode(self.model.encode(inputs), "b").face.float()
        scale = size / images.shape[-1]
        landmarks = a.cache.landmarks[a.cache.rows(a.held_out_ids)] * scale
        return self.probe.measure(self.iteration, targets, swapped, landmarks, *self.centres)

    def _load(self, loaded: Loaded, forget: bool = True) -> None:
        """Continue from a checkpoint; with `forget` (a rollback), the reporter drops what
        was reported after it (a run's start does that itself; prepare() reports nothing)."""
        rank = self.replicas.rank
        generators = _rank_names(self.generators, rank)
        if not set(generators) <= set(loaded.checkpoint.generators):
            self.ctx.log.info("the checkpoint was saved by fewer replicas: replica %d starts "
                              "its batches afresh", rank)
            generators = {}
        state = checkpoint.restore(loaded.checkpoint, self.model, self.optimizer, generators)
        self.iteration = self.saved_at = state["iteration"]
        self.best_loss = state.get("best_loss", math.inf)
        self._load_clipper_state(loaded.checkpoint.extra)
        for note in self.extras.load_state_dict(ExtrasState(loaded.checkpoint.extra,
                                                            state.get(EXTRAS_STATE_KEY, {}))):
            self.ctx.log.info("%s", note)
        samplers = [state.get("sampler", {}), *state.get("replica_samplers", [])]
        if not self.data.load_sampler_state(samplers[rank] if rank < len(samplers) else {}):
            self.ctx.log.info("the training faces changed since iteration %d (or this replica "
                              "is new): the samplers start a new epoch", self.iteration)
        if forget and self.replicas.is_writer:
            self.reporter.forget_after(self.iteration)

    def _roll_back(self, reason: str) -> None:
        self.rollbacks += 1
        if self.run_id and self.replicas.is_writer:
            self.reporter.rollback(self.run_id)
        if self.rollbacks > self.settings.nan_retries:
            raise JobError(f"{reason}; gave up after {self.settings.nan_retries} rollbacks "
                           "(lower the learning rate or raise epsilon)")
        self.unrecorded = []
        self.recent.clear()
        loaded = self.keeper.newest_good()
        if loaded is None:
            # nothing saved yet: start again from fresh weights
            torch.manual_seed(self.config.seed)
            self.model.load_state_dict(build_model(self.config.model).state_dict())
            self._start_weights()
            self.optimizer.state.clear()
            self.clipper = GradientClipper(self.settings)
            self.extras.reset()
            self.iteration = 0
        else:
            self._load(loaded)
        self.lr_scale /= 2
        self.ctx.log.warning("%s: rolled back to iteration %d, learning rate now %.3g (rollback "
                             "%d of %d)", reason, self.iteration,
                             self.settings.learning_rate * self.lr_scale, self.rollbacks,
                             self.settings.nan_retries)

    def _end(self, reason: str) -> None:
        if self.run_id and self.replicas.is_writer:
            self._record()
            self.reporter.run_ended(self.run_id, self.iteration, reason)


def _rank_names(values: dict[str, Any], rank: int) -> dict[str, Any]:
    """Rank 0 keeps a single process's names ("sample"); rank r adds ".r" ("sample.1")."""
    return values if rank == 0 else {f"{name}.{rank}": value for name, value in values.items()}


def _channels(masks: torch.Tensor, side: SideData) -> dict[str, torch.Tensor]:
    """A batch's masks by name ("face", "eye", "mouth"), each N x 1 x H x W."""
    return {name: masks[:, i:i + 1] for i, name in enumerate(side.cache.mask_channels)}
