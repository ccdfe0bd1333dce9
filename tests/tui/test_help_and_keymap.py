"""The help screen lists every binding by id; users remap keys by id from config.toml."""
from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable

import screens
from screens.dashboard import DashboardScreen
from screens.dialogs.add_media import AddMediaDialog
from screens.help import HelpScreen
from store.project import Project
from tui.app import SwapdeckApp
from tui.keymap import check_keymap, is_valid_key, remappable_ids

SIZE = (140, 45)


def help_rows(app: SwapdeckApp) -> dict[str, tuple[str, str, str]]:
    """Binding id -> (where, keys, description), as the help screen shows them."""
    table = app.screen.query_one("#bindings", DataTable)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return {row[2]: (row[0], row[1], row[3]) for row in rows if row[2]}


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text)
        monkeypatch.setenv("SWAPDECK_CONFIG", str(path))
        return path
    return write


async def test_help_lists_every_binding_with_its_id(project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        rows = help_rows(app)
        assert rows["dashboard.add_media"] == ("Dashboard", "a", "Add media")
        assert rows["dashboard.cancel_job"][1] == "c"
        assert rows["dashboard.start_worker"][1] == "w"
        assert rows["dashboard.focus_next"][1] == "tab"
        assert rows["app.quit"] == ("Everywhere", "q", "Quit")
        assert rows["app.help"][1] == "?"
        assert rows["app.command_palette"][1] == "^p"
        assert rows["help.close"][1] == "esc, q, ?"
        declared = {b.id for cls in (SwapdeckApp, DashboardScreen) for b in cls.BINDINGS}
        assert declared <= set(rows)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_keys_are_remapped_by_id_from_the_config_file(
        project: Project, config_file, wait_for) -> None:
    config_file('[keys]\n"dashboard.add_media" = "ctrl+a"\n')
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        assert "press ^a to add" in str(app.screen.query_one("SourcesPanel .empty").render())
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddMediaDialog), what="the dialog")
        await pilot.press("escape", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        assert help_rows(app)["dashboard.add_media"][1] == "^a"


async def test_a_bad_config_is_reported_and_the_rest_applied(
        project: Project, config_file, wait_for) -> None:
    path = config_file('[keys]\n"dashboard.nope" = "x"\n"app.help" = "ctrl+bogus"\n'
                       '"dashboard.start_worker" = "f5"\n')
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        toasts = await wait_for(pilot, lambda: list(app.screen.query("Toast")),
                                what="a notification")
        text = str(toasts[0].render())
        assert str(path) in text
        assert "unknown binding id 'dashboard.nope'" in text
        assert "app.help: not a key Textual knows: 'ctrl+bogus'" in text
        assert app.key_overrides == {"dashboard.start_worker": "f5"}
        assert isinstance(app.screen, DashboardScreen)


async def test_a_config_that_is_not_toml_is_reported(project: Project, config_file,
                                                     wait_for) -> None:
    config_file("[keys\n")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        toasts = await wait_for(pilot, lambda: list(app.screen.query("Toast")),
                                what="a notification")
        assert "not valid TOML" in str(toasts[0].render())
        assert app.key_overrides == {}


class BrandNewScreen(Screen[None]):
    """A screen that no list names: its binding is remappable all the same."""

    BINDINGS = [Binding("z", "zap", "Zap", id="brand_new.zap", tooltip="Zap")]
    zapped = False

    def action_zap(self) -> None:
        self.zapped = True


async def test_a_new_screen_binding_is_remappable_without_being_listed(
        project: Project, config_file, wait_for) -> None:
    config_file('[keys]\n"brand_new.zap" = "ctrl+z"\n')
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        assert app.key_overrides == {"brand_new.zap": "ctrl+z"}
        await pilot.pause()
        assert not list(app.screen.query("Toast"))  # no "unknown binding id"
        screen = BrandNewScreen()
        await app.push_screen(screen)
        await pilot.press("z")
        assert not screen.zapped
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: screen.zapped, what="the remapped key")


@pytest.fixture
def unimported_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A package whose one module (a dialog with a binding id) nothing has imported yet."""
    package = tmp_path / "later_screens"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "later.py").write_text(textwrap.dedent("""
        from textual.binding import Binding
        from textual.screen import ModalScreen

        class LaterDialog(ModalScreen[None]):
            BINDINGS = [Binding("y", "yes", "Yes", id="later.yes")]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import later_screens
    try:
        yield later_screens
    finally:
        for name in ("later_screens", "later_screens.later"):
            sys.modules.pop(name, None)


def test_a_module_nobody_imports_is_walked_for_its_bindings(
        unimported_package: ModuleType) -> None:
    assert "later_screens.later" not in sys.modules
    ids = remappable_ids([screens, unimported_package])
    assert "later.yes" in ids
    assert {"app.quit", "dashboard.add_media", "faces.left", "detail.close", "choose.cancel",
            "brand_new.zap"} <= ids


@pytest.mark.parametrize("key", ["a", "?", "question_mark", "ctrl+a", "ctrl+shift+f5", "tab",
                                 "escape", "slash", "minus", "space", "pageup", "alt+enter"])
def test_keys_textual_knows(key: str) -> None:
    assert is_valid_key(key)


@pytest.mark.parametrize("key", ["", "ctrl+", "ctrl+bogus", "cmd+a", "sapce"])
def test_keys_textual_does_not_know(key: str) -> None:
    assert not is_valid_key(key)


def test_check_keymap_keeps_good_entries_and_explains_bad_ones() -> None:
    good, problems = check_keymap(
        {"dashboard.add_media": "ctrl+a, f2", "nope": "x", "app.help": 3},
        {"dashboard.add_media", "app.help"},
    )
    assert good == {"dashboard.add_media": "ctrl+a,f2"}
    assert problems == [
        "unknown binding id 'nope' (see the help screen, ?, for ids)",
        'app.help: the key must be a non-empty string like "ctrl+a"',
    ]
