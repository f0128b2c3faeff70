"""The small GPT of chapter 8, for the pages that use it after the chapter has built it.

Chapter 8 writes these classes from scratch, inline, and checks that they compute what this module
computes; "Inside the GPT" imports them from here to load the chapter's trained weights. A GPT is
a stack of pre-norm Transformer blocks whose self-attention is causal, as in GPT-2:

- :func:`causal_attention`: scaled dot-product attention in which position ``i`` sees positions
  ``<= i``, written out (it also returns the weights, which the fused call does not);
- :class:`CausalSelfAttention`: several heads of it, with an optional KV cache for generation;
- :class:`GPTConfig`, :class:`Block`, :class:`GPT`: the model. The configuration can switch off
  the feed-forward layers, the residual connections and layer normalisation, so that one class
  builds every step of the chapter's ladder from one attention head to a GPT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["GPT", "Block", "CausalSelfAttention", "GPTConfig", "causal_attention"]

#: One dictionary per block, holding that block's cached keys ``"k"`` and values ``"v"``.
Cache = dict[str, Any]


def causal_attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention in which position ``i`` sees positions ``<= i``.

    Args:
        Q, K, V: Queries, keys and values, ``(batch, heads, steps, head_dim)``.

    Returns:
        The attention's output ``(batch, heads, steps, head_dim)`` and its weights
        ``(batch, heads, steps, steps)``, lower triangular, each row summing to 1.
    """
    T, d = Q.shape[-2], Q.shape[-1]
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d)  # (batch, heads, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=Q.device).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, fused (PyTorch's kernel) or from scratch.

    Args:
        d_model: The width of every position's vector; ``n_heads`` must divide it.
        n_heads: Heads, each of width ``d_model // n_heads``.
        fused: Use ``nn.functional.scaled_dot_product_attention``; else :func:`causal_attention`.
    """

    def __init__(self, d_model: int, n_heads: int, fused: bool = True) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"n_heads ({n_heads}) must divide d_model ({d_model})")
        self.n_heads, self.fused = n_heads, fused
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, X: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        """Attend over the positions of ``X`` (and the cached ones), ``(batch, steps, d_model)``.

        With a cache, the first call (the prompt) fills it; each later call must feed one new
        position, which attends over every cached one.
        """
        B, T, C = X.shape
        q, k, v = self.qkv(X).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)
                   for t in (q, k, v))  # (batch, heads, steps, head_dim)
        if cache is not None:
            if "k" in cache:
                if T != 1:
                    raise ValueError(f"after the prompt, feed one token at a time (got {T})")
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        causal = T > 1  # a single new query may see every cached position
        if self.fused:
            Y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        elif causal:
            Y, _ = causal_attention(q, k, v)
        else:
            Y = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v
        out: torch.Tensor = self.proj(Y.transpose(1, 2).reshape(B, T, C))
        return out  # (batch, steps, d_model)


@dataclass
class GPTConfig:
    """The shape of a :class:`GPT`, and which of its parts are switched on."""

    vocab_size: int
    block_size: int = 64  # the longest context, in tokens
    n_layers: int = 4  # blocks
    n_heads: int = 4  # attention heads per block
    d_model: int = 128  # width of every position's vector
    ffn: bool = True  # a feed-forward layer after attention in each block
    residual: bool = True  # add each sub-layer's input to its output
    layer_norm: bool = True  # normalise each sub-layer's input (pre-norm)


class Block(nn.Module):
    """Attention, then a feed-forward layer of width ``4 * d_model`` with GELU, each pre-norm."""

    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.residual = c.residual
        self.ln1 = nn.LayerNorm(c.d_model) if c.layer_norm else nn.Identity()
        self.attn = CausalSelfAttention(c.d_model, c.n_heads)
        self.ffn: nn.Sequential | None = None
        if c.ffn:
            self.ln2 = nn.LayerNorm(c.d_model) if c.layer_norm else nn.Identity()
            self.ffn = nn.Sequential(
                nn.Linear(c.d_model, 4 * c.d_model), nn.GELU(),
                nn.Linear(4 * c.d_model, c.d_model))

    def forward(self, X: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        """``(batch, steps, d_model)`` in and out."""
        Y = self.attn(self.ln1(X), cache)
        X = X + Y if self.residual else Y
        if self.ffn is not None:
            Y = self.ffn(self.ln2(X))
            X = X + Y if self.residual else Y
        return X


class GPT(nn.Module):
    """Token and learned position embeddings, the blocks, a final layer norm and a linear head."""

    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.config = c
        self.tok = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Embedding(c.block_size, c.d_model)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.ln_f = nn.LayerNorm(c.d_model) if c.layer_norm else nn.Identity()
        self.head = nn.Linear(c.d_model, c.vocab_size)

    def forward(self, idx: torch.Tensor, caches: list[Cache] | None = None) -> torch.Tensor:
        """Scores ``(batch, steps, vocab)`` for the next token after each of ``idx``'s.

        Args:
            idx: Token ids, ``(batch, steps)``; at most ``block_size`` positions in all,
                the cached ones included.
            caches: One dictionary per block for a KV cache (empty ones on the first call).
        """
        start = caches[0]["k"].shape[2] if caches and "k" in caches[0] else 0
        if start + idx.shape[1] > self.config.block_size:
            raise ValueError(f"{start + idx.shape[1]} positions, but the model has position "
                             f"embeddings for {self.config.block_size}: feed the last "
                             f"{self.config.block_size} tokens, or start a new cache")
        where = torch.arange(start, start + idx.shape[1], device=idx.device)
        X = self.tok(idx) + self.pos(where)  # (batch, steps, d_model)
        for i, block in enumerate(self.blocks):
            X = block(X, caches[i] if caches is not None else None)
        scores: torch.Tensor = self.head(self.ln_f(X))
        return scores  # (batch, steps, vocab)
