"""Lock-step: the HW1 sample code's recipe run by PyTorch and by relulab from the same seed.

``same_seed``, ``random_split`` into train/valid, a model built by the same code, a shuffled DataLoader, SGD with
momentum: the initial weights must be identical, and the loss of each of 100 steps must agree to float32 rounding
(relative 1e-5; the two libraries' matmuls may round differently, so exact equality is not expected).
"""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

STEPS = 100


def _hw1_style_data(rows=400, features=16, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = (x @ rng.normal(size=features) + 0.3 * rng.normal(size=rows)).astype(np.float32)
    return x, y


def run(lib, x, y, seed, explicit_generator):
    """The sample code's steps, written once for both libraries."""
    torch, nn = lib, lib.nn
    torch.manual_seed(seed)  # same_seed(seed)
    dataset = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    valid_size = int(0.2 * len(dataset))
    train_set, valid_set = torch.utils.data.random_split(dataset, [len(dataset) - valid_size, valid_size],
                                                         generator=torch.Generator().manual_seed(seed))
    generator = torch.Generator().manual_seed(seed + 1) if explicit_generator else None
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=32, shuffle=True, generator=generator)
    valid_loader = torch.utils.data.DataLoader(valid_set, batch_size=32, shuffle=False)
    model = nn.Sequential(nn.Linear(x.shape[1], 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 8), nn.ReLU(),
                          nn.Linear(8, 1))
    initial = [p.detach().numpy().copy() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    criterion = nn.MSELoss(reduction="mean")
    losses, valid_losses = [], []
    while len(losses) < STEPS:
        model.train()
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(xb).squeeze(1), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == STEPS:
                break
        model.eval()
        with torch.no_grad():
            valid_losses.append(np.mean([criterion(model(xb).squeeze(1), yb).item() for xb, yb in valid_loader]))
    return initial, list(valid_set.indices), np.array(losses), np.array(valid_losses)


def _compare(torch, x, y, seed, explicit_generator):
    import relulab.torch as rt
    t_init, t_valid, t_losses, t_valid_losses = run(torch, x, y, seed, explicit_generator)
    r_init, r_valid, r_losses, r_valid_losses = run(rt, x, y, seed, explicit_generator)
    assert t_valid == r_valid
    for a, b in zip(t_init, r_init):
        assert_array_equal(a, b)
    np.testing.assert_allclose(r_losses, t_losses, rtol=1e-5)
    np.testing.assert_allclose(r_valid_losses, t_valid_losses, rtol=1e-5)
    return t_losses


@pytest.mark.parametrize("seed", (0, 5201314))
@pytest.mark.parametrize("explicit_generator", (False, True))
def test_hw1_style_run_agrees_step_for_step(torch, seed, explicit_generator):
    x, y = _hw1_style_data()
    losses = _compare(torch, x, y, seed, explicit_generator)
    assert losses[-10:].mean() < losses[:10].mean()  # it trained: the agreement is not between two flat lines


def test_different_seeds_do_not_agree(torch):
    """The negative control: the comparison above can fail."""
    import relulab.torch as rt
    x, y = _hw1_style_data()
    t_init, *_ = run(torch, x, y, 0, False)
    r_init, *_ = run(rt, x, y, 1, False)
    assert not np.array_equal(t_init[0], r_init[0])


def test_on_the_course_hw1_data(torch, hw1_train):
    """The real HW1 training file (the course's COVID-19 data): 117 features after the id column."""
    table = np.genfromtxt(hw1_train, delimiter=",", skip_header=1, dtype=np.float64)
    x, y = table[:, 1:-1], table[:, -1]
    x = ((x - x.mean(0)) / (x.std(0) + 1e-8)).astype(np.float32)
    _compare(torch, x, y.astype(np.float32), 5201314, False)
