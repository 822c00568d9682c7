"""Optimizers (see issue: optimizers)."""
