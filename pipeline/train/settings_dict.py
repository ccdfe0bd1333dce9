"""Settings dataclasses as data: read back from stored or edited dicts (unknown names are
refused) and described, field by field, for help texts and forms."""
from __future__ import annotations

import math
import types
import typing
from dataclasses import MISSING, fields
from typing import Any, NamedTuple


class OptionInfo(NamedTuple):
    name: str
    type_name: str             # int, float, bool or str
    default: object
    help: str
    choices: tuple | None      # the allowed values, when the field lists them
    optional: bool             # None is allowed too (`str | None`)
    default_text: str | None   # what the default is, when not a fixed value
    bounds: tuple[float, float] | None = None   # the lowest and highest values allowed


def known_names(cls: type, data: dict[str, Any], what: str,
                error: type[Exception] = ValueError) -> dict[str, Any]:
    """`data` when each of its names is a field of the dataclass `cls`; else `error`."""
    known = sorted(f.name for f in fields(cls))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise error(f"unknown {what}(s): {', '.join(unknown)} ({what}s: {', '.join(known)})")
    return data


def describe_fields(cls: type) -> list[OptionInfo]:
    """The fields of dataclass `cls` that hold one plain value, in declaration order.

    Field metadata gives "help" (one line) and optionally "choices", "bounds" (lowest,
    highest) and "default_text" (the default in words, when something else decides it);
    nested settings
    (a dataclass field) are described on their own.
    """
    hints = typing.get_type_hints(cls)
    described = []
    for option in fields(cls):
        kind = hints[option.name]
        members = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
        plain = [member for member in members if member is not type(None)]
        if len(plain) != 1 or plain[0] not in (int, float, bool, str):
            continue
        default = option.default if option.default is not MISSING else option.default_factory()
        choices = option.metadata.get("choices")
        described.append(OptionInfo(option.name, plain[0].__name__, default,
                                    option.metadata["help"],
                                    tuple(choices) if choices is not None else None,
                                    len(plain) < len(members),
                                    option.metadata.get("default_text"),
                                    option.metadata.get("bounds")))
    return described


def field_problems(settings: Any) -> list[str]:
    """What is wrong with a settings dataclass's plain values, judged by its fields' types,
    "choices" and "bounds" (None passes where the field allows it)."""
    problems = []
    for option in describe_fields(type(settings)):
        value = getattr(settings, option.name)
        if value is None and option.optional:
            continue
        if not _has_type(value, option.type_name):
            problems.append(f"{option.name} is {_KINDS[option.type_name]}, not {value!r}")
        elif option.choices is not None and value not in option.choices:
            allowed = ", ".join(map(str, option.choices))
            problems.append(f"{option.name} is one of {allowed}, not {value!r}")
        elif option.bounds is not None and not (
                math.isfinite(value) and option.bounds[0] <= value <= option.bounds[1]):
            low, high = option.bounds
            problems.append(f"{option.name} is from {low:g} to {high:g}, not {value!r}")
    return problems


_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false",
          "str": "a word"}


def _has_type(value: Any, type_name: str) -> bool:
    """JSON's view of types: an int is a float too; a bool is neither an int nor a float."""
    if type_name == "bool" or isinstance(value, bool):
        return type_name == "bool" and isinstance(value, bool)
    allowed = {"int": (int,), "float": (int, float), "str": (str,)}[type_name]
    return isinstance(value, allowed)
