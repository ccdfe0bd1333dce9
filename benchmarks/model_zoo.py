"""The model zoo on the WDA pair: every registered model trains a short run with its default
options, through the real train job, and this prints what each one costs and does.

For each model: its parameters, the examples/s of the run (both sides' faces per second,
from the run's start after the faces are cached to its end, the two saves with their
previews and swap metrics included), whether any NaN rolled it back, whether the preview was
written, and the swap metrics at the first save and at the last: identity_b - identity_a is
how much more the A-to-B output of held-out A faces looks like B than like A (dlib
descriptor cosine similarity to each person's centre). A rising margin is a preview moving
towards B; after 50 iterations on a CPU it moves little.

The baseline is the same model's first save in the same run. The project (both WDA clips
extracted, named and sided, as benchmarks/train.py builds it) is built once and reused.

    .venv/bin/python benchmarks/model_zoo.py [--iterations 50] [--batch 4] [--models a,b]
        [--project DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from train import build_project, run_jobs  # benchmarks/train.py

from pipeline.devices import default_device, native_bf16
from pipeline.train.job import new_session
from pipeline.train.models import build_model, make_config, model_names
from store import sessions
from store.project import Project


def margin(metrics: sessions.SwapMetrics) -> float | None:
    if metrics.identity_a is None or metrics.identity_b is None:
        return None
    return metrics.identity_b - metrics.identity_a


def _margin_text(value: float | None) -> str:
    """A margin for the table; "-" where the output was not face-like enough to measure."""
    return "-" if value is None else f"{value:+.4f}"


def measure(project: Project, model: str, iterations: int, batch: int) -> dict[str, object]:
    torch.manual_seed(0)
    config = make_config(model, {})
    parameters = sum(p.numel() for p in build_model(config).parameters())
    with project.connection() as conn:
        session = new_session(conn, f"zoo-{model}-{int(time.time())}", model, {}, seed=1,
                              settings={"batch_size": batch, "iterations": iterations,
                                        "save_every": max(1, iterations // 2),
                                        "backups": 0})
    [result] = run_jobs(project, "train", [{"session_id": session.id}])
    with project.connection() as conn:
        [run] = sessions.runs(conn, session.id)
        metrics = sessions.metrics(conn, session.id)
        previews = sessions.preview_iterations(conn, session.id)
        losses = sessions.losses(conn, session.id)
    elapsed = (run.ended_at or time.time()) - run.started_at
    first, last = (metrics[0], metrics[-1]) if metrics else (None, None)
    return {
        "model": model, "parameters": parameters, "input": config.input_size,
        "output": config.output_size, "batch": batch, "iterations": result["iteration"],
        "examples_per_s": round(iterations * batch * 2 / elapsed, 2),
        "rollbacks": result["rollbacks"], "previews": previews,
        "loss_first": losses[0][1:] if losses else None,
        "loss_last": losses[-1][1:] if losses else None,
        "margin_first_save": None if first is None else margin(first),
        "margin_last_save": None if last is None else margin(last),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50, help="iterations of each run")
    parser.add_argument("--batch", type=int, default=4,
                        help="faces of each side per iteration (default 4: the default 16 "
                             "takes hours for the whole zoo on a 2-core CPU)")
    parser.add_argument("--models", help="comma-separated models (default: every one)")
    parser.add_argument("--project", type=Path, default=Path("/tmp/swapdeck-bench-wda"),
                        help="the WDA project, built there when missing")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else model_names()
    project = build_project(args.project)
    device = default_device()
    print(f"device {device}, bf16 {'on' if native_bf16(device) else 'off (not native)'}, "
          f"batch {args.batch}, {args.iterations} iterations")
    rows = []
    for name in names:
        row = measure(project, name, args.iterations, args.batch)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"\n{'model':<12} {'params':>12} {'in/out':>8} {'ex/s':>7} {'NaN':>4} "
          f"{'margin 1st':>11} {'margin last':>11}")
    for row in rows:
        first, last = (_margin_text(row[key]) for key in ("margin_first_save",
                                                           "margin_last_save"))
        print(f"{row['model']:<12} {row['parameters']:>12,} "
              f"{row['input']:>3}/{row['output']:<4} {row['examples_per_s']:>7} "
              f"{row['rollbacks']:>4} {first:>11} {last:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
