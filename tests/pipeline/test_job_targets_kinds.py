"""store.views.job_targets tells, for every kind the worker runs, what a job reads and writes."""
from __future__ import annotations

import pipeline.job_kinds  # noqa: F401  (registers every kind)
from pipeline.registry import known_kinds
from store.views.job_targets import KNOWN_KINDS


def test_every_job_kind_the_worker_runs_is_described() -> None:
    assert set(known_kinds()) == KNOWN_KINDS
