"""What lecture 2's guide, remedies and batch experiments share: their data sets, training many nets at once as
members of one ``StackedMLP`` (arms × settings × seeds), choosing each member's setting on validation data, and
the rule that turns per-part outcomes into one verdict.

Training a stack costs about as much Python overhead as training one net, so an experiment pays per stack and per
update, hardly per member: seeds, learning rates and negative-control arms ride along in the same stack."""
import functools
import math

import numpy as np

import relulab
from .. import nn, optim
from ..data import digits
from . import draws
from .ensemble import StackedMLP
from .stats import fmt, paired_difference

# Adam's learning rates searched on validation data by every arm that tunes one, fixed for the whole lab.  The top
# was raised from 0.03 to 0.1 after the first quick run chose 0.03, the grid's edge, for most nets: a wider grid
# can only help each arm, and every arm searches the same one.
ADAM_LRS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


# ------------------------------------------------------------------------------------------------------- data
def wave(n, rng, noise=0.1):
    """The guide's task: y = sin(2x) + noise on x ∈ [-2, 2] (a line cannot fit it).  The generator was fixed in
    the previous session and is not re-chosen here."""
    x = rng.uniform(-2, 2, (n, 1))
    return x, np.sin(2 * x) + noise * rng.normal(size=x.shape)


@functools.lru_cache(maxsize=1)
def _digits_arrays():
    train_set, test_set = digits("train"), digits("test")
    return (train_set.features.astype(np.float32), train_set.targets.astype(np.int64),
            test_set.features.astype(np.float32), test_set.targets.astype(np.int64))


def digits_split(seed):
    """scikit-learn's 8×8 digits: its fixed test split, and its training split cut 80/20 into train and
    validation (the cut drawn from ``seed``)."""
    x, y, x_test, y_test = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(0.8 * len(y))
    tr, va = order[:cut], order[cut:]
    return (x[tr], y[tr]), (x[va], y[va]), (x_test, y_test)


def label(value):
    """A chosen setting (lr, λ, p) as it appears in a table: text, so the summary row does not average it."""
    return f"{value:g}"


def tensor(array, dtype=np.float32):
    return relulab.from_numpy(np.ascontiguousarray(array, dtype=dtype))


# ------------------------------------------------------------------------------------------------- the stacks
class Grid:
    """The members of one stack laid out as arms × settings × seeds: member (a·settings + s)·seeds + i is seed i
    of arm a under setting s (a learning rate, a remedy ...).  ``starts``: member i of an arm starts from the same
    weights under every setting, so settings differ only in what they change; arms start from their own draws."""

    def __init__(self, arms, settings, seeds):
        self.arms, self.settings, self.seeds = arms, settings, seeds
        self.count = arms * settings * seeds
        index = np.arange(self.count)
        self.arm, self.setting, self.seed = index // (settings * seeds), index // seeds % settings, index % seeds
        self.starts = self.arm * seeds + self.seed

    def index(self, arm, setting, seed):
        return (arm * self.settings + setting) * self.seeds + seed

    def spread(self, data):
        """Per-arm, per-seed data (arms, seeds, ...) for every member: (count, ...)."""
        return np.asarray(data)[self.arm, self.seed]

    def spread_seeds(self, data):
        """Per-seed data (seeds, ...), the same for every arm, for every member."""
        return np.asarray(data)[self.seed]

    def per_setting(self, values):
        """values[s] for every member of setting s: (count,)."""
        return np.asarray(values)[self.setting]

    def table(self, values):
        return np.asarray(values).reshape(self.arms, self.settings, self.seeds)

    def choose(self, valid):
        """Per arm and seed, the setting with the lowest validation value: (count,) → (arms, seeds)."""
        table = self.table(np.asarray(valid, dtype=np.float64))
        return np.argmin(np.where(np.isfinite(table), table, np.inf), axis=1)

    def at(self, values, choice):
        """values (count,) at each arm's and seed's chosen setting: (arms, seeds)."""
        return self.table(values)[np.arange(self.arms)[:, None], choice, np.arange(self.seeds)[None, :]]


