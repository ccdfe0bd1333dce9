"""The catalogue the TUI and the CLI read is the pipeline's own settings, up to date, and its
one conversion between flat and stored settings round-trips."""
from __future__ import annotations

import pytest

from pipeline.catalogue import render
from pipeline.convert.settings import ConvertSettings
from pipeline.train import models
from pipeline.train.settings import RunSettings
from store.requests.catalogue import CATALOGUE_FILE, load
from store.requests.options import OptionValueError


def test_the_catalogue_file_is_current() -> None:
    assert CATALOGUE_FILE.read_text(encoding="utf-8") == render(), (
        "store/requests/catalogue.json is out of date: run python -m pipeline.catalogue")


def test_every_registered_model_is_listed_with_its_options() -> None:
    catalogue = load()
    shipped = [name for name in models.model_names()
               if models.config_class(name).__module__.startswith("pipeline.")]
    assert sorted(catalogue.models) == shipped
    for name in shipped:
        assert [o.name for o in catalogue.model(name).options] == [
            o.name for o in models.describe_options(name)]


def test_every_setting_has_one_line_of_help_and_a_unique_name() -> None:
    catalogue = load()
    every = [o for entry in catalogue.models.values() for o in entry.options]
    for family in catalogue.families.values():
        names = [o.name for group in family.groups for o in group.options]
        assert len(names) == len(set(names)), family.name
        every += [o for group in family.groups for o in group.options]
    assert all(o.help and "\n" not in o.help for o in every)


def test_every_typed_setting_is_bounded_or_chosen() -> None:
    """A number or word with neither bounds nor choices is checked only by the worker."""
    free = {(family.name, o.name) for family in load().families.values()
            for group in family.groups for o in group.options
            if o.type != "bool" and o.bounds is None and o.choices is None}
    # a person's name, a frame range and a mask kind (any kind the project stores: xseg-NAME
    # too) are checked against the project when queued
    assert free == {("convert", "person"), ("convert", "frames"), ("convert", "mask"),
                    ("convert", "mask_and"), ("train", "mask_type")}


@pytest.mark.parametrize("name, text, value", [
    ("coverage", "0.8", 0.8), ("batch_size", "32", 32), ("warp", "no", False),
    ("mixed_precision", "ON", True), ("secondary", "none", None), ("centering", "head", "head"),
])
def test_typed_values_are_converted(name: str, text: str, value: object) -> None:
    assert load().train.option(name).parse(text) == value


@pytest.mark.parametrize("name, text, message", [
    ("batch_size", "2.5", "batch_size takes a whole number, not '2.5'"),
    ("batch_size", "-3", "batch_size is from 1 to 4096, not -3"),
    ("learning_rate", "-1", "learning_rate is from 1e-10 to 1, not -1"),
    ("warp", "perhaps", "warp takes yes or no, not 'perhaps'"),
    ("centering", "chin", "centering is one of face, head, legacy, not 'chin'"),
    ("loss", "none", "loss is one of ssim, mae, mse, ms_ssim, logcosh, gmsd, ffl, laploss, "
                     "l_inf, gradient_diff, smooth, not 'none'"),
])
def test_mistyped_values_are_refused_naming_the_setting(name: str, text: str,
                                                        message: str) -> None:
    with pytest.raises(OptionValueError, match=message) as refused:
        load().train.option(name).parse(text)
    assert refused.value.field == name


def test_train_settings_nest_as_the_trainer_stores_them_and_flatten_back() -> None:
    family = load().train
    flat = {"batch_size": 4, "coverage": 0.8, "warp": False, "optimizer": "adamw",
            "gan_power": 0.1}
    frozen, run = family.nest(flat)
    assert frozen == {"data": {"coverage": 0.8}, "loss": {}, "optimizer": {"optimizer": "adamw"}}
    assert run == {"batch_size": 4, "augment": {"warp": False}, "extras": {"gan_power": 0.1}}
    assert RunSettings.from_dict(run).augment.warp is False
    assert family.flatten(frozen, run) == flat
    stored = RunSettings().to_dict()
    assert family.nest(family.flatten({}, stored))[1] == stored


def test_convert_settings_are_stored_flat_and_merge_setting_by_setting() -> None:
    family = load().convert
    assert family.nest({"crf": 20, "colour": "rct"}) == ({}, {"crf": 20, "colour": "rct"})
    assert set(family.flatten({}, ConvertSettings().flat())) == set(ConvertSettings().flat())
    assert load().train.merge({"batch_size": 2, "augment": {"warp": True, "flip_chance": 0.5}},
                              {"augment": {"warp": False}}) == {
        "batch_size": 2, "augment": {"warp": False, "flip_chance": 0.5}}
