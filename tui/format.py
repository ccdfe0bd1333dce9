"""One-line descriptions of store rows, shared by the CLI and the dashboard."""
from __future__ import annotations

import time

from store.jobs import Job, JobStatus
from store.sources import Source
from store.views.training_figures import EXAMPLES_UNIT
from store.views.worker_launch import LaunchState, WorkerLaunch
from store.workers import WorkerRow


def describe_worker(worker: WorkerRow | None, now: float | None = None,
                    launch: WorkerLaunch | None = None) -> str:
    """The worker's state; a `launch` it has not signed in from yet says "starting"."""
    now = time.time() if now is None else now
    state = launch.state(worker, now) if launch is not None else None
    if launch is not None and state is LaunchState.STARTING:
        return (f"starting (pid {launch.pid}, launched {human_age(now - launch.at)} ago; "
                "no heartbeat yet)")
    if launch is not None and state is LaunchState.FAILED:
        return (f"did not start (pid {launch.pid}, launched {human_age(now - launch.at)} "
                "ago, never sent a heartbeat: see worker.log)")
    if worker is None:
        return "never started"
    if worker.is_alive(now):
        kinds = f", taking {', '.join(worker.kinds)}" if worker.kinds else ""
        return (f"alive (pid {worker.pid} on {worker.host}, heartbeat "
                f"{worker.heartbeat_age(now):.0f}s ago{kinds})")
    return f"not running (last heartbeat {human_age(worker.heartbeat_age(now))} ago)"


def rate_figure(rate: float | None) -> str:
    """A speed as every panel rounds it (its unit is the column's or the caller's)."""
    return f"{rate:,.1f}" if rate is not None else "-"


def examples_rate(rate: float | None) -> str:
    """Examples per second with its unit: the Runs table's figure, rounded alike."""
    if rate is None:
        return f"{EXAMPLES_UNIT} not measured yet"
    return f"{rate_figure(rate)} {EXAMPLES_UNIT}"


def human_age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def source_facts(source: Source) -> str:
    """What probing found, e.g. `256x256, 25 fps, 228 frames, 9.1 s, no audio`."""
    if source.status != "ready":
        return "ingesting..."
    parts = []
    if source.width:
        parts.append(f"{source.width}x{source.height}")
    if source.kind == "video":
        if source.fps:
            parts.append(("~" if source.variable_fps else "") + f"{source.fps:.4g} fps"
                         + (" (variable)" if source.variable_fps else ""))
        parts.append(f"{source.frame_count} frames")
        if source.duration:
            parts.append(f"{source.duration:.1f} s")
        if source.rotation:
            parts.append(f"rotated {source.rotation}°")
        parts.append(f"audio {source.audio_codec}" if source.has_audio else "no audio")
    elif source.kind == "folder":
        parts.append(f"{source.frame_count} images")
    return ", ".join(parts)


def describe_source(source: Source) -> str:
    return f"{source.id:>4} {source.kind:<6} {source.name}: {source_facts(source)}"


def progress_text(job: Job) -> str:
    fraction = job.fraction
    if job.status == JobStatus.RUNNING and fraction is not None:
        return f"{fraction * 100:.0f}%"
    return ""


def job_target(job: Job) -> str:
    return params_target(job.params)


def params_target(params: dict) -> str:
    """What a job works on: the path it adds, the source it extracts, the session it trains."""
    if "new_session" in params:
        return f"new session {params['new_session'].get('name', '?')}"
    if "session_id" in params:
        return f"session {params['session_id']}"
    if "path" in params:
        return str(params["path"])
    if "source_id" in params:
        return f"source {params['source_id']}"
    if "folder" in params:
        return str(params["folder"])
    if "source_ids" in params:
        chosen = params["source_ids"]
        return f"sources {', '.join(map(str, chosen))}" if chosen else "all sources"
    return "all faces"


def describe_job(job: Job, held: bool = False) -> str:
    """One line; a `held` job (queued elsewhere, waiting for release) says so for its status."""
    detail = job.error if job.status == JobStatus.FAILED else job.message
    target = job_target(job)
    progress = progress_text(job)
    status = "held" if held else job.status.label
    return (f"{job.id:>5} {job.kind:<8} {status:<9} {progress:>4} {target}"
            + (f" - {detail}" if detail else ""))


def cancel_outcome(job_id: int, status_when_asked: JobStatus) -> str:
    """What a cancel request did, from the status the job had when it was asked."""
    if status_when_asked == JobStatus.QUEUED:
        return f"job {job_id} cancelled"
    if status_when_asked == JobStatus.RUNNING:
        return f"job {job_id} will stop at its next unit of work"
    return f"job {job_id} already {status_when_asked.label}"
