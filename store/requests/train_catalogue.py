"""The trainer's models and options, read from train_catalogue.json without importing torch.

The JSON is generated from the trainer's own dataclasses (`python -m pipeline.train.catalogue`)
and checked by a test; the TUI and the CLI build their forms and flags from it. It checks a
value's type and choices; the trainer checks ranges and combinations when the job starts.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from store.errors import RequestError

CATALOGUE_FILE = Path(__file__).with_name("train_catalogue.json")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class OptionValueError(RequestError):
    """A value typed for an option has the wrong type or is not one of its choices."""


@dataclass(frozen=True)
class Option:
    name: str
    type: str                   # int, float, bool or str
    default: object
    help: str
    choices: tuple | None
    optional: bool              # None is allowed (written "none")
    default_text: str | None    # the default in words, when the trainer decides it
    bounds: tuple[float, float] | None = None   # lowest and highest allowed, when checked here

    @property
    def default_shown(self) -> str:
        return self.default_text or self.show(self.default)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> object:
        """The value typed as `text`, converted to the option's type and checked."""
        text = text.strip()
        if self.optional and text.lower() in ("none", ""):
            return None
        try:
            value = self._convert(text)
        except ValueError:
            raise OptionValueError(f"{self.name} takes {self._kind()}, not {text!r}") from None
        return self.check(value)

    def check(self, value: object) -> object:
        """`value` when it is one of the choices and within the bounds."""
        if value is None and self.optional:
            return value
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices)) + (" or none" if self.optional else "")
            raise OptionValueError(f"{self.name} is one of {allowed}, not {self.show(value)!r}")
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            low, high = self.bounds
            raise OptionValueError(f"{self.name} is from {low:g} to {high:g}, not "
                                   f"{self.show(value)}")
        return value

    def show(self, value: object) -> str:
        """`value` as a person would type it back."""
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def _convert(self, text: str) -> object:
        if self.type == "int":
            return int(text)
        if self.type == "float":
            return float(text)
        if self.type == "bool":
            if text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            raise ValueError(text)
        return text

    def _kind(self) -> str:
        return {"int": "a whole number", "float": "a number", "bool": "yes or no",
                "str": "a word"}[self.type]


@dataclass(frozen=True)
class Group:
    """Settings that belong together; frozen ones are fixed when a session is made."""
    name: str
    frozen: bool
    help: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    help: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Catalogue:
    models: dict[str, ModelEntry]
    groups: tuple[Group, ...]

    def model(self, name: str) -> ModelEntry:
        try:
            return self.models[name]
        except KeyError:
            raise OptionValueError(f"unknown model {name!r} (models: "
                                   f"{', '.join(sorted(self.models))})") from None

    def setting(self, name: str) -> tuple[Group, Option]:
        for group in self.groups:
            for option in group.options:
                if option.name == name:
                    return group, option
        raise OptionValueError(f"unknown setting {name!r}")


def options_from_json(entries: list[dict]) -> tuple[Option, ...]:
    return tuple(Option(e["name"], e["type"], e["default"], e["help"],
                        tuple(e["choices"]) if e["choices"] is not None else None,
                        e["optional"], e["default_text"],
                        tuple(e["bounds"]) if "bounds" in e else None) for e in entries)


@functools.cache
def load() -> Catalogue:
    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return Catalogue(
        {name: ModelEntry(name, entry["help"], options_from_json(entry["options"]))
         for name, entry in data["models"].items()},
        tuple(Group(g["name"], g["frozen"], g["help"], options_from_json(g["options"]))
              for g in data["groups"]))
