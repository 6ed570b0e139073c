"""TinyGPT's key/value cache and generate() (lesson 07)."""

import pytest
import torch

from course_lib.models import KVCache, TinyGPT


def _prompt(batch=3, length=5, vocab=64, seed=1):
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


def test_greedy_with_and_without_cache_identical():
    model = TinyGPT(max_seq_len=64).eval()
    ids = _prompt()
    with_cache = model.generate(ids, 30)
    without = model.generate(ids, 30, use_cache=False)
    assert with_cache.shape == (3, 35)
    assert torch.equal(with_cache[:, :5], ids)
    assert torch.equal(with_cache, without)


def test_greedy_is_argmax_of_full_forward():
    # Independent check: each generated token is the argmax of a from-scratch forward pass.
    model = TinyGPT(max_seq_len=64).eval()
    out = model.generate(_prompt(batch=2), 8)
    with torch.no_grad():
        for t in range(5, 13):
            assert torch.equal(model(out[:, :t])[:, -1].argmax(-1), out[:, t])


def test_cache_bytes_after_every_step_hand_count():
    # d_model 64, 4 heads of 16, 2 layers, fp32: K and V each 2 layers x 4 heads x 16 x 4 bytes per token and sequence.
    model = TinyGPT(d_model=64, n_heads=4, n_layers=2, max_seq_len=64).eval()
    ids = _prompt(batch=3)
    cache = model.new_cache(3)
    assert (cache.seq_len, cache.nbytes) == (0, 0)
    with torch.no_grad():
        model(ids, cache=cache)
        assert cache.seq_len == 5
        assert cache.nbytes == 2 * 2 * 4 * 16 * 4 * 5 * 3
        for step in range(1, 11):
            model(torch.zeros(3, 1, dtype=torch.long), cache=cache)
            assert cache.seq_len == 5 + step
            assert cache.nbytes == 2 * 2 * 4 * 16 * 4 * (5 + step) * 3
            assert cache.reserved_bytes == cache.nbytes


def test_incremental_logits_match_full_forward():
    model = TinyGPT(max_seq_len=64).eval()
    ids = _prompt(batch=2, length=12)
    cache = model.new_cache(2)
    with torch.no_grad():
        full = model(ids)
        parts = [model(ids[:, :4], cache=cache)] + [model(ids[:, t : t + 1], cache=cache) for t in range(4, 12)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-5)


def test_seeded_sampling_reproducible_and_cache_independent():
    model = TinyGPT(max_seq_len=64).eval()
    ids = _prompt()
    a = model.generate(ids, 10, temperature=1.0, seed=3)
    assert torch.equal(a, model.generate(ids, 10, temperature=1.0, seed=3))
    assert torch.equal(a, model.generate(ids, 10, temperature=1.0, seed=3, use_cache=False))
    assert not torch.equal(a, model.generate(ids, 10, temperature=1.0, seed=4))


def test_cache_errors_name_the_problem():
    model = TinyGPT(max_seq_len=16).eval()
    with pytest.raises(ValueError, match="batch"):
        model(_prompt(batch=2), cache=model.new_cache(3))
    with pytest.raises(TypeError, match="cache"):
        model(_prompt(batch=1), cache={})
    cache = model.new_cache(1)
    with torch.no_grad():
        model(_prompt(batch=1, length=12), cache=cache)
        with pytest.raises(ValueError, match="max_seq_len=16"):
            model(_prompt(batch=1, length=5), cache=cache)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(_prompt(batch=1, length=5), 12)
    with pytest.raises(ValueError, match="batch"):
        KVCache(2, 0)
