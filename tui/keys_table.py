"""Every key of the TUI as Markdown tables, one per screen, from the bindings themselves:
`swapdeck keys` prints them and the README carries them (a test keeps the two equal), so a
key added to a screen is documented without a list to keep up to date."""
from __future__ import annotations

from collections import defaultdict

from textual.binding import Binding

import screens
import tui.app  # noqa: F401  (loads the app's own bindings: q, ?, ctrl+p)
from tui.keymap import bound_classes, import_all

# The scope of a binding is its id's prefix ("faces.exclude" -> "faces"); its table's title:
TITLES = {
    "app": "Everywhere", "dashboard": "Dashboard", "extract": "Extract", "faces": "Faces",
    "detail": "Face detail", "train": "Train", "analysis": "Analysis", "convert": "Convert",
}
ORDER = tuple(TITLES)


def _keys(binding: Binding) -> str:
    return " ".join(f"`{key.strip()}`" for key in binding.key.split(","))


def rows_by_scope() -> dict[str, dict[str, tuple[str, str]]]:
    """scope -> binding id -> (keys, what it does), for every binding with an id."""
    import_all(screens)
    scopes: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for cls in bound_classes():
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            if not binding.id:
                continue
            scope = binding.id.split(".")[0]
            keys, what = scopes[scope].get(binding.id, ("", ""))
            text = (binding.tooltip or binding.description).replace("|", "\\|")
            scopes[scope][binding.id] = (f"{keys} {_keys(binding)}".strip(), what or text)
    return scopes


def markdown() -> str:
    """The tables: the app's screens in the order a user meets them, then any other scope
    (a dialog, a widget's own keys) by name."""
    scopes = rows_by_scope()
    ordered = [s for s in ORDER if s in scopes] + sorted(set(scopes) - set(ORDER))
    parts = []
    for scope in ordered:
        title = TITLES.get(scope, scope.replace("_", " ").capitalize())
        lines = [f"**{title}**", "", "| key | what it does | id |", "|---|---|---|"]
        lines += [f"| {keys} | {what} | `{binding_id}` |"
                  for binding_id, (keys, what) in scopes[scope].items()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
