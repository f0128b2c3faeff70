"""The translator of chapter 7, for the pages that use it after the chapter has built it.

Chapter 7 writes these classes inline and checks that they compute what this module computes;
its section on controls (d2l's setting, a decoder without its mask) imports them from here:

- :class:`PositionalEncoding`: the sinusoidal position vectors of Vaswani et al., added to a
  batch of embeddings;
- :class:`Transformer`: an encoder-decoder built on ``nn.Transformer``'s pre-norm stacks, with
  the embeddings (scaled by ``sqrt(d_model)``), the positions and the output layer around them;
  ``encode`` and ``decode`` are separate because translating calls the encoder once and the
  decoder once per word;
- :class:`PairBatches`: batches ``(src, tgt_in, labels)`` of sentence pairs of similar length,
  each padded only to its own longest sentence, in a seeded random order;
- :func:`split_by_sentence`: the chapter's "real setting", short pairs split by source sentence
  into test, validation and training, so that no held-out sentence is seen in training, not even
  with another translation;
- :func:`greedy_translate`: greedy decoding of a list of sentences in one batch;
- :func:`bleu_counts`, :func:`bleu_of_counts` and :func:`paired_bootstrap`: corpus BLEU from
  per-sentence n-gram counts, and the paired bootstrap that resamples them to tell whether one
  system's lead over another is more than the luck of the sentences.
"""

from __future__ import annotations

import math
import random
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from d2lmini.text import Vocab

__all__ = [
    "PairBatches", "PositionalEncoding", "Transformer", "bleu_counts", "bleu_of_counts",
    "greedy_translate", "paired_bootstrap", "split_by_sentence",
]


class PositionalEncoding(nn.Module):
    """Add the sinusoidal position vectors to a batch of embeddings ``(batch, steps, d_model)``.

    Position ``p`` gets ``sin(p / 10000^(2i/d))`` in dimension ``2i`` and ``cos`` of the same in
    dimension ``2i + 1``, for ``max_len`` positions.
    """

    P: torch.Tensor

    def __init__(self, d_model: int, max_len: int = 64) -> None:
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)  # (max_len, 1)
        freq = 10000 ** (torch.arange(0, d_model, 2) / d_model)  # (d_model/2,)
        P = torch.zeros(max_len, d_model)
        P[:, 0::2] = torch.sin(position / freq)
        P[:, 1::2] = torch.cos(position / freq)
        self.register_buffer("P", P, persistent=False)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X + self.P[: X.shape[1]]


class Transformer(nn.Module):
    """An encoder-decoder Transformer on ``nn.Transformer``'s pre-norm stacks.

    Args:
        src_vocab, tgt_vocab: The sizes of the two vocabularies.
        pad: The id of ``<pad>`` (the same in both): padded source positions are never attended.
        d_model, num_heads, num_layers, d_ff, dropout: As for ``nn.Transformer``; ``num_layers``
            blocks on each side.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, pad: int, d_model: int = 256,
                 num_heads: int = 4, num_layers: int = 2, d_ff: int = 512,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.pad, self.d_model = pad, d_model
        self.src_embed = nn.Embedding(src_vocab, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model)
        self.pe, self.dropout = PositionalEncoding(d_model), nn.Dropout(dropout)
        # Pre-norm layers cannot take the encoder's nested-tensor shortcut (an inference speed-up
        # for padded batches); nn.Transformer warns that it is off, which changes nothing here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="enable_nested_tensor is True")
            self.core = nn.Transformer(
                d_model, num_heads, num_layers, num_layers, d_ff, dropout,
                batch_first=True, norm_first=True,
            )
        self.out = nn.Linear(d_model, tgt_vocab)
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight, std=d_model**-0.5)

    def embed(self, embedding: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings times ``sqrt(d_model)``, plus positions: ``(batch, steps, d_model)``."""
        X = embedding(ids) * math.sqrt(self.d_model)
        out: torch.Tensor = self.dropout(self.pe(X))
        return out

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """``(batch, src_steps)`` ids to the encoder's output ``(batch, src_steps, d_model)``."""
        X = self.embed(self.src_embed, src)
        memory: torch.Tensor = self.core.encoder(X, src_key_padding_mask=src == self.pad)
        return memory

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src: torch.Tensor,
               last: bool = False) -> torch.Tensor:
        """Scores ``(batch, tgt_steps, tgt_vocab)``, or ``(batch, tgt_vocab)`` if ``last``.

        Each target position sees the positions up to it (the causal mask) and every source
        position that is not padding.
        """
        steps = tgt_in.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(steps, device=tgt_in.device)
        Y = self.core.decoder(
            self.embed(self.tgt_embed, tgt_in), memory, tgt_mask=causal,
            tgt_is_causal=True, memory_key_padding_mask=src == self.pad)
        scores: torch.Tensor = self.out(Y[:, -1] if last else Y)
        return scores

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Scores for every target position, given the source and the target's input."""
        return self.decode(tgt_in, self.encode(src), src)


