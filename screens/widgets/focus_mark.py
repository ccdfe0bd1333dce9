"""Light a large panel's border while the focus is inside it, without CSS :focus-within.

With :focus-within, every focus move inside a form restyled all of its controls (half a
second per tab in the Train form's seventy); this class changes only when the focus enters or
leaves the panel, so tabbing between its fields restyles nothing.
"""
from __future__ import annotations

from textual import events
from textual.widget import Widget

FOCUS_CLASS = "-focus-within"


class MarksFocusWithin(Widget):
    """A panel that carries FOCUS_CLASS while it holds the focus (style it in the .tcss)."""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focus()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # the screen has its next focus (often inside this panel) by the time this runs
        self.call_later(self._mark_focus)

    def _mark_focus(self) -> None:
        focused = self.screen.focused if self.is_attached else None
        self.set_class(focused is not None and self in focused.ancestors_with_self, FOCUS_CLASS)
