"""The converter's options (names, types, choices, defaults, help), read from
convert_catalogue.json without importing torch; see `pipeline.convert.catalogue`."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from store.requests.train_catalogue import Group, Option, OptionValueError, options_from_json

CATALOGUE_FILE = Path(__file__).with_name("convert_catalogue.json")


@functools.cache
def groups() -> tuple[Group, ...]:
    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return tuple(Group(g["name"], g["frozen"], g["help"], options_from_json(g["options"]))
                 for g in data["groups"])


def option(name: str) -> Option:
    for group in groups():
        for candidate in group.options:
            if candidate.name == name:
                return candidate
    raise OptionValueError(f"unknown convert setting {name!r}")
