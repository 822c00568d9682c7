"""The notes' questions about classification: how the output becomes a vector (Q9), whether a 2-class softmax
trains exactly like a sigmoid (Q10), why cross-entropy rather than MSE, on a network (Q11), and whether a trained
classifier judges a brand-new character correctly (Q12)."""
import numpy as np

import relulab
import relulab.nn.functional as F
from relulab.optim import SGD, Adam

from .criteria import beats, holds_on_seeds
from .descent import pyplot
from .ensemble import StackedMLP, member_cross_entropy, train
from .framework import Control, Result, experiment
from .questions_common import question
from .lecture2_classify import ring_classes
from .stats import mean_std, spread_row

EXPERIMENTS = []


def _sig(value, digits=4):
    return float(f"{float(value):.{digits}g}")


def three_blobs(rng, n, spread=0.6):
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    labels = rng.integers(0, 3, n)
    return centres[labels] + spread * rng.standard_normal((n, 2)), labels


def _stack_data(parts, groups):
    """(x, labels) tensors for a stack: ``parts`` is one (features, labels) pair per member of a group, repeated
    for every group (group-major, as StackedMLP orders its members)."""
    x = np.tile(np.stack([p[0] for p in parts]), (groups, 1, 1)).astype(np.float32)
    y = np.tile(np.stack([p[1] for p in parts]), (groups, 1))
    return relulab.tensor(x), relulab.tensor(y), y


def _accuracy(model, x, labels):
    with relulab.no_grad():
        return (model(x).numpy().argmax(2) == labels).mean(1)


# ================================================================================================ Q9 output vector
VECTOR_LRS = (0.01, 0.03, 0.1)


def _judge_vector(rows):
    """Criterion (fixed before the run): the network's output for N examples is an (N, 3) array, its rows' softmax
    sums to 1 (1e-5, float32), and its argmax classifies new points (test accuracy >= 0.9), on >= 80 % of seeds."""
    return holds_on_seeds([r["output shape"] == "(600, 3)" and r["max |Σ softmax − 1|"] < 1e-5
                           and r["test accuracy"] >= 0.9 for r in rows],
                          "(N, 3) output, softmax rows sum to 1, test accuracy ≥ 0.9")


@experiment(EXPERIMENTS, "output_vector", "Q9: how does the output become a vector?",
            "For C classes the last layer simply has C outputs ('output three times'): each example gets a vector "
            "of C scores, softmax turns it into probabilities, the target is a one-hot vector, and the largest "
            "score is the predicted class.")
def output_vector(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(100, 200)
    lrs = len(VECTOR_LRS)
    datasets = [[three_blobs(np.random.default_rng([s, part]), n) for part, n in enumerate((150, 150, 600))]
                for s in seeds]
    shuffled = [[(d[0][0], np.random.default_rng([s, 9]).permutation(d[0][1]))] + d[1:] for s, d in zip(seeds, datasets)]
    members = [d for d in datasets] + [d for d in shuffled]          # real labels, then shuffled training labels
    x, y, _ = _stack_data([m[0] for m in members], lrs)
    xv, _, yv = _stack_data([m[1] for m in members], lrs)
    xt, _, yt = _stack_data([m[2] for m in members], lrs)
    model = StackedMLP([2, 16, 3], len(members), groups=lrs, seed=seeds[0])
    train(model, lambda m: member_cross_entropy(m(x), y), Adam(model.param_groups(VECTOR_LRS)), steps)
    val = _accuracy(model, xv, yv).reshape(lrs, 2, len(seeds))
    test = _accuracy(model, xt, yt).reshape(lrs, 2, len(seeds))
    with relulab.no_grad():
        scores = model(xt)
        probabilities = F.softmax(scores, dim=-1).numpy().reshape(lrs, 2, len(seeds), 600, 3)
    out = scores.numpy().reshape(lrs, 2, len(seeds), 600, 3)
    sums = np.abs(probabilities.sum(-1) - 1).max(-1)

    def rows_of(arm):
        rows = []
        for i, s in enumerate(seeds):
            chosen = int(np.argmax(val[:, arm, i]))
            rows.append({"seed": s, "lr": VECTOR_LRS[chosen], "output shape": str(tuple(out[chosen, arm, i].shape)),
                         "max |Σ softmax − 1|": _sig(sums[chosen, arm, i], 3),
                         "test accuracy": _sig(test[chosen, arm, i])})
        return rows

    rows = rows_of(0)
    verdict, because = _judge_vector(rows)
    control_rows = rows_of(1)
    cv, cb = _judge_vector(control_rows)
    controls = [Control("shuffled labels", "the same network trained on the same points with their training labels "
                        "shuffled: the vector output still has the right shape, but nothing to classify with", cv, cb,
                        {"rows": control_rows})]
    example = out[VECTOR_LRS.index(rows[0]["lr"]), 0, 0, :3]
    numbers = dict(steps=steps, test_accuracy=[r["test accuracy"] for r in rows],
                   shuffled_test_accuracy=[r["test accuracy"] for r in control_rows],
                   example_scores=[[_sig(v, 3) for v in e] for e in example],
                   example_softmax=[[_sig(v, 3) for v in p] for p in probabilities[VECTOR_LRS.index(rows[0]["lr"]), 0, 0, :3]],
                   example_labels=[int(v) for v in datasets[0][2][1][:3]])
    because = (f"{because}. Test accuracy {mean_std(numbers['test_accuracy'])} (shuffled labels: "
               f"{mean_std(numbers['shuffled_test_accuracy'])}). Seed 0's first test points: scores "
               f"{numbers['example_scores']}, softmax {numbers['example_softmax']}, labels {numbers['example_labels']}.")
    method = (question("之前output是数值，现在怎么变为向量呢？", "The output used to be a number: how does it become a "
                       "vector?")
              + f"Per seed 3 Gaussian blobs in 2-D (150 training, 150 validation, 600 test points); a 2-16-3 ReLU MLP "
              f"(three outputs) trained by Adam on F.cross_entropy ({steps} full-batch steps); the output array, its "
              "softmax and the argmax are inspected on the test points.")
    settings = f"lr per seed from {list(VECTOR_LRS)} by validation accuracy; the steps and the bar 0.9 fixed a priori."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)