def stack(widths, count, init_seed, starts=None, activation=relulab.relu, **kwargs):
    """``count`` MLPs in one StackedMLP (one param group), drawn from ``init_seed``; members with equal
    ``starts[m]`` begin from the same weights (by default each member has its own)."""
    model = StackedMLP(widths, count, 1, activation=activation, seed=int(init_seed), **kwargs)
    if starts is not None:
        starts = np.asarray(starts)
        first = np.array([np.flatnonzero(starts == s)[0] for s in starts])
        for p in model.parameters():
            array = p.data.numpy()
            array[...] = array[first]
    return model


def copy_members(model, source, index):
    """Member m of ``model`` takes the current weights of member index[m] of ``source`` (a stack of the same
    widths): e.g. one starting point per seed, shared by stacks of different sizes."""
    for p, q in zip(model.parameters(), source.parameters()):
        p.data.numpy()[...] = q.detach().numpy()[np.asarray(index)]


def member_net(model, m, activation):
    """Member ``m`` of a StackedMLP as a plain ``nn.Sequential`` (Linear, activation, ..., Linear) with its weights."""
    g, i = divmod(m, model.members)
    layers = []
    for layer in range(model.layers):
        weight = getattr(model, f"weight_{g}_{layer}").detach().numpy()[i]
        bias = getattr(model, f"bias_{g}_{layer}").detach().numpy()[i, 0]
        lin = nn.Linear(*weight.shape)
        lin.weight.data = weight.T.copy()
        lin.bias.data = bias.copy()
        layers.append(lin)
        if layer < model.layers - 1:
            layers.append(activation())
    return nn.Sequential(*layers)


class MemberLR:
    """An element-wise optimizer with one learning rate (and optionally one L2 coefficient) per member of a stack.

    The optimizer runs with lr = 1 on zeroed weights, so afterwards the weights hold exactly the lr-free step
    (PyTorch's SGD momentum buffer and Adam's moments do not depend on lr); member m then moves by lr[m] times
    its step.  ``l2`` (per member) adds the gradient of the lecture's penalty λ·Σw², 2λ·w, to the gradients of
    the ``penalized`` weight matrices before the step: the same update as the penalty in the loss, without its
    graph.  (The optimizer's own weight_decay would see the zeroed weights, so it is refused.)"""

    def __init__(self, parameters, name, lr, l2=None, penalized=(), **options):
        if options.get("weight_decay"):
            raise ValueError("MemberLR: pass the L2 coefficient as l2=..., not the optimizer's weight_decay")
        self.params = list(parameters)
        self.optimizer = getattr(optim, name)(self.params, lr=1.0, **options)
        self.lr = np.asarray(lr, dtype=np.float64)
        self.l2 = None if l2 is None or not np.any(l2) else np.asarray(l2, dtype=np.float64)
        self.penalized = list(penalized)

    @staticmethod
    def _per_member(values, array):
        return values.reshape((-1,) + (1,) * (array.ndim - 1)).astype(array.dtype)

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        if self.l2 is not None:
            for p in self.penalized:
                weights = p.data.numpy()
                p.grad.data.numpy()[...] += 2 * self._per_member(self.l2, weights) * weights
        saved = []
        for p in self.params:
            array = p.data.numpy()
            saved.append(array.copy())
            array[...] = 0.0
        self.optimizer.step()
        for p, before in zip(self.params, saved):
            array = p.data.numpy()
            array *= self._per_member(self.lr, array)
            array += before


class MemberBatches:
    """The rows each member sees at each update: epochs of mini-batches (the last one smaller, like a DataLoader
    without drop_last).  Per member, ``order`` is "reshuffle" (a new permutation every epoch, the lecture's
    shuffle), "once" (one random permutation kept for every epoch) or a fixed permutation array (e.g. the rows
    sorted by label, as a data set may be stored).  A "reshuffle" member with seed s sees the batches of PyTorch's
    ``DataLoader(data, batch_size, shuffle=True, generator=torch.Generator().manual_seed(s))``; a "once" member
    keeps that loader's first epoch."""

    def __init__(self, n, batch_size, orders, seeds):
        self.n, self.batch_size = n, min(int(batch_size), n)
        self.per_epoch = math.ceil(n / self.batch_size)
        self.orders = list(orders)
        self.generators = [draws.generator(s) for s in seeds]
        if len(self.generators) != len(self.orders):
            raise ValueError(f"MemberBatches: {len(self.orders)} orders need as many seeds, got {len(self.generators)}")
        for order in self.orders:
            if isinstance(order, str) and order not in ("reshuffle", "once"):
                raise ValueError(f"MemberBatches: order must be 'reshuffle', 'once' or a permutation, got {order!r}")
        self.perm = np.stack([self._draw(k, first=True) for k in range(len(self.orders))])

    def _draw(self, k, first=False):
        order = self.orders[k]
        if isinstance(order, str):
            return draws.epoch_order(self.generators[k], self.n) if first or order == "reshuffle" else self.perm[k]
        return np.asarray(order)

    def rows(self, step):
        """(members, B) row indices of update ``step`` (0-based)."""
        position = step % self.per_epoch
        if position == 0 and step > 0:
            self.perm = np.stack([self._draw(k) for k in range(len(self.orders))])
        return self.perm[:, position * self.batch_size:(position + 1) * self.batch_size]


