"""Shared test fixtures.  torch is the oracle: with CI=true a missing torch fails the run instead of skipping."""
import importlib
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _require(module, why):
    """Import ``module`` for a test; skip locally when absent, fail under CI=true (the test extra installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why} and must be installed under CI=true")
        pytest.skip(f"{module} is not installed")


def require_torch():
    return _require("torch", "torch==2.13.0 is the test oracle")


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
    return _require("numba", "numba accelerates large draws (relulab[fast]), in the test extra,")


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
