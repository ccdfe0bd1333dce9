"""Every setting with bounds or choices refuses a bad value on the command line before
anything is queued: exit 2, and a message naming the setting, what it allows and the value.
Generated from the catalogue, so a new setting is covered as soon as it is declared."""
from __future__ import annotations

from pathlib import Path

import pytest

from store import jobs
from store.project import create_project, open_project
from store.requests.catalogue import load
from store.requests.options import Option
from tui.cli.main import main


def checked(family: str, frozen: bool | None = None) -> list[Option]:
    """The options of `family` with bounds or choices (only frozen, or only per-run, ones
    when `frozen` is given); a yes/no setting cannot be given a bad value."""
    return [option for group in load().families[family].groups
            if frozen is None or group.frozen == frozen
            for option in group.options
            if option.type != "bool" and (option.bounds or option.choices)]


def bad_text(option: Option) -> str:
    return option.show(option.out_of_range())


@pytest.fixture(scope="module")
def project_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_project(tmp_path_factory.mktemp("refusals") / "p").root


def refused(capsys: pytest.CaptureFixture, project: Path, argv: list[str],
            option: Option) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert option.name in error and bad_text(option) in error, error
    allowed = (f"from {option.bounds[0]:g} to {option.bounds[1]:g}" if option.bounds
               else "is one of")
    assert allowed in error, error
    with open_project(project).connection() as conn:
        assert jobs.list_jobs(conn) == []


@pytest.mark.parametrize("option", checked("train"), ids=lambda o: o.name)
def test_train_refuses(option: Option, project_folder: Path, capsys) -> None:
    refused(capsys, project_folder, ["train", str(project_folder), option.flag,
                                     bad_text(option), "--no-worker"], option)


@pytest.mark.parametrize("option", checked("train", frozen=False), ids=lambda o: o.name)
def test_resume_refuses(option: Option, project_folder: Path, capsys) -> None:
    refused(capsys, project_folder, ["resume", str(project_folder), "1", option.flag,
                                     bad_text(option), "--no-worker"], option)


@pytest.mark.parametrize("option", checked("convert"), ids=lambda o: o.name)
def test_convert_refuses(option: Option, project_folder: Path, capsys) -> None:
    refused(capsys, project_folder, ["convert", str(project_folder), "1", "1", option.flag,
                                     bad_text(option), "--no-worker"], option)


@pytest.mark.parametrize("option", checked("extract"), ids=lambda o: o.name)
def test_extract_refuses(option: Option, project_folder: Path, capsys) -> None:
    refused(capsys, project_folder, ["extract", str(project_folder), "1", option.flag,
                                     bad_text(option), "--no-worker"], option)


@pytest.mark.parametrize("flag, text", [("--batch-size", "-3"), ("--learning-rate", "-1"),
                                        ("--lr", "-1")])
@pytest.mark.parametrize("command", ["train", "resume"])
def test_the_issues_examples_are_refused(command: str, flag: str, text: str,
                                         project_folder: Path, capsys) -> None:
    argv = [command, str(project_folder), *(["1"] if command == "resume" else []), flag, text]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert f"not {text}" in capsys.readouterr().err


def test_model_options_are_checked_too(project_folder: Path, capsys) -> None:
    options = [(name, option) for name, entry in load().models.items()
               for option in entry.options
               if option.type != "bool" and (option.bounds or option.choices)]
    assert options
    for model, option in options:
        code = main(["train", str(project_folder), "--model", model, "-O",
                     f"{option.name}={bad_text(option)}", "--no-worker"])
        error = capsys.readouterr().err
        assert code == 2 and option.name in error and bad_text(option) in error, error
    with open_project(project_folder).connection() as conn:
        assert jobs.list_jobs(conn) == []
