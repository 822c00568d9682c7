"""The ``relulab`` command."""
import argparse
import os
import sys
import traceback


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


def _train(args):
    from .train import load_config, train
    config = load_config(args.config, args.set)
    run = train(config, out_dir=args.out, name=args.name, progress=args.progress)
    print(f"finished: {run.path}")
    return 0


def _resume(args):
    from .train import resume
    run = resume(args.run_dir, epochs=args.epochs, progress=args.progress)
    print(f"finished: {run.path}")
    return 0


def _evaluate(args):
    from .train import evaluate_run
    results = evaluate_run(args.run_dir, which=args.checkpoint)
    for split, metrics in results.items():
        print(f"{split:>6}: " + "  ".join(f"{k} {v:.5f}" for k, v in metrics.items()))
    return 0


def _predict(args):
    from .train import predict
    pred = predict(args.run_dir, args.data, args.out, which=args.checkpoint)
    print(f"wrote {len(pred)} predictions to {args.out}")
    return 0


def _cv(args):
    from .train import cross_validate, load_config
    config = load_config(args.config, args.set)
    cross_validate(config, folds=args.folds, workers=args.workers)
    return 0


def _diagnose(args):
    """Lecture 2's training guide on a finished run: verdict, evidence, remedies, and a figure."""
    from pathlib import Path
    from .analysis.doctor import diagnose_run
    options = {} if args.budget is None else {"budget_updates": args.budget}
    diagnosis = diagnose_run(args.run_dir, which=args.checkpoint, seed=args.seed, **options)
    print(diagnosis.report())
    out_dir = Path(args.out or args.run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"\nfigure: {diagnosis.plot(out_dir / 'diagnosis.png')}")
    return 0


def _lab(args):
    from pathlib import Path
    from .labs import run_lab
    from .report import read_results, verdict_table
    reports = run_lab(args.name, out=args.out, quick=args.quick, seed=args.seed,
                      progress=lambda message: print(message, flush=True))
    for path in reports.values():  # the verdict table comes last, where a reader looks
        print(f"\n{verdict_table(read_results(Path(path).parent))}")
    print()
    for name, path in reports.items():
        print(f"{name}: report written to {path}")
    print(f"index of the labs: {Path(args.out) / 'index.html'}")
    return 0


def _run_torch(args):
    """Run a PyTorch script on relulab: its `import torch` / `import torchvision` resolve to relulab.torch."""
    from .torch.runner import main as run_script
    return run_script([args.script, *args.args])


def _sweep(args):
    """Many configurations of one config, scored on validation data or k-fold CV."""
    from .sweep import run_sweep
    command = "relulab sweep " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    result = run_sweep(args.config, args.set, grid=args.grid, random=args.random, folds=args.folds, seeds=args.seeds,
                       workers=args.workers, out=args.out, name=args.name, ray=args.ray, scheduler=args.scheduler,
                       sample_seed=args.sample_seed, progress=lambda message: print(message, flush=True),
                       command=command)
    print(f"results: {result.directory / 'results.csv'}, {result.directory / 'results.md'}")
    failed = sum(r.status == "failed" for r in result.records)
    return 1 if result.records and failed == len(result.records) else 0


def _play(args):
    """A browser playground on the real engine: a local web server with the page and one worker per session."""
    try:
        from .play import Limits, serve
        import starlette, uvicorn  # noqa: F401  (the play extra)
    except ImportError as e:
        print(f"relulab play: error: needs the play extra ({e.name} is missing): pip install 'relulab[play]'",
              file=sys.stderr)
        return 2
    limits = Limits(max_sessions=args.max_sessions, max_parameters=args.max_parameters,
                    max_steps_per_second=args.max_steps_per_second, memory_mb=args.memory_mb,
                    idle_timeout=args.idle_timeout)
    try:
        return serve(host=args.host, port=args.port, open_browser=args.open, limits=limits)
    except KeyboardInterrupt:
        return 0


