"""The schema: the connection recipe and the numbered migrations."""
