"""Time one epoch of the 784-256-10 MLP on Fashion-MNIST: d2lmini's fit against a bare loop.

Both loops see the same in-memory tensors, batch size, model, loss and optimizer, in one process,
alternating so that a busy machine slows both alike. The last line is the figure to watch:

    fit/bare epoch time ratio: X.XX   (goal: at most 1.15)

Run with `make bench`. Options: --repeats N (timed epochs per loop, default 5).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from d2lmini.data import Minibatches, load_fashion_mnist
from d2lmini.train import fit


def make_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def bare_epoch(model: nn.Module, batches: Minibatches, opt: torch.optim.Optimizer) -> float:
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for X, y in batches:
        loss = loss_fn(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def fit_epoch(model: nn.Module, batches: Minibatches, opt: torch.optim.Optimizer,
              test: Minibatches | None = None) -> float:
    start = time.perf_counter()
    fit(model, batches, nn.CrossEntropyLoss(), opt, epochs=1, test_iter=test, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    X, y = load_fashion_mnist(train=True)
    X_test, y_test = load_fashion_mnist(train=False)
    batches = Minibatches(X, y, batch_size=256)
    test = Minibatches(X_test, y_test, batch_size=256, shuffle=False)
    runs: dict[str, list[float]] = {"bare loop": [], "d2lmini fit": [], "fit + test accuracy": []}
    models = {name: make_mlp() for name in runs}
    opts = {name: torch.optim.SGD(m.parameters(), lr=0.1) for name, m in models.items()}
    for i in range(args.repeats + 1):  # the first round warms up and is not counted
        for name in runs:
            if name == "bare loop":
                t = bare_epoch(models[name], batches, opts[name])
            else:
                t = fit_epoch(models[name], batches, opts[name],
                              test if name == "fit + test accuracy" else None)
            if i > 0:
                runs[name].append(t)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.repeats} timed epochs each, 60,000 examples, batch 256")
    print(f"{'loop':<22}{'median s/epoch':>16}{'min':>8}{'max':>8}")
    for name, times in runs.items():
        print(f"{name:<22}{statistics.median(times):>16.3f}{min(times):>8.3f}{max(times):>8.3f}")
    ratio = statistics.median(runs["d2lmini fit"]) / statistics.median(runs["bare loop"])
    print(f"fit/bare epoch time ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
