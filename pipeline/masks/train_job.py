"""The mask-train job: trains an occlusion mask model (XSeg-style) on the labelled faces.

Each iteration draws a batch of labelled faces as the face model's sampler does (each face
once per epoch, in a shuffled order), augments each face and its label's truth alike with
the face model's augmentation, and takes one Adam step on the binary cross-entropy of the
network's logits. Losses are recorded every few iterations; every `save_every` iterations
(and when the run stops) a checkpoint holds the weights, the optimizer, the random
generators and the sampler's place, so a run that is killed resumes exactly from its last
checkpoint, and a preview of the mask on a few unlabelled faces is written beside it.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.context import JobContext
from pipeline.devices import default_device, native_bf16
from pipeline.errors import JobCancelled, JobError, WorkerStopping
from pipeline.masks.model_files import PREVIEW, ModelFiles, load_pretrained, network_config
from pipeline.masks.preview import preview_png
from pipeline.masks.train_data import (MaskDataError, PairAugmenter, face_crops,
                                       load_labelled, unlabelled_faces)
from pipeline.masks.xseg import XSeg
from pipeline.registry import job_kind
from pipeline.train import checkpoint
from pipeline.train.augment import AugmentSettings
from pipeline.train.sampler import Sampler, batch_tensors
from store import mask_models
from store.mask_labels import LabelError
from store.mask_models import TRAIN_KIND, MaskModel, MaskModelError, MaskRequestError
from store.requests.mask_train import MaskTrainSettings

RECORD_EVERY = 10       # iterations between loss writes
RATE_WINDOW = 20        # iterations over which the rate is measured
PREVIEW_FACES = 4


@job_kind(TRAIN_KIND)
def mask_train(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Params: `model_id` (a row of mask_models) and `settings` (MaskTrainSettings' fields;
    their defaults where missing)."""
    try:
        model = mask_models.get(ctx.conn, int(params["model_id"]))
        settings = MaskTrainSettings.from_dict(params.get("settings", {}))
    except (MaskModelError, MaskRequestError, TypeError, ValueError) as exc:
        raise JobError(str(exc)) from exc
    except KeyError as exc:
        raise JobError(f"missing {exc.args[0]!r} in the job's parameters") from exc
    try:
        return MaskTrainer(ctx, model, settings, default_device()).run()
    except (MaskDataError, LabelError, checkpoint.CheckpointError) as exc:
        raise JobError(str(exc)) from exc


