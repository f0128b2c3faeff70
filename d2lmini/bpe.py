"""Subword tokens by byte-pair encoding: learn merges on a training text, then cut any text.

Byte-pair encoding (Gage, 1994, a compression method; for subword tokens, Sennrich et al., 2016)
starts from characters and repeatedly merges the most frequent adjacent pair of symbols into one
new symbol, until the vocabulary has the size asked for. Frequent words end as one token, rare
ones as a few pieces, and no text is ever out of the vocabulary as long as its characters were
seen in training.

The text is first cut into chunks that merges never cross: a word with the space before it,
a run of punctuation with the space before it, or a run of white space (GPT-2's rule,
simplified). Joining the tokens gives the text back exactly.

Example:
    >>> bpe = BPE.learn("low low low lower newest newest widest", vocab_size=16)
    >>> bpe.encode(" lowest")
    [' low', 'est']
    >>> "".join(bpe.encode("low newest")) == "low newest"
    True
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from itertools import pairwise

__all__ = ["BPE", "CHUNK"]

#: Where merges stop: a word or a run of punctuation, each with the space before it, or white
#: space (a run of white space before a word leaves its last character to the word if it is a
#: space, and as a chunk of its own otherwise).
CHUNK = re.compile(r" ?\w+| ?[^\w\s]+|\s+(?!\S)|\s+")


class BPE:
    """The merges learned by :meth:`learn`, in the order they were learned.

    Args:
        merges: Pairs of symbols; the pair at index ``i`` is merged before the pair at ``i + 1``.
        alphabet: The characters of the training text.
    """

    def __init__(self, merges: list[tuple[str, str]], alphabet: list[str]) -> None:
        self.merges = list(merges)
        self.alphabet = sorted(alphabet)
        self._rank = {pair: i for i, pair in enumerate(self.merges)}
        self._cache: dict[str, list[str]] = {}  # chunk -> its tokens

    def __repr__(self) -> str:
        return f"BPE({len(self.merges)} merges, {len(self.tokens)} tokens)"

    @property
    def tokens(self) -> list[str]:
        """Every symbol: the characters, then each merge's result, each listed once."""
        return list(dict.fromkeys([*self.alphabet, *(a + b for a, b in self.merges)]))

    @classmethod
    def learn(cls, text: str, vocab_size: int) -> BPE:
        """Merge the most frequent adjacent pair until there are ``vocab_size`` symbols.

        Pairs are counted within the chunks of :data:`CHUNK`, each chunk weighted by how often
        it occurs. Ties go to the pair whose first symbol, then second, was made first
        (characters in code-point order, then merged symbols in the order of their merges), the
        rule of Hugging Face's ``tokenizers``, against which the tests check this function.
        Learning stops early if no pair is left to merge. Only the chunks that contain the
        merged pair are updated after a merge, and the pairs wait in a heap ordered by count,
        which keeps learning fast.

        Raises:
            ValueError: if ``text`` is empty or ``vocab_size`` is below its number of distinct
                characters.
        """
        if not text:
            raise ValueError("BPE.learn needs a non-empty training text")
        alphabet = sorted(set(text))
        if vocab_size < len(alphabet):
            raise ValueError(
                f"vocab_size={vocab_size} is below the {len(alphabet)} distinct characters of "
                f"the text; ask for at least {len(alphabet)}"
            )
        counts = Counter(CHUNK.findall(text))
        words = [list(chunk) for chunk in counts]  # each distinct chunk as a list of symbols
        freqs = list(counts.values())
        pairs: Counter[tuple[str, str]] = Counter()
        where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)  # pair -> word indices
        for i, word in enumerate(words):
            for pair in pairwise(word):
                pairs[pair] += freqs[i]
                where[pair].add(i)
        order = {c: n for n, c in enumerate(alphabet)}  # when each symbol was made

        def entry(pair: tuple[str, str]) -> tuple[int, int, int, tuple[str, str]]:
            return -pairs[pair], order[pair[0]], order[pair[1]], pair  # the smallest goes first

        queue = [entry(pair) for pair in pairs]  # a heap; an entry whose count is out of date
        heapq.heapify(queue)  # is skipped when it comes up
        merges: list[tuple[str, str]] = []
        while len(order) < vocab_size:
            while queue and -queue[0][0] != pairs.get(queue[0][3]):
                heapq.heappop(queue)
            if not queue:
                break
            best = heapq.heappop(queue)[3]
            merges.append(best)
            new = best[0] + best[1]
            order.setdefault(new, len(order))
            changed: set[tuple[str, str]] = set()
            for i in where.pop(best):
                old = words[i]
                for pair in pairwise(old):  # take the word's pairs out ...
                    pairs[pair] -= freqs[i]
                    if pairs[pair] == 0:
                        del pairs[pair]
                words[i] = _merge(old, best, new)
                for pair in pairwise(words[i]):  # ... and put its new ones in
                    pairs[pair] += freqs[i]
                    where[pair].add(i)
                changed.update(pairwise(old), pairwise(words[i]))
            for pair in changed & pairs.keys():
                heapq.heappush(queue, entry(pair))
        return cls(merges, alphabet)

    def encode(self, text: str) -> list[str]:
        """Cut ``text`` into tokens: each chunk's characters, merged in the learned order.

        A character the training text lacked stays a token of its own, which a
        :class:`~d2lmini.text.Vocab` built on the training tokens maps to ``<unk>``; so does a
        symbol that later merges consumed wherever it occurred in the training text.
        """
        tokens: list[str] = []
        for chunk in CHUNK.findall(text):
            if chunk not in self._cache:
                self._cache[chunk] = self._encode_chunk(chunk)
            tokens.extend(self._cache[chunk])
        return tokens

    def _encode_chunk(self, chunk: str) -> list[str]:
        symbols = list(chunk)
        never = len(self._rank)  # the rank of a pair that was never merged
        while len(symbols) > 1:  # merge the earliest-learned pair present, until none is
            pair = min(pairwise(symbols), key=lambda p: self._rank.get(p, never))
            if pair not in self._rank:
                break
            symbols = _merge(symbols, pair, pair[0] + pair[1])
        return symbols


def _merge(symbols: list[str], pair: tuple[str, str], new: str) -> list[str]:
    """Replace each occurrence of ``pair`` in ``symbols``, from left to right, by ``new``."""
    out: list[str] = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out
