"""d2lmini.checkpoint: a resumed run equals an uninterrupted one; bad files get clear errors."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from d2lmini.checkpoint import Checkpointer, load_checkpoint, save_checkpoint
from d2lmini.text import RandomWindows
from d2lmini.train import fit

VOCAB, STEPS = 12, 8
_VAL = [(torch.zeros(2, STEPS, dtype=torch.long), torch.ones(2, STEPS, dtype=torch.long))]


class _TinyLM(nn.Module):
    """Embedding, dropout (so the global RNG matters), a linear read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16)
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(16, VOCAB)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(self.embed(X)))  # (batch, steps, vocab)


def _run_parts() -> tuple[nn.Module, torch.optim.Optimizer,
                          torch.optim.lr_scheduler.LRScheduler, RandomWindows]:
    torch.manual_seed(0)
    model = _TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    total = 6 * 5

    def warmup_cosine(step: int) -> float:
        if step < 5:
            return (step + 1) / 5
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - 5) / (total - 5))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine)
    ids = torch.randint(0, VOCAB, (500,), generator=torch.Generator().manual_seed(1))
    data = RandomWindows(ids, STEPS, batch_size=4, num_batches=5, seed=3)
    return model, opt, sched, data


def _train(model: nn.Module, opt: torch.optim.Optimizer,
           sched: torch.optim.lr_scheduler.LRScheduler, data: RandomWindows, epochs: int,
           **kw: object) -> None:
    fit(model, data, nn.CrossEntropyLoss(), opt, epochs=epochs, metrics=(), scheduler=sched,
        clip_grad_norm=1.0, val_iter=_VAL, progress=False, **kw)  # type: ignore[arg-type]


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    model, opt, sched, data = _run_parts()
    _train(model, opt, sched, data, epochs=6)
    reference = {k: v.clone() for k, v in model.state_dict().items()}

    # the same run, stopped after 3 epochs (checkpoints written by fit's hook) ...
    path = tmp_path / "run.pt"
    model, opt, sched, data = _run_parts()
    save = Checkpointer(path, model, opt, sched, generators={"train": data})
    _train(model, opt, sched, data, epochs=3, on_epoch_end=save)
    # ... then the global random state is disturbed, and everything is rebuilt afresh
    torch.manual_seed(1234)
    random.seed(1234)
    np.random.seed(1234)
    model, opt, sched, data = _run_parts()
    checkpoint = load_checkpoint(path, model, opt, sched, generators={"train": data})
    assert checkpoint.epochs == 3 and len(checkpoint.history["train loss"]) == 3
    _train(model, opt, sched, data, epochs=3)
    for name, value in model.state_dict().items():
        assert torch.equal(value, reference[name]), name  # bitwise equal


def test_rng_states_round_trip(tmp_path: Path) -> None:
    model = nn.Linear(2, 2)
    gen = torch.Generator().manual_seed(5)
    save_checkpoint(tmp_path / "c.pt", model, generators={"g": gen}, extra={"step": 7})
    expected = (random.random(), float(np.random.rand()), float(torch.rand(())),
                float(torch.rand((), generator=gen)))
    for _ in range(3):  # move every generator on
        random.random(), np.random.rand(), torch.rand(()), torch.rand((), generator=gen)
    checkpoint = load_checkpoint(tmp_path / "c.pt", model, generators={"g": gen})
    got = (random.random(), float(np.random.rand()), float(torch.rand(())),
           float(torch.rand((), generator=gen)))
    assert got == expected
    assert checkpoint.extra == {"step": 7}


@pytest.mark.parametrize("gpu", ["cuda", "mps"])
def test_gpu_generators_round_trip(gpu: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here: a CPU generator stands in for the GPU's, behind the functions torch offers.
    fake = torch.Generator().manual_seed(3)
    if gpu == "cuda":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [fake.get_state()])
        monkeypatch.setattr(torch.cuda, "set_rng_state_all",
                            lambda states: fake.set_state(states[0]))
    else:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
        monkeypatch.setattr(torch.mps, "get_rng_state", fake.get_state)
        monkeypatch.setattr(torch.mps, "set_rng_state", fake.set_state)
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path / "c.pt", model)
    expected = torch.rand(4, generator=fake)
    torch.rand(10, generator=fake)  # move the GPU's generator on, as training would
    load_checkpoint(tmp_path / "c.pt", model)
    assert torch.equal(torch.rand(4, generator=fake), expected)


def test_generator_states_come_back_to_the_cpu_from_a_gpu_map_location(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.load(map_location="cuda") puts every tensor on the GPU, the generators' states too;
    # no GPU here, so each of them comes back as a stand-in that only .cpu() turns into a tensor.
    class OnGpu:
        def __init__(self, tensor: torch.Tensor) -> None:
            self.tensor = tensor

        def cpu(self) -> torch.Tensor:
            return self.tensor

    def on_gpu(states: object) -> object:
        if isinstance(states, dict):
            return {k: on_gpu(v) for k, v in states.items()}
        if isinstance(states, (list, tuple)):
            return type(states)(on_gpu(v) for v in states)
        return OnGpu(states) if isinstance(states, torch.Tensor) else states

    load = torch.load

    def load_to_gpu(*args: object, **kwargs: object) -> object:
        payload = load(*args, **kwargs)  # type: ignore[arg-type]
        payload["rng"] = on_gpu(payload["rng"])
        payload["generators"] = on_gpu(payload["generators"])
        return payload

    model, gen = nn.Linear(2, 2), torch.Generator().manual_seed(5)
    save_checkpoint(tmp_path / "c.pt", model, generators={"g": gen})
    expected = (float(torch.rand(())), float(torch.rand((), generator=gen)))
    torch.rand(3), torch.rand(3, generator=gen)
    monkeypatch.setattr(torch, "load", load_to_gpu)
    load_checkpoint(tmp_path / "c.pt", model, generators={"g": gen})
    assert (float(torch.rand(())), float(torch.rand((), generator=gen))) == expected


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    model = nn.Linear(3, 1)
    path = save_checkpoint(tmp_path / "sub" / "c.pt", model)
    before = path.read_bytes()

    def broken_save(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with torch.no_grad():
        model.weight.fill_(1.0)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model)
    assert path.read_bytes() == before  # the old checkpoint survives a failed save
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]


def test_truncated_file_gets_a_clear_error(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", nn.Linear(20, 20))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cannot read checkpoint .*c\.pt.*cut short"):
        load_checkpoint(path, nn.Linear(20, 20))


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint\n", b"\x80\x02K\x01."])
def test_foreign_file_gets_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"cannot read checkpoint|not a d2lmini checkpoint"):
        load_checkpoint(path, nn.Linear(2, 2))


def test_plain_state_dict_and_code_pickles_are_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.pt"
    torch.save(nn.Linear(2, 2).state_dict(), bare)
    with pytest.raises(ValueError, match="not a d2lmini checkpoint"):
        load_checkpoint(bare, nn.Linear(2, 2))
    whole = tmp_path / "whole.pt"
    torch.save(nn.Linear(2, 2), whole)  # a pickled module: weights_only refuses it
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_checkpoint(whole, nn.Linear(2, 2))


def test_mismatches_are_explained(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", nn.Linear(2, 2))
    with pytest.raises(ValueError, match="different model"):
        load_checkpoint(path, nn.Linear(3, 2))
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="no generator 'train'"):
        load_checkpoint(path, model, generators={"train": torch.Generator()})
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt", model)
    with pytest.raises(TypeError, match="_generator"):
        save_checkpoint(path, model, generators={"x": object()})
