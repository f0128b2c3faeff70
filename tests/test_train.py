"""d2lmini.train.fit: it learns, it matches a bare loop, and it refuses bad input clearly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lmini.data import Minibatches
from d2lmini.train import History, fit


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
                  test_iter=Minibatches(X, y, batch_size=100, shuffle=False))
    assert history.epochs == 5
    assert len(history.train_acc) == len(history.test_acc) == len(history.seconds) == 5
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_acc[-1] > 0.95
    assert "epoch 5" in str(history)


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
            history = History(train_loss=[total / n])
        runs.append((model[0].weight.detach().clone(), history.train_loss[-1]))
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
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
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
