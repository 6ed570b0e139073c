"""What autograd saves for backward in one training forward pass of a
transformer, term by term (lesson 02, section "from TinyGPT to Llama-3-8B").

The model behind :meth:`course_lib.arch.Architecture.activation_bytes`, which
is its public entry point: :func:`activation_bytes` takes the architecture
``a`` (any object with :class:`~course_lib.arch.Architecture`'s fields) and
counts, per layer, the norms' inputs and statistics, the attention's saved
tensors (queries, keys and values, the softmax for eager attention or one
log-sum-exp per head and token for SDPA), the FFN's or the mixture's tensors,
dropout masks, and outside the layers the token ids, the rotary tables, the
final norm, the log-probabilities and the targets. A parallel block (Phi,
Falcon, Command R) feeds attention and MLP from one norm's output; Falcon-40B's
two norms read one input, kept once. Phi's rotary tables are counted over the
whole head although only ``partial_rotary_factor`` of it rotates (0.2 % on a
tiny Phi); Falcon-RW's ALiBi bias, added to SDPA's mask per head, is not
modelled (6 % low on a tiny one). The tests check it within
10 % of autograd's saved tensors of transformers models built from configs.

Pure arithmetic: no torch, no transformers, and no import of :mod:`course_lib.arch`
(``arch`` imports this module).
"""

from __future__ import annotations

import math

from . import _validate as v

#: Attention implementations the model knows: PyTorch's fused SDPA (no score matrix kept) and eager.
ATTENTIONS = ("sdpa", "eager")
#: What follows the logits in the training step: a cross-entropy loss (its log-probabilities kept) or nothing.
LOSSES = ("cross_entropy", "none")

_GEMMA = ("gemma", "gemma3_text", "gemma2")


@v.checked
def activation_bytes(a: v.Shape, *, batch: v.PositiveInt, seq_len: v.PositiveInt,
                     attention: v.Choice[ATTENTIONS] = "sdpa", bytes_per_value: v.Positive = 2,
                     checkpointing: v.Bool = False, loss: v.Choice[LOSSES] = "cross_entropy") -> int:
    """Bytes autograd saves in one forward pass of ``a`` over ``batch`` ×
    ``seq_len`` tokens. Arguments and conventions as
    :meth:`course_lib.arch.Architecture.activation_bytes` documents them; used
    by it, not tied to one lesson."""
    if a.attn_softcap:  # soft-capped scores: no fused kernel runs them, transformers runs eager
        attention = "eager"
    b, s, p = batch, seq_len, bytes_per_value
    t = b * s
    h = a.hidden_size
    full, sliding = a.n_layers - a.sliding_layers, a.sliding_layers
    layers = full * _layer(a, b, s, attention, p, False)
    if sliding:
        layers += sliding * _layer(a, b, s, attention, p, True)
    if a.dense_layers:  # layers of a mixture that keep one dense FFN
        layers += a.dense_layers * (_ffn(a, t, p, False) - _ffn(a, t, p, True))
    layer = layers / a.n_layers  # one layer, for checkpointing
    # outside the layers: token ids, the final norm (its output feeds the LM head)
    outside = 8 * t + _norm_saved(a, t, p)
    if a.family == "gpt2":
        outside += 8 * s  # position ids
        if a.dropout > 0:
            outside += t * h * p  # embedding dropout mask
    else:
        outside += 2 * s * a.head_dim * p  # rotary cos and sin, shared by the layers
    if loss == "cross_entropy":
        outside += t * a.vocab_size * p + 8 * t  # log-softmax output, targets
    if a.logit_softcap:
        outside += t * a.vocab_size * p  # tanh's output, for its backward
    if checkpointing:  # each layer keeps its input; one layer's activations exist again during backward
        return math.ceil(a.n_layers * t * h * p + layer + outside)
    return math.ceil(layers + outside)


def _norm_saved(a, t: int, p: float) -> float:
    """A norm's input and statistics, and its output (the next matmul's input)."""
    h = a.hidden_size
    if a.norm == "layernorm":
        return 2 * t * h * p + 2 * t * 4  # input, output; fp32 mean and 1/std
    if a.norm == "layernorm_nobias":  # Cohere's, written out: x - mean (computed twice), normalised, output; 1/std
        return 4 * t * h * p + t * 4
    extra = h * p if a.family in _GEMMA else 0  # Gemma's (1 + weight)
    return 3 * t * h * p + t * p + extra  # input, normalised, output; 1/rms


