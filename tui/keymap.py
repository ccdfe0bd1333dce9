"""Bindings by id: checking a user's key overrides, and listing what each key does.

Every `Binding` in the app carries an `id` ("dashboard.add_media"); users remap keys by id
(see tui/config.py) and Textual applies the result with `App.set_keymap`. The help screen and
the command palette read the bindings from here rather than from a hand-written list.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from weakref import WeakKeyDictionary

from textual.binding import Binding, Keymap
from textual.dom import DOMNode
from textual.keys import REPLACED_KEYS, Keys, key_to_character
from textual.screen import Screen

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED_KEYS = frozenset(
    key.value.rpartition("+")[2] for key in Keys if not key.value.startswith("<")
)


@dataclass(frozen=True)
class BindingRow:
    """One line of the help screen: what a binding does and the keys that trigger it now."""
    scope: str
    keys: str
    id: str
    description: str
    tooltip: str


def declared_ids(node_types: Iterable[type[DOMNode]]) -> set[str]:
    """The binding ids the given classes (and their bases) declare."""
    ids: set[str] = set()
    for node_type in node_types:
        for cls in node_type.__mro__:
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
                if binding.id:
                    ids.add(binding.id)
    return ids


def bound_classes() -> list[type[DOMNode]]:
    """Every loaded class of the DOM (apps, screens, widgets) that declares bindings with ids
    of its own, found from Python's record of subclasses: no list to keep up to date."""
    found: list[type[DOMNode]] = []
    unseen: list[type] = [DOMNode]
    seen: set[type] = set()
    while unseen:
        cls = unseen.pop()
        if cls in seen:
            continue
        seen.add(cls)
        unseen += cls.__subclasses__()
        if any(b.id for b in Binding.make_bindings(cls.__dict__.get("BINDINGS", []))):
            found.append(cls)
    return found


def import_all(package: ModuleType) -> None:
    """Import every module under `package`, so that its classes are loaded (and found)."""
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        importlib.import_module(module.name)


def remappable_ids(packages: Iterable[ModuleType]) -> set[str]:
    """The binding ids users may remap: those of every class under `packages`, and of any
    other class loaded (the app's own, for one)."""
    for package in packages:
        import_all(package)
    return declared_ids(bound_classes())


def is_valid_key(key: str) -> bool:
    """Whether Textual can ever report `key` ("ctrl+a", "f5", "?", "question_mark", ...)."""
    *modifiers, base = key.strip().split("+")
    if not base or not set(modifiers) <= MODIFIERS:
        return False
    if len(base) == 1:
        return True
    return base in _NAMED_KEYS or key_to_character(REPLACED_KEYS.get(base, base)) is not None


def check_keymap(keymap: Mapping[str, object],
                 known_ids: set[str]) -> tuple[dict[str, str], list[str]]:
    """Split a user keymap into the overrides that can be applied and one problem per bad entry."""
    good: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in known_ids:
            problems.append(f"unknown binding id {binding_id!r} (see the help screen, ?, for ids)")
        elif not isinstance(keys, str) or not keys.strip():
            problems.append(f"{binding_id}: the key must be a non-empty string like \"ctrl+a\"")
        elif bad := [k for k in keys.split(",") if not is_valid_key(k)]:
            problems.append(f"{binding_id}: not a key Textual knows: {', '.join(map(repr, bad))}")
        else:
            good[binding_id] = ",".join(k.strip() for k in keys.split(","))
    return good, problems


def node_bindings(node: DOMNode, keymap: Keymap) -> list[Binding]:
    """The bindings a node answers to, with the user's keymap applied (as Textual applies it)."""
    # `_bindings` is the node's own BindingsMap (Textual has no public accessor for it).
    bindings = node._bindings.copy()
    if keymap:
        bindings.apply_keymap(keymap)
    return [binding for _key, binding in bindings]


def binding_rows(scope: str, node: DOMNode, keymap: Keymap) -> list[BindingRow]:
    """One row per binding id (its keys joined), and one per binding that has no id."""
    app = node.app
    rows: dict[str, BindingRow] = {}
    for binding in node_bindings(node, keymap):
        if binding.system:
            continue
        key = app.get_key_display(binding)
        group = binding.id or binding.action
        if group in rows:
            rows[group] = _add_key(rows[group], key)
            continue
        rows[group] = BindingRow(
            scope=scope,
            keys=key,
            id=binding.id or "",
            description=binding.description or binding.action,
            tooltip=binding.tooltip,
        )
    return list(rows.values())


def _add_key(row: BindingRow, key: str) -> BindingRow:
    keys = row.keys.split(", ")
    if key in keys:
        return row
    return BindingRow(row.scope, ", ".join([*keys, key]), row.id, row.description, row.tooltip)


def key_for(screen: Screen, binding_id: str, default: str = "") -> str:
    """How the key bound to `binding_id` is shown now on `screen` (after any remapping)."""
    for active in screen.active_bindings.values():
        if active.binding.id == binding_id:
            return screen.app.get_key_display(active.binding)
    return default


_footer_states: WeakKeyDictionary[Screen, tuple] = WeakKeyDictionary()


def refresh_footer(screen: Screen) -> None:
    """`screen.refresh_bindings()`, only when a key's availability changed since the last
    call: each refresh rebuilds every key of the footer and lays the screen out again, which
    at every poll of the store cost more than the rest of a screen's update."""
    state = tuple((key, active.binding.action, active.enabled)
                  for key, active in screen.active_bindings.items())
    if _footer_states.get(screen) != state:
        _footer_states[screen] = state
        screen.refresh_bindings()
