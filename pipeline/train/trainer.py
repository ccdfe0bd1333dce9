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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from pipeline.context import JobContext
from pipeline.devices import native_bf16
from pipeline.errors import JobCancelled, JobError, WorkerStopping
from pipeline.train import checkpoint
from pipeline.train.augment import Augmenter
from pipeline.train.data import SideData, TrainingData, open_training_data
from pipeline.train.keeper import Keeper, Loaded
from pipeline.train.losses import face_loss, mask_loss
from pipeline.train.models.registry import SwapModel, build_model
from pipeline.train.preview import preview_columns, preview_png
from pipeline.train.session_config import SessionConfig
from pipeline.train.settings import RunSettings
from pipeline.train.swap_metrics import SwapMetricsProbe
from store import sessions
from store.training_faces import training_centre

RECORD_EVERY = 10          # iterations between loss rows written to the store
PROGRESS_WINDOW = 50       # iterations over which the rate and ETA are measured


class NonFinite(Exception):
    """A NaN or Inf where training needs a number."""


@dataclass
class Faults:
    """Test hooks: iterations at which the loss is made NaN once (never set by users)."""
    nan_at: set[int] = field(default_factory=set)


class Trainer:
    def __init__(self, ctx: JobContext, session: sessions.Session, settings: RunSettings,
                 device: torch.device, faults: Faults | None = None) -> None:
        self.ctx, self.session, self.settings, self.device = ctx, session, settings, device
        self.bf16 = settings.mixed_precision and native_bf16(device)
        self.faults = faults or Faults()
        self.config = SessionConfig.from_dict(session.config)
        seed = self.config.seed
        torch.manual_seed(seed)  # the first weights, when there is no checkpoint
        self.model: SwapModel = build_model(self.config.model).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.learning_rate,
                                          eps=settings.epsilon, fused=True)
        self.generators = {"sample": torch.Generator().manual_seed(seed),
                           "augment": torch.Generator(device).manual_seed(seed + 1)}
        model_config = self.config.model
        self.augmenter = Augmenter(settings.augment, model_config.input_size,
                                   model_config.output_size)
        self.keeper = Keeper(ctx.conn, ctx.project.models / str(session.id), session.id, ctx.log)
        self.iteration = 0
        self.saved_at = -1         # the iteration of the newest whole save
        self.best_loss = math.inf
        self.lr_scale = 1.0
        self.rollbacks = 0
        self.recent: deque[tuple[int, float, float]] = deque(maxlen=settings.save_every)
        self.unrecorded: list[tuple[int, float, float]] = []
        self.data: TrainingData
        self.run_id = 0

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
                "iterations_run": self.iteration - start, "rollbacks": self.rollbacks}

    def begin(self) -> None:
        """Open the training data, continue from the newest whole checkpoint, start a run."""
        ctx = self.ctx
        self.data = open_training_data(
            ctx.project, ctx.conn, self.config.data, self.settings.batch_size,
            identity_a=self.session.identity_a, identity_b=self.session.identity_b,
            on_progress=lambda done, total: ctx.progress(done, total,
                                                         f"caching faces {done}/{total}"),
            checkpoint=ctx.checkpoint)
        try:
            loaded = self.keeper.newest()
        except checkpoint.CheckpointError as exc:
            raise JobError(f"{exc}: restore an older checkpoint of session "
                           f"{self.session.name} first (`swapdeck session show` lists them, "
                           "`swapdeck restore` restores one)") from exc
        if loaded is not None:
            self._load(loaded)
        elif self.session.iteration > 0:
            raise JobError(f"session {self.session.name} is at iteration "
                           f"{self.session.iteration} but has no model files: restore one of "
                           "its archived checkpoints, or start a new session")
        self.probe = SwapMetricsProbe(str(self.device))
        self.centres = (training_centre(ctx.conn, self.session.identity_a),
                        training_centre(ctx.conn, self.session.identity_b))
        sessions.close_dead_runs(ctx.conn, self.session.id, self.iteration)
        sessions.set_settings(ctx.conn, self.session.id, self.settings.to_dict())
        self.run_id = sessions.start_run(ctx.conn, self.session.id, ctx.job_id, self.iteration,
                                         self.settings.batch_size, str(self.device),
                                         self.settings.to_dict())

    def _loop(self) -> str:
        settings = self.settings
        times: deque[tuple[int, float]] = deque([(self.iteration, time.monotonic())],
                                                maxlen=PROGRESS_WINDOW)
        while self.iteration < settings.iterations:
            self.ctx.checkpoint()
            try:
                loss_a, loss_b = self._step()
            except NonFinite as exc:
                self._roll_back(str(exc))
                continue
            self.iteration += 1
            self.recent.append((self.iteration, loss_a, loss_b))
            self.unrecorded.append((self.iteration, loss_a, loss_b))
            save_asked = False
            if self.iteration % RECORD_EVERY == 0:
                self._record()
                save_asked = sessions.take_save_request(self.ctx.conn, self.session.id)
            times.append((self.iteration, time.monotonic()))
            self._report(loss_a, loss_b, times)
            if save_asked or self.iteration % settings.save_every == 0:
                try:
                    self._save()
                except NonFinite as exc:
                    self._roll_back(str(exc))
        self._save()
        return f"reached {settings.iterations} iterations"

    def _step(self) -> tuple[float, float]:
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings.learning_rate_at(self.iteration) * self.lr_scale
            group["eps"] = self.settings.epsilon
        self.optimizer.zero_grad(set_to_none=True)
        losses = [self._side_loss(side) for side in (self.data.a, self.data.b)]
        total = losses[0] + losses[1]
        if self.iteration + 1 in self.faults.nan_at:
            self.faults.nan_at.discard(self.iteration + 1)
            total = total * float("nan")
        if not torch.isfinite(total):
            raise NonFinite(f"the loss became {total.item()} at iteration {self.iteration + 1}")
        total.backward()
        self.optimizer.step()
        return float(losses[0].detach()), float(losses[1].detach())

    def _side_loss(self, side: SideData) -> torch.Tensor:
        images, masks = side.sampler.sample(self.generators["sample"], self.settings.batch_size,
                                            self.device)
        batch = self.augmenter(images, masks, self.generators["augment"])
        channels = {name: batch.masks[:, i:i + 1]
                    for i, name in enumerate(side.cache.mask_channels)}
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.bf16):
            output = self.model(batch.inputs, side.side.lower())
        loss = face_loss(output.face, batch.targets, channels.get("face"), channels.get("eye"),
                         channels.get("mouth"), self.config.loss)
        if output.mask is not None and "face" in channels:
            loss = loss + self.config.loss.mask_loss_weight * mask_loss(output.mask,
                                                                        channels["face"])
        return loss

    # ---- progress, saving, resuming ----------------------------------------------------

    def _report(self, loss_a: float, loss_b: float, times: deque[tuple[int, float]]) -> None:
        (first, started), (last, now) = times[0], times[-1]
        rate = (last - first) / (now - started) if now > started else 0.0
        examples = rate * self.settings.batch_size * 2
        remaining = self.settings.iterations - self.iteration
        eta = f", {remaining / rate / 60:.0f} min left" if rate else ""
        self.ctx.progress(self.iteration, self.settings.iterations,
                          f"iteration {self.iteration} · loss A {loss_a:.4f} B {loss_b:.4f} · "
                          f"{examples:.1f} examples/s{eta}")

    def _record(self) -> None:
        if self.unrecorded:
            sessions.record_progress(self.ctx.conn, self.session.id, self.run_id, self.iteration,
                                     self.unrecorded)
            self.unrecorded = []

    def _save(self) -> None:
        """Save (weights checked finite first), preview, swap metrics, backup, snapshot;
        nothing when this iteration is saved already."""
        if self.iteration == self.saved_at:
            return
        for name, tensor in self.model.state_dict().items():
            if not torch.isfinite(tensor).all():
                raise NonFinite(f"weight {name} holds NaN or Inf at iteration {self.iteration}")
        self._record()
        average_a, average_b = self._averages()
        state = {"iteration": self.iteration, "sampler": self.data.sampler_state(),
                 "best_loss": self.best_loss}
        saved = self.keeper.save(checkpoint.capture(self.model, self.optimizer, self.generators,
                                                    state),
                                 self.iteration, average_a, average_b)
        self.saved_at = self.iteration
        self._preview_and_measure()
        if average_a is not None and average_b is not None:
            average = (average_a + average_b) / 2
            if average < self.best_loss and self.settings.backups:
                self.best_loss = average
                self.keeper.copy(saved, "backup", keep=self.settings.backups)
        every = self.settings.snapshot_every
        if every and self.iteration % every == 0:
            self.keeper.copy(saved, "snapshot")

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
        sessions.add_preview(self.ctx.conn, self.session.id, self.iteration, "png",
                             preview_png(columns, self.session.name, self.iteration))
        if a.held_out_ids and all(centre is not None for centre in self.centres):
            sessions.record_metrics(self.ctx.conn, self.session.id, self._metrics())

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

    def _load(self, loaded: Loaded) -> None:
        """Continue from a checkpoint; what was recorded after it is dropped."""
        state = checkpoint.restore(loaded.checkpoint, self.model, self.optimizer,
                                   self.generators)
        self.iteration = self.saved_at = state["iteration"]
        self.best_loss = state.get("best_loss", math.inf)
        if not self.data.load_sampler_state(state.get("sampler", {})):
            self.ctx.log.info("the training faces changed since iteration %d: the samplers "
                              "start a new epoch", self.iteration)
        sessions.forget_after(self.ctx.conn, self.session.id, self.iteration)

    def _roll_back(self, reason: str) -> None:
        self.rollbacks += 1
        if self.run_id:
            sessions.count_rollback(self.ctx.conn, self.run_id)
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
            self.optimizer.state.clear()
            self.iteration = 0
        else:
            self._load(loaded)
        self.lr_scale /= 2
        self.ctx.log.warning("%s: rolled back to iteration %d, learning rate now %.3g (rollback "
                             "%d of %d)", reason, self.iteration,
                             self.settings.learning_rate * self.lr_scale, self.rollbacks,
                             self.settings.nan_retries)

    def _end(self, reason: str) -> None:
        if self.run_id:
            self._record()
            sessions.end_run(self.ctx.conn, self.run_id, self.iteration, reason)