def _updates(text):
    """--budget: a whole number of updates >= 0, or a one-line argparse error."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of updates >= 0, got {text!r}")
    return value


def _add_config_args(parser):
    parser.add_argument("config", help="a TOML run configuration (see examples/)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set optimizer.lr=0.01 (repeatable)")


def _add_progress(parser):
    parser.add_argument("--progress", action="store_true", default=None,
                        help="show progress bars even when stdout is not a terminal")


def _add_debug(parser, default=argparse.SUPPRESS):
    """``--debug``: on an error, print the Python traceback too (also ``RELULAB_DEBUG=1``)."""
    parser.add_argument("--debug", action="store_true", default=default,
                        help="on an error, show the Python traceback as well as the message")


def build_parser():
    parser = argparse.ArgumentParser(prog="relulab", description="Hung-yi Lee's ML 2022 lectures 1-3, runnable.")
    _add_debug(parser, default=False)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit the lecture's sigmoid model to the built-in red curve")
    demo.add_argument("--units", type=int, default=8, help="number of sigmoids (default 8)")
    demo.add_argument("--steps", type=int, default=3000, help="gradient-descent steps (default 3000)")
    demo.add_argument("--lr", type=float, default=0.1, help="learning rate η (default 0.1)")
    demo.add_argument("--points", type=int, default=200, help="points on the curve (default 200)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train a model from a TOML config into a new run directory")
    _add_config_args(train)
    train.add_argument("--out", help="parent folder for run directories (default: the config's out_dir)")
    train.add_argument("--name", help="run name (default: the config's name)")
    _add_progress(train)
    _add_debug(train)
    train.set_defaults(func=_train)

    resume = sub.add_parser("resume", help="continue a run from its last checkpoint, exactly")
    resume.add_argument("run_dir")
    resume.add_argument("--epochs", type=int, help="train up to this many epochs in total")
    _add_progress(resume)
    _add_debug(resume)
    resume.set_defaults(func=_resume)

    evaluate = sub.add_parser("evaluate", help="metrics of a run's checkpoint on its train/valid/test splits")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--checkpoint", choices=("best", "last"), default="best")
    _add_debug(evaluate)
    evaluate.set_defaults(func=_evaluate)

    predict = sub.add_parser("predict", help="write id,tested_positive predictions for a CSV (HW1 format)")
    predict.add_argument("run_dir")
    predict.add_argument("--data", required=True, help="CSV with the training columns but no target")
    predict.add_argument("--out", required=True, help="where to write the predictions CSV")
    predict.add_argument("--checkpoint", choices=("best", "last"), default="best")
    _add_debug(predict)
    predict.set_defaults(func=_predict)

    diagnose = sub.add_parser("diagnose", help="lecture 2's guide on a run: model bias, optimization, overfitting?")
    diagnose.add_argument("run_dir")
    diagnose.add_argument("--out", help="folder for diagnosis.png (default: the run directory)")
    diagnose.add_argument("--checkpoint", choices=("best", "last"), default=None,
                          help="weights to diagnose (default: those the run ended with)")
    diagnose.add_argument("--seed", type=int, default=0, help="seed for the reference models (default 0)")
    diagnose.add_argument("--budget", type=_updates, default=None, metavar="UPDATES",
                          help="the doctor's own training: optimizer updates per learning-rate candidate of each "
                               "reference model (default 400; fewer is faster and rougher; 0 trains none)")
    diagnose.set_defaults(func=_diagnose)

    lab = sub.add_parser("lab", help="reproduce a lecture's claims: experiments, figures, verdicts, a report")
    from .labs import LABS  # the registry alone: experiments load only when a lab runs
    lab.add_argument("name", choices=tuple(LABS) + ("all",))
    lab.add_argument("--out", default="lab-report", help="folder for the reports (default: lab-report)")
    lab.add_argument("--quick", action="store_true", help="smaller sizes: the CI smoke run")
    lab.add_argument("--seed", type=int, default=0)
    lab.set_defaults(func=_lab)

    run_torch = sub.add_parser("run-torch", help="run a PyTorch script unmodified, with torch mapped to relulab")
    run_torch.add_argument("script", help="the Python script to run")
    run_torch.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed on to the script")
    run_torch.set_defaults(func=_run_torch)

    sweep = sub.add_parser("sweep", help="many configurations of one config, chosen by validation or k-fold score")
    _add_config_args(sweep)
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="values to try for a key (repeatable; the trials are the product)")
    sweep.add_argument("--random", nargs="+", default=[], metavar="N KEY=DIST",
                       help="N random draws of keys from loguniform(a,b), uniform(a,b) or choice(v1,v2,...)")
    sweep.add_argument("--sample-seed", type=int, default=0, help="seed of the random draws (default 0)")
    sweep.add_argument("--folds", type=int, default=1, help="score each trial by K-fold CV (default: the holdout)")
    sweep.add_argument("--seeds", type=int, default=1, help="seeds per trial, from the config's seed up (default 1)")
    sweep.add_argument("--workers", type=int, default=None, help="parallel trials (default: the number of cores)")
    sweep.add_argument("--name", help="sweep name: the folder under --out (default: the config's file name)")
    sweep.add_argument("--out", default="sweeps", help="parent folder (default: sweeps)")
    sweep.add_argument("--ray", metavar="auto|ADDRESS", help="run on an existing Ray cluster through Ray Tune")
    sweep.add_argument("--scheduler", choices=("asha",), help="Tune's ASHA early stopping (with --ray)")
    sweep.set_defaults(func=_sweep)

    play = sub.add_parser("play", help="a browser playground on the real engine, with the lecture's tools")
    play.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0: any free port)")
    play.add_argument("--host", default="127.0.0.1",
                      help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    play.add_argument("--open", action="store_true", help="open the page in the default browser")
    play.add_argument("--max-sessions", type=int, default=32, help="concurrent sessions, one worker each (default 32)")
    play.add_argument("--max-parameters", type=int, default=5000, help="largest model, in parameters (default 5000)")
    play.add_argument("--max-steps-per-second", type=int, default=100,
                      help="fastest update rate of one session (default 100)")
    play.add_argument("--memory-mb", type=int, default=512, help="memory one worker may add, in MB (default 512)")
    play.add_argument("--idle-timeout", type=float, default=120.0,
                      help="seconds without a request before a session is closed (default 120)")
    _add_debug(play)
    play.set_defaults(func=_play)

    cv = sub.add_parser("cv", help="k-fold cross-validation: mean ± std of the validation metric")
    _add_config_args(cv)
    cv.add_argument("--folds", type=int, default=5)
    _add_debug(cv)
    cv.add_argument("--workers", type=int, default=1, help="folds trained in parallel (default 1)")
    cv.set_defaults(func=_cv)
    return parser


# Errors that bad input causes (a config value, a file, a run directory): one clear line, exit status 2.
_INPUT_ERRORS = (ValueError, OSError, KeyError, IndexError, MemoryError)


def main(argv=None):
    args = build_parser().parse_args(argv)
    debug = args.debug or bool(os.environ.get("RELULAB_DEBUG"))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted: the last complete checkpoint is intact; continue with `relulab resume RUN_DIR`",
              file=sys.stderr)
        return 130
    except Exception as e:  # no traceback unless asked for: --debug or RELULAB_DEBUG=1
        if debug:
            traceback.print_exc()
        expected = isinstance(e, _INPUT_ERRORS)
        plain = isinstance(e, (ValueError, OSError, IndexError)) and str(e)  # KeyError's str is just the quoted key
        message = str(e) if plain else f"{type(e).__name__}: {e}"
        print(f"relulab {args.command}: error: {message}", file=sys.stderr)
        if not expected and not debug:
            print(f"relulab {args.command}: this looks like a bug in relulab; rerun with --debug for the traceback",
                  file=sys.stderr)
        return 2 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
