"""Shared test fixtures.  torch is the oracle: with CI=true a missing torch fails the run instead of skipping."""
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def require_torch():
    """Import torch for an oracle test; skip locally when absent, fail under CI."""
    try:
        import torch
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("torch==2.13.0 is the test oracle and must be installed under CI=true")
        pytest.skip("torch is not installed")
    return torch


@pytest.fixture
def torch():
    return require_torch()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def hw1_train():
    path = SHARED / "data" / "hw1" / "covid.train.csv"
    if not path.exists():
        pytest.skip("../shared/data/hw1 is absent")
    return path


def require_numba():
    """numba accelerates large draws (``relulab[fast]``); the test extra installs it, so CI must have it."""
    try:
        import numba
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("numba (the test extra) must be installed under CI=true")
        pytest.skip("numba is not installed")
    return numba


@pytest.fixture(params=["numpy", "numba"])
def draw_path(request, monkeypatch):
    """Run a test on both implementations of the generator's hot loops: NumPy's, and the numba kernels."""
    from relulab.random import compiled
    if request.param == "numpy":
        monkeypatch.setattr(compiled, "_kernels", None)
    else:
        require_numba()
        monkeypatch.setattr(compiled, "_kernels", False)  # look the kernels up afresh
    return request.param
