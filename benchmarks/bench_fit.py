"""Time one epoch of the book's models: d2lmini's fit against a bare PyTorch loop.

For each case in ``CASES`` both loops see the same in-memory batches, model, loss, optimizer,
clipping and hidden-state handling, in one process, alternating so that a busy machine slows both
alike. The bare loop does the least a training loop must; ``fit`` also keeps its running loss and
metrics. One line per case is the figure to watch:

    fit/bare epoch time ratio (NAME): X.XX   (goal: at most 1.10)

Run with `make bench`. Options: --repeats N (timed epochs per loop, default 5), --only NAME.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from d2lmini.data import (
    FRA_ENG,
    TIME_MACHINE,
    TINY_SHAKESPEARE,
    Minibatches,
    load_fashion_mnist,
    read_text,
)
from d2lmini.text import ContiguousStreams, RandomWindows, Vocab, tokenize
from d2lmini.train import fit

Batches = Iterable[Sequence[torch.Tensor]]


@dataclass
class Case:
    """One model to time: how to build it, its data, and the options ``fit`` trains it with."""

    name: str
    describe: str
    make_batches: Callable[[], Batches]
    make_model: Callable[[], nn.Module]
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    fit_options: dict[str, Any] = field(default_factory=dict)
    #: Builds the loss both loops use (e.g. one that skips padding: ``ignore_index``).
    make_loss: Callable[[], nn.Module] = nn.CrossEntropyLoss


def _fashion(n: int | None, batch_size: int) -> Batches:
    X, y = load_fashion_mnist(train=True)
    if n is not None:
        X, y = X[:n], y[:n]
    return Minibatches(X, y, batch_size=batch_size)


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def _cnn() -> nn.Module:
    """Chapter 5's modern CNN: conv, max pool, BN, ReLU blocks of 16-32-64, channels-last."""

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                nn.BatchNorm2d(c_out), nn.ReLU()]

    net = nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64), nn.Flatten(),
                        nn.Linear(64 * 3 * 3, 10))
    return net.to(memory_format=torch.channels_last)


def _time_machine(batch_size: int, num_steps: int) -> Batches:
    chars = tokenize(read_text(TIME_MACHINE))
    ids = torch.tensor(Vocab(chars).encode(chars))
    return ContiguousStreams(ids, batch_size=batch_size, num_steps=num_steps)


class _LSTMLanguageModel(nn.Module):
    def __init__(self, vocab_size: int = 100, hidden: int = 256) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 64)
        self.lstm = nn.LSTM(64, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, X: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        H, state = self.lstm(self.embed(X), state)  # (batch, steps, hidden)
        return self.out(H), state  # (batch, steps, vocab)


def _shakespeare_windows(batch_size: int, num_steps: int, num_batches: int) -> Batches:
    chars = tokenize(read_text(TINY_SHAKESPEARE))
    ids = torch.tensor(Vocab(chars).encode(chars))
    return RandomWindows(ids, num_steps, batch_size, num_batches=num_batches)


class _GPT(nn.Module):
    """Chapter 8's GPT: pre-norm blocks of fused causal self-attention and a GELU MLP."""

    def __init__(self, vocab_size: int = 69, block_size: int = 64, d: int = 96,
                 layers: int = 4, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.tok = nn.Embedding(vocab_size, d)
        self.pos = nn.Embedding(block_size, d)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"ln1": nn.LayerNorm(d), "qkv": nn.Linear(d, 3 * d, bias=False),
                           "proj": nn.Linear(d, d), "ln2": nn.LayerNorm(d),
                           "mlp": nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(),
                                                nn.Linear(4 * d, d))})
            for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab_size)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        X = self.tok(idx) + self.pos(torch.arange(T))  # (batch, steps, d)
        for b in self.blocks:
            q, k, v = (t.view(B, T, self.heads, -1).transpose(1, 2)
                       for t in b["qkv"](b["ln1"](X)).chunk(3, dim=-1))  # (B, heads, T, hd)
            Y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            X = X + b["proj"](Y.transpose(1, 2).reshape(X.shape))
            X = X + b["mlp"](b["ln2"](X))
        return self.head(self.ln_f(X))  # (batch, steps, vocab)


_PAD = 1  # d2lmini.text.Vocab puts "<pad>" at id 1


def _fra_eng_pairs(n: int, max_len: int = 8) -> Batches:
    """The first n English-French pairs of at most max_len words, padded to one length."""
    src, tgt = [], []
    for line in read_text(FRA_ENG).split("\n"):
        parts = line.lower().split("\t")
        if len(parts) == 2:
            e, f = (tokenize(p, level="word") for p in parts)
            if len(e) <= max_len and len(f) <= max_len:
                src.append(e)
                tgt.append(f)
                if len(src) == n:
                    break
    sv, tv = Vocab(src, min_freq=2), Vocab(tgt, min_freq=2)
    assert sv.pad == tv.pad == _PAD and len(sv) <= 2000 and len(tv) <= 3000

    def pad(ids: list[int], steps: int) -> list[int]:
        return ids + [_PAD] * (steps - len(ids))

    S = torch.tensor([pad([*sv.encode(e), sv.eos], max_len + 1) for e in src])
    T = torch.tensor([pad([tv.bos, *tv.encode(f), tv.eos], max_len + 2) for f in tgt])
    return Minibatches(S, T[:, :-1], T[:, 1:], batch_size=128)