def _masked(a, s: int, attention: str, sliding: bool) -> bool:
    """SDPA in a sliding-window layer is given an explicit b × s × s mask
    (and GQA's keys and values are repeated) once the sequence reaches
    the window."""
    return attention == "sdpa" and sliding and s >= a.sliding_window


def _layer(a, b: int, s: int, attention: str, p: float, sliding: bool) -> float:
    """One layer: its norms, attention and FFN (or mixture)."""
    t = b * s
    h = a.hidden_size
    q, kv = a.q_size, a.kv_size
    heads = a.n_heads
    total = a.norms_per_layer * _norm_saved(a, t, p)
    if a.parallel_block and a.norms_per_layer == 2:  # Falcon-40B's two norms read one input, saved once
        total -= t * h * p
    matrices = attention == "eager"  # no fused kernel: the scores are kept
    # Falcon hands SDPA an explicit b × s × s float mask (built for ALiBi), which each layer's kernel keeps
    masked = _masked(a, s, attention, sliding) or (a.family == "falcon" and attention == "sdpa")
    if a.family == "gpt2":
        if matrices:
            total += 3 * t * q * p  # contiguous copies of q, k, v for the matmuls
        else:  # q stays a view of the c_attn output; k and v are the cache's copies (use_cache is on by default)
            total += t * (q + 2 * kv) * p + 2 * t * kv * p
    else:
        grouped = a.n_kv_heads < a.n_heads
        # eager's matmuls copy repeated keys and values; SDPA with a mask gets
        # copies from repeat_kv (a view when there is a single KV head)
        repeated = grouped and (matrices or (a.n_kv_heads > 1 and masked))
        k_and_v = 2 * t * q * p if repeated else 2 * t * kv * p
        total += t * q * p + k_and_v  # rotated queries; keys and values (the cache's copies, or repeated)
        if a.qk_norm:  # RMSNorm over each head's queries and keys: input, normalised (fp32 1/rms per head)
            stats = 2 if a.qk_norm_full else heads + a.n_kv_heads
            # Cohere's LayerNorm keeps x - mean twice; PyTorch's LayerNorm (Phi's qk_layernorm) its input, mean, 1/std
            kept = {"layernorm_nobias": 3, "layernorm": 1}.get(a.norm, 2)
            total += kept * t * (q + kv) * p + t * stats * 4 * (2 if a.norm == "layernorm" else 1)
        if a.family == "falcon" and attention == "sdpa" and not repeated:
            total += t * (q + kv) * p  # the values are a view of the fused query_key_value output: all of it is kept
    if matrices:
        probs = b * heads * s * s * p
        if a.attn_softcap:
            total += probs  # tanh's output, for its backward
        total += probs * (3 if a.attention_dropout > 0 else 1)  # softmax, dropout mask, dropped
    else:
        total += t * heads * 4  # log-sum-exp, fp32
        if masked:
            total += b * s * s * p  # the sliding-window (or Falcon's) mask
    total += t * q * p  # attention output, the output projection's input
    if a.family in ("phi3", "phi") and not matrices:
        total += t * q * p  # queries sliced from the fused qkv: SDPA's output is re-laid out for o_proj
    if a.dropout > 0:
        total += 2 * t * h * p  # residual dropout masks
    return total + _ffn(a, t, p, a.n_experts > 1)


def _ffn(a, t: int, p: float, moe: bool) -> float:
    """What one layer's FFN saves: a dense FFN of ``ffn_size``, or a mixture's routed experts."""
    h = a.hidden_size
    if a.ffn_kind == "mlp":
        saved = 4 if a.activation == "gelu_new" else 1  # tanh-GELU written out keeps 4 tensors
        return t * (saved + 1) * a.ffn_size * p  # the activation's tensors, its output
    if not moe:
        return t * 4 * a.ffn_size * p  # gate, up, activation output, product
    k = a.experts_per_token
    width = a.expert_ffn_size or a.ffn_size
    total = t * k * 4 * width * p  # per routed token: gate, up, activation output, product
    if a.n_shared_experts:  # the shared experts: one FFN every token runs
        total += t * 4 * width * a.n_shared_experts * p
    total += t * a.n_experts * 4 + t * (2 * k + 2) * 4  # router softmax, top-k weights (fp32)
    total += t * k * (3 * h * p + 8 + p)  # per routed token: gathered input, expert output, weighted output, index, weight
    return total