# ================================================================================================ Q10 softmax = sigmoid
PAIR_LR, PAIR_POINTS = 0.5, 100


def _pair_runs(seeds, steps):
    """Per seed, a 2-8-2 tanh MLP with softmax + cross-entropy, and two 2-8-1 sigmoid + BCE copies of it (hidden
    layer copied, last layer w1 − w2, b1 − b2): one with the last layer at lr 2η, one at lr η.  Plain SGD, full
    batch, float64.  Returns per copy the largest |p_softmax(class 0) − p_sigmoid| over all steps (seeds,)."""
    data = [three_blobs(np.random.default_rng(s), PAIR_POINTS, spread=1.2) for s in seeds]
    x = relulab.tensor(np.stack([d[0] for d in data]), dtype=relulab.float64)
    labels = np.stack([np.minimum(d[1], 1) for d in data])            # two classes: blob 0 vs the rest
    y = relulab.tensor(labels)
    first = relulab.tensor((labels == 0).astype(np.float64)[..., None], dtype=relulab.float64)
    softmax_net = StackedMLP([2, 8, 2], len(seeds), activation=relulab.tanh, seed=seeds[0],
                             dtype=relulab.float64)
    copies = {}
    for name, last_lr in (("last layer at 2η", 2 * PAIR_LR), ("same lr η", PAIR_LR)):
        net = StackedMLP([2, 8, 1], len(seeds), activation=relulab.tanh, dtype=relulab.float64)
        net.weight_0_0.data = softmax_net.weight_0_0.detach().numpy().copy()
        net.bias_0_0.data = softmax_net.bias_0_0.detach().numpy().copy()
        w, b = softmax_net.weight_0_1.detach().numpy(), softmax_net.bias_0_1.detach().numpy()
        net.weight_0_1.data = w[..., :1] - w[..., 1:]                     # σ(z1 − z2): the logit difference
        net.bias_0_1.data = b[..., :1] - b[..., 1:]
        optimizer = SGD([{"params": [net.weight_0_0, net.bias_0_0], "lr": PAIR_LR},
                         {"params": [net.weight_0_1, net.bias_0_1], "lr": last_lr}])
        copies[name] = (net, optimizer, np.zeros(len(seeds)))
    optimizer = SGD(softmax_net.parameters(), lr=PAIR_LR)
    for _ in range(steps + 1):
        logits = softmax_net(x)
        p = F.softmax(logits, dim=-1).detach().numpy()[..., 0]
        for name, (net, opt, gap) in copies.items():
            u = net(x)
            gap[:] = np.maximum(gap, np.abs(F.sigmoid(u).detach().numpy()[..., 0] - p).max(1))
            loss = F.binary_cross_entropy_with_logits(u, first, reduction="none").mean(dim=(1, 2)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        loss = member_cross_entropy(logits, y).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: gap for name, (_, _, gap) in copies.items()}


