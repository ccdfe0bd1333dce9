"""One Textual Screen per file (with its .tcss beside it); modal dialogs in screens/dialogs/."""
