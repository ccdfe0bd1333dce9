"""Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer recomposes at every change of the screen's bindings signal, which fires at
each focus move: in a form that is a new row of key widgets, styled and laid out with the
whole screen, at every tab (most of a tab's cost in the Train form). The keys shown rarely
change between two fields, so when they are the same this footer keeps the ones it has.
"""
from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

KeysShown = tuple[tuple[Binding, bool, str], ...]


def keys_shown(screen: Screen) -> KeysShown:
    """What a footer draws from `screen`'s bindings: each shown binding (key, description,
    action), whether it is enabled, and its tooltip."""
    return tuple((binding, enabled, tooltip)
                 for _node, binding, enabled, tooltip in screen.active_bindings.values()
                 if binding.show)


class KeysFooter(Footer):
    """The footer of every screen (see the module's note)."""

    _drawn: KeysShown | None = None

    def bindings_changed(self, screen: Screen) -> None:
        will_draw = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_draw:
            shown = keys_shown(screen)
            if shown == self._drawn:
                return
            self._drawn = shown
        super().bindings_changed(screen)