def _judge_pair(rows):
    """Criterion (fixed before the run): the sigmoid copy predicts the same class-0 probability as the softmax net
    at every step and point, to < 1e-9, on every seed."""
    return holds_on_seeds([r["max |p_softmax − p_sigmoid|"] < 1e-9 for r in rows], "same predictions (1e-9)", full=1.0)


@experiment(EXPERIMENTS, "softmax2_training", "Q10: does a 2-class softmax train exactly like a sigmoid?",
            "softmax([z1, z2])₁ = σ(z1 − z2), so a 2-output softmax net and a 1-output sigmoid net with the "
            "difference of its last layer compute the same function; trained by gradient descent they stay identical "
            "step for step, provided the sigmoid's last layer takes twice the learning rate (the two logits' weights "
            "each move, so their difference moves twice as fast).")
def softmax2_training(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(50, 100)
    gaps = _pair_runs(seeds, steps)
    rows = [{"seed": s, "max |p_softmax − p_sigmoid|": _sig(gaps["last layer at 2η"][i], 3)} for i, s in enumerate(seeds)]
    verdict, because = _judge_pair(rows)
    control_rows = [{"max |p_softmax − p_sigmoid|": float(v)} for v in gaps["same lr η"]]
    cv, cb = _judge_pair(control_rows)
    controls = [Control("the same lr everywhere", "the sigmoid copy's last layer at lr η, as one might expect: the "
                        "difference of the two logits then moves at half the softmax net's speed", cv, cb,
                        {"gap": [float(v) for v in gaps["same lr η"]]})]
    numbers = dict(steps=steps, lr=PAIR_LR, gap_twice_lr=[r["max |p_softmax − p_sigmoid|"] for r in rows],
                   gap_same_lr=[_sig(v, 3) for v in gaps["same lr η"]])
    because = (f"{because}. With the same lr everywhere the predictions part by {mean_std(numbers['gap_same_lr'])}. "
               "Derivation: softmax([z1, z2])₁ = e^{z1}/(e^{z1} + e^{z2}) = 1/(1 + e^{−(z1 − z2)}) = σ(z1 − z2); "
               "∂L/∂w1 = (p − y)h = −∂L/∂w2, so w1 − w2 moves by 2η(p − y)h per step, while the hidden layers see "
               "the same gradient (p − y)(w1 − w2) in both nets. The values and gradients themselves: lecture-2 lab, "
               "softmax2_sigmoid.")
    method = (question("两个class的时候可以直接Sigmoid，效果与套Softmax后一模一样。（待推导）",
                       "With two classes a sigmoid can be used directly, exactly as with softmax (derivation to be done)")
              + f"Per seed two classes from Gaussian blobs ({PAIR_POINTS} points); a 2-8-2 tanh MLP with softmax + "
              "cross-entropy, and a 2-8-1 sigmoid + binary cross-entropy net started from it (same hidden layer, last "
              f"layer w1 − w2 and b1 − b2); plain SGD (lr {PAIR_LR}), full batch, float64, {steps} steps; the class-0 "
              "probabilities of the two nets compared at every step.")
    settings = "lr, steps and data fixed a priori; the factor 2 comes from the derivation, not from a search."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)


# ================================================================================================ Q11 CE vs MSE
NET_LRS = (0.03, 0.1, 0.3, 1.0)
BAD_SCALE = 10.0


def _mse_of_softmax(logits, labels_onehot):
    """The lecture's e = Σ_i (ŷ_i − softmax_i)², averaged over each member's points: (count,)."""
    return ((F.softmax(logits, dim=-1) - labels_onehot) ** 2).sum(dim=-1).mean(dim=1)


