"""Lesson 02: memory measured to the byte (course_lib.memory, predict's activation formulas)."""

import math

import pytest
import torch

from course_lib import memory, predict
from course_lib.models import MLP, TinyGPT, count_params


def mlp_and_batch(batch=16):
    return MLP(d_in=8, hidden=16, d_out=3, depth=2), torch.randn(batch, 8)


@pytest.mark.parametrize("optimizer, states", [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_model_state_exact(optimizer, states):
    model, x = mlp_and_batch()
    # 8*16+16 + 16*16+16 + 16*3+3 parameters, 4 bytes each
    n = 8 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3
    assert count_params(model) == n
    r = memory.training_memory(model, x, optimizer=optimizer)
    assert r.weights == 4 * n
    assert r.gradients == 4 * n
    assert r.optimizer_state == 4 * n * states
    assert r.total == r.weights + r.gradients + r.optimizer_state + r.activations
    assert all(isinstance(val, int) for val in r.as_dict().values())


def test_mlp_activations_by_hand():
    model, x = mlp_and_batch(batch=5)
    r = memory.training_memory(model, x, optimizer="sgd")
    # saved: the input (5x8), two ReLU outputs (5x16 each), all fp32
    assert r.activations == 4 * 5 * (8 + 16 + 16)
    assert predict.mlp_activation_bytes(model, 5) == r.activations
    assert predict.mlp_activation_bytes({"d_in": 8, "hidden": 16, "depth": 2}, 5) == r.activations


@pytest.mark.parametrize("b, s, d, a, layers", [(2, 16, 32, 4, 2), (3, 7, 16, 2, 1), (1, 1, 8, 1, 3)])
def test_tinygpt_activations_match_predictor(b, s, d, a, layers):
    model = TinyGPT(vocab_size=32, d_model=d, n_heads=a, n_layers=layers, max_seq_len=16)
    ids = torch.randint(0, 32, (b, s))
    measured = memory.training_memory(model, ids, optimizer="sgd").activations
    assert predict.tinygpt_activation_bytes(model, b, s) == measured
    ck = memory.training_memory(memory.Checkpointed(model), ids, optimizer="sgd").activations
    assert predict.tinygpt_activation_bytes(model, b, s, checkpointing=True) == ck
    assert ck < measured


def test_tinygpt_predictor_by_hand():
    # one layer, b=1, s=2, h=4, a=1: per layer 64*s*b*h + 4*a*s^2*b + s^2 + 16*b*s
    layer = 64 * 8 + 4 * 4 + 4 + 16 * 2
    outside = 8 * 2 + 8 * 2 + (4 * 8 + 8 * 2) + 4 * 8
    sizes = {"d_model": 4, "n_heads": 1, "n_layers": 1}
    assert predict.tinygpt_activation_bytes(sizes, 1, 2) == layer + outside


def test_korthikanti_terms():
    s, b, h, a = 128, 4, 256, 8
    assert predict.gpt_layer_activation_bytes(s, b, h, a) == predict.transformer_activation_bytes(s, b, h, a)
    assert predict.gpt_layer_activation_bytes(s, b, h, a, bytes_per_value=4, dropout=False) == s * b * h * 64 + 4 * a * s * s * b


def test_custom_loss_and_factory():
    model, x = mlp_and_batch(batch=4)
    y = torch.randint(0, 3, (4,))
    r = memory.training_memory(
        model, x, optimizer=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5), loss_fn=lambda out: torch.nn.functional.cross_entropy(out, y)
    )
    assert r.optimizer_state == r.weights
    assert r.activations > predict.mlp_activation_bytes(model, 4)  # log_softmax saves its output too


def test_model_left_unchanged():
    model, x = mlp_and_batch()
    before = [p.detach().clone() for p in model.parameters()]
    memory.training_memory(model, x, optimizer="adam")
    memory.peak_training_memory(model, x, optimizer="adam")
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


def test_inference_memory():
    model, x = mlp_and_batch()
    r = memory.inference_memory(model, x)
    assert r == memory.MemoryReport(r.weights, 0, 0, 0, r.weights)
    assert r.weights == 4 * count_params(model)


def test_peak_cpu_by_hand():
    model, x = mlp_and_batch(batch=4)
    n = count_params(model)
    p = memory.peak_training_memory(model, x, optimizer="sgd")
    assert p.baseline == 4 * n + x.nbytes
    # alive after forward: the two ReLU outputs (saved for backward) and the loss;
    # the Linear outputs before each ReLU and the model's output are already freed
    assert p.after_forward == p.baseline + 4 * (2 * 4 * 16 + 1)
    assert p.forward_peak > p.after_forward
    assert p.after_backward == p.baseline + 4 * n  # activations freed, gradients alive
    assert p.peak >= max(p.after_forward, p.after_backward)
    pa = memory.peak_training_memory(model, x, optimizer="adam")
    assert pa.baseline > p.baseline + 8 * n - 1
    assert pa.step_peak > pa.after_step  # Adam's temporaries
    assert pa.peak_phase in ("forward", "backward", "step")


def test_peak_exceeds_components_for_adam():
    model, x = mlp_and_batch(batch=4)
    r = memory.training_memory(model, x, optimizer="adam")
    p = memory.peak_training_memory(model, x, optimizer="adam")
    assert p.peak > r.weights + r.gradients + r.optimizer_state


def test_live_tensor_bytes_frees():
    tracker = memory.LiveTensorBytes()
    with tracker:
        a = torch.zeros(1000)
        assert tracker.current == 4000
        del a
        assert tracker.current == 0
    assert tracker.peak == 4000


@pytest.mark.parametrize(
    "call, err",
    [
        (lambda m, x: memory.training_memory("model", x), TypeError),
        (lambda m, x: memory.training_memory(m, [1, 2]), TypeError),
        (lambda m, x: memory.training_memory(m, x, optimizer="lion"), ValueError),
        (lambda m, x: memory.training_memory(m, x, optimizer=3), TypeError),
        (lambda m, x: memory.training_memory(m, x, optimizer=lambda p: "sgd"), TypeError),
        (lambda m, x: memory.training_memory(m, x, loss_fn="sum"), TypeError),
        (lambda m, x: memory.training_memory(m, x, loss_fn=lambda out: out), ValueError),
        (lambda m, x: memory.inference_memory(m, "x"), TypeError),
        (lambda m, x: memory.peak_training_memory(m, x, optimizer="rmsprop"), ValueError),
        (lambda m, x: memory.training_memory(torch.nn.ReLU(), x), ValueError),
        (lambda m, x: memory.Checkpointed(m), TypeError),
    ],
)
def test_bad_inputs(call, err):
    model, x = mlp_and_batch()
    with pytest.raises(err):
        call(model, x)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: predict.mlp_activation_bytes({"d_in": 8, "hidden": 16}, 2), "depth"),
        (lambda: predict.mlp_activation_bytes({"d_in": 8, "hidden": 16, "depth": 1}, 0), "batch"),
        (lambda: predict.mlp_activation_bytes("mlp", 2), "model_or_sizes"),
        (lambda: predict.tinygpt_activation_bytes({"d_model": 8, "n_heads": 2, "n_layers": 1}, 2, -1), "seq_len"),
        (lambda: predict.tinygpt_activation_bytes({"d_model": 8, "n_heads": 2, "n_layers": 1}, 2, 2, checkpointing="yes"), "checkpointing"),
        (lambda: predict.gpt_layer_activation_bytes(8, 1, 8, 2, bytes_per_value=math.nan), "bytes_per_value"),
        (lambda: predict.gpt_layer_activation_bytes(8, 1, 8, 0), "n_heads"),
    ],
)
def test_predictor_bad_inputs(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu_components():  # pragma: no cover - GPU only
    model, x = mlp_and_batch()
    cpu = memory.training_memory(model, x, optimizer="adam")
    gpu = memory.training_memory(model.cuda(), x.cuda(), optimizer="adam")
    assert (gpu.weights, gpu.gradients, gpu.optimizer_state) == (cpu.weights, cpu.gradients, cpu.optimizer_state)
    p = memory.peak_training_memory(model.cuda(), x.cuda(), optimizer="adam")
    assert p.peak >= p.baseline > 0
