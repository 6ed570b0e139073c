"""Tiny models, generated data and the training step (course_lib.models, data, train)."""

import pytest
import torch

from course_lib import data, memory, models, train


def test_mlp_shapes_and_seed():
    a, b = models.MLP(seed=3), models.MLP(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(models.MLP(seed=4).net[0].weight, a.net[0].weight)
    assert a(torch.zeros(5, 32)).shape == (5, 4)
    assert models.count_params(models.MLP(d_in=32, hidden=128, d_out=4, depth=2)) == (32 * 128 + 128) + (128 * 128 + 128) + (128 * 4 + 4)


def test_tinygpt_shapes_and_params():
    gpt = models.TinyGPT(vocab_size=64, d_model=64, n_heads=4, n_layers=2, max_seq_len=64)
    assert gpt(torch.zeros(3, 10, dtype=torch.int64)).shape == (3, 10, 64)
    d, V, S, L = 64, 64, 64, 2
    per_block = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 4 * d  # + 2 LayerNorms
    assert models.count_params(gpt) == V * d + S * d + L * per_block + 2 * d + d * V
    # Kaplan's N: the Linear weights only (qkv, proj, two MLP layers per block; the head)
    assert models.matmul_params(gpt) == L * (d * 3 * d + d * d + d * 4 * d + 4 * d * d) + d * V == 102_400


def test_tinygpt_is_causal():
    gpt = models.TinyGPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_seq_len=8)
    ids = torch.randint(0, 16, (1, 8), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[0, -1] = (changed[0, -1] + 1) % 16
    with torch.no_grad():
        assert torch.allclose(gpt(ids)[0, :-1], gpt(changed)[0, :-1])


def test_data_is_deterministic_and_learnable_shape():
    x1, y1 = data.make_classification(seed=1)
    x2, y2 = data.make_classification(seed=1)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert x1.shape == (512, 32) and set(y1.unique().tolist()) <= {0, 1, 2, 3}
    ids = data.make_tokens(n_seqs=4, seq_len=16, vocab_size=64, noise=0.0)
    assert ids.shape == (4, 17)
    assert torch.equal(ids[:, 1:], (3 * ids[:, :-1] + 1) % 64)


def test_training_lowers_the_loss():
    x, y = data.make_classification(n_samples=256, seed=0)
    model = models.MLP()
    opt = train.make_optimizer("adam", model.parameters(), lr=1e-2)
    losses = [train.training_step(model, opt, x, y) for _ in range(50)]
    assert losses[-1] < 0.5 * losses[0]


def test_inference_records_nothing():
    model, x = models.MLP(), torch.zeros(4, 32)
    n, nbytes = train.saved_tensor_bytes(lambda: train.inference(model, x))
    assert (n, nbytes) == (0, 0)
    n, nbytes = train.saved_tensor_bytes(lambda: model(x))
    # x (4x32), W1, ReLU out (4x128), W2, ReLU out (4x128), W3: the first weight is not saved (x needs no grad)
    assert n == 5 and nbytes == 4 * (4 * 32 + 128 * 128 + 4 * 128 + 4 * 128 + 128 * 4)


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: models.MLP(hidden=0), ValueError, "hidden"),
        (lambda: models.MLP(seed=-1), ValueError, "seed"),
        (lambda: models.TinyGPT(d_model=10, n_heads=4), ValueError, "d_model"),
        (lambda: models.TinyGPT(max_seq_len=4)(torch.zeros(1, 5, dtype=torch.int64)), ValueError, "max_seq_len"),
        (lambda: models.count_params("x"), TypeError, "model"),
        (lambda: data.make_classification(n_classes=1), ValueError, "n_classes"),
        (lambda: data.make_tokens(noise=1.5), ValueError, "noise"),
        (lambda: train.make_optimizer("lion", []), ValueError, "name"),
        (lambda: train.make_optimizer("sgd", [torch.zeros(1, requires_grad=True)], lr=0), ValueError, "lr"),
        (lambda: train.training_step(models.MLP(), "opt", None, None), TypeError, "optimizer"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


# ---------------------------------------------------------------- mixture of experts


def test_moe_total_and_active_params_by_hand():
    moe = models.MoE(d_model=64, d_ff=256, n_experts=8, top_k=2)
    router, expert = 64 * 8, 64 * 256 + 256 * 64
    assert moe.total_params() == router + 8 * expert == 262_656
    assert moe.active_params() == router + 2 * expert == 66_048
    assert sum(p.numel() for p in moe.parameters()) == moe.total_params()


def test_moe_flops_follow_active_params_and_memory_total():
    from course_lib import measure

    moe = models.MoE(d_model=16, d_ff=32, n_experts=4, top_k=1)
    x = torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(1))
    tokens = 15
    # router 2·T·d·E, plus each token through one expert's two matmuls 2·T·(d·f + f·d)
    assert measure.count_flops(moe, x) == 2 * tokens * 16 * 4 + 2 * tokens * (16 * 32 + 32 * 16)
    assert sum(moe.tokens_per_expert(x)) == tokens * 1
    assert memory.inference_memory(moe, x).weights == 4 * (16 * 4 + 4 * 2 * 16 * 32)


def test_moe_matches_a_hand_written_top_k_mixture():
    moe = models.MoE(d_model=8, d_ff=16, n_experts=4, top_k=2, seed=3)
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = torch.zeros_like(x)
        for t in range(6):
            scores = x[t] @ moe.router.weight.T
            top = torch.topk(scores, 2)
            gates = torch.softmax(top.values, dim=0)
            for g, e in zip(gates, top.indices):
                want[t] += g * moe.experts[int(e)](x[t])
        assert torch.allclose(moe(x), want, atol=1e-6)
        # top_k = n_experts uses every expert: active = total
        assert models.MoE(d_model=8, d_ff=16, n_experts=4, top_k=4).active_params() == models.MoE(d_model=8, d_ff=16, n_experts=4).total_params()


def test_moe_rejects_bad_arguments():
    with pytest.raises(ValueError, match="top_k"):
        models.MoE(n_experts=4, top_k=5)
    with pytest.raises(ValueError, match="n_experts"):
        models.MoE(n_experts=0)
    with pytest.raises(ValueError, match="d_model"):
        models.MoE(d_model=8)(torch.zeros(2, 9))
