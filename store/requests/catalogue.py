"""Every job request's settings, by family (extract, train, convert), without importing torch.

The train and convert families are generated from the pipeline's own dataclasses into
catalogue.json (`python -m pipeline.catalogue`; a test fails when it is out of date); the
extract family is described from `store.requests.extract.ExtractSettings` directly. The CLI's
flags, the TUI's forms and the checks made before a job is queued all come from here.

Settings travel flat, {setting: value}, as typed; `Family.nest` and `Family.flatten` are the
one conversion between that and the stored shape, which each group declares: a frozen group
(fixed when a session is made) sits under its own key of the session's config, a nested
per-run group under its own key of the stored settings, any other at their root.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.requests.extract import ExtractSettings
from store.requests.options import Option, OptionValueError, describe_fields

CATALOGUE_FILE = Path(__file__).with_name("catalogue.json")


@dataclass(frozen=True)
class Group:
    """Settings that belong together; frozen ones are fixed when a session is made, nested
    ones are stored under their group's name."""
    name: str
    frozen: bool
    help: str
    options: tuple[Option, ...]
    nested: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "frozen": self.frozen, "nested": self.nested,
                "help": self.help, "options": [option.to_json() for option in self.options]}

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Group:
        return cls(entry["name"], entry["frozen"], entry["help"],
                   tuple(Option.from_json(option) for option in entry["options"]),
                   entry["nested"])


@dataclass(frozen=True)
class ModelEntry:
    name: str
    help: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Family:
    """The settings of one kind of job, in groups."""
    name: str
    groups: tuple[Group, ...]

    @property
    def frozen_groups(self) -> tuple[str, ...]:
        return tuple(group.name for group in self.groups if group.frozen)

    @property
    def nested_groups(self) -> tuple[str, ...]:
        """The per-run groups stored under their own key."""
        return tuple(group.name for group in self.groups if group.nested and not group.frozen)

    def setting(self, name: str) -> tuple[Group, Option]:
        for group in self.groups:
            for option in group.options:
                if option.name == name:
                    return group, option
        raise OptionValueError(f"unknown {self.name} setting {name!r}", field=name)

    def option(self, name: str) -> Option:
        return self.setting(name)[1]

    def check(self, values: Mapping[str, object]) -> dict[str, object]:
        """Flat settings with every name, type, choice and bound checked."""
        return {name: self.option(name).check(value) for name, value in values.items()}

    def nest(self, values: Mapping[str, object]) -> tuple[dict[str, dict], dict[str, Any]]:
        """Checked flat settings as (frozen groups by name, per-run settings as stored)."""
        frozen: dict[str, dict] = {name: {} for name in self.frozen_groups}
        run: dict[str, Any] = {}
        for name, value in self.check(values).items():
            group, _ = self.setting(name)
            if group.frozen:
                frozen[group.name][name] = value
            elif group.name in self.nested_groups:
                run.setdefault(group.name, {})[name] = value
            else:
                run[name] = value
        return frozen, run

    def flatten(self, config: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
        """Stored frozen groups (`config`) and per-run settings back in flat form."""
        flat: dict[str, Any] = {}
        for group in self.frozen_groups:
            flat.update(config.get(group, {}))
        flat.update({k: v for k, v in settings.items() if k not in self.nested_groups})
        for group in self.nested_groups:
            flat.update(settings.get(group, {}))
        return flat

    def merge(self, stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """Stored per-run settings with some changed (both in stored form)."""
        _, merged = self.nest({**self.flatten({}, stored), **self.flatten({}, changes)})
        return merged


@dataclass(frozen=True)
class Catalogue:
    families: dict[str, Family]
    models: dict[str, ModelEntry]

    @property
    def train(self) -> Family:
        return self.families["train"]

    @property
    def convert(self) -> Family:
        return self.families["convert"]

    @property
    def extract(self) -> Family:
        return self.families["extract"]

    def model(self, name: str) -> ModelEntry:
        try:
            return self.models[name]
        except KeyError:
            raise OptionValueError(f"unknown model {name!r} (models: "
                                   f"{', '.join(sorted(self.models))})", field="model") from None


EXTRACT_GROUP = ("extract", "How faces are found, aligned, kept and stored")


def extract_family() -> Family:
    name, text = EXTRACT_GROUP
    return Family("extract", (Group(name, False, text, describe_fields(ExtractSettings)),))


@functools.cache
def load() -> Catalogue:
    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    families = {name: Family(name, tuple(Group.from_json(g) for g in family["groups"]))
                for name, family in data["families"].items()}
    families["extract"] = extract_family()
    models = {name: ModelEntry(name, entry["help"],
                               tuple(Option.from_json(o) for o in entry["options"]))
              for name, entry in data["models"].items()}
    return Catalogue(families, models)
