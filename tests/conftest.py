import pytest
import torch

import stylelib as sl


@pytest.fixture(scope="session")
def model():
    """The resolved VGG (offline vgg16-hed in CI), loaded once for the whole session."""
    return sl.vgg(verbose=False, device="cpu")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
