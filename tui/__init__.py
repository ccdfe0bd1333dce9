"""The Textual app, the `swapdeck` command line, the store poller, keymap and config."""
