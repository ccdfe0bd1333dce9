"""The Analysis screen's session detail: what the chosen session is and what it is doing
(training, queued, its last run failed, its model files damaged, archived), and the
session-wide actions that start from it: resume, stop and delete.

The actions write to the store in thread workers, which tell the user with (thread-safe)
notifications and post `SessionSummary.Changed` for the screen to read the store again.
"""
from __future__ import annotations

import sqlite3

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.resume import ResumeDialog
from screens.widgets.analysis_sessions import clock
from store import jobs, sessions
from store.files.session_removal import DeleteError, delete_session
from store.requests.train import TrainRequestError, resume_params
from store.views.analysis import SessionDetail
from tui.format import cancel_outcome, examples_rate
from tui.host import Host
from tui.launcher import ensure_worker
from tui.printable import printable

NO_SESSION = "No sessions yet: train one from the Train screen (t on the dashboard)."
ARCHIVES_SHOWN = 3


def describe_detail(detail: SessionDetail) -> Text:
    """The lines above the tabs: what the session is and what it is doing."""
    row, session = detail.row, detail.session
    text = Text(printable(f"{session.name}: {session.model}, A {session.name_a} → B "
                          f"{session.name_b}") + f" · iteration {detail.progress.iteration:,} of "
                f"{detail.progress.target:,} · {row.runs} "
                f"run{'s' if row.runs != 1 else ''}\n")
    text.append_text(describe_activity(detail))
    if row.health.problem is not None:
        text.append(row.health.problem + "\n", style="bold red")
    for archive in detail.archives[:ARCHIVES_SHOWN]:
        text.append(f"archive #{archive.id} ({clock(archive.created_at)}): {archive.reason}; "
                    f"the state at iteration {archive.iteration:,} is kept\n", style="dim")
    return text


def describe_activity(detail: SessionDetail) -> Text:
    """Training (at the speed the Runs table shows for its run), queued or at rest; and the
    newest train job's error when it failed."""
    job, figures = detail.row.job, detail.progress
    if job is not None and job.status == jobs.JobStatus.RUNNING:
        doing = (examples_rate(figures.examples_per_second) if figures.running is not None
                 else printable(job.message) or "starting")
        text = Text(f"training now (job {job.id}): {doing}; resume and restore wait until it "
                    "stops\n", style="green")
    elif job is not None:
        text = Text(f"queued (job {job.id}): waiting for the worker\n", style="green")
    else:
        text = Text(f"{detail.row.status}\n")
    failed = detail.failed_job
    if failed is not None:
        text.append(f"last run failed: {printable(failed.error or 'no reason was recorded')} "
                    f"(job {failed.id})\n", style="bold red")
    return text


class SessionSummary(Static):
    """The chosen session in a few lines; it resumes, stops and deletes that session."""

    class Changed(Message):
        """A resume, a stop or a delete changed the store: read it again."""

    def __init__(self, host: Host, *, id: str = "summary") -> None:
        super().__init__(NO_SESSION, id=id)
        self.host = host

    def show(self, detail: SessionDetail | None) -> None:
        self.update(describe_detail(detail) if detail is not None else NO_SESSION)

    # --- resume --------------------------------------------------------------------------

    def resume(self, detail: SessionDetail) -> None:
        """Ask for the per-run settings to change, then queue the train job."""
        live = [c.checkpoint for c in detail.checkpoints if c.checkpoint.archive_id is None]
        starts_at = (f"the {live[0].label}" if live else "the start (it has no checkpoint)")
        session = detail.session
        self.app.push_screen(ResumeDialog(session, starts_at),
                             lambda values: self._resume_chosen(session.id, values))

    def _resume_chosen(self, session_id: int, values: dict[str, object] | None) -> None:
        if values is not None:
            self.queue_resume(session_id, values)

    @work(thread=True, group="store")
    def queue_resume(self, session_id: int, values: dict[str, object]) -> None:
        host = self.host
        try:
            with host.store() as conn:
                session = sessions.get(conn, session_id)
                params = resume_params(conn, host.project.models, session, values)
                job_id = jobs.enqueue(conn, "train", params)
                pid = ensure_worker(host.project, conn) if host.auto_start_worker else None
        except (TrainRequestError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not resumed: {exc}", severity="error", markup=False)
            return
        changed = ", ".join(f"{k}={v}" for k, v in values.items()) or "its last settings"
        self.app.notify(f"queued train job {job_id}: {session.name} resumes from iteration "
                        f"{session.iteration:,} with {changed}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")
        self.post_message(self.Changed())

    # --- stop and delete -----------------------------------------------------------------

    @work(thread=True, group="store")
    def stop_training(self, job_id: int) -> None:
        with self.host.store() as conn:
            outcome = cancel_outcome(job_id, jobs.request_cancel(conn, job_id))
        self.app.notify(f"{outcome}; a running session saves before it stops")
        self.post_message(self.Changed())

    def delete(self, detail: SessionDetail) -> None:
        """Ask first, then delete the session with its model files."""
        session = detail.session
        body = (f"Its {len(detail.runs)} runs, its losses, previews and metrics, and the "
                f"{len(detail.checkpoints)} model files in models/{session.id}/ are deleted. "
                "This cannot be undone.")
        self.app.push_screen(ConfirmDialog(f"Delete session {session.name}?", body,
                                           "y: delete"),
                             lambda yes: self.delete_chosen(session.id) if yes else None)

    @work(thread=True, group="store")
    def delete_chosen(self, session_id: int) -> None:
        try:
            with self.host.store() as conn:
                done = delete_session(conn, self.host.project.models,
                                      sessions.get(conn, session_id))
        except (DeleteError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not deleted: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"deleted session {done.session.name}: {done.files} files "
                        f"({done.bytes / 1e9:.2f} GB), {done.losses:,} loss rows",
                        markup=False)
        self.post_message(self.Changed())
