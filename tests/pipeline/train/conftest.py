"""Shared fixtures of the training tests: the seeded pair of people (Ann on side A, Bob on
side B); `one_thread` comes from tests/conftest.py."""
from tests.pipeline.train.test_data import pair, seeded_pair

__all__ = ["pair", "seeded_pair"]
