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
