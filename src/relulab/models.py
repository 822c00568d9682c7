"""A small model zoo for lecture 3: LeNet-style CNNs and MLP baselines for 8×8, 28×28 and 32×32 inputs."""
from . import nn

# (channels, side) of the inputs the zoo knows: 8×8 digits, 28×28 MNIST-like, 32×32 colour (CIFAR-like).
INPUTS = {"digits": (1, 8), "mnist": (1, 28), "cifar": (3, 32)}


def _input(kind):
    if kind not in INPUTS:
        raise ValueError(f"unknown input kind {kind!r}; choose one of {sorted(INPUTS)}")
    return INPUTS[kind]


def lenet(kind="mnist", num_classes=10):
    """LeNet-style CNN: two conv → ReLU → max-pool stages, then a small classifier.

    - ``mnist`` (1×28×28) and ``cifar`` (3×32×32): LeNet-5's 6@5×5 and 16@5×5 filters, 120 → 84 → classes.
    - ``digits`` (1×8×8): 3×3 filters with padding (16 then 32 channels), so two poolings leave 2×2 maps.
    """
    channels, side = _input(kind)
    if kind == "digits":
        return nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 2 * 2, num_classes))
    first_pad = 2 if side == 28 else 0  # 28 + 2·2 = 32: both kinds reach 16 × 5 × 5 before the classifier
    return nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=first_pad), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes))


def mlp(kind="mnist", hidden=(256,), num_classes=10, dropout=0.0):
    """A fully connected baseline on the flattened image: every neuron sees every pixel, nothing is shared."""
    channels, side = _input(kind)
    layers, width = [nn.Flatten()], channels * side * side
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
