"""Primitive ops, each a ``Function`` whose backward is written in Tensor ops, and their functional wrappers."""
