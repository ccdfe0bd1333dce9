"""Dashboard widgets: each shows one part of a store snapshot and never queries the store."""
