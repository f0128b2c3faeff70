"""d2lmini.train.fit: it learns, it matches a bare loop, and it refuses bad input clearly."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from d2lmini.data import Minibatches
from d2lmini.train import History, evaluate, fit, warmup_cosine


def _blobs(n: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centers[y] + torch.randn(n, 2, generator=g), y


def test_fit_learns_and_records_every_epoch() -> None:
    X, y = _blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    history = fit(model, Minibatches(X, y, batch_size=32), nn.CrossEntropyLoss(),
                  torch.optim.SGD(model.parameters(), lr=0.1), epochs=5,
                  val_iter=Minibatches(X, y, batch_size=100, shuffle=False))
    assert history.epochs == 5
    assert history.names == ["train loss", "train acc", "val loss", "val acc"]
    assert all(len(history[name]) == 5 for name in history.names)
    assert history["train loss"][-1] < history["train loss"][0]
    assert history["val acc"][-1] > 0.95
    assert "epoch 5: train loss" in str(history)
    with pytest.raises(KeyError, match="val ppl"):
        history["val ppl"]


def test_fit_computes_exactly_what_a_bare_loop_computes() -> None:
    X, y = _blobs()
    runs = []
    for use_fit in (True, False):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        batches = Minibatches(X, y, batch_size=50, seed=3)
        loss_fn = nn.CrossEntropyLoss()
        if use_fit:
            history = fit(model, batches, loss_fn, opt, epochs=2)
        else:
            total, n = 0.0, 0
            for _ in range(2):
                total, n = 0.0, 0
                for xb, yb in batches:
                    loss = loss_fn(model(xb), yb)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total, n = total + loss.item() * len(yb), n + len(yb)
            history = History(values={"train loss": [total / n]})
        runs.append((model[0].weight.detach().clone(), history["train loss"][-1]))
    assert torch.allclose(runs[0][0], runs[1][0])
    assert runs[0][1] == pytest.approx(runs[1][1], rel=1e-5)


def test_fit_calls_back_once_per_epoch() -> None:
    X, y = _blobs(60)
    model = nn.Linear(2, 3)
    calls: list[int] = []
    fit(model, Minibatches(X, y, batch_size=16), nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
        on_epoch_end=lambda h: calls.append(h.epochs))
    assert calls == [1, 2, 3]


def test_fit_says_when_the_output_does_not_fit_the_classes() -> None:
    X, y = _blobs(60)
    model = nn.Linear(2, 2)  # three classes, two outputs
    with pytest.raises(ValueError, match="at least 3 outputs"):
        fit(model, Minibatches(X, y, batch_size=16), nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1), epochs=1)
    flat = nn.Sequential(nn.Linear(2, 3), nn.Flatten(0))
    with pytest.raises(ValueError, match=r"one score per class for every label"):
        fit(flat, Minibatches(X, y, batch_size=16), nn.CrossEntropyLoss(),
            torch.optim.SGD(flat.parameters(), lr=0.1), epochs=1)


def test_fit_stops_on_a_nan_loss_and_says_where() -> None:
    X, y = _blobs(64)
    X[40] = float("nan")  # in the third batch of 16, in stored order
    model = nn.Linear(2, 3)
    with pytest.raises(FloatingPointError, match="epoch 1, batch 3"):
        fit(model, Minibatches(X, y, batch_size=16, shuffle=False), nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1), epochs=1)


def test_fit_refuses_empty_data_and_zero_epochs() -> None:
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        fit(model, [], nn.CrossEntropyLoss(), opt, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, [], nn.CrossEntropyLoss(), opt, epochs=0)


def test_progress_bar_is_quiet_in_ci(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("D2LMINI_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    X, y = _blobs(64)
    model = nn.Linear(2, 3)
    fit(model, Minibatches(X, y, batch_size=16), nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.1), epochs=2)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    monkeypatch.setenv("D2LMINI_PROGRESS", "1")
    fit(model, Minibatches(X, y, batch_size=16), nn.CrossEntropyLoss(),
        torch.optim.SGD(model.parameters(), lr=0.1), epochs=1)
    assert "epoch 1/1" in capsys.readouterr().err


def test_evaluate_weights_every_label_alike_and_skips_ignored_ones() -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    X, y = _blobs(50)
    y_masked = y.clone()
    y_masked[::4] = -1  # ignored labels, as padding would be
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    got = evaluate(model, Minibatches(X, y_masked, batch_size=7, shuffle=False), loss_fn,
                   metrics=("accuracy", "perplexity"))
    keep = y_masked != -1
    with torch.no_grad():
        scores = model(X)
    want_loss = nn.functional.cross_entropy(scores[keep], y[keep]).item()
    want_acc = (scores[keep].argmax(1) == y[keep]).float().mean().item()
    assert got["loss"] == pytest.approx(want_loss, rel=1e-5)
    assert got["acc"] == pytest.approx(want_acc)
    assert got["ppl"] == pytest.approx(math.exp(want_loss), rel=1e-5)


class _TinyLM(nn.Module):
    """A language model on 5 symbols: an embedding, a GRU, a projection to the vocabulary."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 8)
        self.rnn = nn.GRU(8, 16, batch_first=True)
        self.out = nn.Linear(16, 5)
        self.states_seen: list[Any] = []

    def forward(self, X: torch.Tensor, state: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        self.states_seen.append(state)
        H, state = self.rnn(self.embed(X), state)  # (batch, steps, hidden)
        return self.out(H), state  # (batch, steps, vocab)


def _cycle_batches(n_batches: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Contiguous windows of the sequence 0 1 2 3 4 0 1 2 ...: the next symbol is predictable."""
    seq = torch.arange(n_batches * 8 + 1) % 5
    rows = seq[:-1].reshape(2, -1), seq[1:].reshape(2, -1)  # two streams
    return [(rows[0][:, i:i + 4], rows[1][:, i:i + 4]) for i in range(0, rows[0].shape[1], 4)]


def test_fit_trains_a_language_model_with_clipping_schedule_and_state() -> None:
    torch.manual_seed(0)
    model = _TinyLM()
    batches = _cycle_batches(6)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=10 * len(batches))
    history = fit(model, batches, nn.CrossEntropyLoss(), opt, epochs=10, val_iter=batches,
                  metrics=("perplexity",), clip_grad_norm=1.0, scheduler=sched, stateful=True)
    assert history.names == ["train loss", "train ppl", "val loss", "val ppl", "lr"]
    assert history["val ppl"][-1] < 1.5 < 5 * 0.9 < history["train ppl"][0] * 1.1
    assert history["train ppl"][0] == pytest.approx(math.exp(history["train loss"][0]))
    assert len(history["lr"]) == 10 and history["lr"][-1] < 1e-3  # one-cycle ends near zero
    # The state starts as None every epoch and evaluation, and is carried (detached) otherwise.
    per_pass = len(batches)
    firsts = model.states_seen[::per_pass]
    assert all(s is None for s in firsts)
    carried = [s for s in model.states_seen if s is not None]
    assert carried and all(not s.requires_grad for s in carried)


def test_clipping_bounds_the_global_gradient_norm() -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    X, y = _blobs(40)
    X = X * 1000  # huge gradients
    norms: list[float] = []

    class Spy(torch.optim.SGD):
        def step(self, closure: Any = None) -> Any:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            norms.append(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(g) for g in grads])).item())
            return super().step(closure)

    fit(model, Minibatches(X, y, batch_size=10), nn.CrossEntropyLoss(),
        Spy(model.parameters(), lr=1e-3), epochs=1, clip_grad_norm=0.5)
    assert len(norms) == 4 and max(norms) <= 0.5 + 1e-6


def test_fit_refuses_unknown_metrics() -> None:
    model = nn.Linear(2, 3)
    X, y = _blobs(20)
    with pytest.raises(ValueError, match="perplexity"):
        fit(model, Minibatches(X, y, batch_size=10), nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, metrics=("bleu",))


def test_warmup_cosine_rises_linearly_then_falls_along_half_a_cosine_to_its_floor() -> None:
    f = warmup_cosine(100, 10)
    assert [f(0), f(4), f(9)] == [0.1, 0.5, 1.0]
    assert abs(f(55) - 0.5) < 1e-12 and f(100) == 0.0 and f(150) == 0.0
    g = warmup_cosine(100, 10, floor=0.1)
    assert abs(g(100) - 0.1) < 1e-12 and abs(g(55) - 0.55) < 1e-12
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=2.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, f)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2)  # LambdaLR applies f(0) at once
    for _ in range(9):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="warmup"):
        warmup_cosine(10, 0)
