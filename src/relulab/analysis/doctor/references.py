"""The models the doctor compares the run's model with, and how each relates to it.

- **retrained**: the run's own architecture from a fresh seeded initialisation: it separates "wrong lr" from
  "wrong model".
- **linear** and **shallow** (one hidden layer, the model's activation and narrowest width): simpler models the
  run's model *contains*, when it is a plain MLP wide and deep enough.  Losing to one of them is the lecture's
  56- vs 20-layer argument: the model could have copied it, so the optimization failed.
- **bigger**: a wider (and at least two hidden layers deep) MLP that contains the run's model: if it, trained
  well, fits clearly better, and does so on held-out rows too, the model is too inflexible (model bias).

What "contains" means depends on the activation, because a deeper net copies a shallower one by passing values
through its extra layers (``PASS_THROUGH``): exactly for ReLU-like activations on bounded data, only approximately
for smooth ones.  Widening is always exact: extra units with zero outgoing weights change nothing.
"""
import copy
import inspect
from dataclasses import dataclass, field

import numpy as np

from ... import nn
from ... import random as rl_random
from ...nn.conv import _BatchNorm

# How an extra layer with activation φ passes bounded values through unchanged: (how well, why).
PASS_THROUGH = {
    "identity": ("exact", "without an activation the layers compose to one linear map"),
    "ReLU": ("exact", "ReLU is the identity for z ≥ 0: on bounded data a bias lifts the values above 0 and the next "
             "layer subtracts it"),
    "LeakyReLU": ("exact", "LeakyReLU is the identity for z ≥ 0: on bounded data a bias lifts the values above 0 and "
                  "the next layer subtracts it"),
    "Hardsigmoid": ("exact", "hardsigmoid(z) = z/6 + 1/2 on [-3, 3]: scale bounded values into that interval and "
                    "undo the scale in the next layer"),
    "Sigmoid": ("approximate", "sigmoid(z) ≈ 1/2 + z/4 near 0: tiny input weights and large output weights make "
                "the error as small as you like, but never zero"),
    "Tanh": ("approximate", "tanh(z) ≈ z near 0: tiny input weights and large output weights make the error as "
             "small as you like, but never zero"),
    "Softplus": ("approximate", "softplus(z) ≈ z for large z (the error is about e^-z): a large bias makes it "
                 "nearly the identity, never exactly"),
}
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh, nn.Softplus)
_PLAIN_LAYERS = (nn.Linear, nn.Dropout, nn.Flatten, nn.Identity) + ACTIVATIONS
# The bigger reference is at least this wide (and at least twice the model's widest hidden layer).
BIGGER_MIN_WIDTH = 64
# A linear model has no hidden width to copy: the shallow reference then gets this many units.
DEFAULT_HIDDEN_WIDTH = 32


@dataclass
class Reference:
    """A model trained by the doctor, at its own best lr, and what it says about the diagnosed model."""

    kind: str             # "retrained" | "linear" | "shallow" | "bigger"
    name: str
    train_loss: float     # on the doctor's fit rows, at the best lr of its search
    contained: bool       # the diagnosed model can represent this reference (exactly or approximately)
    parameters: int
    relation: str = ""    # e.g. "contained exactly", "contains the model approximately", "same architecture"
    why: str = ""         # the containment argument for this activation
    holdout_loss: float = float("nan")
    search: object = field(default=None, repr=False)  # the lr_search.Search behind train_loss

    @property
    def lr(self):
        return self.search.best.lr if self.search is not None else None

    @property
    def contains_model(self):
        return self.relation.startswith("contains the model")


@dataclass
class Architecture:
    """What the doctor reads off a model: enough to build references and argue containment."""

    plain_mlp: bool         # a Sequential of Linear layers, activations, Dropout and Flatten only
    hidden_widths: list     # out_features of every Linear but the last
    activation: type        # the (first) activation, None for a purely linear model
    single_activation: bool
    dropout: float

    @property
    def hidden_layers(self):
        return len(self.hidden_widths)

    @property
    def activation_name(self):
        return self.activation.__name__ if self.activation is not None else "identity"

    @property
    def pass_through(self):
        """("exact" | "approximate" | None, why) for copying a shallower net with this activation."""
        if not (self.plain_mlp and self.single_activation):
            return None, "the model is not a plain MLP with one activation, so no containment is claimed"
        return PASS_THROUGH.get(self.activation_name, (None, f"{self.activation_name}: no containment argument"))


def architecture(model):
    children = list(model.children()) if isinstance(model, nn.Sequential) else []
    plain = bool(children) and all(isinstance(m, _PLAIN_LAYERS) for m in children)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    activations = [type(m) for m in model.modules() if isinstance(m, ACTIVATIONS)]
    dropout = next((m.p for m in model.modules() if isinstance(m, nn.Dropout)), 0.0)
    return Architecture(plain and bool(linears), [m.out_features for m in linears[:-1]],
                        activations[0] if activations else None, len(set(activations)) <= 1, dropout)


