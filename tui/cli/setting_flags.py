"""A settings family of the catalogue as command-line flags: one flag per setting (with its
aliases), its help, its default and a type that refuses a bad value at once (exit 2)."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

from store.requests.catalogue import Family, Group
from store.requests.options import Option, OptionValueError


def _typed(option: Option) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return option.parse(text)
        except OptionValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = option.type  # argparse names it in its own errors
    return parse


def add_setting(parser: argparse._ArgumentGroup, option: Option,
                default: str | None = None) -> None:
    """The option's flag and aliases with its help, type and default (or `default`, the
    default in words); a flag not given is None."""
    # argparse %-formats help texts
    text = f"{option.help} (default {default or option.default_shown})".replace("%", "%%")
    if option.type == "bool":
        parser.add_argument(option.flag, *option.aliases, dest=option.name, default=None,
                            action=argparse.BooleanOptionalAction, help=text)
        return
    metavar = ("{" + ",".join(map(str, option.choices)) + "}" if option.choices
               else option.type.upper())
    parser.add_argument(option.flag, *option.aliases, dest=option.name, default=None,
                        type=_typed(option), metavar=metavar, help=text)


def add_setting_groups(parser: argparse.ArgumentParser, groups: Iterable[Group],
                       default: str | None = None) -> None:
    """A section of flags per group, each flag with its help."""
    for group in groups:
        title = f"{group.name} settings" + (" (frozen in the session)" if group.frozen else "")
        section = parser.add_argument_group(title, group.help)
        for option in group.options:
            add_setting(section, option, default)


def settings_given(args: argparse.Namespace, family: Family) -> dict[str, object]:
    """The settings of `family` given on the command line, flat."""
    return {option.name: value for group in family.groups for option in group.options
            if (value := getattr(args, option.name, None)) is not None}