def mask_loss(logits: torch.Tensor, truths: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of N x 1 x R x R logits against truths in [0, 1], in float32."""
    return F.binary_cross_entropy_with_logits(logits.float(), truths.float())


class MaskTrainer:
    """One run of a mask model, from its newest checkpoint to `settings.iterations`."""

    def __init__(self, ctx: JobContext, model: MaskModel, settings: MaskTrainSettings,
                 device: torch.device) -> None:
        self.ctx, self.model, self.settings, self.device = ctx, model, settings, device
        self.config = network_config(model)
        seed = int(model.settings["seed"])
        torch.manual_seed(seed)   # the first weights, when there is no checkpoint
        self.network = XSeg(self.config).to(device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=settings.learning_rate)
        self.generators = {"sample": torch.Generator().manual_seed(seed),
                           "augment": torch.Generator(device).manual_seed(seed + 1)}
        self.augment = PairAugmenter(AugmentSettings(), self.config.resolution)
        self.bf16 = native_bf16(device)
        self.files = ModelFiles(ctx.project.root, model)
        self.iteration = self.saved_at = 0
        self.unrecorded: list[tuple[int, float]] = []
        self.recent: deque[float] = deque(maxlen=settings.save_every)

    def run(self) -> dict[str, Any]:
        self.prepare()
        start = self.iteration
        try:
            self._loop()
        except (JobCancelled, WorkerStopping):
            self._save()
            raise
        self._save()
        loss = float(np.mean(self.recent)) if self.recent else None
        shown = f" (loss {loss:.4f})" if loss is not None else ""
        return {"message": f"mask model {self.model.name} reached {self.iteration:,} "
                           f"iterations{shown}",
                "model_id": self.model.id, "kind": self.model.kind,
                "iteration": self.iteration, "iterations_run": self.iteration - start,
                "loss": loss, "faces": len(self.data.face_ids),
                "preview": str(self.model.folder / PREVIEW)}

    def prepare(self) -> None:
        """Read the labelled faces, and go on from the newest checkpoint (else from the
        pre-trained network, if the model has one, or fresh weights)."""
        ctx = self.ctx
        ctx.progress(0, None, "reading the labelled faces", force=True)
        self.data = load_labelled(ctx.conn, self.config.resolution, ctx.checkpoint)
        self.sampler = Sampler(self.data, range(len(self.data.face_ids)))
        self.preview_crops = self._preview_crops()
        if removed := self.files.clean(self.model.path):
            ctx.log.warning("removed %d checkpoint file(s) of mask model %s that its row does "
                            "not name (left by a run killed while saving)", removed,
                            self.model.name)
        if self.model.path is not None:
            self._resume()
        elif (source := self.model.settings.get("from_file")) is not None:
            count = load_pretrained(Path(source), self.network)
            ctx.log.info("mask model %s starts from %d tensors of %s", self.model.name, count,
                         source)
        mask_models.forget_after(ctx.conn, self.model.id, self.iteration)

    def _preview_crops(self) -> np.ndarray:
        """The crops the preview shows: unlabelled faces, else the first labelled ones."""
        size = self.config.resolution
        chosen = unlabelled_faces(self.ctx.conn, PREVIEW_FACES)
        crops = face_crops(self.ctx.conn, chosen, size)
        if not crops:
            return self.data.images[:PREVIEW_FACES]
        return np.stack([crops[face_id] for face_id in chosen if face_id in crops])

    def _resume(self) -> None:
        model = self.model
        saved = checkpoint.read(self.files.verified(model.path, model.sha256))
        if saved.state.get("network") != self.config.to_dict():
            raise checkpoint.CheckpointError(
                f"the checkpoint of mask model {model.name} holds another network "
                f"({saved.state.get('network')}) than its row ({self.config.to_dict()})")
        state = checkpoint.restore(saved, self.network, self.optimizer, self.generators)
        self.iteration = self.saved_at = int(state["iteration"])
        if not self.sampler.load_state(state.get("sampler", {})):
            self.ctx.log.info("the labelled faces changed since iteration %d: a new epoch "
                              "begins", self.iteration)
        self.ctx.log.info("mask model %s resumes at iteration %d", model.name, self.iteration)

    def _loop(self) -> None:
        target = self.settings.iterations
        times: deque[tuple[int, float]] = deque([(self.iteration, time.monotonic())],
                                                maxlen=RATE_WINDOW)
        while self.iteration < target:
            self.ctx.checkpoint()
            loss = self.step()
            self.iteration += 1
            self.unrecorded.append((self.iteration, loss))
            self.recent.append(loss)
            if self.iteration % RECORD_EVERY == 0:
                self._record()
            times.append((self.iteration, time.monotonic()))
            self._report(loss, times)
            if self.iteration % self.settings.save_every == 0:
                self._save()

    def step(self) -> float:
        """One Adam step on a fresh augmented batch; its loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings.learning_rate
        rows = self.sampler.next_rows(self.generators["sample"], self.settings.batch_size)
        images, truths = batch_tensors(self.data, rows, self.device)
        inputs, targets = self.augment(images, truths, self.generators["augment"])
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.network(inputs)
        loss = mask_loss(logits, targets)
        if not torch.isfinite(loss):
            raise JobError(f"the loss became {loss.item()} at iteration {self.iteration + 1}: "
                           "train again with a lower --learning-rate (it resumes from the "
                           "last checkpoint)")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def _report(self, loss: float, times: deque[tuple[int, float]]) -> None:
        (first, started), (last, now) = times[0], times[-1]
        rate = (last - first) * self.settings.batch_size / (now - started) if now > started \
            else 0.0
        self.ctx.progress(self.iteration, self.settings.iterations,
                          f"iteration {self.iteration:,} · loss {loss:.4f} · {rate:.1f} faces/s")

    def _record(self) -> None:
        if self.unrecorded:
            mask_models.record_losses(self.ctx.conn, self.model.id, self.unrecorded)
        self.unrecorded = []

    def _save(self) -> None:
        """Losses, then a new checkpoint file, then the row naming it, then the previous
        file deleted, then the preview; nothing when this iteration is saved already."""
        if self.iteration == self.saved_at:
            return
        self._record()
        state = {"iteration": self.iteration, "sampler": self.sampler.state(),
                 "network": self.config.to_dict()}
        captured = checkpoint.capture(
            self.network, self.optimizer,
            {name: generator.get_state() for name, generator in self.generators.items()},
            state)
        name, sha = self.files.save(captured, self.iteration)
        previous = self.model.path
        mask_models.record_checkpoint(self.ctx.conn, self.model.id, self.iteration, name, sha)
        self.model = replace(self.model, iteration=self.iteration, path=name, sha256=sha)
        self.saved_at = self.iteration
        if previous is not None and previous != name:
            self.files.remove(previous)
        self.files.write_preview(preview_png(self.network, self.preview_crops, self.device,
                                             self.bf16))