class PairBatches:
    """Batches ``(src, tgt_in, labels)`` of similar length, in a seeded random order.

    Every source gets ``<eos>``; every target gets ``<bos>`` in front and ``<eos>`` behind, and is
    cut into the decoder's input (all but the last token) and its labels (all but the first).
    The pairs are sorted by length and cut into batches of neighbours, so that each batch, padded
    to its own longest sentence, holds little padding; each pass visits the batches in a new
    random order (``shuffle=True``) or in order of length.

    Args:
        src, tgt: The source and target sentences as lists of ids, pair by pair.
        vocab: The target vocabulary, for the ids of ``<bos>``, ``<eos>`` and ``<pad>`` (the
            reserved tokens have the same ids in every :class:`d2lmini.text.Vocab`).
        batch_size: Pairs per batch (the last batch may be smaller).
        shuffle: Visit the batches in a random order, new each pass.
        seed: Seeds the order of the batches.
    """

    def __init__(self, src: Sequence[list[int]], tgt: Sequence[list[int]], vocab: Vocab,
                 batch_size: int, shuffle: bool = True, seed: int = 0) -> None:
        if len(src) != len(tgt):
            raise ValueError(f"{len(src)} sources but {len(tgt)} targets: give them pair by pair")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.src = [[*s, vocab.eos] for s in src]
        self.tgt = [[vocab.bos, *t, vocab.eos] for t in tgt]
        self.pad, self.shuffle = vocab.pad, shuffle
        order = sorted(range(len(src)), key=lambda i: (len(self.tgt[i]), len(self.src[i])))
        self.batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def _pad(self, seqs: list[list[int]]) -> torch.Tensor:
        steps = max(map(len, seqs))
        return torch.tensor([s + [self.pad] * (steps - len(s)) for s in seqs])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        order: Sequence[int] = range(len(self.batches))
        if self.shuffle:
            order = torch.randperm(len(order), generator=self._generator).tolist()
        for b in order:
            src = self._pad([self.src[i] for i in self.batches[b]])
            tgt = self._pad([self.tgt[i] for i in self.batches[b]])
            yield src, tgt[:, :-1], tgt[:, 1:]  # (batch, S), (batch, T), (batch, T)


def split_by_sentence(
    pairs: Iterable[tuple[Sequence[str], Sequence[str]]], max_len: int, n_test: int, n_val: int,
    seed: int = 0,
) -> tuple[dict[tuple[str, ...], list[Sequence[str]]], list[tuple[str, ...]],
           list[tuple[str, ...]], list[tuple[list[str], Sequence[str]]]]:
    """Split sentence pairs by their source sentence, as chapter 7's real setting does.

    The pairs with at most ``max_len`` tokens on each side are grouped by source sentence; the
    distinct sources are shuffled with ``seed``; the first ``n_test`` go to the test set, the next
    ``n_val`` to validation, and the rest, with all their translations, to training.

    Returns:
        ``(groups, test, val, train_pairs)``: each short source (a tuple) with its translations in
        the corpus's order, the test and validation sources, and the training pairs
        ``(list(source), target)``, every translation of every training source.

    Raises:
        ValueError: if fewer than ``n_test + n_val + 1`` distinct short sources are left.
    """
    groups: dict[tuple[str, ...], list[Sequence[str]]] = {}
    for source, target in pairs:
        if len(source) <= max_len and len(target) <= max_len:
            groups.setdefault(tuple(source), []).append(target)
    sentences = list(groups)
    if len(sentences) <= n_test + n_val:
        raise ValueError(f"only {len(sentences)} distinct sources of at most {max_len} tokens: "
                         f"too few for {n_test} test and {n_val} validation sentences and a "
                         "training set; raise max_len or hold out fewer")
    random.Random(seed).shuffle(sentences)
    test, val = sentences[:n_test], sentences[n_test:n_test + n_val]
    train_pairs = [(list(e), f) for e in sentences[n_test + n_val:] for f in groups[e]]
    return groups, test, val, train_pairs


