"""Every job's settings as data, for the TUI and the CLI, which may not import torch.

`python -m pipeline.catalogue` writes store/requests/catalogue.json from the model registry
and the settings dataclasses of training and conversion, with their groups, in the order
the CLI and the forms show them; a test fails when the file is out of date. The extract
family is a store dataclass, described by the store itself.
"""
from __future__ import annotations

import inspect
import json
import sys
from typing import Any

from pipeline.convert.settings import GROUPS as CONVERT_GROUPS
from pipeline.train import models
from pipeline.train.augment import AugmentSettings
from pipeline.train.data_settings import DataSettings
from pipeline.train.extras import ExtrasSettings
from pipeline.train.losses import LossSettings
from pipeline.train.optimizers import OptimizerSettings
from pipeline.train.settings import RunSettings
from store.requests.catalogue import CATALOGUE_FILE, Group
from store.requests.options import describe_fields

# (name, settings class, frozen in the session's config, nested under its name in a session's
# settings, what the group is)
TRAIN_GROUPS = (
    ("data", DataSettings, True, True, "How the training faces are cut and masked"),
    ("loss", LossSettings, True, True, "How the model's faces are scored"),
    ("optimizer", OptimizerSettings, True, True,
     "The optimizer (frozen: its saved state fits only the optimizer that made it)"),
    ("run", RunSettings, False, False, "This run: length, batch, optimizer and saving"),
    ("augment", AugmentSettings, False, True, "Random changes made to the training faces"),
    ("extras", ExtrasSettings, False, True,
     "DeepFaceLab's extras: true face, GAN, face and background style, colour transfer"),
)


def _group(name: str, cls: type, frozen: bool, nested: bool, text: str) -> dict[str, Any]:
    return Group(name, frozen, text, describe_fields(cls), nested).to_json()


def build() -> dict[str, Any]:
    """The catalogue of the models this package registers (not ones tests add)."""
    registered = {name: models.registry.config_class(name) for name in models.model_names()}
    return {
        "schema": 2,
        "families": {
            "train": {"groups": [_group(*group) for group in TRAIN_GROUPS]},
            "convert": {"groups": [_group(name, cls, False, False, text)
                                   for name, cls, text in CONVERT_GROUPS]},
        },
        "models": {
            name: {"help": inspect.getdoc(sys.modules[config.__module__]).splitlines()[0],
                   "options": [option.to_json() for option in describe_fields(config)]}
            for name, config in registered.items() if config.__module__.startswith("pipeline.")
        },
    }


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    CATALOGUE_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {CATALOGUE_FILE}")
