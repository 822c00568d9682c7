"""Several seeds' copies of one small MLP trained as one batched model, so that seeds are cheap.

Copy s holds exactly the weights ``nn.Linear`` layers draw after ``relulab.manual_seed(seeds[s])``; its weights
live in slices of (S, in, out) tensors and one batched matmul runs every copy.  Training with the SUM of the
copies' losses is training each copy alone: the copies share no parameter, so each gradient is its own loss's,
and Adam / SGD update each element independently.
"""
import relulab
from relulab import nn


def _mlp(inputs, widths, activation, outputs=1):
    layers, size = [], inputs
    for width in widths:
        layers += [nn.Linear(size, width), activation()]
        size = width
    layers.append(nn.Linear(size, outputs))
    return nn.Sequential(*layers)


class SeedBatchMLP(nn.Module):
    """inputs → [Linear → activation] per width → Linear(outputs), one copy per seed.  ``forward(x)`` takes
    (N, inputs) (shared by the copies) or (S, N, inputs) (a batch per copy) and returns (S, N, outputs)."""

    def __init__(self, inputs, widths, activation, seeds, dtype=None, outputs=1):
        super().__init__()
        copies = []
        for seed in seeds:
            relulab.manual_seed(int(seed))
            copy = _mlp(inputs, tuple(widths), activation, outputs)
            copies.append(copy.to(dtype) if dtype is not None else copy)
        self.seeds = [int(s) for s in seeds]
        self.activation = activation()
        self.depth = len(widths) + 1
        linears = [[m for m in copy if isinstance(m, nn.Linear)] for copy in copies]
        for i in range(self.depth):
            weight = relulab.stack([layers[i].weight.detach().transpose(0, 1) for layers in linears])
            bias = relulab.stack([layers[i].bias.detach().unsqueeze(0) for layers in linears])
            setattr(self, f"weight{i}", nn.Parameter(weight))
            setattr(self, f"bias{i}", nn.Parameter(bias))

    def forward(self, x):
        for i in range(self.depth):
            x = x @ getattr(self, f"weight{i}") + getattr(self, f"bias{i}")
            if i < self.depth - 1:
                x = self.activation(x)
        return x

    def unstacked(self):
        """Each copy as an ordinary ``nn.Sequential`` of Linear layers and activations, holding its trained weights."""
        models = []
        for s in range(len(self.seeds)):
            layers = []
            for i in range(self.depth):
                weight = getattr(self, f"weight{i}").detach()[s]
                linear = nn.Linear(weight.shape[0], weight.shape[1]).to(weight.dtype)
                with relulab.no_grad():
                    linear.weight.copy_(weight.transpose(0, 1))
                    linear.bias.copy_(getattr(self, f"bias{i}").detach()[s, 0])
                layers.append(linear)
                if i < self.depth - 1:
                    layers.append(type(self.activation)())
            models.append(nn.Sequential(*layers))
        return models

    def hidden(self, x, layer=0):
        """The pre-activation of hidden layer ``layer`` for every copy: (S, N, width)."""
        for i in range(layer + 1):
            x = x @ getattr(self, f"weight{i}") + getattr(self, f"bias{i}")
            if i < layer:
                x = self.activation(x)
        return x