class _Translator(nn.Module):
    """Chapter 7's translator: embeddings, nn.Transformer (pre-norm), output layer."""

    def __init__(self, src_vocab: int = 2000, tgt_vocab: int = 3000, d: int = 128) -> None:
        super().__init__()
        self.src_embed, self.tgt_embed = nn.Embedding(src_vocab, d), nn.Embedding(tgt_vocab, d)
        self.core = nn.Transformer(d, 4, 2, 2, 256, 0.0, batch_first=True, norm_first=True)
        self.out = nn.Linear(d, tgt_vocab)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        Y = self.core(self.src_embed(src), self.tgt_embed(tgt_in), tgt_mask=causal,
                      tgt_is_causal=True, src_key_padding_mask=src == _PAD,
                      memory_key_padding_mask=src == _PAD)
        scores: torch.Tensor = self.out(Y)  # (batch, tgt_steps, tgt_vocab)
        return scores


CASES: list[Case] = [
    Case("mlp", "784-256-10 MLP, Fashion-MNIST 60,000 images, batch 256, SGD",
         lambda: _fashion(None, 256), _mlp,
         lambda m: torch.optim.SGD(m.parameters(), lr=0.1)),
    Case("cnn", "chapter 5's CNN, 3 conv-pool-BN-ReLU blocks, 10,000 images, batch 128, AdamW",
         lambda: _fashion(10_000, 128), _cnn,
         lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3)),
    Case("lstm", "char LSTM 256, The Time Machine, 32 streams x 64 steps, Adam, clip 1",
         lambda: _time_machine(32, 64), _LSTMLanguageModel,
         lambda m: torch.optim.Adam(m.parameters(), lr=3e-3),
         {"metrics": ("perplexity",), "stateful": True, "clip_grad_norm": 1.0}),
    Case("transformer", "2+2-block Transformer d 128, fra-eng 4,096 short pairs, batch 128, "
         "AdamW, clip 1, loss without <pad>",
         lambda: _fra_eng_pairs(4096), _Translator,
         lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3),
         {"metrics": (), "clip_grad_norm": 1.0},
         make_loss=lambda: nn.CrossEntropyLoss(ignore_index=_PAD)),
    Case("gpt", "char GPT 4x4x96 (0.47 M), Tiny Shakespeare, 40 batches of 16 x 64, AdamW, clip 1",
         lambda: _shakespeare_windows(16, 64, 40), _GPT,
         lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3),
         {"metrics": (), "clip_grad_norm": 1.0}),
]


def _detach(state: Any) -> Any:
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach() if isinstance(state, torch.Tensor) else state


def bare_epoch(case: Case, model: nn.Module, batches: Batches,
               opt: torch.optim.Optimizer) -> float:
    """The least a loop must do: forward, loss, backward, (clip,) step, (detach the state)."""
    loss_fn = case.make_loss()
    stateful = case.fit_options.get("stateful", False)
    clip = case.fit_options.get("clip_grad_norm")
    state = None
    start = time.perf_counter()
    for *inputs, y in batches:
        if stateful:
            out, state = model(*inputs, state)
        else:
            out = model(*inputs)
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if stateful:
            state = _detach(state)
    return time.perf_counter() - start


def fit_epoch(case: Case, model: nn.Module, batches: Batches,
              opt: torch.optim.Optimizer) -> float:
    start = time.perf_counter()
    fit(model, batches, case.make_loss(), opt, epochs=1, progress=False,
        **case.fit_options)
    return time.perf_counter() - start


def run(case: Case, repeats: int) -> float:
    """Print the case's timings and return the ratio of median epoch times, fit over bare."""
    torch.manual_seed(0)
    batches = case.make_batches()
    loops = {"bare loop": bare_epoch, "d2lmini fit": fit_epoch}
    models = {name: case.make_model() for name in loops}
    opts = {name: case.make_optimizer(m) for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in loops}
    for i in range(repeats + 1):  # the first round warms up and is not counted
        for name, loop in loops.items():
            t = loop(case, models[name], batches, opts[name])
            if i > 0:
                times[name].append(t)
    print(f"\n{case.name}: {case.describe}")
    print(f"{'loop':<16}{'median s/epoch':>16}{'min':>8}{'max':>8}")
    for name, ts in times.items():
        print(f"{name:<16}{statistics.median(ts):>16.3f}{min(ts):>8.3f}{max(ts):>8.3f}")
    return statistics.median(times["d2lmini fit"]) / statistics.median(times["bare loop"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=[c.name for c in CASES], action="append")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.repeats} timed epochs per loop")
    ratios = {c.name: run(c, args.repeats) for c in CASES if not args.only or c.name in args.only}
    print()
    for name, ratio in ratios.items():
        print(f"fit/bare epoch time ratio ({name}): {ratio:.2f}")


if __name__ == "__main__":
    main()
