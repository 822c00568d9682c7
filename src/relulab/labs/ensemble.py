"""Many small, independent MLPs trained at once: the labs' seeds, restarts and learning rates become members of
one stack, so a whole comparison costs about as much Python overhead as one run.

A layer holds stacked weights (members, fan_in, fan_out) and applies them with one batched matmul.  Each member's
loss is its own mean over its own data and the stack minimises the SUM of the members' losses, so every member's
gradient is exactly the one it would have alone, and an element-wise optimizer (SGD, Adagrad, RMSprop, Adam)
updates each member as if it were trained alone.  Members that need different learning rates live in different
param groups: one tensor per group and layer, joined along the member axis in ``forward``.
"""
import numpy as np

import relulab
import relulab.nn.functional as F
from relulab import nn
from .draws import generator


class StackedMLP(nn.Module):
    """``groups × members`` independent MLPs with layer widths ``widths`` (input first, output last).

    Member ``g·members + i`` is the i-th member of group g.  Member k holds the weights of the k-th of
    ``groups·members`` nets built one after another from ``nn.Linear`` layers (PyTorch's default init,
    U(±1/√fan_in)) after ``manual_seed(seed)``; in PyTorch: ``torch.manual_seed(seed)``, then
    ``[nn.Sequential(nn.Linear(widths[0], widths[1]), act, ...) for _ in range(groups * members)]``.  The draws
    are float32, cast to ``dtype`` afterwards (``.to(torch.float64)``).  ``init_scale`` then multiplies the last
    layer's initial weights and biases.  ``hidden_masks`` (one array (groups·members, width) per hidden layer, of
    0/1) switches units off per member: a masked unit's output is 0, so its weights get no gradient and never
    move, and the member is a narrower net.
    """

    def __init__(self, widths, members, groups=1, activation=relulab.relu, seed=0, dtype=relulab.float32,
                 hidden_masks=None, init_scale=1.0):
        super().__init__()
        if len(widths) < 2 or members < 1 or groups < 1:
            raise ValueError(f"StackedMLP: need >= 2 widths, >= 1 member and >= 1 group, got widths={widths}, "
                             f"members={members}, groups={groups}")
        self.widths, self.members, self.groups, self.activation = list(widths), members, groups, activation
        self.count = members * groups
        self.layers = len(widths) - 1
        dtype_np = np.float64 if dtype == relulab.float64 else np.float32
        weights, biases = _draw_linears(self.widths, self.count, seed)
        for g in range(groups):
            for layer in range(self.layers):
                scale = init_scale if layer == self.layers - 1 else 1.0
                members_of_g = slice(g * members, (g + 1) * members)
                # cast, then scale in that dtype: PyTorch's ``.to(dtype)`` and then ``weight.mul_(scale)``
                weight = weights[layer][members_of_g].astype(dtype_np)
                bias = biases[layer][members_of_g].astype(dtype_np)
                if scale != 1.0:
                    weight, bias = weight * dtype_np(scale), bias * dtype_np(scale)
                setattr(self, f"weight_{g}_{layer}", nn.Parameter(weight))
                setattr(self, f"bias_{g}_{layer}", nn.Parameter(bias))
        self.masks = None
        if hidden_masks is not None:
            if len(hidden_masks) != self.layers - 1:
                raise ValueError(f"StackedMLP: one mask per hidden layer ({self.layers - 1}), got {len(hidden_masks)}")
            self.masks = [relulab.tensor(np.asarray(m, dtype_np)[:, None, :], dtype=dtype) for m in hidden_masks]

    def group_parameters(self, g):
        return [getattr(self, f"{kind}_{g}_{layer}") for layer in range(self.layers) for kind in ("weight", "bias")]

    def param_groups(self, lrs):
        """One optimizer param group per group of members, with its learning rate."""
        if len(lrs) != self.groups:
            raise ValueError(f"StackedMLP.param_groups: {self.groups} groups need {self.groups} lrs, got {len(lrs)}")
        return [{"params": self.group_parameters(g), "lr": float(lr)} for g, lr in enumerate(lrs)]

    def _stacked(self, kind, layer):
        parts = [getattr(self, f"{kind}_{g}_{layer}") for g in range(self.groups)]
        return parts[0] if self.groups == 1 else relulab.cat(parts, 0)

    def forward(self, x):
        """``x``: (count, n, in) per-member inputs, or (n, in) shared by all; returns (count, n, out)."""
        h = x
        for layer in range(self.layers):
            h = h @ self._stacked("weight", layer) + self._stacked("bias", layer)
            if layer < self.layers - 1:
                h = self.activation(h)
                if self.masks is not None:
                    h = h * self.masks[layer]
        return h


def _draw_linears(widths, count, seed):
    """Per layer, the (count, fan_in, fan_out) weights and (count, 1, fan_out) biases of ``count`` MLPs built one
    after another from ``nn.Linear`` layers after ``manual_seed(seed)`` (a generator of their own, so the default
    generator is left alone)."""
    gen = generator(seed)
    pairs = list(zip(widths[:-1], widths[1:]))
    weights = [np.empty((count, fan_in, fan_out), np.float32) for fan_in, fan_out in pairs]
    biases = [np.empty((count, 1, fan_out), np.float32) for _, fan_out in pairs]
    for k in range(count):
        for layer, (fan_in, fan_out) in enumerate(pairs):
            linear = nn.Linear(fan_in, fan_out, generator=gen)
            weights[layer][k] = linear.weight.detach().numpy().T
            biases[layer][k, 0] = linear.bias.detach().numpy()
    return weights, biases


def member_mse(prediction, target):
    """(count,) mean squared error of each member over its own points."""
    return ((prediction - target) ** 2).mean(dim=(1, 2))


def member_cross_entropy(logits, labels):
    """(count,) mean cross-entropy of each member; ``logits`` (count, n, C), ``labels`` (count, n) of indices."""
    count, n, classes = logits.shape
    per_row = F.cross_entropy(logits.reshape(count * n, classes), labels.reshape(count * n), reduction="none")
    return per_row.reshape(count, n).mean(dim=1)


def train(model, loss_of, optimizer, steps, scheduler=None, record=None):
    """Full-batch training of a stack: ``loss_of(model) -> (count,)`` member losses, summed for the gradient.
    Returns the (steps, count) member losses before each update, and ``record(model)`` after each step if given."""
    history, records = [], []
    for _ in range(steps):
        losses = loss_of(model)
        optimizer.zero_grad()
        losses.sum().backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.append(losses.detach().numpy().copy())
        if record is not None:
            records.append(record(model))
    return (np.array(history), records) if record is not None else np.array(history)


def evaluate(model, loss_of):
    """(count,) member losses without building a graph."""
    with relulab.no_grad():
        return loss_of(model).numpy().astype(np.float64)
