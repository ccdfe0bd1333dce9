"""A training checkpoint: one safetensors file holding everything a run needs to continue.

Model weights (`model.*`), the optimizer's tensors (`optim.*`), the random generators'
states (`rng.*`) and the trainer's other state (`extra.*`: autoclip's history, the
discriminators of DeepFaceLab's extras) are tensors; the rest (iteration, optimizer
hyper-parameters, the sampler's position, loss averages) is JSON in the file's metadata.
One file means one atomic replace: a crash while saving leaves the previous checkpoint
whole. Nothing is ever unpickled.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from pipeline.atomic_files import atomic_path
from store.files.session_files import file_sha256

FORMAT = "swapdeck-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, damaged or not one of ours."""


@dataclass
class Checkpoint:
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generators: dict[str, torch.Tensor]
    state: dict[str, Any]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)


def capture(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            generator_states: dict[str, torch.Tensor], state: dict[str, Any],
            extra: dict[str, torch.Tensor] | None = None) -> Checkpoint:
    """Copies of everything to save, taken now (so training may go on while it is written)."""
    return Checkpoint({k: v.detach().to("cpu", copy=True).contiguous()
                       for k, v in model.state_dict().items()},
                      _cpu_copy(optimizer.state_dict()),
                      {name: generator.clone() for name, generator in generator_states.items()},
                      json.loads(json.dumps(state)), _cpu_copy(extra or {}))


def restore(checkpoint: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """Load a checkpoint into live objects; returns its loop state."""
    model.load_state_dict(checkpoint.model)
    optimizer.load_state_dict(checkpoint.optimizer)
    for name, generator in generators.items():
        if name not in checkpoint.generators:
            raise CheckpointError(f"the checkpoint has no state for the {name!r} generator")
        generator.set_state(checkpoint.generators[name])
    return checkpoint.state


def write(path: Path, checkpoint: Checkpoint) -> str:
    """Write atomically; returns the file's sha256."""
    tensors = {f"model.{k}": v for k, v in checkpoint.model.items()}
    tensors |= {f"rng.{k}": v for k, v in checkpoint.generators.items()}
    tensors |= {f"extra.{k}": v for k, v in checkpoint.extra.items()}
    optimizer_meta = split_optimizer(checkpoint.optimizer, tensors)
    metadata = {"format": FORMAT, "state": json.dumps(checkpoint.state),
                "optimizer": json.dumps(optimizer_meta)}
    with atomic_path(path) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    return file_sha256(path)


def read_model(path: Path) -> dict[str, torch.Tensor]:
    """Only the model's weights (a conversion needs neither the optimizer nor the generators,
    which can be twice the weights' size)."""
    try:
        with safe_open(str(path), framework="pt") as opened:
            if (opened.metadata() or {}).get("format") != FORMAT:
                raise CheckpointError(f"not a swapdeck checkpoint: {path}")
            return {k[6:]: opened.get_tensor(k) for k in opened.keys() if k.startswith("model.")}
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint missing: {path}") from exc
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint damaged: {path} ({exc})") from exc


def read(path: Path) -> Checkpoint:
    try:
        tensors = load_file(str(path))
        with open(path, "rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            metadata = json.loads(handle.read(header_size)).get("__metadata__", {})
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint missing: {path}") from exc
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint damaged: {path} ({exc})") from exc
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"not a swapdeck checkpoint: {path}")
    model = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    generators = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
    extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
    optimizer = join_optimizer(json.loads(metadata["optimizer"]), tensors)
    return Checkpoint(model, optimizer, generators, json.loads(metadata["state"]), extra)


def _cpu_copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True).contiguous()
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cpu_copy(v) for v in value]
    return value


def split_optimizer(state_dict: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict:
    """An optimizer's state_dict split for a safetensors file: its tensors go into `tensors`
    (named `optim.<parameter index>.<key>`), the rest is returned as JSON-ready data.
    `join_optimizer` puts the two back together."""
    plain_state: dict[str, dict[str, Any]] = {}
    for index, values in state_dict["state"].items():
        plain_state[str(index)] = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                plain_state[str(index)][key] = value
    return {"state": plain_state, "param_groups": state_dict["param_groups"]}


def join_optimizer(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The optimizer state_dict that `split_optimizer` split into `meta` and the `optim.*`
    entries of `tensors` (other entries are ignored)."""
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in meta["state"].items()}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}
