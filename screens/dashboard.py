"""The project at a glance: worker, sources, job queue and event log; add media, cancel and
retry jobs; release or cancel the jobs held because they were queued elsewhere."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import cast

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header

from screens.alignments import AlignmentsScreen
from screens.analysis import AnalysisScreen
from screens.dashboard_keys import DASHBOARD_BINDINGS
from screens.convert import ConvertScreen
from screens.dialogs.add_media import AddMediaDialog, AddMediaResult
from screens.extract import ExtractScreen
from screens.faces import FacesScreen
from screens.train import TrainScreen
from store import jobs
from store.jobs import Job, JobStatus
from store.views.snapshot import Snapshot
from store.errors import RequestError
from store.requests.ingest import checked_ingest_params
from store.requests.interop import import_params
from tui.format import cancel_outcome
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from tui.printable import printable
from screens.widgets.event_log import EventLog
from screens.widgets.held_panel import HeldPanel
from screens.widgets.jobs_panel import JobsPanel
from screens.widgets.keys_footer import KeysFooter
from screens.widgets.sources_panel import SourcesPanel
from screens.widgets.worker_panel import WorkerPanel


class DashboardScreen(Screen[None]):
    CSS_PATH = "dashboard.tcss"
    BINDINGS = DASHBOARD_BINDINGS

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield WorkerPanel(key_for(self, "dashboard.start_worker", "w"), id="worker")
        with Vertical(id="held-box") as box:
            box.border_title = "Held jobs"
            yield HeldPanel(id="held")
        with Vertical(id="sources-box") as box:
            box.border_title = "Sources"
            yield SourcesPanel(key_for(self, "dashboard.add_media", "a"), id="sources")
        with Vertical(id="jobs-box") as box:
            box.border_title = "Jobs"
            box.border_subtitle = f"{key_for(self, 'dashboard.focus_events', 'e')}: events"
            yield JobsPanel(id="jobs")
        with Vertical(id="events-box") as box:
            box.border_title = "Events"
            box.border_subtitle = f"{key_for(self, 'dashboard.focus_jobs', 'j')}: jobs"
            yield EventLog(id="events")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self.show_snapshot)

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        with self.app.batch_update():
            self.query_one(WorkerPanel).show(snap)
            self.query_one(SourcesPanel).show(snap)
            self.query_one(JobsPanel).show(snap, key_for(self, "dashboard.retry_job", "y"))
            self.query_one(EventLog).show(snap)
            self._show_held(snap)

    def _show_held(self, snap: Snapshot) -> None:
        """Show the held jobs (focused when they first appear), with their keys in the footer
        only while there are some."""
        box = self.query_one("#held-box")
        appeared = bool(snap.held) and not box.display
        self.query_one(HeldPanel).show(snap)
        if bool(snap.held) != box.display:
            box.display = bool(snap.held)
            self.set_class(box.display, "-held")
            self.refresh_bindings()
        count = len(snap.held)
        box.border_title = (f"{count} held job{'s' * (count != 1)}: queued elsewhere, "
                            "nothing runs until you release it")
        box.border_subtitle = (f"{key_for(self, 'dashboard.release_held', 'r')} release  "
                               f"{key_for(self, 'dashboard.cancel_held', 'd')} cancel  "
                               f"{key_for(self, 'dashboard.release_all_held', 'R')} release all")
        if appeared:
            self.query_one("#held-list").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The held jobs' keys exist only while jobs are held."""
        if action in ("release_held", "cancel_held", "release_all_held"):
            panels = self.query(HeldPanel)
            return bool(panels and panels.first().entries)
        return True

    def action_focus_panel(self, widget_id: str) -> None:
        """Focus a panel's widget; one hidden by its empty state is skipped. In a short
        terminal the jobs and the events share their place: focusing one shows it."""
        if widget_id in ("events", "jobs-table"):
            self.set_class(widget_id == "events", "-events-shown")
        widget = self.query_one(f"#{widget_id}")
        if widget.display:
            widget.focus()

    def action_add_media(self) -> None:
        self.app.push_screen(AddMediaDialog(), self._add_media)

    def action_extract(self) -> None:
        self.app.push_screen(ExtractScreen())

    def action_faces(self) -> None:
        self.app.push_screen(FacesScreen())

    def action_alignments(self) -> None:
        source_id = self.query_one(SourcesPanel).chosen_source
        if source_id is None:
            self.notify("no source to review: add one (a) and extract it (x)",
                        severity="warning")
        else:
            self.app.push_screen(AlignmentsScreen(source_id))

    def action_train(self) -> None:
        self.app.push_screen(TrainScreen())

    def action_analysis(self) -> None:
        self.app.push_screen(AnalysisScreen())

    def action_convert(self) -> None:
        self.app.push_screen(ConvertScreen())

    def _add_media(self, result: AddMediaResult | None) -> None:
        if result is not None and result.import_faces:
            self.enqueue_import(result.paths, result.label or None)
        elif result is not None:
            self.enqueue_ingest(result.paths, result.label)

    @work(thread=True, group="store")
    def enqueue_import(self, paths: Iterable[Path], person: str | None) -> None:
        """Faces made by faceswap or DeepFaceLab, one import job per path."""
        try:
            with self.host.store() as conn:
                params = import_params(conn, [str(p) for p in paths], person, None)
                job_ids = jobs.enqueue_many(conn, "import", params)
                if self.host.auto_start_worker:
                    ensure_worker(self.host.project, conn)
        except (RequestError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"could not import: {exc}", severity="error", markup=False)
            return
        for job_id, p in zip(job_ids, params):
            self.app.notify(f"queued import job {job_id}: {p['path']}", markup=False)

    @work(thread=True, group="store")
    def enqueue_ingest(self, paths: Iterable[Path], label: str) -> None:
        try:
            params = [checked_ingest_params(path, label) for path in paths]
            with self.host.store() as conn:
                job_ids = jobs.enqueue_many(conn, "ingest", params)
                pid = None
                if self.host.auto_start_worker:
                    pid = ensure_worker(self.host.project, conn)
        except (RequestError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"could not add: {exc}", severity="error", markup=False)
            return
        for job_id, p in zip(job_ids, params):
            self.app.notify(f"queued ingest job {job_id}: {p['path']}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")

    def _chosen_job(self, allowed: tuple[JobStatus, ...], refusal: str) -> Job | None:
        """The jobs table's selected job when its status is one of `allowed`; otherwise a
        warning (`refusal`, formatted with the job and its status) and None."""
        job = self.query_one(JobsPanel).selected_job
        if job is None:
            self.notify("no job selected: move to the jobs table (tab) and pick one",
                        severity="warning")
        elif job.status not in allowed:
            self.notify(refusal.format(job=job, status=job.status.label), severity="warning")
        else:
            return job
        return None

    def action_cancel_job(self) -> None:
        if job := self._chosen_job((JobStatus.QUEUED, JobStatus.RUNNING),
                                   "job {job.id} is already {status}"):
            self.cancel_job(job.id)

    @work(thread=True, group="store")
    def cancel_job(self, job_id: int) -> None:
        try:
            with self.host.store() as conn:
                status = jobs.request_cancel(conn, job_id)
        except (jobs.JobNotFoundError, sqlite3.Error) as exc:
            self.app.notify(f"could not cancel job {job_id}: {exc}", severity="error",
                            markup=False)
            return
        finished = status not in (JobStatus.QUEUED, JobStatus.RUNNING)
        self.app.notify(cancel_outcome(job_id, status),
                        severity="warning" if finished else "information")

    def action_retry_job(self) -> None:
        if job := self._chosen_job((JobStatus.FAILED, JobStatus.CANCELLED),
                                   "job {job.id} is {status}: only a failed or cancelled job "
                                   "can be run again"):
            self.retry_job(job.id)

    @work(thread=True, group="store")
    def retry_job(self, job_id: int) -> None:
        try:
            with self.host.store() as conn:
                new_id = jobs.retry(conn, job_id)
        except (ValueError, jobs.JobNotFoundError, sqlite3.Error) as exc:
            self.app.notify(f"could not retry job {job_id}: {exc}", severity="error",
                            markup=False)
            return
        self.app.notify(f"queued job {job_id} again as job {new_id}")

    def action_release_held(self) -> None:
        if (entry := self.query_one(HeldPanel).selected) is not None:
            self.release_held([entry.job.id])

    def action_release_all_held(self) -> None:
        self.release_held([entry.job.id for entry in self.query_one(HeldPanel).entries])

    def action_cancel_held(self) -> None:
        if (entry := self.query_one(HeldPanel).selected) is not None:
            self.cancel_job(entry.job.id)

    @work(thread=True, group="store")
    def release_held(self, job_ids: list[int]) -> None:
        try:
            with self.host.store() as conn:
                released = jobs.release_held(conn, job_ids)
        except (jobs.JobNotFoundError, sqlite3.Error) as exc:
            self.app.notify(f"could not release: {exc}", severity="error", markup=False)
            return
        if released:
            self.app.notify(f"released job{'s' * (len(released) > 1)} "
                            f"{', '.join(map(str, released))}: the worker takes "
                            f"{'them' if len(released) > 1 else 'it'} next")
        else:
            self.app.notify("nothing released: those jobs are no longer held",
                            severity="warning")

    def action_start_worker(self) -> None:
        self.host.start_worker()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Commands that depend on what the dashboard shows: one per job that can be cancelled."""
        panel = self.query_one(JobsPanel)
        selected = panel.selected_job
        active = panel.active_jobs
        if selected in active:
            active.remove(selected)
            active.insert(0, selected)
        for entry in self.query_one(HeldPanel).entries:
            job = entry.job
            yield SystemCommand(printable(f"Release held job {job.id}: {job.kind}"),
                                printable(f"queued on {entry.where}; {entry.targets.summary()}"),
                                partial(self.release_held, [job.id]))
        for job in active:
            yield SystemCommand(
                f"Cancel job {job.id}: {job.kind} {_target(job)}",
                f"{job.status.label}{' (selected)' if job is selected else ''}; "
                "a running job stops at its next unit of work",
                partial(self.cancel_job, job.id),
            )


def _target(job: Job) -> str:
    return Path(str(job.params.get("path", ""))).name
