"""Resume a session: change its per-run settings, see the frozen ones, and go.

The per-run settings (run and augmentation: learning rate, batch size, target iterations,
augmentation switches...) are form rows showing the values a resume trains with unless
changed (store/sessions_baseline.py, as `swapdeck resume` resumes; a blank field's
placeholder shows that value too); the frozen ones (model, its options, data and loss
settings) are listed, not editable. The dialog returns only the settings that differ, as
`swapdeck resume` takes them.
"""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Select, Static

from store import sessions
from store.requests.catalogue import load
from store.requests.train import describe_settings
from store.sessions_baseline import resume_baseline
from screens.widgets.settings_form import option_field, read_form

PREFIX = "resume"


class ResumeDialog(ModalScreen[dict[str, object] | None]):
    DEFAULT_CSS = """
    ResumeDialog { align: center middle; }
    ResumeDialog > Vertical {
        width: 90%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    ResumeDialog #resume-form { height: 1fr; }
    ResumeDialog .group { margin-top: 1; text-style: bold; }
    ResumeDialog #frozen { color: $text-muted; }
    ResumeDialog #resume-problems { height: auto; }
    ResumeDialog .field { height: auto; }
    ResumeDialog .field .name { width: 20; }
    ResumeDialog .field .control { width: 24; height: auto; }
    ResumeDialog .field .help { width: 1fr; color: $text-muted; }
    ResumeDialog .dialog-help { color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+r", "resume", "Resume", id="resume.go", priority=True,
                tooltip="Queue the train job that continues the session with these settings"),
        Binding("escape", "cancel", "Cancel", id="resume.cancel",
                tooltip="Close the dialog without resuming"),
    ]

    def __init__(self, session: sessions.Session, starts_at: str) -> None:
        super().__init__()
        self.session = session
        self.starts_at = starts_at
        self.groups = [group for group in load().train.groups if not group.frozen]
        self.baseline = resume_baseline(session)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Resume {self.session.name} from {self.starts_at}", markup=False)
            with VerticalScroll(id="resume-form"):
                for group in self.groups:
                    yield Label(group.help, classes="group", markup=False)
                    for option in group.options:
                        yield option_field(PREFIX, option, self.baseline[option.name])
                yield Label("Frozen in the session (start a new session to change them)",
                            classes="group")
                yield Static("\n".join(describe_settings(self.session)[0]), id="frozen",
                             markup=False)
            yield Static("", id="resume-problems", markup=False)
            yield Label("tab: next setting · ctrl+r: resume · escape: cancel",
                        classes="dialog-help")

    def on_mount(self) -> None:
        self.focus_next()
        self.changed()

    def reading(self) -> tuple[dict[str, object], list[str]]:
        """The settings that differ from the session's, and what is wrong (the fields marked)."""
        options = [option for group in self.groups for option in group.options]
        values, problems = read_form(self, PREFIX, options, self.baseline)
        target = values.get("iterations", self.baseline.get("iterations"))
        if isinstance(target, int) and target <= self.session.iteration:
            problems["iterations"] = (f"iterations is the session's total: raise it above "
                                      f"{self.session.iteration:,} to train further")
            self.query_one(f"#{PREFIX}-iterations").add_class("-invalid")
        return values, list(problems.values())

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def changed(self) -> None:
        values, problems = self.reading()
        shown = self.query_one("#resume-problems", Static)
        if problems:
            shown.update("; ".join(problems))
            shown.styles.color = "red"
        else:
            changes = ", ".join(f"{k}={v}" for k, v in values.items()) or "no changes"
            shown.update(f"resume with {changes}")
            shown.styles.color = "green"

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    def action_resume(self) -> None:
        values, problems = self.reading()
        if problems:
            self.notify("not resumed: " + "; ".join(problems), severity="error", markup=False)
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)
