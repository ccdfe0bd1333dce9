"""The Convert screen's preview: one frame before and after, rendered by a `convert_preview`
job that is queued once the form stops changing for a moment (cancelling the one before
while it still waits). The screen hands it the form as read and each view of the store."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Label, Static
from textual.worker import Worker, get_current_worker

from store import jobs, sessions, sources
from store.jobs import Job, JobStatus
from store.requests.convert import ConvertRequestError, preview_params
from store.views.convert import ConvertView
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from screens.widgets.convert_form import FormChoice
from screens.widgets.picture import Picture

DEBOUNCE_S = 0.3        # a preview is queued once the settings stop changing this long
NO_SESSION = "No session with a checkpoint yet: train one until it saves (t on the dashboard)."
NO_SOURCE = "No video source yet: add one (a on the dashboard) and extract it (x)."


@dataclass(frozen=True)
class PreviewRequest:
    session_id: int
    source_id: int
    frame: int
    settings: dict[str, object]


def preview_request(choice: FormChoice | None) -> PreviewRequest | None:
    if (choice is None or choice.problems or choice.session_id is None
            or choice.source_id is None):
        return None
    return PreviewRequest(choice.session_id, choice.source_id, choice.frame,
                          dict(choice.values))


def describe_preview(job: Job, worker_alive: bool, start_key: str) -> Text:
    """The caption over the pictures: what the preview job did, or that it is on its way."""
    frame = job.params.get("frame", "?")
    if job.status == JobStatus.DONE:
        message = (job.result or {}).get("message", f"frame {frame}")
        return Text(f"{message} · before | after (the after is marked synthetic)")
    if job.status == JobStatus.FAILED:
        return Text(f"frame {frame}: {job.error}", style="bold red")
    if job.status == JobStatus.CANCELLED:
        return Text(f"frame {frame}: the preview was cancelled; p renders it again")
    text = Text(f"rendering frame {frame}… (job {job.id}")
    text.append(", waiting for the worker)" if job.status == JobStatus.QUEUED else ")")
    if job.status == JobStatus.QUEUED and not worker_alive:
        text.append(f" · no worker is running: press {start_key} to start one",
                    style="bold yellow")
    return text


def drop_if_waiting(host: Host, job_id: int) -> None:
    """Cancel a preview job nobody will look at, unless the worker has it already."""
    with host.store() as conn:
        if jobs.get(conn, job_id).status == JobStatus.QUEUED:
            jobs.request_cancel(conn, job_id)


class ConvertPreview(Vertical):
    class Queued(Message, bubble=False):
        def __init__(self, asked_by: Worker, job: Job) -> None:
            super().__init__()
            self.asked_by, self.job = asked_by, job

    class Refused(Message, bubble=False):
        def __init__(self, asked_by: Worker, error: str) -> None:
            super().__init__()
            self.asked_by, self.error = asked_by, error

    def __init__(self) -> None:
        super().__init__(id="preview-box")
        self.border_title = "Preview"
        self.can_focus = True
        self.tooltip = ("One frame before and after, rendered again whenever a setting "
                        "changes. ←/→ step a frame, shift+←/→ ten, home/end go to the first "
                        "and last, p renders again.")
        self.job: Job | None = None         # the newest preview job asked for
        self.error: str | None = None       # why the newest request was refused
        self.pictures_of: int | None = None     # the preview job whose pictures are shown
        self.worker_alive = False
        self._read = False                  # whether a view of the store was shown yet
        self._choice: FormChoice | None = None
        self._last: PreviewRequest | None = None
        self._timer: Timer | None = None
        self._asking: Worker | None = None  # the newest request's; older answers are dropped

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-caption", markup=False)
        with Horizontal(id="pictures"):
            for side in ("before", "after"):
                with Vertical(classes="picture"):
                    yield Label(side, classes="picture-label")
                    yield Picture(self.host.thumbnail_renderer, id=f"{side}-picture",
                                  image_id=side)

    def want(self, choice: FormChoice) -> None:
        """The form changed: preview it once it stops changing (unless it has a problem)."""
        self._choice = choice
        if choice.problems:
            self.show_caption()
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._ask)

    def render_again(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._ask(again=True)

    def _ask(self, again: bool = False) -> None:
        request = preview_request(self._choice)
        if request is None or (request == self._last and not again):
            self.show_caption()
            return
        self._last = request
        self._asking = self.queue_preview(request, self.job.id if self.job else None)

    @work(thread=True, group="convert-preview", exclusive=True)
    def queue_preview(self, request: PreviewRequest, previous: int | None) -> None:
        """Queue the preview job (cancelling `previous` while it waits) and post what came
        of it; a request overtaken by a newer one queues nothing."""
        refused, job = "", None
        try:
            with self.host.store() as conn:
                if get_current_worker().is_cancelled:
                    return   # a newer request went first
                if previous is not None and jobs.get(conn, previous).status == JobStatus.QUEUED:
                    jobs.request_cancel(conn, previous)
                try:
                    params = preview_params(conn, sessions.get(conn, request.session_id),
                                            sources.get(conn, request.source_id),
                                            request.settings, request.frame)
                except ConvertRequestError as exc:
                    refused = str(exc)
                else:
                    job = jobs.get(conn, jobs.enqueue(conn, "convert_preview", params))
                    if self.host.auto_start_worker:
                        ensure_worker(self.host.project, conn)
        except (sessions.SessionError, sources.SourceNotFoundError, jobs.JobNotFoundError,
                sqlite3.Error, OSError) as exc:
            self.app.notify(f"no preview: {exc}", severity="error", markup=False)
            return
        asked_by = get_current_worker()
        self.post_message(self.Refused(asked_by, refused) if job is None
                          else self.Queued(asked_by, job))

    def on_convert_preview_queued(self, message: Queued) -> None:
        if message.asked_by is not self._asking:   # overtaken: nobody will look at it
            self.drop_waiting(message.job.id)
            return
        self.job, self.error = message.job, None
        self.show_caption()

    def on_convert_preview_refused(self, message: Refused) -> None:
        if message.asked_by is not self._asking:
            return
        self.job, self.error, self.pictures_of = None, message.error, None
        self._show_pictures(None, None)
        self.show_caption()

    def drop_waiting(self, job_id: int | None = None) -> None:
        """Cancel a preview job (by default the newest) that nobody will look at; the work
        runs on the app, so it outlives the screen."""
        job_id = job_id if job_id is not None else (self.job.id if self.job else None)
        if job_id is not None:
            host = self.host
            self.app.run_worker(lambda: drop_if_waiting(host, job_id), thread=True,
                                group="store")

    def show(self, view: ConvertView, pictures: tuple[Any, Any] | None) -> None:
        """The newest preview job's state, and its pictures (decoded) once rendered."""
        self._read = True
        found = view.preview_job
        if found is not None and self.job is not None and found.id == self.job.id:
            self.job = found
            if found.status == JobStatus.FAILED:
                self.pictures_of = None     # no stale pictures under its error
                self._show_pictures(None, None)
            elif pictures is not None:
                self.pictures_of = found.id
                self._show_pictures(*pictures)
        self.show_caption()

    def show_worker(self, alive: bool) -> None:
        self.worker_alive = alive
        self.show_caption()

    def _show_pictures(self, before: Any, after: Any) -> None:
        self.query_one("#before-picture", Picture).image = before
        self.query_one("#after-picture", Picture).image = after

    def show_caption(self) -> None:
        caption = self.query_one("#preview-caption", Static)
        choice = self._choice
        if not self._read:
            caption.update("reading the project…")
        elif choice is not None and choice.problems:
            caption.update(Text("not previewed: the form has a problem (below)",
                                style="bold red"))
        elif choice is None or choice.session_id is None:
            caption.update(NO_SESSION)
        elif choice.source_id is None:
            caption.update(NO_SOURCE)
        elif self.error is not None:
            caption.update(Text(self.error, style="bold red"))
        elif self.job is not None:
            caption.update(describe_preview(self.job, self.worker_alive,
                                            key_for(self.screen, "convert.start_worker", "w")))
