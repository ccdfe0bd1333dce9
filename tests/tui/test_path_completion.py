"""Path completion for the add-media dialog's input."""
from __future__ import annotations

from pathlib import Path

import pytest

from screens.widgets.path_input import PathSuggester, complete_path


@pytest.fixture
def media(tmp_path: Path) -> Path:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "interview.mp4").touch()
    (tmp_path / "take_one.mp4").touch()
    (tmp_path / "take_two.mp4").touch()
    (tmp_path / ".hidden").touch()
    return tmp_path


def test_a_unique_prefix_completes_to_the_file(media: Path) -> None:
    assert complete_path(f"{media}/videos/int") == f"{media}/videos/interview.mp4"


def test_a_unique_folder_completes_with_a_slash(media: Path) -> None:
    assert complete_path(f"{media}/vid") == f"{media}/videos/"


def test_several_matches_complete_to_their_common_prefix(media: Path) -> None:
    assert complete_path(f"{media}/ta") == f"{media}/take_"
    assert complete_path(f"{media}/take_") is None


def test_no_match_and_missing_folders_give_nothing(media: Path) -> None:
    assert complete_path(f"{media}/zzz") is None
    assert complete_path(f"{media}/nowhere/a") is None
    assert complete_path("") is None


def test_hidden_names_only_when_asked_for(media: Path) -> None:
    assert complete_path(f"{media}/") is None  # videos/, take_one, take_two: no common prefix
    assert complete_path(f"{media}/.h") == f"{media}/.hidden"


def test_home_is_expanded_but_kept_as_typed(media: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(media))
    assert complete_path("~/vid") == "~/videos/"
    assert complete_path("~") == "~/"


def test_the_last_of_several_paths_is_completed(media: Path) -> None:
    assert complete_path(f"a.mp4 ; {media}/vid") == f"a.mp4 ; {media}/videos/"


async def test_the_suggester_reads_the_folder_each_time(media: Path) -> None:
    suggester = PathSuggester()
    assert await suggester.get_suggestion(f"{media}/videos/int") == f"{media}/videos/interview.mp4"
    (media / "videos" / "intro.mp4").touch()
    assert await suggester.get_suggestion(f"{media}/videos/int") is None  # "interview", "intro"
