"""The Analysis screen's checkpoints table: every model file of the chosen session, live
newest first then archived, whether its file is whole, and where it lives; and the actions
that work on those files: restore one, verify them all.

Restore writes in a thread worker, which posts `CheckpointsTable.Restored` for the screen to
read the store again; verify only reads and tells the user.
"""
from __future__ import annotations

import sqlite3

from rich.text import Text
from textual import work
from textual.message import Message

from screens.dialogs.choose import ChooseDialog
from screens.dialogs.confirm import ConfirmDialog
from screens.widgets.measured_table import MeasuredTable
from screens.widgets.table_rows import Row, replace_rows, selected_key
from store import sessions
from store.files.session_files import FileState, verify
from store.files.session_restore import RestoreError, restore
from store.views.analysis import CheckpointState, SessionDetail
from tui.host import Host

COLUMNS = ("id", "kind", "iteration", "loss A", "loss B", "sha256", "file", "where")


def checkpoint_cells(found: CheckpointState) -> Row:
    checkpoint, state = found.checkpoint, found.state
    file = Text(state.value, style="" if state is FileState.OK else "bold red")
    where = (f"archive #{checkpoint.archive_id}" if checkpoint.archive_id is not None
             else "live")
    if found.restore_refusal is not None:
        where += " (kept only)"
    return (str(checkpoint.id), (str(checkpoint.id), checkpoint.kind,
                                 f"{checkpoint.iteration:,}", _loss(checkpoint.loss_a),
                                 _loss(checkpoint.loss_b), checkpoint.sha256[:12], file,
                                 where))


def _loss(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "-"


def restore_choices(detail: SessionDetail) -> list[CheckpointState]:
    """The checkpoints a restore may go back to: whole, restorable, and not the one the
    session stands on now (restoring it would change nothing)."""
    at_now = [c for c in detail.checkpoints if c.checkpoint.archive_id is None
              and c.checkpoint.iteration == detail.session.iteration]
    current = at_now[0] if len(at_now) == 1 else None
    return [c for c in detail.checkpoints if c.restore_refusal is None
            and c.state is FileState.OK and c is not current]


class CheckpointsTable(MeasuredTable):
    """The chosen session's checkpoints; it restores one and verifies them all."""

    class Restored(Message):
        """A restore changed the session: read it again."""

    def __init__(self, host: Host, *, id: str = "checkpoints") -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.add_columns(*COLUMNS)
        self.host = host

    def show(self, detail: SessionDetail | None) -> None:
        replace_rows(self, [checkpoint_cells(c) for c in detail.checkpoints]
                     if detail is not None else [])

    # --- restore -------------------------------------------------------------------------

    def restore(self, detail: SessionDetail, from_cursor: bool) -> None:
        """Offer the restorable checkpoints, the one under the cursor first when
        `from_cursor` (the table is shown), else the one the health check suggests."""
        choices = restore_choices(detail)
        if not choices:
            self.notify("no checkpoint of this session can be restored", severity="warning")
            return
        offer = detail.row.health.offer
        preferred = ((selected_key(self) if from_cursor else None)
                     or (str(offer.id) if offer is not None else None))
        options = [(str(c.checkpoint.id),
                    f"{c.checkpoint.label}" + (f" (archive #{c.checkpoint.archive_id})"
                                               if c.checkpoint.archive_id else ""))
                   for c in choices]
        self.app.push_screen(ChooseDialog(f"Restore {detail.session.name} to", options,
                                          preferred),
                             lambda chosen: self._restore_chosen(detail, chosen))

    def _restore_chosen(self, detail: SessionDetail, chosen: str | None) -> None:
        if chosen is None:
            return
        checkpoint = next(c.checkpoint for c in detail.checkpoints
                          if str(c.checkpoint.id) == chosen)
        session = detail.session
        body = (f"{session.name} goes back from iteration {session.iteration:,} to "
                f"{checkpoint.iteration:,}. The newer checkpoints, losses, metrics and "
                "previews are archived, not deleted: the newest archive can be restored "
                "back. Its file's hash is checked first.")
        self.app.push_screen(ConfirmDialog(f"Restore the {checkpoint.label}?", body,
                                           "y: restore"),
                             lambda yes: self.restore_checkpoint(session.id, checkpoint.id)
                             if yes else None)

    @work(thread=True, group="store")
    def restore_checkpoint(self, session_id: int, checkpoint_id: int) -> None:
        self.app.notify("checking the checkpoint's file, then restoring…")
        try:
            with self.host.store() as conn:
                done = restore(conn, self.host.project.models, sessions.get(conn, session_id),
                               checkpoint_id)
        except (RestoreError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not restored: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"restored the {done.checkpoint.label}; archived "
                        f"{done.archived_checkpoints} checkpoints and {done.archived_losses:,} "
                        f"loss rows as archive #{done.archive.id}", markup=False)
        self.post_message(self.Restored())

    # --- verify --------------------------------------------------------------------------

    @work(thread=True, group="analysis-verify", exclusive=True)
    def verify_files(self, detail: SessionDetail) -> None:
        """Read every model file of the session and check its hash (slow: whole files)."""
        self.app.notify(f"reading the {len(detail.checkpoints)} model files of "
                        f"{detail.session.name}…")
        models = self.host.project.models
        bad = [f"{c.checkpoint.label} (checkpoint {c.checkpoint.id}): {state.value}"
               for c in detail.checkpoints
               if (state := verify(models, c.checkpoint)) is not FileState.OK]
        if bad:
            self.app.notify("; ".join(bad), severity="error", markup=False, timeout=15)
        else:
            self.app.notify(f"all {len(detail.checkpoints)} model files of "
                            f"{detail.session.name} match their hashes", markup=False)
