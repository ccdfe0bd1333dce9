"""The trainer's options as data, for the TUI and the CLI, which may not import torch.

`python -m pipeline.train.catalogue` writes store/requests/train_catalogue.json from the model
registry and the settings dataclasses; a test fails when the file is out of date.
"""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pipeline.train import models
from pipeline.train.augment import AugmentSettings
from pipeline.train.data_settings import DataSettings
from pipeline.train.extras import ExtrasSettings
from pipeline.train.losses import LossSettings
from pipeline.train.optimizers import OptimizerSettings
from pipeline.train.settings import RunSettings
from pipeline.train.settings_dict import OptionInfo, describe_fields

CATALOGUE_PATH = Path(__file__).resolve().parents[2] / "store" / "requests" / "train_catalogue.json"

# (name, settings class, frozen in the session's config, what the group is)
GROUPS = (
    ("data", DataSettings, True, "How the training faces are cut and masked"),
    ("loss", LossSettings, True, "How the model's faces are scored"),
    ("optimizer", OptimizerSettings, True,
     "The optimizer (frozen: its saved state fits only the optimizer that made it)"),
    ("run", RunSettings, False, "This run: length, batch, optimizer and saving"),
    ("augment", AugmentSettings, False, "Random changes made to the training faces"),
    ("extras", ExtrasSettings, False,
     "DeepFaceLab's extras: true face, GAN, face and background style, colour transfer"),
)


def options_json(described: list[OptionInfo]) -> list[dict[str, Any]]:
    return [{"name": o.name, "type": o.type_name, "default": o.default, "help": o.help,
             "choices": list(o.choices) if o.choices is not None else None,
             "optional": o.optional, "default_text": o.default_text,
             **({"bounds": list(o.bounds)} if o.bounds is not None else {})}
            for o in described]


def build() -> dict[str, Any]:
    """The catalogue of the models this package registers (not ones tests add)."""
    registered = {name: models.registry.config_class(name) for name in models.model_names()}
    return {
        "schema": 1,
        "models": {
            name: {"help": inspect.getdoc(sys.modules[config.__module__]).splitlines()[0],
                   "options": options_json(models.describe_options(name))}
            for name, config in registered.items() if config.__module__.startswith("pipeline.")
        },
        "groups": [{"name": name, "frozen": frozen, "help": text,
                    "options": options_json(describe_fields(cls))}
                   for name, cls, frozen, text in GROUPS],
    }


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    CATALOGUE_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {CATALOGUE_PATH}")
