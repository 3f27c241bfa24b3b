"""Run the torch tests single-threaded.

The networks here are tiny: intra-op threads bring no speed, and on a shared, loaded CI
machine OpenMP threads contending for cores made single ops ~100x slower (measured:
cross-entropy forward+backward on a 64 x 3 batch, 0.2 ms with 1 thread, 22 ms with 2).
"""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_torch():
    try:
        import torch
    except ImportError:  # the test modules skip themselves
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
