"""Text as numbers: tokens, a vocabulary, and two ways to cut a corpus into training batches.

A language model reads integers, not characters: :func:`tokenize` splits a text into tokens
(characters or words), :class:`Vocab` numbers them, and a corpus becomes one long tensor of ids.
Batches of it come in two kinds:

- :class:`RandomWindows`: windows at random places, each an independent example, as a
  Transformer is trained;
- :class:`ContiguousStreams`: the corpus cut into parallel streams read front to back, so that
  row ``r`` of batch ``i + 1`` continues row ``r`` of batch ``i`` and a recurrent network can carry
  its hidden state across batches (truncated backpropagation through time).

Both yield ``(X, Y)`` with ``Y`` the next token after each position of ``X``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import torch

__all__ = ["RESERVED", "ContiguousStreams", "RandomWindows", "Vocab", "tokenize"]

#: The reserved tokens, always the first ids of a :class:`Vocab`, in this order.
RESERVED: tuple[str, ...] = ("<unk>", "<pad>", "<bos>", "<eos>")

_WORD = re.compile(r"[^\s,.!?;:]+|[,.!?;:]")


def tokenize(text: str, level: str = "char") -> list[str]:
    """Split a text into tokens.

    Args:
        text: Any string.
        level: ``"char"``: every character is a token, spaces and newlines included.
            ``"word"``: words split at white space, with the punctuation marks ``, . ! ? ; :``
            split off as tokens of their own.

    Example:
        >>> tokenize("Go now!", "word")
        ['Go', 'now', '!']
        >>> tokenize("ab c")
        ['a', 'b', ' ', 'c']
    """
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD.findall(text)
    raise ValueError(f"level must be 'char' or 'word', got {level!r}")


class Vocab:
    """Number the tokens of a corpus: the reserved tokens first, then by falling frequency.

    Ties in frequency are broken alphabetically, so the same corpus always gives the same ids.
    A token seen fewer than ``min_freq`` times, or never, maps to ``<unk>``.

    Args:
        tokens: The corpus's tokens, flat or as a list of token lists (sentences).
        min_freq: The fewest occurrences a token needs to get an id of its own.
        reserved: Tokens that always get the first ids, whatever their frequency.

    Example:
        >>> vocab = Vocab(tokenize("abba"))
        >>> vocab.tokens
        ['<unk>', '<pad>', '<bos>', '<eos>', 'a', 'b']
        >>> vocab.encode(list("abc"))
        [4, 5, 0]
        >>> "".join(vocab.decode([5, 4]))
        'ba'
    """

    def __init__(
        self,
        tokens: Iterable[str] | Iterable[Sequence[str]] = (),
        *,
        min_freq: int = 1,
        reserved: Sequence[str] = RESERVED,
    ) -> None:
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1, got {min_freq}")
        if "<unk>" not in reserved:
            raise ValueError("reserved must include '<unk>', the id of every unknown token")
        if len(set(reserved)) != len(reserved):
            raise ValueError(f"reserved tokens repeat: {list(reserved)}")
        counts: Counter[str] = Counter()
        for item in tokens:
            if isinstance(item, str):
                counts[item] += 1
            else:
                counts.update(item)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in reserved),
                      key=lambda t: (-counts[t], t))
        self.tokens: list[str] = [*reserved, *kept]
        self.counts = counts
        self._ids = {t: i for i, t in enumerate(self.tokens)}
        self.unk = self._ids["<unk>"]

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, token: str) -> int:
        return self._ids.get(token, self.unk)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.tokens[:8]}{' ...' if len(self) > 8 else ''})"

    def _reserved(self, token: str) -> int:
        if token not in self._ids:
            raise KeyError(f"this vocabulary has no {token}; build it with {token} in reserved")
        return self._ids[token]

    @property
    def pad(self) -> int:
        """The id of ``<pad>``."""
        return self._reserved("<pad>")

    @property
    def bos(self) -> int:
        """The id of ``<bos>`` (beginning of sequence)."""
        return self._reserved("<bos>")

    @property
    def eos(self) -> int:
        """The id of ``<eos>`` (end of sequence)."""
        return self._reserved("<eos>")

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """The ids of the tokens; unknown tokens get ``self.unk``."""
        return [self._ids.get(t, self.unk) for t in tokens]

    def decode(self, ids: Iterable[int] | torch.Tensor) -> list[str]:
        """The tokens of the ids."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        n = len(self.tokens)
        out = []
        for i in values:
            if not 0 <= i < n:
                raise IndexError(f"id {i} is outside this vocabulary of {n} tokens")
            out.append(self.tokens[i])
        return out


def _as_ids(ids: torch.Tensor | Sequence[int], num_steps: int, batch_size: int) -> torch.Tensor:
    """Check the corpus and the batch shape, and return the corpus as a 1-D ``int64`` tensor."""
    corpus = torch.as_tensor(ids, dtype=torch.long)
    if corpus.ndim != 1:
        raise ValueError(f"the corpus must be one sequence of ids (1-D), got {corpus.ndim}-D")
    if num_steps < 1 or batch_size < 1:
        raise ValueError(f"num_steps and batch_size must be at least 1, got {num_steps}, "
                         f"{batch_size}")
    if len(corpus) < num_steps + 1:
        raise ValueError(
            f"the corpus has {len(corpus)} tokens, too few for one window of {num_steps} "
            f"steps and its next-token targets ({num_steps + 1} needed): use a longer text "
            "or a smaller num_steps"
        )
    return corpus


