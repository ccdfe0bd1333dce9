"""Ask for media to add: a path (completed as you type) and an optional label; or for a
faceset made by faceswap or DeepFaceLab to import, the label naming its person."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from store.requests.media_kind import media_problem
from screens.widgets.path_input import SEPARATOR, PathInput


@dataclass(frozen=True)
class AddMediaResult:
    paths: tuple[Path, ...]
    label: str
    import_faces: bool = False   # faces made by faceswap or DeepFaceLab, not media to extract


def parse_paths(value: str) -> tuple[list[Path], list[str]]:
    """The paths typed (separated by " ; "), and an error line for each one that is missing or
    plainly not a video, an image or a folder of images."""
    paths = [Path(os.path.expanduser(part.strip())) for part in value.split(SEPARATOR)
             if part.strip()]
    if not paths:
        return [], ["type the path of a video, an image or a folder of images"]
    return paths, [problem for path in paths if (problem := media_problem(path))]


class AddMediaDialog(ModalScreen[AddMediaResult | None]):
    CSS_PATH = "add_media.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="add_media.cancel",
                tooltip="Close this dialog without adding anything"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Add media", id="title")
            yield Label("Path: a video, an image or a folder of images")
            path = PathInput(placeholder="~/videos/clip.mp4", id="path")
            path.tooltip = ("Tab or → takes the grey completion. Several paths: separate them "
                            f"with '{SEPARATOR.strip()}' surrounded by spaces.")
            yield path
            yield Static(id="error")
            yield Label("Label (optional): a name shown instead of the file name; for an "
                        "import, the person the faces are")
            label = Input(placeholder="e.g. person A, interview", id="label")
            label.tooltip = "Shown in the sources table instead of the file name"
            yield label
            with Horizontal(id="buttons"):
                add = Button("Add", variant="primary", id="add")
                add.tooltip = "Queue an ingest job for each path (enter in a field does the same)"
                yield add
                bring = Button("Import faceset", id="import")
                bring.tooltip = ("Bring in faces made by faceswap or DeepFaceLab: face PNGs, "
                                 "aligned JPGs, a folder of them, or an alignments file (.fsa) "
                                 "next to its video (swapdeck import)")
                yield bring
                cancel = Button("Cancel", id="cancel")
                cancel.tooltip = "Close without adding anything (escape)"
                yield cancel

    @on(Input.Submitted)
    @on(Button.Pressed, "#add")
    def submit(self) -> None:
        self._finish(import_faces=False)

    @on(Button.Pressed, "#import")
    def submit_import(self) -> None:
        self._finish(import_faces=True)

    def _finish(self, *, import_faces: bool) -> None:
        path_input = self.query_one("#path", PathInput)
        paths, errors = parse_paths(path_input.value)
        if import_faces:   # face images and alignments files: they need only to exist
            errors = [f"no such file or folder: {p}" for p in paths if not p.exists()] \
                if paths else errors
        if errors:
            self.query_one("#error", Static).update("\n".join(errors))
            path_input.add_class("-invalid")
            path_input.focus()
            return
        label = self.query_one("#label", Input).value.strip()
        self.dismiss(AddMediaResult(tuple(paths), label, import_faces))

    @on(Input.Changed, "#path")
    def clear_error(self) -> None:
        self.query_one("#error", Static).update("")
        self.query_one("#path", PathInput).remove_class("-invalid")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