@torch.no_grad()
def greedy_translate(model: Transformer, sources: Sequence[Sequence[str]], src_vocab: Vocab,
                     tgt_vocab: Vocab, max_len: int) -> list[list[str]]:
    """Translate token lists greedily, all in one batch, as chapter 7's ``translate`` does.

    Each source gets ``<eos>`` and is padded to the longest; the decoder starts from ``<bos>`` and
    takes the most probable next token, for at most ``max_len`` steps; a sentence that has written
    ``<eos>`` gets ``<pad>`` until all are done. The model is left in evaluation mode.

    Returns:
        One token list per source, cut at ``<eos>`` (which it does not include).
    """
    if not sources:
        raise ValueError("no sentences to translate")
    model.eval()
    device = next(model.parameters()).device
    batch = [[*src_vocab.encode(s), src_vocab.eos] for s in sources]
    steps = max(map(len, batch))
    src = torch.tensor([s + [src_vocab.pad] * (steps - len(s)) for s in batch], device=device)
    memory = model.encode(src)  # (batch, src_steps, d_model)
    ys = torch.full((len(src), 1), tgt_vocab.bos, device=device)
    done = torch.zeros(len(src), dtype=torch.bool, device=device)
    for _ in range(max_len):
        token = model.decode(ys, memory, src, last=True).argmax(-1).masked_fill(done, tgt_vocab.pad)
        ys = torch.cat([ys, token[:, None]], dim=1)
        done |= token == tgt_vocab.eos
        if done.all():
            break
    out = []
    for row in ys[:, 1:].tolist():
        cut = row.index(tgt_vocab.eos) if tgt_vocab.eos in row else len(row)
        out.append([tgt_vocab.tokens[i] for i in row[:cut] if i != tgt_vocab.pad])
    return out


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu_counts(candidate: Sequence[str], reference: Sequence[str], max_n: int = 4) -> list[int]:
    """One sentence's BLEU statistics against one reference.

    Returns:
        ``[matched_1, total_1, ..., matched_max_n, total_max_n, len(candidate), len(reference)]``:
        for each n, the candidate's n-grams that the reference holds (each counted at most as
        often as the reference has it) and all its n-grams; then the two lengths. Summed over a
        corpus, :func:`bleu_of_counts` turns them into the corpus BLEU.
    """
    row = []
    for n in range(1, max_n + 1):
        ref_grams = _ngrams(reference, n)
        row += [sum(min(c, ref_grams[g]) for g, c in _ngrams(candidate, n).items()),
                max(len(candidate) - n + 1, 0)]
    return [*row, len(candidate), len(reference)]


def bleu_of_counts(S: torch.Tensor) -> torch.Tensor:
    """Corpus BLEU (0-100) from :func:`bleu_counts` rows summed over sentences: ``(..., 2n + 2)``.

    The geometric mean of the n-gram precisions times the brevity penalty, without smoothing (a
    precision of zero gives 0); any leading dimensions are kept, one score per row.
    """
    max_n = (S.shape[-1] - 2) // 2
    if S.shape[-1] != 2 * max_n + 2 or max_n < 1:
        raise ValueError(f"the last dimension holds {S.shape[-1]} counts; bleu_counts writes "
                         "2n + 2 per sentence")
    precision = (S[..., 0:2 * max_n:2] / S[..., 1:2 * max_n:2]).log().mean(-1)
    brevity = (1 - S[..., -1] / S[..., -2]).clamp(max=0)
    return 100 * (brevity + precision).exp()


def paired_bootstrap(counts_a: torch.Tensor, counts_b: torch.Tensor, resamples: int = 1000,
                     seed: int = 0) -> torch.Tensor:
    """BLEU of system a minus system b on ``resamples`` draws of the same sentences.

    Args:
        counts_a, counts_b: :func:`bleu_counts` rows ``(sentences, 2n + 2)`` of the two systems,
            on the same sentences in the same order.
        resamples: How many draws; each takes as many sentences as there are, with replacement,
            the same for both systems, and re-weights their counts instead of recounting.
        seed: Seeds the draws.

    Returns:
        ``(resamples,)`` differences; their 2.5% and 97.5% quantiles are the 95% interval.
    """
    if counts_a.shape != counts_b.shape:
        raise ValueError(f"the two systems' counts differ in shape: {tuple(counts_a.shape)} and "
                         f"{tuple(counts_b.shape)}; score both on the same sentences")
    n = len(counts_a)
    draws = torch.randint(n, (resamples, n), generator=torch.Generator().manual_seed(seed))
    weights = torch.zeros(resamples, n, dtype=torch.float64).scatter_add_(
        1, draws, torch.ones(resamples, n, dtype=torch.float64))  # how often each sentence
    return (bleu_of_counts(weights @ counts_a.to(torch.float64))
            - bleu_of_counts(weights @ counts_b.to(torch.float64)))
