"""A setting of a job request, described once in its dataclass field and checked the same way
everywhere: when typed in the CLI or a TUI form, when a request is built, and when the worker
reads a stored one back.

A settings dataclass declares each plain field with metadata: "help" (one line), optionally
"choices", "bounds" (lowest, highest), "default_text" (the default in words, when something
else decides it) and "aliases" (shorter flags, e.g. "--lr"). A field that is itself a settings
dataclass is a group of its own.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from store.errors import RequestError

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_KINDS = {"int": "a whole number", "float": "a number", "bool": "yes or no", "str": "a word"}


class OptionValueError(RequestError):
    """A value for a setting has the wrong type, is not one of its choices or is out of its
    bounds; `field` names the setting."""


@dataclass(frozen=True)
class Option:
    name: str
    type: str                   # int, float, bool or str
    default: object
    help: str
    choices: tuple | None
    optional: bool              # None is allowed (written "none")
    default_text: str | None    # the default in words, when the trainer decides it
    bounds: tuple[float, float] | None = None   # lowest and highest allowed
    aliases: tuple[str, ...] = ()               # shorter flags, e.g. ("--lr",)

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
            raise self._error(f"{self.name} takes {_KINDS[self.type]}, not {text!r}") from None
        return self.check(value)

    def check(self, value: object) -> object:
        """`value` when it has the option's type, is one of its choices and is within its
        bounds; OptionValueError naming the option, what is allowed and the value if not."""
        if value is None and self.optional:
            return value
        if not _has_type(value, self.type):
            raise self._error(f"{self.name} is {_KINDS[self.type]}, not {value!r}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices)) + (" or none" if self.optional else "")
            raise self._error(f"{self.name} is one of {allowed}, not {self.show(value)!r}")
        if self.bounds is not None and not (
                math.isfinite(value) and self.bounds[0] <= value <= self.bounds[1]):  # type: ignore[arg-type, operator]
            low, high = self.bounds
            raise self._error(f"{self.name} is from {low:g} to {high:g}, not "
                              f"{self.show(value)}")
        return value

    def show(self, value: object) -> str:
        """`value` as a person would type it back."""
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def out_of_range(self) -> object:
        """A value of the right type that the option refuses (for tests and examples)."""
        if self.choices is not None:
            return "not-a-choice" if self.type == "str" else None
        if self.bounds is None:
            raise ValueError(f"{self.name} has neither choices nor bounds")
        high = self.bounds[1]
        return int(high) + 1 if self.type == "int" else float(high) * 2 + 1

    def to_json(self) -> dict[str, Any]:
        entry = {"name": self.name, "type": self.type, "default": self.default,
                 "help": self.help,
                 "choices": list(self.choices) if self.choices is not None else None,
                 "optional": self.optional, "default_text": self.default_text}
        if self.bounds is not None:
            entry["bounds"] = list(self.bounds)
        if self.aliases:
            entry["aliases"] = list(self.aliases)
        return entry

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> Option:
        return cls(entry["name"], entry["type"], entry["default"], entry["help"],
                   tuple(entry["choices"]) if entry["choices"] is not None else None,
                   entry["optional"], entry["default_text"],
                   tuple(entry["bounds"]) if "bounds" in entry else None,
                   tuple(entry.get("aliases", ())))

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

    def _error(self, message: str) -> OptionValueError:
        return OptionValueError(message, field=self.name)


def _has_type(value: object, type_name: str) -> bool:
    """JSON's view of types: an int is a float too; a bool is neither an int nor a float."""
    if type_name == "bool" or isinstance(value, bool):
        return type_name == "bool" and isinstance(value, bool)
    allowed = {"int": (int,), "float": (int, float), "str": (str,)}[type_name]
    return isinstance(value, allowed)


def describe_fields(cls: type) -> tuple[Option, ...]:
    """The fields of dataclass `cls` that hold one plain value, in declaration order (nested
    settings, a dataclass field, are described on their own)."""
    hints = typing.get_type_hints(cls)
    described = []
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        members = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
        plain = [member for member in members if member is not type(None)]
        if len(plain) != 1 or plain[0] not in (int, float, bool, str):
            continue
        default = (field.default if field.default is not dataclasses.MISSING
                   else field.default_factory())  # type: ignore[misc]
        choices = field.metadata.get("choices")
        bounds = field.metadata.get("bounds")
        described.append(Option(field.name, plain[0].__name__, default, field.metadata["help"],
                                tuple(choices) if choices is not None else None,
                                len(plain) < len(members), field.metadata.get("default_text"),
                                tuple(bounds) if bounds is not None else None,
                                tuple(field.metadata.get("aliases", ()))))
    return tuple(described)


def field_problems(settings: Any) -> list[str]:
    """What is wrong with a settings dataclass's plain values, one line each."""
    problems = []
    for option in describe_fields(type(settings)):
        try:
            option.check(getattr(settings, option.name))
        except OptionValueError as exc:
            problems.append(str(exc))
    return problems


def known_names(cls: type, data: dict[str, Any], what: str,
                error: type[Exception] = ValueError) -> dict[str, Any]:
    """`data` when each of its names is a field of the dataclass `cls`; else `error`."""
    known = sorted(field.name for field in dataclasses.fields(cls))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise error(f"unknown {what}(s): {', '.join(unknown)} ({what}s: {', '.join(known)})")
    return data
