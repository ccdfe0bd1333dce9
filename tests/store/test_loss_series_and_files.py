"""The downsampled loss curve and the quick check of model files, on a real store."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from store import sessions
from store.schema.connection import write
from store.views.loss_series import loss_series
from store.project import Project
from store.files.session_files import FileState, quick_state


def session_with_losses(project: Project, count: int) -> int:
    with project.connection() as conn:
        with write(conn):
            for name, side in (("Ann", "A"), ("Bob", "B")):
                conn.execute("INSERT INTO identities (name, side, created_at) VALUES (?, ?, ?)",
                             (name, side, time.time()))
        session = sessions.create(conn, "s", "original", {}, 1, 2, {})
        sessions.record_progress(conn, session.id, 0, count,
                                 [(i, float(i), 2.0 * i) for i in range(1, count + 1)])
        return session.id


def test_few_rows_come_back_as_they_are(project: Project) -> None:
    session_id = session_with_losses(project, 300)
    with project.connection() as conn:
        series = loss_series(conn, session_id, points=1000)
        assert series.span == 1 and len(series) == 300
        assert (series.first, series.last) == (1, 300)
        assert series.loss_b.tolist() == [2.0 * i for i in range(1, 301)]
        newest = loss_series(conn, session_id, last_n=10)
        assert newest.iterations.tolist() == list(range(291, 301))


def test_many_rows_are_averaged_in_equal_spans(project: Project) -> None:
    session_id = session_with_losses(project, 10_000)
    with project.connection() as conn:
        series = loss_series(conn, session_id, points=100)
        assert series.span == 100 and len(series) == 100
        # iterations 1..100 average to 50.5, and so do their losses A
        assert series.iterations[0] == 50.5 and series.loss_a[0] == 50.5
        assert series.loss_b[-1] == 2 * np.mean(np.arange(9901, 10_001))
        zoomed = loss_series(conn, session_id, last_n=1000, points=100)
        assert zoomed.span == 10 and zoomed.iterations[0] == np.mean(np.arange(9001, 9011))


def test_a_session_without_losses_has_an_empty_curve(project: Project) -> None:
    session_id = session_with_losses(project, 0)
    with project.connection() as conn:
        series = loss_series(conn, session_id)
    assert len(series) == 0 and series.first is None


def test_the_quick_check_finds_missing_and_cut_short_files(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    assert quick_state(path) is FileState.MISSING
    save_file({"w": np.ones(1000, np.float32)}, str(path))
    assert quick_state(path) is FileState.OK
    whole = path.read_bytes()
    path.write_bytes(whole[:-1])
    assert quick_state(path) is FileState.DAMAGED
    path.write_bytes(whole + b"x")
    assert quick_state(path) is FileState.DAMAGED
    path.write_bytes(b"not a model file at all")
    assert quick_state(path) is FileState.DAMAGED
    path.write_bytes(b"")
    assert quick_state(path) is FileState.DAMAGED
