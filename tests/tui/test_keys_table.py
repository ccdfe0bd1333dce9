"""Every key of the TUI is documented: `swapdeck keys` prints a table per screen from the
bindings themselves, and the README carries exactly those tables."""
from __future__ import annotations

from textual.binding import Binding

from tests.cli_subprocess import swapdeck
from tests.paths import REPO
from tui.keymap import bound_classes
from tui.keys_table import markdown

START = "<!-- keys: from `swapdeck keys`; tests/tui/test_keys_table.py keeps them equal -->\n"
END = "<!-- /keys -->"


def test_the_readme_carries_the_tables_swapdeck_keys_prints() -> None:
    readme = (REPO / "README.md").read_text()
    assert START in readme and END in readme, "the README has no generated Keys section"
    section = readme[readme.index(START) + len(START):readme.index(END)]
    printed = swapdeck("keys").stdout   # its own process: no test's classes are loaded there
    assert section == printed, (
        "the README's key tables are out of date: paste the output of `swapdeck keys` "
        "between its keys markers")


def test_every_key_of_every_screen_and_dialog_is_in_the_tables() -> None:
    tables = markdown()
    missing = [f"{binding.id} ({key})" for cls in bound_classes()
               for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", []))
               if binding.id for key in binding.key.split(",")
               if f"`{key.strip()}`" not in tables or f"`{binding.id}`" not in tables]
    assert not missing, f"keys missing from the tables: {', '.join(missing)}"
    for title in ("Everywhere", "Dashboard", "Faces", "Train", "Analysis", "Convert"):
        assert f"**{title}**" in tables
