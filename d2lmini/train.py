"""The book's one training loop, and the history it returns.

:func:`fit` trains any classifier that maps a batch of inputs to one score per class: model,
data, loss, optimizer, epochs and device in; a :class:`History` out. The model never knows the
loop, and the loop never draws: pass ``on_epoch_end`` (for example
:class:`d2lmini.plot.LivePlot`) to watch the curves grow. The loop is kept lean, because a
reader runs it on a laptop: it adds under 15% to a bare PyTorch loop (``make bench``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from d2lmini.metrics import evaluate_accuracy

__all__ = ["History", "fit"]

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class History:
    """Per-epoch measurements of a training run; element ``i`` is epoch ``i + 1``."""

    train_loss: list[float] = field(default_factory=list)  # mean loss over the epoch's batches
    train_acc: list[float] = field(default_factory=list)  # accuracy on the batches as trained
    test_acc: list[float] = field(default_factory=list)  # empty when no test data was given
    seconds: list[float] = field(default_factory=list)  # wall-clock time of the epoch

    @property
    def epochs(self) -> int:
        """How many epochs have been recorded."""
        return len(self.train_loss)

    def __str__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        test = f", test acc {self.test_acc[-1]:.3f}" if self.test_acc else ""
        return (
            f"epoch {self.epochs}: loss {self.train_loss[-1]:.3f}, "
            f"train acc {self.train_acc[-1]:.3f}{test}, {sum(self.seconds):.1f} s in all"
        )


def _interactive() -> bool:
    """Whether a progress bar helps: a terminal or a Jupyter kernel, but not CI or a build."""
    setting = os.environ.get("D2LMINI_PROGRESS", "").lower()
    if setting in ("0", "off", "false", "no"):
        return False
    if setting in ("1", "on", "true", "yes"):
        return True
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    return sys.stderr.isatty()


def fit(
    model: nn.Module,
    train_iter: Batches,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    test_iter: Batches | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[History], None] | None = None,
) -> History:
    """Train a classifier for a number of epochs and return what was measured.

    Args:
        model: Maps inputs of shape ``(batch, ...)`` to class scores ``(batch, classes)``.
        train_iter: Re-iterable batches ``(inputs, labels)``, such as
            :class:`d2lmini.data.Minibatches`.
        loss_fn: Mean loss of a batch, e.g. ``nn.CrossEntropyLoss()``.
        optimizer: Updates the model's parameters.
        epochs: Passes over ``train_iter``.
        test_iter: Batches to measure accuracy on after each epoch.
        device: Where to train; defaults to the device of the model's first parameter.
        progress: Show a progress bar per epoch; by default only in a terminal or Jupyter,
            never when ``$CI`` is set or ``$D2LMINI_PROGRESS=0``.
        on_epoch_end: Called with the history after each epoch (a live plot, a checkpoint).

    Returns:
        The :class:`History` of the run.

    Raises:
        ValueError: if the data is empty or the model's output does not fit the labels.
        FloatingPointError: if the loss becomes NaN or infinite; says at which epoch and batch.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    show = _interactive() if progress is None else progress
    history = History()
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        bar = tqdm(train_iter, desc=f"epoch {epoch}/{epochs}", leave=False, disable=not show)
        for batch, (X, y) in enumerate(bar, start=1):
            X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
            y_hat = model(X)
            if batch == 1 and epoch == 1:
                _check_output(y_hat, y)
            loss = loss_fn(y_hat, y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss.item()} at epoch {epoch}, batch {batch}: "
                    "try a smaller learning rate, or check the inputs for NaN or huge values"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            n = len(y)
            loss_sum += loss.detach() * n
            correct += (y_hat.detach().argmax(dim=1) == y).sum()
            seen += n
        bar.close()
        if seen == 0:
            raise ValueError("the training data is empty: train_iter yielded no batches")
        history.train_loss.append(loss_sum.item() / seen)
        history.train_acc.append(correct.item() / seen)
        if test_iter is not None:
            history.test_acc.append(evaluate_accuracy(model, test_iter, device))
        history.seconds.append(time.perf_counter() - start)
        if on_epoch_end is not None:
            on_epoch_end(history)
    return history


def _check_output(y_hat: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse a model output that cannot be class scores for these labels, saying why."""
    if y_hat.ndim != 2 or y_hat.shape[0] != y.shape[0]:
        raise ValueError(
            f"the model returned shape {tuple(y_hat.shape)} for a batch of {y.shape[0]}; "
            f"a classifier must return (batch, classes) = ({y.shape[0]}, k)"
        )
    top = int(y.max())
    if top >= y_hat.shape[1]:
        raise ValueError(
            f"the model outputs {y_hat.shape[1]} class scores but a label is {top}: "
            f"its last layer needs at least {top + 1} outputs"
        )
    if not math.isfinite(float(y_hat.detach().float().abs().max())):
        raise FloatingPointError("the model's first output holds NaN or infinite values")
