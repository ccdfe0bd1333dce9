"""Ingest: probe, hash and index source media (videos, images, folders of images)."""
