"""Shared fixtures of the training tests: the seeded pair of people (Ann on side A, Bob on
side B), and `one_thread` for the files that ask for it with
`pytestmark = pytest.mark.usefixtures("one_thread")`."""
from collections.abc import Iterator

import pytest
import torch

from tests.pipeline.train.test_data import pair, seeded_pair

__all__ = ["pair", "seeded_pair"]


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Torch on one thread for a module: on a shared 2-core machine, two threads fighting for
    cores slow every test down. Not autouse: the other files keep their thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
