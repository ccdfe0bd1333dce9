"""The Convert screen's conversion: the Convert button, the job's state and its progress.
It checks a conversion, asks before queueing it (how many frames, about how long, the output
written or replaced) and stops `convert` jobs; `ConvertProgress.Queued` bubbles up once one is
queued."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static

from store import jobs, sessions, sources
from store.jobs import Job, JobStatus
from store.requests.convert import ConvertPlan, ConvertRequestError, plan_conversion
from store.views.convert import ACTIVE, ConvertView
from tui.format import cancel_outcome
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from screens.dialogs.confirm import ConfirmDialog
from screens.widgets.convert_confirm import confirm_text


@dataclass(frozen=True)
class ConvertRequest:
    session_id: int
    source_id: int
    settings: dict[str, object]
    output: Path | None
    overwrite: bool


def describe_convert(job: Job, worker_alive: bool, start_key: str) -> Text:
    """The conversion's state: waiting, its progress message, the output written or why not."""
    if job.status == JobStatus.QUEUED:
        text = Text(f"queued (job {job.id}): waiting for the worker")
        if not worker_alive:
            text.append(f" · no worker is running: press {start_key} to start one",
                        style="bold yellow")
        return text
    if job.status == JobStatus.RUNNING:
        doing = "cancelling" if job.cancel_requested else "converting"
        return Text(f"{doing} (job {job.id}): {job.message or 'starting'}", style="yellow")
    if job.status == JobStatus.DONE:
        output = (job.result or {}).get("output", job.params.get("output"))
        return Text(f"done (job {job.id}): {(job.result or {}).get('message', output)}",
                    style="green")
    if job.status == JobStatus.FAILED:
        return Text(f"failed (job {job.id}): {job.error}", style="bold red")
    return Text(f"cancelled (job {job.id}): {job.message}")


class ConvertProgress(Vertical):
    class Queued(Message):
        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    class Planned(Message):
        """A conversion checked by `plan`, to be confirmed before it is queued."""

        def __init__(self, plan: ConvertPlan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self) -> None:
        super().__init__()
        self.job: Job | None = None     # the conversion followed: queued here, or one found
        self.worker_alive = False

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def active(self) -> bool:
        return self.job is not None and self.job.status in ACTIVE

    def compose(self) -> ComposeResult:
        with Horizontal(id="convert-row"):
            yield Button("Convert", id="convert-button", variant="primary", compact=True)
            yield Static("", id="convert-status", markup=False)
        yield ProgressBar(id="convert-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#convert-progress").display = False

    def show(self, view: ConvertView) -> None:
        found = view.convert_job
        if found is not None and (self.job is None or found.id == self.job.id):
            self.job = found
        self.show_status()

    def show_worker(self, alive: bool) -> None:
        self.worker_alive = alive
        self.show_status()

    def show_status(self) -> None:
        status = self.query_one("#convert-status", Static)
        bar = self.query_one("#convert-progress", ProgressBar)
        job = self.job
        if job is None:
            status.update(f"{key_for(self.screen, 'convert.start', 'ctrl+s')} or enter on "
                          "Convert: convert the whole source with these settings, once you "
                          "confirm (every output is marked synthetic)")
            bar.display = False
            return
        status.update(describe_convert(job, self.worker_alive,
                                       key_for(self.screen, "convert.start_worker", "w")))
        bar.display = job.status in (JobStatus.RUNNING, JobStatus.DONE)
        total = job.total or (job.progress if job.status == JobStatus.DONE else None)
        bar.update(total=total, progress=job.progress)

    @work(thread=True, group="store")
    def plan(self, request: ConvertRequest) -> None:
        """Check the conversion as the CLI does and post it to be confirmed; an output that
        exists is asked about (and then replaced) even without the overwrite box."""
        host = self.host
        output = request.output.expanduser().resolve() if request.output else None
        try:
            with host.store() as conn:
                plan = plan_conversion(conn, host.project.outputs,
                                       sessions.get(conn, request.session_id),
                                       sources.get(conn, request.source_id), request.settings,
                                       output, request.overwrite
                                       or (output is not None and output.exists()))
        except (ConvertRequestError, sessions.SessionError, sources.SourceNotFoundError,
                sqlite3.Error, OSError) as exc:
            self.app.notify(f"not converted: {exc}", severity="error", markup=False)
            return
        self.post_message(self.Planned(plan))

    def on_convert_progress_planned(self, message: Planned) -> None:
        message.stop()
        params = message.plan.params
        self.app.push_screen(ConfirmDialog(*confirm_text(message.plan)),
                             lambda yes: self.queue(params) if yes else self.notify(
                                 "not converted: nothing was queued"))

    @work(thread=True, group="store")
    def queue(self, params: dict[str, Any]) -> None:
        host = self.host
        try:
            with host.store() as conn:
                job = jobs.get(conn, jobs.enqueue(conn, "convert", params))
                pid = ensure_worker(host.project, conn) if host.auto_start_worker else None
        except (jobs.JobNotFoundError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not converted: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"queued convert job {job.id}: {params['person']}'s face is swapped "
                        f"into {params['output']}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")
        self.post_message(self.Queued(job))

    def on_convert_progress_queued(self, message: Queued) -> None:
        self.job = message.job      # (the message goes on to the screen)
        self.show_status()

    def stop(self) -> None:
        if self.job is not None and self.active:
            self._request_stop(self.job.id)

    @work(thread=True, group="store")
    def _request_stop(self, job_id: int) -> None:
        with self.host.store() as conn:
            outcome = cancel_outcome(job_id, jobs.request_cancel(conn, job_id))
        self.app.notify(outcome)
