"""The catalogue the TUI and the CLI read is the trainer's own options, up to date."""
from __future__ import annotations

import pytest

from pipeline.train import models
from pipeline.train.catalogue import CATALOGUE_PATH, render
from store.requests.train_catalogue import OptionValueError, load


def test_the_catalogue_file_is_current() -> None:
    assert CATALOGUE_PATH.read_text(encoding="utf-8") == render(), (
        "store/requests/train_catalogue.json is out of date: run python -m pipeline.train.catalogue")


def test_every_registered_model_is_listed_with_its_options() -> None:
    catalogue = load()
    shipped = [name for name in models.model_names()
               if models.config_class(name).__module__.startswith("pipeline.")]
    assert sorted(catalogue.models) == shipped
    for name in shipped:
        assert [o.name for o in catalogue.model(name).options] == [
            o.name for o in models.describe_options(name)]
    every = [o for entry in catalogue.models.values() for o in entry.options]
    every += [o for group in catalogue.groups for o in group.options]
    assert all(o.help and "\n" not in o.help for o in every)


@pytest.mark.parametrize("name, text, value", [
    ("coverage", "0.8", 0.8), ("batch_size", "32", 32), ("warp", "no", False),
    ("mixed_precision", "ON", True), ("secondary", "none", None), ("centering", "head", "head"),
])
def test_typed_values_are_converted(name: str, text: str, value: object) -> None:
    assert load().setting(name)[1].parse(text) == value


@pytest.mark.parametrize("name, text, message", [
    ("batch_size", "2.5", "batch_size takes a whole number, not '2.5'"),
    ("warp", "perhaps", "warp takes yes or no, not 'perhaps'"),
    ("centering", "chin", "centering is one of face, head, legacy, not 'chin'"),
    ("loss", "none", "loss is one of ssim, mae, mse, ms_ssim, logcosh, gmsd, ffl, laploss, "
                     "l_inf, gradient_diff, smooth, not 'none'"),
])
def test_mistyped_values_are_refused(name: str, text: str, message: str) -> None:
    with pytest.raises(OptionValueError, match=message):
        load().setting(name)[1].parse(text)