def reference_plans(model, in_features, output_shape):
    """[(kind, name, layers builder, relation, why)] for linear, shallow and bigger, minus any that is the model's
    own architecture (the retrained model covers that)."""
    arch = architecture(model)
    out_features = int(np.prod(output_shape)) if output_shape else 1
    how, why = arch.pass_through
    activation = arch.activation or nn.ReLU
    plans = []

    def same_as_model(widths):
        return arch.plain_mlp and arch.single_activation and widths == arch.hidden_widths and (
            not widths or activation is arch.activation)

    # linear: a rank-min(d, k) linear map factors through any hidden layer at least that wide
    if not same_as_model([]):
        rank = min(in_features, out_features)
        inside = how is not None and min(arch.hidden_widths, default=rank) >= rank
        plans.append(("linear", "linear model", [], activation, _contained(inside, how), why if inside else
                      "the model has a hidden layer narrower than the linear map's rank" if how else why))

    narrowest = min(arch.hidden_widths) if arch.hidden_widths else DEFAULT_HIDDEN_WIDTH
    if not same_as_model([narrowest]):
        name = f"shallow net (1x{narrowest} {activation.__name__})"
        if arch.hidden_layers >= 2 and how is not None:
            plans.append(("shallow", name, [narrowest], activation, _contained(True, how), why))
        elif arch.hidden_layers == 0 and arch.plain_mlp:  # a linear model: the shallow net is the bigger one
            exact = PASS_THROUGH.get(activation.__name__, (None, ""))
            plans.append(("shallow", name, [narrowest], activation, _contains(exact[0]),
                          f"a hidden layer can pass the linear map through: {exact[1]}"))
        else:
            plans.append(("shallow", name, [narrowest], activation, "unrelated", why))

    width = max(BIGGER_MIN_WIDTH, 2 * max(arch.hidden_widths, default=0))
    depth = max(2, arch.hidden_layers)
    name = f"bigger net ({depth}x{width} {activation.__name__})"
    if arch.plain_mlp and arch.single_activation and arch.hidden_layers >= 2:
        relation, reason = "contains the model exactly", ("as deep and wider: extra units with zero outgoing "
                                                           "weights leave the model's function unchanged")
    elif arch.plain_mlp and arch.single_activation:
        exact = PASS_THROUGH.get(activation.__name__, (None, ""))
        relation, reason = _contains(exact[0]), f"wider, and its extra layers pass values through: {exact[1]}"
    else:
        relation, reason = "more flexible (containment not claimed)", why
    plans.append(("bigger", name, [width] * depth, activation, relation, reason))
    return plans


def build_reference(widths, activation, in_features, output_shape, dropout, dtype):
    """Flatten, then Linear layers of the given hidden widths with ``activation`` (and the model's dropout)."""
    out_features = int(np.prod(output_shape)) if output_shape else 1
    layers, fan_in = [nn.Flatten()], in_features
    for width in widths:
        layers += [nn.Linear(fan_in, width), activation()]
        if dropout:
            layers.append(nn.Dropout(dropout))  # the same regularization, or the reference fits unfairly well
        fan_in = width
    layers.append(nn.Linear(fan_in, out_features))
    if tuple(output_shape) != (out_features,):
        layers.append(_ToShape(output_shape))
    return nn.Sequential(*layers).to(dtype)


def reinitialised(model, seed):
    """A deep copy of ``model`` with every parameter drawn afresh (seeded), or None if some layer cannot be."""
    from ...autograd.grad_mode import no_grad
    twin = copy.deepcopy(model)
    generator = rl_random.Generator().manual_seed(seed)
    rl_random.manual_seed(seed)  # for a custom reset_parameters() that draws from the global stream
    for module in twin.modules():
        own = [p for p in module._parameters.values() if p is not None]
        if hasattr(module, "reset_parameters"):
            takes_generator = "generator" in inspect.signature(module.reset_parameters).parameters
            module.reset_parameters(**({"generator": generator} if takes_generator else {}))
        elif isinstance(module, _BatchNorm):
            module.reset_running_stats()
            with no_grad():
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
        elif own:
            return None
    return twin.train()


def parameter_count(model):
    return int(sum(p.numel() for p in model.parameters()))


def _contained(inside, how):
    return f"contained {'exactly' if how == 'exact' else 'approximately'}" if inside else "not contained"


def _contains(how):
    if how is None:
        return "more flexible (containment not claimed)"
    return f"contains the model {'exactly' if how == 'exact' else 'approximately'}"


class _ToShape(nn.Module):
    """Reshape a reference's (n, k) output to the diagnosed model's output shape, so the same loss applies."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)
