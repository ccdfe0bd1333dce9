"""Reading config.toml: defaults when absent, a clear problem (never an exception) when broken."""
from __future__ import annotations

from pathlib import Path

import pytest

from tui.config import config_path, load_config


def test_no_file_means_defaults_and_no_complaint(tmp_path: Path) -> None:
    config = load_config()
    assert config.path == tmp_path / "xdg-config" / "swapdeck" / "config.toml"
    assert config.keys == {} and config.problems == ()


def test_the_environment_variable_names_the_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[keys]\n"app.quit" = "ctrl+x"\n')
    monkeypatch.setenv("SWAPDECK_CONFIG", str(path))
    assert config_path() == path
    assert load_config().keys == {"app.quit": "ctrl+x"}


def test_dotted_ids_may_be_quoted_or_not(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keys]\n"app.quit" = "ctrl+x"\ndashboard.add_media = "f2"\n'
                    '[keys.help]\nclose = "f10"\n')
    assert load_config(path).keys == {"app.quit": "ctrl+x", "dashboard.add_media": "f2",
                                      "help.close": "f10"}


def test_a_named_file_that_is_missing_is_a_problem(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWAPDECK_CONFIG", str(tmp_path / "missing.toml"))
    assert load_config().problems == (f"{tmp_path / 'missing.toml'}: no such config file",)


@pytest.mark.parametrize("text, problem", [
    ("[keys\n", "not valid TOML"),
    ("keys = 3\n", "[keys] must be a table"),
    (b"\xff\xfe", "cannot read it"),
])
def test_broken_files_become_problems(tmp_path: Path, text, problem: str) -> None:
    path = tmp_path / "config.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    config = load_config(path)
    assert config.keys == {}
    assert len(config.problems) == 1 and problem in config.problems[0]
