"""Modal dialogs: each a `ModalScreen[T]` that dismisses with a typed result (or None)."""
