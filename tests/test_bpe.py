"""d2lmini.bpe: merges and tokens against Hugging Face's tokenizers, the exact round trip."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from d2lmini.bpe import BPE, CHUNK

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\n"
    "Resolved. resolved.\n\nFirst Citizen:\nFirst, you know Caius Marcius is chief enemy to "
    "the people.\n\nAll:\nWe know't, we know't.\n\n  Second Citizen:   One word, good citizens.\n"
) * 3


def hugging_face(text: str, vocab_size: int) -> tuple[list[tuple[str, str]], Tokenizer]:
    """The merges of Hugging Face's BPE trainer, with the same chunks, and its tokenizer."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(CHUNK.pattern), behavior="isolated")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, min_frequency=0)
    tokenizer.train_from_iterator([text], trainer=trainer)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges], tokenizer


@pytest.mark.parametrize("vocab_size", [40, 80, 160])
def test_merges_and_tokens_are_those_of_hugging_face_tokenizers(vocab_size: int) -> None:
    bpe = BPE.learn(TEXT, vocab_size)
    merges, tokenizer = hugging_face(TEXT, vocab_size)
    assert bpe.merges == merges
    assert len(bpe.tokens) == len(tokenizer.get_vocab()) == vocab_size
    new = "Citizens, we proceed: speak, resolved enemy?\n"  # new words, no new characters
    assert bpe.encode(new) == tokenizer.encode(new).tokens


def test_a_character_never_seen_in_training_stays_a_token_of_its_own() -> None:
    assert BPE.learn(TEXT, 80).encode("speak!") == [*BPE.learn(TEXT, 80).encode("speak"), "!"]


def test_the_merges_of_the_bpe_paper_example() -> None:
    # Sennrich et al. (2016), section 3.2: low x5, lower x2, newest x6, widest x3; here a word
    # carries the space before it instead of the paper's end-of-word mark
    text = " low" * 5 + " lower" * 2 + " newest" * 6 + " widest" * 3
    # and ties go to the pair of earlier symbols (the paper's code leaves them to dict order)
    bpe = BPE.learn(text, vocab_size=11 + 5)
    assert bpe.merges == [("e", "s"), ("es", "t"), (" ", "l"), ("o", "w"), (" l", "ow")]
    assert bpe.merges == hugging_face(text, 11 + 5)[0]
    assert bpe.encode(" lowest") == [" low", "est"]


def test_chunks_cover_the_text_and_merges_never_cross_them() -> None:
    assert "".join(CHUNK.findall(TEXT)) == TEXT
    assert CHUNK.findall("a  b,\n\nc") == ["a", " ", " b", ",", "\n", "\n", "c"]
    bpe = BPE.learn(TEXT, 200)
    assert all(len(CHUNK.findall(token)) == 1 for token in bpe.tokens)


@given(st.text(alphabet="abc ,.\n'xyz", max_size=60))
def test_any_text_comes_back_exactly(text: str) -> None:
    bpe = BPE.learn(TEXT, 120)
    assert "".join(bpe.encode(text)) == text


def test_bad_input_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        BPE.learn("", 10)
    with pytest.raises(ValueError, match="ask for at least 3"):
        BPE.learn("abcabc", 2)


def merged(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    """The word with each occurrence of the pair, left to right, made one symbol."""
    out, i = [], 0
    while i < len(word):
        if word[i : i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def plain_learn(text: str, vocab_size: int) -> list[tuple[str, str]]:
    """The algorithm without bookkeeping: recount every pair before each merge."""
    words = Counter(tuple(chunk) for chunk in CHUNK.findall(text))
    made = {c: i for i, c in enumerate(sorted(set(text)))}
    merges = []
    while len(made) < vocab_size:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, n in words.items():
            for pair in pairwise(word):
                pairs[pair] += n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], -made[p[0]], -made[p[1]]))
        merges.append(best)
        made.setdefault(best[0] + best[1], len(made))
        words = Counter({merged(w, best): n for w, n in words.items()})
    return merges


@given(st.text(alphabet="aab b,\n'", min_size=1, max_size=80), st.integers(1, 30))
def test_the_bookkeeping_makes_the_merges_of_the_plain_algorithm(text: str, extra: int) -> None:
    # few letters, many repeats: ties, merges that make a symbol twice, words that run out
    vocab_size = len(set(text)) + extra
    assert BPE.learn(text, vocab_size).merges == plain_learn(text, vocab_size)
