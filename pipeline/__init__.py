"""The worker process and everything that computes. Never imports the TUI."""
