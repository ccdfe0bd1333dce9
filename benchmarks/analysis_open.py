"""Time to open the Analysis screen on a session with a million loss rows.

Two projects, each with one session of 2,000 runs, 40 checkpoints (small but real
safetensors files), 400 previews and swap metrics: `big` has 1,000,000 loss rows, `small`
(the baseline, run in the same process) has 1,000. The time runs from pressing `n` on the
dashboard to the moment the screen has shown the chosen session: its table, runs,
checkpoints and loss graph. The app runs headless under Textual's Pilot, as the tests do.
Prints the median of each and their ratio.

    .venv/bin/python benchmarks/analysis_open.py [--rows 1000000] [--runs 7]
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screens.analysis import AnalysisScreen  # noqa: E402
from screens.dashboard import DashboardScreen  # noqa: E402
from store import sessions  # noqa: E402
from store.schema.connection import write  # noqa: E402
from store.project import Project, create_project  # noqa: E402
from store.files.session_files import file_sha256  # noqa: E402
from tui.app import SwapdeckApp  # noqa: E402

RUNS = 2_000
CHECKPOINTS = 40
PREVIEWS = 400


def build_session(project: Project, name: str, loss_rows: int) -> int:
    with project.connection() as conn:
        with write(conn):
            for person, side in (("Ann", "A"), ("Bob", "B")):
                conn.execute("INSERT OR IGNORE INTO identities (name, side, created_at)"
                             " VALUES (?, ?, ?)", (person, side, time.time()))
        a, b = (conn.execute("SELECT id FROM identities WHERE name = ?", (n,)).fetchone()[0]
                for n in ("Ann", "Bob"))
        session = sessions.create(conn, name, "original", {"model": "original"}, a, b,
                                  {"iterations": loss_rows, "batch_size": 16})
        step = max(1, loss_rows // RUNS)
        with write(conn):
            conn.executemany(
                "INSERT INTO session_runs (session_id, job_id, started_at, ended_at,"
                " start_iteration, end_iteration, batch_size, device, settings, end_reason)"
                " VALUES (?, NULL, ?, ?, ?, ?, 16, 'cpu', '{}', 'stopped')",
                [(session.id, 1e9 + i * 60, 1e9 + i * 60 + 50, i * step, (i + 1) * step)
                 for i in range(RUNS)])
        iterations = np.arange(1, loss_rows + 1)
        losses = 0.3 * np.exp(-iterations / (loss_rows / 5)) + 0.04
        for start in range(0, loss_rows, 100_000):
            chunk = slice(start, start + 100_000)
            sessions.record_progress(conn, session.id, 0, loss_rows, zip(
                iterations[chunk].tolist(), losses[chunk].tolist(),
                (losses[chunk] * 1.1).tolist()))
        folder = project.models / str(session.id) / "saves"
        folder.mkdir(parents=True)
        for i in range(CHECKPOINTS):
            path = folder / f"iter_{i:09d}.safetensors"
            save_file({"w": np.zeros(1000, np.float32)}, str(path))
            sessions.add_checkpoint(conn, session.id, "save", i * step, f"saves/{path.name}",
                                    file_sha256(path), 0.1, 0.1)
        png = io.BytesIO()
        Image.new("RGB", (384, 512), (90, 90, 90)).save(png, format="PNG")
        for i in range(PREVIEWS):
            sessions.add_preview(conn, session.id, (i + 1) * max(1, loss_rows // PREVIEWS),
                                 "png", png.getvalue())
            sessions.record_metrics(conn, session.id, sessions.SwapMetrics(
                (i + 1) * max(1, loss_rows // PREVIEWS), 10, 0.89, 0.9 + i / 10_000, 3.0,
                0.04))
        return session.id


async def time_to_open(project: Project, session_id: int) -> float:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=(160, 50)) as pilot:
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.01)
        await pilot.pause(0.5)   # the dashboard settles first
        start = time.perf_counter()
        await pilot.press("n")
        while True:
            screen = app.screen
            if isinstance(screen, AnalysisScreen) and screen.detail is not None:
                assert screen.detail.session.id == session_id and screen._curves
                break
            await pilot.pause(0.001)
        await pilot.pause()   # the frame that shows it
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="loss rows of `big`")
    parser.add_argument("--runs", type=int, default=7, help="openings of each session")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        built = time.perf_counter()
        projects = {name: create_project(Path(folder) / name) for name in ("big", "small")}
        ids = {"big": build_session(projects["big"], "big", args.rows),
               "small": build_session(projects["small"], "small", 1_000)}
        print(f"built the projects in {time.perf_counter() - built:.0f} s "
              f"({args.rows:,} and 1,000 loss rows, {RUNS:,} runs each)")
        times: dict[str, list[float]] = {"big": [], "small": []}
        for _ in range(args.runs):   # alternate, so machine load hits both
            for name in times:
                times[name].append(asyncio.run(time_to_open(projects[name], ids[name])))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"| session | loss rows | open (median of {args.runs}) | min | max |")
    print("|---|---|---|---|---|")
    for name, rows in (("big", args.rows), ("small", 1_000)):
        print(f"| {name} | {rows:,} | {medians[name]:.3f} s | {min(times[name]):.3f} s | "
              f"{max(times[name]):.3f} s |")
    print(f"ratio big / small: {medians['big'] / medians['small']:.2f}")
    print(json.dumps({name: round(value, 4) for name, value in medians.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
