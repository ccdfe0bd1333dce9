"""The command line: `swapdeck COMMAND ...`, one module per family of commands."""
