"""d2lmini.gpt: attention against PyTorch's fused kernel, causality, the KV cache, the sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lmini.gpt import GPT, CausalSelfAttention, GPTConfig, causal_attention


def test_causal_attention_matches_pytorch_and_its_weights_are_lower_triangular() -> None:
    torch.manual_seed(0)
    Q, K, V = torch.randn(3, 2, 4, 7, 8).unbind(0)  # batch 2, 4 heads, 7 steps
    out, weights = causal_attention(Q, K, V)
    oracle = nn.functional.scaled_dot_product_attention(Q, K, V, is_causal=True)
    assert torch.allclose(out, oracle, atol=1e-6)
    assert torch.equal(weights.triu(1), torch.zeros_like(weights))
    assert torch.allclose(weights.sum(-1), torch.ones(2, 4, 7))


def test_fused_and_scratch_paths_agree_and_later_inputs_never_reach_earlier_outputs() -> None:
    torch.manual_seed(0)
    scratch, fused = CausalSelfAttention(32, 4, fused=False), CausalSelfAttention(32, 4)
    fused.load_state_dict(scratch.state_dict())
    X = torch.randn(2, 9, 32)
    assert torch.allclose(scratch(X), fused(X), atol=1e-6)
    X2 = X.clone()
    X2[:, 5:] += 1.0
    assert torch.allclose(fused(X2)[:, :5], fused(X)[:, :5], atol=1e-6)
    assert not torch.allclose(fused(X2)[:, 5:], fused(X)[:, 5:], atol=1e-3)


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ValueError, match="must divide"):
        CausalSelfAttention(30, 4)


@pytest.mark.parametrize("fused", [True, False])
def test_the_cache_gives_the_scores_of_a_full_pass(fused: bool) -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layers=2, n_heads=2, d_model=16)).eval()
    for block in model.blocks:
        block.attn.fused = fused
    idx = torch.randint(11, (3, 12))
    caches: list[dict] = [{} for _ in model.blocks]
    with torch.no_grad():
        steps = [model(idx[:, :5], caches)]  # the prompt, then one token at a time
        steps += [model(idx[:, t : t + 1], caches) for t in range(5, 12)]
        assert torch.allclose(torch.cat(steps, dim=1), model(idx), atol=1e-5)
        with pytest.raises(ValueError, match="one token at a time"):
            model(idx[:, :2], caches)


def test_positions_beyond_the_context_get_a_clear_error() -> None:
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layers=1, d_model=8))
    with pytest.raises(ValueError, match="position embeddings for 4"):
        model(torch.zeros(1, 5, dtype=torch.long))


def test_parameter_count_is_12d2_plus_10d_per_block() -> None:
    d, L, vocab, T = 96, 3, 69, 64
    model = GPT(GPTConfig(vocab, T, n_layers=L, d_model=d))
    count = sum(p.numel() for p in model.parameters())
    per_block = sum(p.numel() for p in model.blocks[0].parameters())
    assert per_block == 12 * d**2 + 10 * d
    assert count == L * (12 * d**2 + 10 * d) + (2 * vocab + T + 2) * d + vocab


def test_switches_remove_their_parts() -> None:
    bare = GPT(GPTConfig(7, 8, n_layers=2, d_model=8, ffn=False, residual=False,
                         layer_norm=False))
    names = {name for name, _ in bare.named_parameters()}
    assert not any(".ffn." in n or "ln" in n for n in names)
    torch.manual_seed(0)
    X = torch.randn(1, 3, 8)
    block = bare.blocks[0]
    assert torch.allclose(block(X), block.attn(X))  # no residual, no norm: attention alone
