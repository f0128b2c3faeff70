"""d2lmini.transformer: positions, the translator's masks, batches of sentence pairs, greedy
translation and BLEU from counts."""

from __future__ import annotations

import math
import random

import pytest
import sacrebleu
import torch

from d2lmini.text import Vocab
from d2lmini.transformer import (
    PairBatches,
    PositionalEncoding,
    Transformer,
    bleu_counts,
    bleu_of_counts,
    greedy_translate,
    paired_bootstrap,
    split_by_sentence,
)


def test_positional_encoding_is_the_sinusoid_of_the_paper() -> None:
    pe = PositionalEncoding(8, max_len=20)
    p, i = 7, 2  # position 7, dimensions 4 and 5
    assert pe.P[p, 2 * i].item() == pytest.approx(math.sin(p / 10000 ** (2 * i / 8)), abs=1e-6)
    assert pe.P[p, 2 * i + 1].item() == pytest.approx(math.cos(p / 10000 ** (2 * i / 8)), abs=1e-6)
    X = torch.zeros(3, 5, 8)
    assert torch.equal(pe(X), pe.P[:5].expand(3, 5, 8))


def _model() -> Transformer:
    torch.manual_seed(0)
    return Transformer(12, 15, pad=1, d_model=16, num_heads=4, num_layers=1, d_ff=32,
                       dropout=0.0).eval()


def test_a_target_position_never_sees_later_target_words() -> None:
    model = _model()
    src = torch.randint(4, 12, (2, 6))
    tgt = torch.randint(4, 15, (2, 5))
    changed = tgt.clone()
    changed[:, 3:] = 4 + (changed[:, 3:] - 3) % 11  # other words from position 3 on
    with torch.no_grad():
        a, b = model(src, tgt), model(src, changed)
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not torch.allclose(a[:, 3:], b[:, 3:], atol=1e-4)


def test_source_padding_changes_nothing_and_last_is_the_last_position() -> None:
    model = _model()
    src = torch.randint(4, 12, (2, 6))
    padded = torch.cat([src, torch.ones(2, 3, dtype=torch.long)], dim=1)  # pad id 1
    tgt = torch.randint(4, 15, (2, 5))
    with torch.no_grad():
        scores = model(src, tgt)
        assert torch.allclose(scores, model(padded, tgt), atol=1e-5)
        last = model.decode(tgt, model.encode(src), src, last=True)
    assert scores.shape == (2, 5, 15)
    assert torch.allclose(last, scores[:, -1], atol=1e-6)


def _vocab() -> Vocab:
    return Vocab([["a", "b", "c", "d", "e"]])


def test_pair_batches_sort_pad_and_shift() -> None:
    vocab = _vocab()
    src = [[5] * n for n in (3, 1, 2, 5, 4)]
    tgt = [[6] * n for n in (2, 4, 1, 3, 5)]
    batches = PairBatches(src, tgt, vocab, batch_size=2, shuffle=False)
    assert len(batches) == 3
    seen = []
    for s, t_in, labels in batches:
        assert torch.equal(t_in[:, 1:], labels[:, :-1])  # the labels are the input shifted
        assert (t_in[:, 0] == vocab.bos).all()
        lengths = (labels != vocab.pad).sum(1)  # words and <eos>
        seen += lengths.tolist()
        assert ((s == vocab.eos).sum(1) == 1).all()
    assert seen == sorted(seen) == [2, 3, 4, 5, 6]  # in order of target length


def test_pair_batches_order_is_seeded_and_new_each_pass() -> None:
    vocab = _vocab()
    src = [[5] * (1 + n % 4) for n in range(40)]
    tgt = [[6] * (1 + n % 5) for n in range(40)]

    def passes(seed: int) -> list[list[int]]:
        batches = PairBatches(src, tgt, vocab, batch_size=4, seed=seed)
        return [[int(t.shape[1]) * 100 + int(s.sum()) for s, t, _ in batches] for _ in range(2)]

    assert passes(0) == passes(0)
    first, second = passes(0)
    assert first != second and sorted(first) == sorted(second)
    with pytest.raises(ValueError, match="pair by pair"):
        PairBatches(src, tgt[:-1], vocab, batch_size=4)


