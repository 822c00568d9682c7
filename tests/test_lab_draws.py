"""The labs' model-side randomness is PyTorch's: a stack's members start from the weights ``nn.Linear`` draws after
``torch.manual_seed``, a member's batches are a shuffled DataLoader's with its own generator, dropout masks, start
points and augmentation draws are the PyTorch statements ``labs/draws.py`` names; and every report says so."""
import json

import numpy as np
import pytest

import relulab
from relulab.labs import draws, lecture3
from relulab.labs.ensemble import StackedMLP
from relulab.labs.lecture2_common import MemberBatches
from relulab.labs.lecture2_remedies import MemberDropout
from relulab.report import write_index, write_report


@pytest.mark.parametrize("dtype", [relulab.float32, relulab.float64])
def test_stack_members_are_torch_linears_built_in_turn(torch, dtype):
    widths, members, groups, seed, scale = [3, 5, 4, 2], 2, 3, 1234, 0.1
    model = StackedMLP(widths, members, groups, seed=seed, dtype=dtype, init_scale=scale)
    torch.manual_seed(seed)
    nets = [[torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])] for _ in range(groups * members)]
    torch_dtype = torch.float64 if dtype == relulab.float64 else torch.float32
    for k, net in enumerate(nets):
        g, i = divmod(k, members)
        for layer, linear in enumerate(net):
            weight, bias = linear.weight.detach().to(torch_dtype), linear.bias.detach().to(torch_dtype)
            if layer == len(net) - 1:
                weight, bias = weight.mul(scale), bias.mul(scale)
            np.testing.assert_array_equal(getattr(model, f"weight_{g}_{layer}").detach().numpy()[i],
                                          weight.numpy().T)
            np.testing.assert_array_equal(getattr(model, f"bias_{g}_{layer}").detach().numpy()[i, 0], bias.numpy())


def test_stack_leaves_the_default_generator_alone():
    relulab.manual_seed(5)
    want = relulab.rand(4).numpy()
    relulab.manual_seed(5)
    StackedMLP([2, 3, 1], 2, seed=7)
    np.testing.assert_array_equal(relulab.rand(4).numpy(), want)


def test_member_batches_are_a_shuffled_data_loaders(torch):
    n, batch, seeds = 11, 4, [3, 99]
    batches = MemberBatches(n, batch, ["reshuffle", "reshuffle"], seeds)
    steps = [batches.rows(step) for step in range(3 * batches.per_epoch)]  # three epochs
    for k, seed in enumerate(seeds):
        loader = torch.utils.data.DataLoader(torch.arange(n), batch_size=batch, shuffle=True,
                                             generator=torch.Generator().manual_seed(seed))
        want = [b.numpy() for _ in range(3) for b in loader]
        got = [rows[k] for rows in steps]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_member_dropout_masks_are_torch_rand(torch):
    p, seed = np.array([0.25, 0.5]), 42
    drop = MemberDropout(p, seed)
    h = relulab.ones(2, 6, 5)
    got = drop(h).numpy()
    gen = torch.Generator().manual_seed(seed)
    keep = torch.rand((2, 6, 5), generator=gen).numpy() >= p.astype(np.float32)[:, None, None]
    np.testing.assert_array_equal(got, keep / (1.0 - p.astype(np.float32)[:, None, None]))


def test_draw_helpers_are_the_torch_statements_they_name(torch):
    gen, tg = draws.generator(17), torch.Generator().manual_seed(17)
    np.testing.assert_array_equal(draws.uniform(gen, -9.0, -7.0, 6),
                                  torch.empty(6, dtype=torch.float64).uniform_(-9.0, -7.0, generator=tg).numpy())
    np.testing.assert_array_equal(draws.signs(gen, 7),
                                  (torch.randint(0, 2, (7,), generator=tg) * 2 - 1).double().numpy())
    np.testing.assert_array_equal(draws.integers(gen, 0, 3, (2, 5)), torch.randint(0, 3, (2, 5), generator=tg).numpy())
    np.testing.assert_array_equal(draws.rand(gen, (3, 4)), torch.rand((3, 4), generator=tg).numpy())
    np.testing.assert_array_equal(draws.permutation(gen, 50), torch.randperm(50, generator=tg).numpy())
    loader = torch.utils.data.DataLoader(torch.arange(9), batch_size=4, shuffle=True, generator=tg)
    np.testing.assert_array_equal(draws.epoch_order(gen, 9), torch.cat(list(loader)).numpy())  # a whole epoch
    np.testing.assert_array_equal(draws.uniform(gen, 0.2, 1.5, 2),          # the stream went on in step
                                  torch.empty(2, dtype=torch.float64).uniform_(0.2, 1.5, generator=tg).numpy())


def test_lecture3_batch_order_is_torch_randperm(torch, monkeypatch):
    """_train's batches: those of a shuffled DataLoader with the seed's generator."""
    seen = []

    class Recorder(relulab.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = relulab.nn.Parameter(relulab.zeros(1, 3))

        def forward(self, x):
            seen.append(x.numpy()[:, 0, 0, 0].astype(int))
            return x.reshape(len(x), -1)[:, :1] * 0 + self.w
    x = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((10, 1, 2, 2), np.float32)
    y = np.zeros(10, dtype=np.int64)
    lecture3._train(Recorder(), x, y, epochs=2, seed=8, batch_size=4)
    loader = torch.utils.data.DataLoader(torch.arange(10), batch_size=4, shuffle=True,
                                         generator=torch.Generator().manual_seed(8))
    want = np.concatenate([b.numpy() for _ in range(2) for b in loader])
    np.testing.assert_array_equal(np.concatenate(seen), want)


def test_reports_say_where_the_randomness_comes_from(tmp_path):
    write_report(tmp_path / "lab", "A lab", [], 0, True, randomness=draws.RANDOMNESS)
    results = json.loads((tmp_path / "lab" / "results.json").read_text(encoding="utf-8"))
    assert results["randomness"] == draws.RANDOMNESS
    assert draws.RANDOMNESS in (tmp_path / "lab" / "report.md").read_text(encoding="utf-8")
    assert "mt19937" in (tmp_path / "lab" / "report.html").read_text(encoding="utf-8")
    write_index(tmp_path, ["lab"])
    assert draws.RANDOMNESS in (tmp_path / "index.md").read_text(encoding="utf-8")
