"""Project file operations: containment of stored paths, model files, temp names."""
