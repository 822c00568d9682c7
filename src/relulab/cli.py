"""The ``relulab`` command."""
import argparse
import sys


def _demo(args):
    """Lecture 1's three steps on the red curve: y = b + Σ_i c_i sigmoid(b_i + w_i x), fitted by gradient descent."""
    import relulab
    from relulab import nn
    from relulab.data import red_curve

    relulab.manual_seed(args.seed)
    x_np, y_np = red_curve(args.points)
    x, y = relulab.tensor(x_np), relulab.tensor(y_np)
    # Step 1, a function with unknowns: Linear(1, n) holds (w_i, b_i), Linear(n, 1) holds (c_i, b).
    model = nn.Sequential(nn.Linear(1, args.units), nn.Sigmoid(), nn.Linear(args.units, 1)).double()
    with relulab.no_grad():  # spread the sigmoids' centres across [0, 1] so each can take one corner
        slopes = relulab.full((args.units, 1), 20.0, dtype=relulab.float64)
        model[0].weight.copy_(slopes)
        model[0].bias.copy_(-20.0 * relulab.linspace(0.05, 0.95, args.units, dtype=relulab.float64))
    loss_fn = nn.MSELoss()  # Step 2, a loss: e = (y - ŷ)², averaged over the points
    n_params = sum(p.numel() for p in model.parameters())
    print(f"relulab demo: fitting y = b + Σ c_i sigmoid(b_i + w_i x) with {args.units} sigmoids "
          f"({n_params} unknowns) to the red curve ({args.points} points)")
    print(f"{'step':>6}  {'MSE loss':>12}")
    first = last = None
    for step in range(args.steps + 1):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        with relulab.no_grad():  # Step 3, optimization: θ ← θ − η ∂L/∂θ
            for p in model.parameters():
                p -= args.lr * p.grad
        value = loss.item()
        first = value if first is None else first
        last = value
        if step % max(args.steps // 10, 1) == 0:
            print(f"{step:>6}  {value:>12.6f}")
    print(f"loss fell from {first:.6f} to {last:.6f} ({first / max(last, 1e-300):.0f}x lower)")
    return 0 if last < first else 1


def build_parser():
    parser = argparse.ArgumentParser(prog="relulab", description="Hung-yi Lee's ML 2022 lectures 1-3, runnable.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit the lecture's sigmoid model to the built-in red curve")
    demo.add_argument("--units", type=int, default=8, help="number of sigmoids (default 8)")
    demo.add_argument("--steps", type=int, default=3000, help="gradient-descent steps (default 3000)")
    demo.add_argument("--lr", type=float, default=0.1, help="learning rate η (default 0.1)")
    demo.add_argument("--points", type=int, default=200, help="points on the curve (default 200)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