class RandomWindows:
    """Random windows of a corpus, each an example ``(X, Y)`` with ``Y`` = ``X`` shifted by one.

    Windows start every ``stride`` tokens (``stride=1``: at every position, so they overlap, as in
    d2l; ``stride=num_steps``: side by side). Each pass visits them in a new random order from the
    iterator's own generator, or draws ``num_batches`` batches of random windows, for corpora too
    long to visit whole.

    Args:
        ids: The corpus as token ids.
        num_steps: Tokens per window.
        batch_size: Windows per batch; the last batch of a pass may be smaller.
        stride: Distance between the starts of neighbouring windows.
        num_batches: If given, each pass yields this many batches of ``batch_size`` windows drawn
            at random (with replacement across batches).
        seed: Seed of the generator.

    Example:
        >>> X, Y = next(iter(RandomWindows(torch.arange(10), num_steps=3, batch_size=2)))
        >>> bool((Y == X + 1).all()), tuple(X.shape)
        (True, (2, 3))
    """

    def __init__(
        self,
        ids: torch.Tensor | Sequence[int],
        num_steps: int,
        batch_size: int,
        *,
        stride: int = 1,
        num_batches: int | None = None,
        seed: int = 0,
    ) -> None:
        self.corpus = _as_ids(ids, num_steps, batch_size)
        if stride < 1:
            raise ValueError(f"stride must be at least 1, got {stride}")
        if num_batches is not None and num_batches < 1:
            raise ValueError(f"num_batches must be at least 1, got {num_batches}")
        self.num_steps, self.batch_size = num_steps, batch_size
        self.num_batches = num_batches
        self.starts = torch.arange(0, len(self.corpus) - num_steps, stride)
        self._generator = torch.Generator().manual_seed(seed)
        self._offsets = torch.arange(num_steps)

    def __len__(self) -> int:
        if self.num_batches is not None:
            return self.num_batches
        return -(-len(self.starts) // self.batch_size)

    def _batch(self, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = starts[:, None] + self._offsets  # (batch, num_steps)
        return self.corpus[idx], self.corpus[idx + 1]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.num_batches is not None:
            for _ in range(self.num_batches):
                pick = torch.randint(len(self.starts), (self.batch_size,),
                                     generator=self._generator)
                yield self._batch(self.starts[pick])
            return
        order = self.starts[torch.randperm(len(self.starts), generator=self._generator)]
        for i in range(0, len(order), self.batch_size):
            yield self._batch(order[i : i + self.batch_size])


class ContiguousStreams:
    """A corpus as ``batch_size`` parallel streams, read ``num_steps`` tokens at a time.

    The corpus (after a random offset below ``num_steps``, new each pass) is cut into
    ``batch_size`` equal streams, one per row. Batch ``i`` holds tokens ``i * num_steps`` to
    ``(i + 1) * num_steps`` of every stream, so row ``r`` of batch ``i + 1`` continues row ``r`` of
    batch ``i``: a recurrent network that carries its state across batches reads each stream as
    one long text (``fit(..., stateful=True)``).

    Args:
        ids: The corpus as token ids.
        batch_size: Parallel streams (rows of every batch).
        num_steps: Tokens per row of a batch (the truncation length of backpropagation).
        seed: Seed of the random offset; ``random_offset=False`` starts every pass at 0.
        random_offset: Start each pass at a random offset, so windows do not always begin at
            the same places.

    Example:
        >>> batches = list(ContiguousStreams(torch.arange(20), batch_size=2, num_steps=3,
        ...                                  random_offset=False))
        >>> batches[0][0].tolist(), batches[1][0].tolist()
        ([[0, 1, 2], [8, 9, 10]], [[3, 4, 5], [11, 12, 13]])
    """

    def __init__(
        self,
        ids: torch.Tensor | Sequence[int],
        batch_size: int,
        num_steps: int,
        *,
        seed: int = 0,
        random_offset: bool = True,
    ) -> None:
        self.corpus = _as_ids(ids, num_steps, batch_size)
        per_stream = (len(self.corpus) - num_steps) // batch_size  # room for any offset
        if per_stream < num_steps:
            raise ValueError(
                f"the corpus has {len(self.corpus)} tokens, too few for {batch_size} streams of "
                f"at least {num_steps} steps each: use fewer streams (batch_size) or fewer steps"
            )
        self.batch_size, self.num_steps = batch_size, num_steps
        self.random_offset = random_offset
        self._per_stream = per_stream
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self._per_stream // self.num_steps

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        offset = (int(torch.randint(self.num_steps, (1,), generator=self._generator))
                  if self.random_offset else 0)
        n = self._per_stream * self.batch_size
        X = self.corpus[offset : offset + n].reshape(self.batch_size, -1)
        Y = self.corpus[offset + 1 : offset + 1 + n].reshape(self.batch_size, -1)
        for i in range(len(self)):
            cols = slice(i * self.num_steps, (i + 1) * self.num_steps)
            yield X[:, cols], Y[:, cols]
