"""The worker's state in one line: alive with its heartbeat age, starting, or how to start
one."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from store.views.snapshot import Snapshot
from tui.format import describe_worker


class WorkerPanel(Static):
    DEFAULT_CSS = """
    WorkerPanel { height: auto; padding: 0 1; }
    """

    def __init__(self, start_key: str, *, id: str | None = None) -> None:
        super().__init__("reading the project...", id=id)
        self.start_key = start_key
        self.tooltip = ("The background worker runs the jobs. It keeps running after you quit "
                        f"swapdeck; press {start_key} to start one when none is running.")

    def show(self, snap: Snapshot) -> None:
        """Alive, starting (launched, no heartbeat yet: what the notice of its launch said)
        or not running, with the key that starts one."""
        text = Text()
        if snap.worker_alive:
            text.append("● worker ", style="bold green")
        elif snap.worker_starting:
            text.append("◐ worker ", style="bold yellow")
        else:
            text.append("○ worker ", style="bold red")
        text.append(describe_worker(snap.worker, snap.taken_at, snap.launch))
        if not snap.worker_alive and not snap.worker_starting:
            text.append(f"  press {self.start_key} to start one", style="bold")
        counts = ", ".join(f"{n} {status.label}" for status, n in snap.job_counts.items())
        text.append(f"\njobs: {counts}", style="dim")
        self.update(text)
