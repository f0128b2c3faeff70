"""d2lmini.data: IDX parsing, the real Fashion-MNIST files, and the minibatch iterator."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from d2lmini.data import (
    FASHION_MNIST,
    FASHION_MNIST_LABELS,
    TIME_MACHINE,
    Minibatches,
    fashion_mnist_splits,
    load_fashion_mnist,
    read_idx,
    read_text,
)
from d2lmini.download import fetch


def _write_idx(path: Path, array: torch.Tensor) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.numpy().tobytes()))


def test_read_idx_round_trips(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8)
    _write_idx(tmp_path / "x.gz", images)
    assert torch.equal(read_idx(tmp_path / "x.gz"), images)


def test_read_idx_refuses_a_short_body_and_a_wrong_magic(tmp_path: Path) -> None:
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10)
    (tmp_path / "short.gz").write_bytes(gzip.compress(header + b"\x01" * 9))
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "magic.gz").write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + b"\x00" * 8))
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "magic.gz")


def test_fashion_mnist_loads_whole_and_in_range(tmp_path: Path) -> None:
    # The data folder is empty: the files come from the mirror (CI) or a download.
    X, y = load_fashion_mnist(train=False, root=tmp_path)
    assert X.shape == (10_000, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (10_000,) and y.dtype == torch.int64
    assert X.min().item() >= 0.0 and X.max().item() <= 1.0
    assert torch.equal(torch.bincount(y), torch.full((10,), 1000))  # balanced classes
    assert len(FASHION_MNIST_LABELS) == 10
    X_train, y_train = load_fashion_mnist(train=True, root=tmp_path)
    assert X_train.shape == (60_000, 1, 28, 28) and y_train.shape == (60_000,)


def test_the_splits_partition_the_training_images_the_same_way_every_time(tmp_path: Path) -> None:
    splits = fashion_mnist_splits(root=tmp_path)
    (X_tr, y_tr), (X_val, y_val), (X_te, y_te) = splits
    assert (len(X_tr), len(X_val), len(X_te)) == (50_000, 10_000, 10_000)
    assert len(y_tr) == 50_000 and len(y_val) == 10_000 and len(y_te) == 10_000
    X_all, y_all = load_fashion_mnist(train=True, root=tmp_path)
    # train and validation together are the 60,000 training images, each exactly once
    key = lambda X: X.flatten(1).mul(255).round().to(torch.int64) @ torch.randint(  # noqa: E731
        0, 2**20, (784,), generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.sort(torch.cat([key(X_tr), key(X_val)])).values,
                       torch.sort(key(X_all)).values)
    assert torch.equal(torch.sort(torch.cat([y_tr, y_val])).values, torch.sort(y_all).values)
    # the same permutation every call: the chapters agree on which images are held out
    again = fashion_mnist_splits(root=tmp_path)
    assert torch.equal(again.val[0], X_val) and torch.equal(again.train[1], y_tr)
    assert torch.equal(X_te, load_fashion_mnist(train=False, root=tmp_path)[0])
    # every class is in the validation set at about its tenth
    assert torch.bincount(y_val, minlength=10).min().item() > 900


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir() and not os.environ.get("CI"),
    reason="Debian's dataset-fashion-mnist is not installed (CI installs it)",
)
def test_debian_package_copies_verify_by_their_content(tmp_path: Path) -> None:
    for resource in FASHION_MNIST.values():
        got = fetch(resource, root=tmp_path / "data", mirror=tmp_path / "none", download=False)
        assert str(got).startswith("/usr/share/datasets/fashion-mnist/")
        assert read_idx(got).shape[0] in (60_000, 10_000)


def test_time_machine_text(tmp_path: Path) -> None:
    text = read_text(TIME_MACHINE, root=tmp_path)
    assert text.count("\n") == 3221
    assert "time traveller" in text.lower()


def test_minibatches_keeps_order_without_shuffle() -> None:
    x = torch.arange(10.0)
    batches = list(Minibatches(x, x.long(), batch_size=4, shuffle=False))
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(Minibatches(x, batch_size=4)) == 3


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 200), batch_size=st.integers(1, 64), seed=st.integers(0, 2**31))
def test_each_epoch_visits_every_example_once(n: int, batch_size: int, seed: int) -> None:
    x = torch.arange(n)
    batches = Minibatches(x, x * 2, batch_size=batch_size, seed=seed)
    seen = [b for b in batches]
    assert len(seen) == len(batches)
    assert all(len(b[0]) == batch_size for b in seen[:-1])
    xs = torch.cat([b[0] for b in seen])
    assert torch.equal(torch.cat([b[1] for b in seen]), xs * 2)  # pairs stay together
    assert torch.equal(xs.sort().values, x)


def test_shuffling_is_seeded_and_changes_between_epochs() -> None:
    x = torch.arange(100)
    a, b = Minibatches(x, batch_size=100, seed=1), Minibatches(x, batch_size=100, seed=1)
    first_a, first_b = next(iter(a))[0], next(iter(b))[0]
    assert torch.equal(first_a, first_b)
    assert not torch.equal(first_a, next(iter(a))[0])


def test_minibatches_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        Minibatches(torch.empty(0, 3), batch_size=2)
    with pytest.raises(ValueError, match="same first dimension"):
        Minibatches(torch.zeros(3), torch.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        Minibatches(torch.zeros(3), batch_size=0)
    with pytest.raises(ValueError, match="at least one tensor"):
        Minibatches(batch_size=2)