def gather(array, rows):
    """Per-member rows of per-member data: array (members, n, ...) and rows (members, B) → (members, B, ...)."""
    return array[np.arange(len(rows))[:, None], rows]


def fit(model, member_loss, x, y, optimizer, steps, batches=None, penalty=None, check=None, every=1):
    """Train every member for ``steps`` updates on its own data: x (members, n, d), y (members, n, ...) numpy.

    The objective is the sum of the members' losses (see ensemble.py).  ``member_loss(output, target) ->
    (members,)`` (ensemble.member_mse / member_cross_entropy / masked_mse); ``batches``: a MemberBatches (None:
    full batch); ``penalty(model) -> (members,)`` is added to each member's loss; ``check(step)`` runs in eval
    mode after every ``every`` updates and after the last, and may return True to stop early.
    Returns the (updates run, members) training losses before each update."""
    full = (tensor(x), tensor(y, y.dtype))
    history = []
    model.train()
    with np.errstate(all="ignore"):  # a member whose lr is too large may overflow; its slice stays its own
        for step in range(steps):
            if batches is None:
                inputs, targets = full
            else:
                rows = batches.rows(step)
                inputs, targets = tensor(gather(x, rows)), tensor(gather(y, rows), y.dtype)
            values = member_loss(model(inputs), targets)
            objective = values if penalty is None else values + penalty(model)
            optimizer.zero_grad()
            objective.sum().backward()
            optimizer.step()
            history.append(values.detach().numpy().copy())
            done = step + 1
            if check is not None and (done % every == 0 or done == steps):
                model.eval()
                try:
                    stop = check(done)
                finally:
                    model.train()
                if stop:
                    break
    model.eval()
    return np.array(history)


def losses(model, member_loss, x, y):
    """(members,) losses on per-member data without a graph, in eval mode; a non-finite loss becomes +inf."""
    was_training = model.training
    model.eval()
    try:
        with relulab.no_grad(), np.errstate(all="ignore"):
            values = member_loss(model(tensor(x)), tensor(y, y.dtype)).numpy().astype(np.float64)
    finally:
        model.train(was_training)
    return np.where(np.isfinite(values), values, np.inf)


def outputs(model, x):
    """The members' outputs on per-member inputs x (members, n, d), without a graph."""
    with relulab.no_grad(), np.errstate(all="ignore"):
        return model(tensor(x)).numpy().astype(np.float64)


def masked_mse(mask):
    """Each member's MSE over its own rows: ``mask`` (members, n) of 0/1 lets members of one stack hold training
    sets of different sizes (padded to the largest)."""
    mask = np.asarray(mask, dtype=np.float32)
    weights, counts = tensor(mask[..., None]), tensor(mask.sum(axis=1))

    def loss(prediction, target):
        diff = prediction - target
        return (diff * diff * weights).sum(dim=(1, 2)) / counts
    return loss


# --------------------------------------------------------------------------------------------------- verdicts
def above_zero(a, b, what):
    """(verdict, because) of a part judged by the paired 95 % t-interval of a − b over seeds: reproduced when the
    whole interval lies above 0, else not reproduced (no "partly": a mean above 0 by chance is no evidence)."""
    mean, low, high = paired_difference(a, b)
    holds = low > 0
    return ("reproduced" if holds else "not reproduced",
            f"{what}: mean {fmt(mean)}, 95 % t-interval [{fmt(low)}, {fmt(high)}] over {len(a)} seeds "
            f"({'above 0' if holds else 'not above 0'})")


def plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    return pyplot