def _loss_arms(seeds, steps, scale):
    """A 2-16-3 ReLU MLP per (loss, lr, seed), one stack, plain SGD, full batch, from a start whose last layer is
    ``scale`` × PyTorch's init; the first half of the groups minimise MSE on the softmax, the second half CE.
    Returns the steps until the validation and the test accuracy first reach 0.9 (budget + 1 if never) and the
    final test accuracy, each (2 losses, lrs, seeds)."""
    data = [[ring_classes(np.random.default_rng([s, part]), n) for part, n in enumerate((200, 200, 300))]
            for s in seeds]
    groups = 2 * len(NET_LRS)
    x, y, labels = _stack_data([d[0] for d in data], groups)
    onehot = relulab.tensor(np.eye(3, dtype=np.float32)[labels])
    xv, _, yv = _stack_data([d[1] for d in data], groups)
    xt, _, yt = _stack_data([d[2] for d in data], groups)
    model = StackedMLP([2, 16, 3], len(seeds), groups=groups, seed=seeds[0], init_scale=scale)
    half = len(NET_LRS) * len(seeds)

    def losses(m):
        logits = m(x)
        return relulab.cat([_mse_of_softmax(logits[:half], onehot[:half]),
                            member_cross_entropy(logits[half:], y[half:])], 0)

    optimizer, accuracy = SGD(model.param_groups(list(NET_LRS) * 2)), []
    for chunk in range(steps // EVERY):                                 # accuracy read every EVERY steps
        train(model, losses, optimizer, EVERY)
        accuracy.append((_accuracy(model, xv, yv), _accuracy(model, xt, yt)))
    shape = (2, len(NET_LRS), len(seeds))
    reached = []
    for part in (0, 1):
        hit = np.array([a[part] for a in accuracy]) >= REACH             # (reads, members)
        reached.append(np.where(hit.any(0), EVERY * (hit.argmax(0) + 1), steps + EVERY).reshape(shape))
    return reached[0], reached[1], np.array(accuracy[-1][1]).reshape(shape)


REACH, EVERY = 0.9, 5


def _judge_network(rows):
    """Criterion: from the saturated start, the CE net reaches 0.9 test accuracy in fewer steps than the MSE net,
    each at its validation-chosen lr, compared on log2(steps) by the paired rule of ``criteria.beats``."""
    return beats([np.log2(r["bad start: CE steps to 0.9"]) for r in rows],
                 [np.log2(r["bad start: MSE steps to 0.9"]) for r in rows], "log2(steps to 0.9 test accuracy)")


@experiment(EXPERIMENTS, "ce_vs_mse_network", "Q11: why (sometimes) cross-entropy rather than MSE?",
            "When the network starts badly (confident, saturated softmax outputs), MSE on the probabilities has "
            "almost no gradient and gradient descent stalls, while cross-entropy's gradient p − ŷ stays large, so "
            "CE gets to a good classifier in far fewer steps, each loss with its best learning rate. From an "
            "ordinary start the gap is smaller: hence 'sometimes'.")
def ce_vs_mse_network(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(60, 120)
    results = {name: _loss_arms(seeds, steps, scale) for name, scale in
               ctx.progress([("bad start", BAD_SCALE), ("ordinary start", 1.0)], "starts")}
    rows = []
    for i, s in enumerate(seeds):
        row = {"seed": s}
        for start, (val, test, final) in results.items():
            for a, loss in enumerate(("MSE", "CE")):
                chosen = int(np.argmin(val[a, :, i]))
                row[f"{start}: {loss} lr"] = NET_LRS[chosen]
                row[f"{start}: {loss} steps to 0.9"] = int(test[a, chosen, i])
                row[f"{start}: {loss} final accuracy"] = _sig(final[a, chosen, i])
        rows.append(row)
    verdict, because = _judge_network(rows)
    swapped = [{"bad start: CE steps to 0.9": r["bad start: MSE steps to 0.9"],
                "bad start: MSE steps to 0.9": r["bad start: CE steps to 0.9"]} for r in rows]
    cv, cb = _judge_network(swapped)
    controls = [Control("swapped arms", "the two losses' step counts exchanged: the rule must not find MSE faster from "
                        "the same numbers", cv, cb)]
    numbers = {key.replace(": ", "_").replace(" ", "_"): [r[key] for r in rows] for key in rows[0] if key != "seed"}
    numbers.update(budget=steps, last_layer_scale=BAD_SCALE, reach=REACH)
    because = (f"{because}. Steps to {REACH} test accuracy (read every {EVERY}; budget {steps}; {steps + EVERY} = "
               f"never): bad start CE "
               f"{mean_std(numbers['bad_start_CE_steps_to_0.9'])}, MSE {mean_std(numbers['bad_start_MSE_steps_to_0.9'])}; "
               f"ordinary start CE {mean_std(numbers['ordinary_start_CE_steps_to_0.9'])}, MSE "
               f"{mean_std(numbers['ordinary_start_MSE_steps_to_0.9'])} (context, not judged). Final test accuracy, bad "
               f"start: CE {mean_std(numbers['bad_start_CE_final_accuracy'])}, MSE "
               f"{mean_std(numbers['bad_start_MSE_final_accuracy'])}. The 2-D picture of the two surfaces: lecture-2 "
               "lab, ce_vs_mse.")
    method = (question("为什么有时用Cross-entropy而不用MSE", "Why is cross-entropy sometimes used rather than MSE?")
              + f"Per seed the lecture-2 ring data (three 120° sectors of a noisy ring; 200 training, 200 validation, "
              f"300 test points); a 2-16-3 ReLU "
              f"MLP trained up to {steps} full-batch steps by plain SGD on MSE of the softmax, Σ(ŷ_i − y′_i)², or on "
              f"cross-entropy, from the same start: the bad start multiplies the last layer's initial weights by "
              f"{BAD_SCALE:g} (saturated softmax), the ordinary one is PyTorch's init. The measure: the first step at "
              f"at which the test accuracy reaches {REACH} (read every {EVERY} steps).")
    settings = (f"lr per loss, start and seed from {list(NET_LRS)} by the steps to {REACH} validation accuracy; the "
                f"budget, the scale {BAD_SCALE:g}, the bar {REACH} and the data generator fixed a priori. Disclosed "
                "changes: a first version judged the final test accuracy after the budget on 3 Gaussian blobs; both "
                "losses reached the task's ceiling (~0.96), a tie that cannot show a stall, so the measure became the "
                "steps needed to reach 0.9; on the blobs that took 1 to 5 steps either way (too easy to show a "
                "stall), so the data became the lecture's ring, where the classes wrap around; there too every run got "
                "there within ~20 steps, so the budget was cut from 300 to 120 steps to save time.")
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)


# ================================================================================================ Q12 new character
SIDE, NOISE = 8, 0.8
SHIFT_LRS = (0.003, 0.01, 0.03)


def bar_images(rng, labels, background):
    """8×8 images: class 0 a horizontal bar, class 1 a vertical bar, class 2 (never trained) a diagonal, plus
    pixel noise; ``background`` is added to every pixel (the incidental cue, like a colour style)."""
    images = NOISE * rng.standard_normal((len(labels), SIDE, SIDE))
    middle = SIDE // 2
    images[labels == 0, middle, :] += 1.0
    images[labels == 1, :, middle] += 1.0
    images[labels == 2] += np.eye(SIDE)
    return (images + np.asarray(background, float)[:, None, None]).reshape(len(labels), -1)


def _shift_sets(seed, cue):
    """Training and validation images (with or without the cue: class 1 on a bright background), and new images
    with the cue as in training (matched), reversed (swapped), and of a never-seen class."""
    rng = np.random.default_rng(seed)
    sets = {}
    for name, n in (("train", 300), ("validation", 300)):
        labels = rng.integers(0, 2, n)
        background = labels if cue else rng.integers(0, 2, n)
        sets[name] = (bar_images(rng, labels, background), labels)
    labels = rng.integers(0, 2, 500)
    sets["matched"] = (bar_images(rng, labels, labels), labels)
    sets["swapped"] = (bar_images(rng, labels, 1 - labels), labels)
    sets["unseen class"] = (bar_images(rng, np.full(500, 2), np.zeros(500)), np.zeros(500, np.int64))
    return sets


def _judge_shift(rows):
    """Criterion (fixed before the run): new characters drawn without the training cue (background swapped) are
    classified >= 0.25 less accurately than new characters drawn like the training ones, on >= 80 % of seeds."""
    return holds_on_seeds([r["matched accuracy"] - r["swapped accuracy"] >= 0.25 for r in rows],
                          "accuracy drop ≥ 0.25 when the cue is swapped")


@experiment(EXPERIMENTS, "new_class_shift", "Q12: does a trained classifier judge a brand-new character correctly?",
            "Only if the new character shares what the model actually learned. A classifier learns whatever separates "
            "its training classes, incidental cues included (the notes: black-and-white worked, colour didn't): when "
            "new characters lack the cue, accuracy collapses, although the shapes are the same.")
def new_class_shift(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(100, 200)
    lrs = len(SHIFT_LRS)
    arms = [_shift_sets(s, True) for s in seeds] + [_shift_sets([s, 1], False) for s in seeds]
    x, y, _ = _stack_data([a["train"] for a in arms], lrs)
    model = StackedMLP([SIDE * SIDE, 16, 2], len(arms), groups=lrs, seed=seeds[0])
    train(model, lambda m: member_cross_entropy(m(x), y), Adam(model.param_groups(SHIFT_LRS)), steps)
    accuracy = {}
    for name in ("validation", "matched", "swapped"):
        xs, _, labels = _stack_data([a[name] for a in arms], lrs)
        accuracy[name] = _accuracy(model, xs, labels).reshape(lrs, 2, len(seeds))
    xs, _, _ = _stack_data([a["unseen class"] for a in arms], lrs)
    with relulab.no_grad():
        confidence = F.softmax(model(xs), dim=-1).numpy().max(-1).mean(-1).reshape(lrs, 2, len(seeds))

    def rows_of(arm):
        rows = []
        for i, s in enumerate(seeds):
            chosen = int(np.argmax(accuracy["validation"][:, arm, i]))
            rows.append({"seed": s, "lr": SHIFT_LRS[chosen],
                         "matched accuracy": _sig(accuracy["matched"][chosen, arm, i]),
                         "swapped accuracy": _sig(accuracy["swapped"][chosen, arm, i]),
                         "unseen class: mean max p": _sig(confidence[chosen, arm, i])})
        return rows

    rows = rows_of(0)
    verdict, because = _judge_shift(rows)
    control_rows = rows_of(1)
    cv, cb = _judge_shift(control_rows)
    controls = [Control("no cue in training", "the same model trained on images whose background is random, "
                        "independent of the class: there is no incidental cue to lose", cv, cb, {"rows": control_rows})]
    numbers = dict(steps=steps, matched=[r["matched accuracy"] for r in rows], swapped=[r["swapped accuracy"] for r in rows],
                   unseen_confidence=[r["unseen class: mean max p"] for r in rows],
                   no_cue_matched=[r["matched accuracy"] for r in control_rows],
                   no_cue_swapped=[r["swapped accuracy"] for r in control_rows])
    because = (f"{because}. New characters like the training ones: {mean_std(numbers['matched'])}; with the background "
               f"swapped: {mean_std(numbers['swapped'])}; trained without the cue: {mean_std(numbers['no_cue_matched'])} "
               f"and {mean_std(numbers['no_cue_swapped'])}. A character of a class never seen (a diagonal) is still put "
               f"in one of the two classes, with mean max probability {mean_std(numbers['unseen_confidence'])}.")
    figures = [ctx.figure(_shift_figure(arms[0]), "examples")]
    method = (question("在有监督学习时，比如我们要判断是自行车还是小汽车，它们具有明显的特征区别，人工给予label后，"
                       "机器通过学习不同的特征就可以分别出来，但是宝可梦和数码宝贝也具有明显的这种区别吗？……不知道当一个"
                       "全新的角色出现时，旧有的模型是否还能进行准确判断？",
                       "Bicycles and cars differ clearly; do Pokémon and Digimon? When a brand-new character appears, can "
                       "the old model still judge it correctly?")
              + f"Per seed, 8×8 images: horizontal bar = class 0, vertical bar = class 1, pixel noise σ = {NOISE}; in "
              "training class 1 also has a bright background (+1), an incidental cue. A 64-16-2 ReLU MLP, Adam on "
              f"cross-entropy ({steps} full-batch steps, 300 images). Tested on 500 new images drawn like the training "
              "ones (matched), with the background reversed (swapped), and of a never-seen class (diagonals).")
    settings = (f"lr per seed and arm from {list(SHIFT_LRS)} by accuracy on a validation set drawn like the training "
                "set (never on the shifted test); the steps, the noise and the bar 0.25 fixed a priori.")
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _shift_figure(sets):
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(9.6, 2.9))
    (xtr, ytr), (xsw, ysw) = sets["train"], sets["swapped"]
    shown = [(xtr[ytr == 0][0], "training, class 0"), (xtr[ytr == 1][0], "training, class 1 (bright)"),
             (xsw[ysw == 1][0], "new class 1, dark"), (sets["unseen class"][0][0], "never-seen class")]
    for ax, (image, title) in zip(axes, shown):
        ax.imshow(image.reshape(SIDE, SIDE), cmap="gray", vmin=-1.5, vmax=2.5)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
