"""The SQLite project store: the only channel between the TUI and the worker.

Imports only the standard library and numpy, so both processes can load it cheaply.
"""
