"""d2lmini.text: tokens, the vocabulary, and the two ways of batching a corpus."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from d2lmini.text import RESERVED, ContiguousStreams, RandomWindows, Vocab, tokenize


def test_tokenize_characters_and_words() -> None:
    assert tokenize("a b\n") == ["a", " ", "b", "\n"]
    assert tokenize("Go.  I lost, he's calm!", "word") == [
        "Go", ".", "I", "lost", ",", "he's", "calm", "!"]
    assert tokenize("", "word") == [] and tokenize("") == []
    with pytest.raises(ValueError, match="'char' or 'word'"):
        tokenize("x", "sentence")


def test_vocab_orders_reserved_then_by_frequency_with_ties_alphabetical() -> None:
    vocab = Vocab(tokenize("the cat the dog a a", "word"))
    assert vocab.tokens[:4] == list(RESERVED)
    assert vocab.tokens[4:] == ["a", "the", "cat", "dog"]
    assert (vocab.unk, vocab.pad, vocab.bos, vocab.eos) == (0, 1, 2, 3)
    assert vocab["the"] == 5 and vocab["zebra"] == vocab.unk
    assert "cat" in vocab and "zebra" not in vocab
    assert len(vocab) == 8


def test_vocab_min_freq_sends_rare_tokens_to_unk() -> None:
    vocab = Vocab([["a", "b"], ["a", "c"]], min_freq=2)  # sentences of tokens
    assert vocab.tokens == [*RESERVED, "a"]
    assert vocab.encode(["a", "b", "c"]) == [4, 0, 0]
    assert vocab.decode(vocab.encode(["a", "b"])) == ["a", "<unk>"]


def test_vocab_of_an_empty_text_has_only_the_reserved_tokens() -> None:
    vocab = Vocab(tokenize(""))
    assert vocab.tokens == list(RESERVED)
    assert vocab.encode("xyz") == [0, 0, 0]


def test_vocab_refuses_bad_arguments_and_ids() -> None:
    with pytest.raises(ValueError, match="min_freq"):
        Vocab("ab", min_freq=0)
    with pytest.raises(ValueError, match="<unk>"):
        Vocab("ab", reserved=("<pad>",))
    vocab = Vocab("ab", reserved=("<unk>",))
    with pytest.raises(KeyError, match="<pad>"):
        _ = vocab.pad
    with pytest.raises(IndexError, match="outside"):
        vocab.decode([7])
    assert vocab.decode(torch.tensor([1, 2])) == ["a", "b"]


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_encode_then_decode_gives_the_text_back(text: str) -> None:
    vocab = Vocab(tokenize(text))
    assert "".join(vocab.decode(vocab.encode(tokenize(text)))) == text


def test_random_windows_cover_every_start_once_per_pass_in_a_new_order() -> None:
    corpus = torch.arange(50)
    windows = RandomWindows(corpus, num_steps=5, batch_size=8, seed=1)
    assert len(windows) == 6  # 45 starts in batches of 8
    passes = []
    for _ in range(2):
        starts = []
        for X, Y in windows:
            assert X.shape[1] == 5 and torch.equal(Y, X + 1)
            assert torch.equal(X[:, 1:] - X[:, :-1], torch.ones(len(X), 4, dtype=torch.long))
            starts += X[:, 0].tolist()
        assert sorted(starts) == list(range(45))
        passes.append(starts)
    assert passes[0] != passes[1]
    again = [s for X, _ in RandomWindows(corpus, 5, 8, seed=1) for s in X[:, 0].tolist()]
    assert again == passes[0]  # the seed fixes the order


def test_random_windows_with_stride_and_a_fixed_number_of_batches() -> None:
    side_by_side = RandomWindows(torch.arange(31), num_steps=5, batch_size=2, stride=5)
    starts = [s for X, _ in side_by_side for s in X[:, 0].tolist()]
    assert sorted(starts) == [0, 5, 10, 15, 20, 25]
    sampled = RandomWindows(torch.arange(1000), num_steps=8, batch_size=4, num_batches=3)
    batches = list(sampled)
    assert len(sampled) == len(batches) == 3
    assert all(X.shape == (4, 8) and torch.equal(Y, X + 1) for X, Y in batches)


def test_contiguous_streams_continue_row_by_row() -> None:
    corpus = torch.arange(103)
    streams = ContiguousStreams(corpus, batch_size=4, num_steps=6, seed=0)
    for _ in range(3):
        batches = list(streams)
        assert len(batches) == len(streams) == 4  # (103 - 6) // 4 = 24 per stream
        for (X0, Y0), (X1, _) in itertools.pairwise(batches):
            assert torch.equal(X1[:, 0], X0[:, -1] + 1)  # every row goes on where it stopped
            assert torch.equal(Y0, X0 + 1)
        firsts = batches[0][0][:, 0]
        assert torch.equal(firsts - firsts[0], torch.arange(4) * 24)  # equal, disjoint streams
        assert int(batches[-1][1].max()) < 103


def test_contiguous_streams_random_offset_changes_between_passes() -> None:
    streams = ContiguousStreams(torch.arange(500), batch_size=2, num_steps=10, seed=3)
    offsets = {int(next(iter(streams))[0][0, 0]) for _ in range(20)}
    assert len(offsets) > 1 and all(0 <= o < 10 for o in offsets)


def test_batching_refuses_texts_too_short_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="too few for one window"):
        RandomWindows(torch.arange(5), num_steps=5, batch_size=1)
    with pytest.raises(ValueError, match="too few for one window"):
        ContiguousStreams([], batch_size=1, num_steps=3)
    with pytest.raises(ValueError, match="fewer streams"):
        ContiguousStreams(torch.arange(20), batch_size=8, num_steps=3)
    with pytest.raises(ValueError, match="1-D"):
        RandomWindows(torch.zeros(3, 3, dtype=torch.long), num_steps=2, batch_size=1)
    with pytest.raises(ValueError, match="at least 1"):
        RandomWindows(torch.arange(10), num_steps=0, batch_size=1)
    with pytest.raises(ValueError, match="stride"):
        RandomWindows(torch.arange(10), num_steps=2, batch_size=1, stride=0)
