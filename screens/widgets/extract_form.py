"""The Extract screen's settings form: the options of `swapdeck extract`, with their help,
checked as they are typed (the bad ones marked), and the CLI's two flags.

The settings and their help are store/requests/extract.py's; the form reads its text as the
command line reads its options.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Select, Static

from store.requests.catalogue import load
from store.requests.extract import (ALIGNERS, DETECTORS, HELP, MASKS, MAX_CROP, MIN_CROP,
                                    ExtractSettings)
from store.requests.options import OptionValueError
from screens.widgets.focus_mark import MarksFocusWithin
from screens.widgets.form_row import form_row
from screens.widgets.path_input import SEPARATOR, PathInput

FLAG_HELP = {  # the CLI's own words for its two flags that are not settings
    "skip_existing": "queue nothing for sources that were extracted before",
    "force": "throw away a source's faces and extract it again",
}
NUMBER_FIELDS = ("every-n", "size", "min-size", "detect-size", "threshold")   # Inputs, by id
CHECKED_FIELDS = (*NUMBER_FIELDS, "filter", "nfilter")


@dataclass(frozen=True)
class FormReading:
    """What the settings form asks for: the settings, or why there are none yet."""
    settings: ExtractSettings | None
    problems: tuple[str, ...]
    bad_fields: frozenset[str]


def split_paths(value: str) -> list[str]:
    """The paths typed in one input, separated by " ; " (none when it is blank)."""
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def read_form(values: dict[str, str], masks: Iterable[str], filters: Sequence[str],
              nfilters: Sequence[str]) -> FormReading:
    """Settings from the form's text (by field id), each number parsed and checked by its
    option in the catalogue, as the CLI's flags are."""
    family = load().extract
    problems: dict[str, str] = {}
    numbers: dict[str, object] = {}
    for field in NUMBER_FIELDS:
        try:
            numbers[field] = family.option(_setting(field)).parse(values[field])
        except OptionValueError as exc:
            problems[field] = str(exc)
    for field, photos in (("filter", filters), ("nfilter", nfilters)):
        for photo in photos:
            if not Path(photo).expanduser().is_file():
                problems[field] = f"--{field}: no such reference photo: {photo}"
    if problems:
        return FormReading(None, tuple(problems.values()), frozenset(problems))
    settings = ExtractSettings(
        **{_setting(field): value for field, value in numbers.items()},
        detector=values["detector"], aligner=values["aligner"],
        filter=tuple(str(Path(p).expanduser().resolve()) for p in filters),
        nfilter=tuple(str(Path(p).expanduser().resolve()) for p in nfilters),
        masks=tuple(masks),
    )
    wrong = settings.problems()
    return FormReading(None if wrong else settings, tuple(wrong), frozenset())


def _setting(field: str) -> str:
    """The setting a field (its id) holds."""
    return field.replace("-", "_")


class ExtractForm(MarksFocusWithin, VerticalScroll):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Settings (as swapdeck extract)"
        self.can_focus = False  # its fields take the focus; it scrolls to show them

    def compose(self) -> ComposeResult:
        defaults = ExtractSettings()
        yield form_row("every-n", "every n-th", HELP["every_n"],
                       _input("every-n", str(defaults.every_n), "integer"))
        yield form_row("detector", "detector", HELP["detector"],
                       _select("detector", DETECTORS, defaults.detector))
        yield form_row("aligner", "aligner", HELP["aligner"],
                       _select("aligner", ALIGNERS, defaults.aligner))
        yield form_row("size", "size (px)", HELP["size"],
                       _input("size", str(defaults.size), "integer",
                              placeholder=f"{MIN_CROP} to {MAX_CROP}"))
        yield form_row("min-size", "min size (%)", HELP["min_size"],
                       _input("min-size", f"{defaults.min_size:g}", "number"))
        yield form_row("detect-size", "detect size (px)", HELP["detect_size"],
                       _input("detect-size", str(defaults.detect_size), "integer",
                              placeholder="0: full frame"))
        with Horizontal(classes="field", id="masks-field"):
            yield Label("masks", classes="name")
            with Horizontal(classes="control", id="masks"):
                for mask in MASKS:
                    yield Checkbox(mask, mask in defaults.masks, id=f"mask-{mask}",
                                   compact=True, tooltip=f"store the {mask} mask")
            yield Static(HELP["masks"].partition(",")[0], classes="help", markup=False)
        yield form_row("filter", "filter", HELP["filter"], _paths("filter"))
        yield form_row("nfilter", "nfilter", HELP["nfilter"], _paths("nfilter"))
        yield form_row("threshold", "threshold", HELP["threshold"],
                       _input("threshold", f"{defaults.threshold:g}", "number"))
        yield form_row("skip-existing", "skip existing", FLAG_HELP["skip_existing"],
                       Checkbox("skip extracted", id="skip-existing", compact=True))
        yield form_row("force", "force", FLAG_HELP["force"],
                       Checkbox("start over", id="force", compact=True))

    def check(self) -> FormReading:
        """Read the settings, marking the fields that are wrong."""
        values = {field: self.query_one(f"#{field}", Input).value for field in NUMBER_FIELDS}
        for field in ("detector", "aligner"):
            values[field] = str(self.query_one(f"#{field}", Select).value)
        masks = [mask for mask in MASKS if self.query_one(f"#mask-{mask}", Checkbox).value]
        reading = read_form(values, masks,
                            split_paths(self.query_one("#filter", PathInput).value),
                            split_paths(self.query_one("#nfilter", PathInput).value))
        for field in CHECKED_FIELDS:
            self.query_one(f"#{field}", Input).set_class(field in reading.bad_fields,
                                                         "-invalid")
        return reading

    @property
    def force(self) -> bool:
        return self.query_one("#force", Checkbox).value

    @property
    def skip_existing(self) -> bool:
        return self.query_one("#skip-existing", Checkbox).value


def _input(field_id: str, value: str, kind: str, placeholder: str = "") -> Input:
    restrict = r"[0-9]*" if kind == "integer" else r"[0-9.]*"
    return Input(value, placeholder or kind, id=field_id, restrict=restrict, compact=True)


def _select(field_id: str, choices: Sequence[str], value: str) -> Select[str]:
    return Select([(choice, choice) for choice in choices], value=value, allow_blank=False,
                  id=field_id, compact=True)


def _paths(field_id: str) -> PathInput:
    path_input = PathInput(placeholder=f"photo.jpg{SEPARATOR}another.png", id=field_id)
    path_input.compact = True
    return path_input