def test_split_by_sentence_holds_out_whole_sentences() -> None:
    pairs = [(["go", "."], ["va", "!"]), (["go", "."], ["file", "!"]),
             (["hi", "."], ["salut", "!"]), (["run", "!"], ["cours", "!"]),
             (["a", "b", "c"], ["x"]), (["wait", "."], ["attends"])]
    groups, test, val, train = split_by_sentence(pairs, max_len=2, n_test=1, n_val=1, seed=0)
    assert ("a", "b", "c") not in groups  # too long on one side
    assert groups[("go", ".")] == [["va", "!"], ["file", "!"]]  # every translation, in order
    assert len(test) == len(val) == 1 and len({*test, *val}) == 2
    train_sources = {tuple(e) for e, _ in train}
    assert not train_sources & {*test, *val}
    assert train_sources | {*test, *val} == set(groups)
    assert len(train) == sum(len(groups[e]) for e in train_sources)  # all their translations
    assert split_by_sentence(pairs, 2, 1, 1, seed=0) == (groups, test, val, train)  # seeded
    with pytest.raises(ValueError, match="too few"):
        split_by_sentence(pairs, max_len=2, n_test=3, n_val=1)


def test_greedy_translate_matches_one_sentence_at_a_time() -> None:
    """Batched, padded and cut at <eos>, it writes what a plain loop over the full forward pass
    writes for each sentence alone (the oracle: no padding, no early stop of the batch)."""
    torch.manual_seed(1)
    src_vocab = Vocab([list("abcdefgh")])
    tgt_vocab = Vocab([list("stuvwxyz")])
    model = Transformer(len(src_vocab), len(tgt_vocab), pad=tgt_vocab.pad, d_model=16,
                        num_heads=4, num_layers=1, d_ff=32, dropout=0.0)
    sources = [list("abc"), list("h"), list("gfedcba"), list("bb"), list("ehd")]
    got = greedy_translate(model, sources, src_vocab, tgt_vocab, max_len=4)
    expected = []
    with torch.no_grad():
        for s in sources:
            src = torch.tensor([[*src_vocab.encode(s), src_vocab.eos]])
            ys = [tgt_vocab.bos]
            for _ in range(4):
                token = int(model(src, torch.tensor([ys]))[0, -1].argmax())
                if token == tgt_vocab.eos:
                    break
                ys.append(token)
            expected.append([tgt_vocab.tokens[i] for i in ys[1:]])
    assert got == expected
    assert any(len(t) < 4 for t in got) and any(len(t) == 4 for t in got)  # both cases met
    assert not model.training
    with pytest.raises(ValueError, match="no sentences"):
        greedy_translate(model, [], src_vocab, tgt_vocab, max_len=4)


def test_bleu_of_summed_counts_is_sacrebleu() -> None:
    rng = random.Random(0)
    words = ["a", "b", "c", "d", "e"]
    refs = [[rng.choice(words) for _ in range(rng.randint(3, 9))] for _ in range(40)]
    cands = [[w if rng.random() < 0.7 else rng.choice(words) for w in r][: rng.randint(2, 9)]
             for r in refs]
    counts = torch.tensor([bleu_counts(c, r) for c, r in zip(cands, refs, strict=True)],
                          dtype=torch.float64)
    oracle = sacrebleu.BLEU(tokenize="none", smooth_method="none", force=True).corpus_score(
        [" ".join(c) for c in cands], [[" ".join(r) for r in refs]]).score
    assert bleu_of_counts(counts.sum(0)).item() == pytest.approx(oracle, abs=1e-9)
    assert bleu_counts(list("abcd"), list("abcd")) == [4, 4, 3, 3, 2, 2, 1, 1, 4, 4]
    with pytest.raises(ValueError, match="2n \\+ 2"):
        bleu_of_counts(torch.ones(7))


def test_paired_bootstrap_resamples_the_same_sentences_for_both() -> None:
    rng = random.Random(1)
    refs = [[rng.choice("abcd") for _ in range(6)] for _ in range(50)]
    good = [[*r[:5], "a"] for r in refs]
    bad = [[rng.choice("abcd") for _ in range(6)] for _ in refs]
    A = torch.tensor([bleu_counts(c, r) for c, r in zip(good, refs, strict=True)],
                     dtype=torch.float64)
    B = torch.tensor([bleu_counts(c, r) for c, r in zip(bad, refs, strict=True)],
                     dtype=torch.float64)
    assert torch.equal(paired_bootstrap(A, A, resamples=20), torch.zeros(20, dtype=torch.float64))
    differences = paired_bootstrap(A, B, resamples=200, seed=3)
    assert differences.shape == (200,)
    assert torch.equal(differences, paired_bootstrap(A, B, resamples=200, seed=3))  # seeded
    full = (bleu_of_counts(A.sum(0)) - bleu_of_counts(B.sum(0))).item()
    low, high = differences.quantile(0.025).item(), differences.quantile(0.975).item()
    assert 0 < low < full < high
    with pytest.raises(ValueError, match="same sentences"):
        paired_bootstrap(A, B[:10])
