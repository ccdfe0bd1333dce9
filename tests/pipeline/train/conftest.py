"""The seeded pair of people (Ann on side A, Bob on side B) for every training test."""
from tests.pipeline.train.test_data import pair, seeded_pair

__all__ = ["pair", "seeded_pair"]
