"""What autograd saves for backward in one training forward pass of a
transformer, term by term (lesson 02, section "from TinyGPT to Llama-3-8B").

The model behind :meth:`course_lib.arch.Architecture.activation_bytes`, which
is its public entry point: :func:`activation_bytes` takes the architecture
``a`` (any object with :class:`~course_lib.arch.Architecture`'s fields) and
counts, per layer, the norms' inputs and statistics, the attention's saved
tensors (queries, keys and values, the softmax for eager attention or one
log-sum-exp per head and token for SDPA; latent attention's bottlenecks and
expanded keys and values; Gemma 4's layer kinds, value norm and per-layer
inputs), the FFN's or the mixture's tensors,
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
    if a.attn_softcap or a.attention_sinks:  # no SDPA kernel runs them: transformers runs eager
        attention = "eager"
    b, s, p = batch, seq_len, bytes_per_value
    if a._per_layer_shapes:  # Gemma 4
        return _per_layer_shapes(a, b, s, attention, p, checkpointing, loss)
    t = b * s
    h = a.hidden_size
    full, sliding = a.n_layers - a.sliding_layers, a.sliding_layers
    layers = full * _layer(a, b, s, attention, p, False)
    if sliding:
        layers += sliding * _layer(a, b, s, attention, p, True)
    if a.dense_layers:  # layers of a mixture that keep one dense FFN
        layers += a.dense_layers * (_ffn(a, t, p, False) - _ffn(a, t, p, True))
    if a.qk_l2_norm_layers:  # a norm without weights over each head's queries and keys (Llama 4): its fp32
        # input and 1/rms per head (the output is attention's query / key, counted there)
        layers += a.qk_l2_norm_layers * t * (a.q_size + a.kv_size + a.n_heads + a.n_kv_heads) * max(p, 4)
    if a.linear_layers:  # gated DeltaNet layers instead of attention (Qwen3-Next, Qwen3.5)
        attention_part = (_layer(a, b, s, attention, p, False) - a.norms_per_layer * _norm_saved(a, t, p)
                          - _ffn(a, t, p, a.n_experts > 1))
        layers += a.linear_layers * (_linear_attention(a, b, s, p) - attention_part)
    if a.attn_output_gate:  # the full layers' sigmoid gate: its output and the gated product (o_proj's input);
        # q_norm's saved input is a view into q_proj's output, twice the query width
        layers += (a.n_layers - a.linear_layers) * 3 * t * a.q_size * p
    layer = layers / a.n_layers  # one layer, for checkpointing
    # outside the layers: token ids, the final norm (its output feeds the LM head)
    outside = 8 * t + _norm_saved(a, t, p)
    if a.family == "gpt2":
        outside += 8 * s  # position ids
        if a.dropout > 0:
            outside += t * h * p  # embedding dropout mask
    elif a.family == "gpt_oss":  # rotary cos and sin over half the head (rotated as two halves)
        outside += s * a.head_dim * p
    elif a.kv_lora_rank and a.family == "deepseek_v2":
        outside += s * a.qk_rope_head_dim * 4  # rotary as complex64 (rope / 2 complex values), shared by the layers
    elif a.kv_lora_rank:
        outside += 2 * s * a.qk_rope_head_dim * p  # rotary cos and sin over the shared rotary key's width
    elif a.family == "llama4_text":
        outside += 4 * s * a.head_dim  # rotary as s x head_dim / 2 complex64 factors, shared by the layers
    else:
        outside += 2 * s * a.head_dim * p  # rotary cos and sin, shared by the layers
    if loss == "cross_entropy":
        outside += t * a.vocab_size * p + 8 * t  # log-softmax output, targets
    if a.logit_softcap:
        outside += t * a.vocab_size * p  # tanh's output, for its backward
    if checkpointing:  # each layer keeps its input; one layer's activations exist again during backward
        return math.ceil(a.n_layers * t * h * p + layer + outside)
    return math.ceil(layers + outside)


def _per_layer_shapes(a, b: int, s: int, attention: str, p: float, checkpointing: bool, loss: str) -> int:
    """Gemma 4 (transformers 5.25, models/gemma4), layer kind by kind (sliding / full, own keys and values
    or KV-shared). Its RMSNorm keeps its input, two fp32 statistics per row and the normalised values, plus
    its output where a matmul reads it (the input norms, not the norms after attention, FFN and per-layer
    input); the queries and keys are normalised per head (input, statistics, normalised), the values by a
    norm without weight (its input when a value projection made it, statistics); a KV-shared layer
    computes no keys or values and reuses the storage of the layer it shares with. Per layer the per-layer
    input block keeps its gate's output, the activation's output, the projection's input and one more
    hidden-sized tensor (measured: with per-layer inputs each layer keeps it, without them none); outside the
    layers, the per-layer inputs (projection norm, the combined inputs) and one rotary table per kind."""
    t = b * s
    h, heads, w = a.hidden_size, a.n_heads, a.per_layer_input_size
    stats = 2 * t * 4  # fp32 mean square and its power, per row

    def norm(width, rows=t, output=False):
        return (3 if output else 2) * rows * width * p + 2 * rows * 4 if width else 0

    layers, head_dims = 0.0, set()
    for n, sliding, own in a._kinds():
        if not n:
            continue
        d, k, mats = a._kind_shape(sliding, own)
        head_dims.add(d)
        q, kv = heads * d, k * d
        layer = 2 * norm(h, output=True) + 2 * norm(h) + (norm(h) if w else 0)
        layer += 2 * t * q * p + heads * stats  # q_norm: input, normalised; statistics per head
        if own:
            layer += 2 * t * kv * p + k * stats  # k_norm
            layer += (t * kv * p if mats == 2 else 0) + k * stats  # v_norm: its input (v_proj's output)
        matrices = attention == "eager"
        repeated = k < heads and (matrices or (k > 1 and sliding and s >= a.sliding_window))
        keys_values = 2 * t * q * p if repeated else (2 * t * kv * p if own else 0)
        layer += t * q * p + keys_values  # rotated queries; keys and values (new, or repeated copies)
        if matrices:
            layer += b * heads * s * s * p * (3 if a.attention_dropout > 0 else 1)
        else:
            layer += t * heads * 4 + (b * s * s * p if sliding and s >= a.sliding_window else 0)
        layer += t * q * p  # attention output, o_proj's input
        width = a.shared_ffn_size if a.shared_ffn_size and not own else a.ffn_size
        layer += 4 * t * width * p + 3 * t * w * p  # FFN; per-layer input gate, activation, projection's input
        layers += n * (layer + (t * h * p if w else 0) + 4)  # the per-layer input block's residual; layer_scalar
    outside = 8 * t + norm(h) + t * h * p  # ids; final norm; the LM head's input
    outside += sum(2 * s * d * p for d in head_dims)  # rotary cos and sin per head width
    if w:  # per-layer inputs: the projection's norm, the combined inputs
        outside += norm(w, rows=t * a.n_layers) + t * a.n_layers * w * p
    if loss == "cross_entropy":
        outside += t * a.vocab_size * p + 8 * t
    if a.logit_softcap:
        outside += t * a.vocab_size * p
    if checkpointing:
        return math.ceil(a.n_layers * t * h * p + layers / a.n_layers + outside)
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
    if a.kv_lora_rank:  # multi-head latent attention: its own projections and copies
        total += _latent_attention(a, b, s, attention, p)
        if a.dropout > 0:
            total += 2 * t * h * p  # residual dropout masks
        return total + _ffn(a, t, p, a.n_experts > 1)
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
        probs = b * heads * s * (s + 1 if a.attention_sinks else s) * p  # a sink: one more column
        if a.attention_sinks:
            total += b * heads * s * 8  # int64 indices of the row maxima subtracted before the softmax
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


def _linear_attention(a, b: int, s: int, p: float, chunk: int = 64) -> float:
    """One gated DeltaNet layer as transformers 5.25's torch fallback saves it
    (``torch_chunk_gated_delta_rule``, chunks of 64, the length padded to whole
    chunks, computed in fp32): five chunk × chunk matrices per value head
    and padded token (the decays, the UT system, the intra-chunk scores and
    their copies), the queries, keys and values around the l2 norms and in
    the per-chunk loop, one state per chunk, the convolution's padded input
    and output, and the gated RMSNorm's tensors. Counted from the saved
    tensors of one layer (tests/unit/test_arch_hf.py checks the model)."""
    t = b * s
    padded = b * -(-s // chunk) * chunk
    heads, dk, dv = a.linear_v_heads, a.linear_k_dim, a.linear_v_dim
    kernel = a.linear_conv_kernel
    conv = 2 * a.linear_k_heads * dk + heads * dv
    f32 = max(p, 4)
    inner = padded * heads * (5 * chunk + 9 * dk + 2 * dv + 3) * f32  # after padding, in fp32
    inner += t * heads * (3 * dk + 7) * f32 + chunk * chunk  # l2 norms and decays; the causal mask (bool)
    inner += b * -(-s // chunk) * heads * dk * dv * f32  # the state entering each chunk
    outer = (b * conv * (s + kernel - 1) + t * conv + 7 * t * heads * dv) * p  # convolution, gated norm, out_proj input
    return inner + outer


def _latent_attention(a, b: int, s: int, attention: str, p: float) -> float:
    """What one latent attention (DeepSeek-V2/V3, transformers 5's
    ``DeepseekV3Attention`` / ``DeepseekV2Attention``) saves besides the
    layer norm before it.

    The query bottleneck (``q_lora_rank`` > 0): ``q_a_proj``'s output into
    ``q_a_layernorm`` (input, 1/rms, normalised) and that norm's output,
    ``q_b_proj``'s input; without it ``q_proj`` reads the layer norm's output,
    already counted. ``kv_a_proj_with_mqa``'s output, latent and rotary key in
    one storage, is ``kv_a_layernorm``'s input (with 1/rms and the normalised
    latent); the norm's output (the cache's copy) is ``kv_b_proj``'s input.
    Rotary saves only its cos / sin tables (counted once, outside the
    layers); splitting and concatenating save nothing. The keys are built
    per head in a new tensor (nope part from ``kv_b_proj``, rotary part
    broadcast), the values stay a view of ``kv_b_proj``'s output.

    Eager attention keeps the concatenated queries, contiguous copies of the
    keys (transposed) and of the values for its matmuls, the softmax, and
    the output (``o_proj``'s input). The fused SDPA kernels keep the queries,
    the keys, ``kv_b_proj``'s whole output (the values are a view of it), the
    output in the queries' head-major layout, one fp32 log-sum-exp per head
    and token, and ``o_proj``'s contiguous input. PyTorch's flash kernels need
    the values as wide as the queries and keys, which latent attention's are
    not (DeepSeek-V3: 128 against 192): on CUDA the memory-efficient kernel
    runs it; on the CPU SDPA falls back to its math path, which saves what
    eager attention saves."""
    t = b * s
    heads, qk, vd = a.n_heads, a.head_dim, a.v_head_dim
    latent, rope = a.kv_lora_rank, a.qk_rope_head_dim
    total = t * (latent + rope) * p + t * p + 2 * t * latent * p  # kv_a_layernorm; kv_b_proj's input
    if a.q_lora_rank:
        total += 3 * t * a.q_lora_rank * p + t * p  # q_a_layernorm; q_b_proj's input
    if attention == "eager":
        total += t * heads * (2 * qk + vd) * p  # queries, copies of the keys and values
        total += b * heads * s * s * p * (3 if a.attention_dropout > 0 else 1)  # softmax, dropout mask, dropped
        return total + t * heads * vd * p  # output, o_proj's input
    nope = qk - rope
    total += t * heads * (2 * qk + nope + vd) * p  # queries, keys, kv_b_proj's output (the values' storage)
    return total + t * heads * 4 + 2 * t * heads * vd * p  # log-sum-exp; output, o_proj's input


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
    if a.swiglu_limit:  # gpt-oss: top-k of the biased router's logits, softmax over those k
        total = t * k * (8 + p)  # top-k indices, routing weights
        # per routed token: gathered input, gate_up, clamped gate, sigmoid, gate · sigmoid, up + 1, their
        # product (down's input), expert output, weighted output, its routing weight; token and top-k
        # position indices
        return total + t * k * ((3 * h + 7 * width + 1) * p + 16)
    if a.family == "llama4_text":
        return _llama4_moe(a, t, p, width)
    total = t * k * 4 * width * p  # per routed token: gate, up, activation output, product
    if a.n_shared_experts:  # the shared experts: one FFN every token runs
        total += t * 4 * width * a.n_shared_experts * p
    total += t * a.n_experts * 4 + t * (2 * k + 2) * 4  # router softmax, top-k weights (fp32)
    total += t * k * (3 * h * p + 8 + p)  # per routed token: gathered input, expert output, weighted output, index, weight
    return total


def _llama4_moe(a, t: int, p: float, width: int) -> float:
    """Llama 4's mixture as transformers 5.25 runs it: every expert sees every
    token (the input repeated n_experts times, scaled by sigmoid router
    scores that are 0 off the top-k), two batched matmuls over all experts;
    plus the shared expert, an FFN of ``width`` every token runs."""
    e, k, h = a.n_experts, a.experts_per_token, a.hidden_size
    total = e * t * h * p  # the repeated input (for the scores' gradient)
    total += e * t * p + t * e * p  # the scores laid out per expert row; the sigmoid's output
    total += e * t * h * p  # the scaled input, the first batched matmul's input
    total += e * t * 2 * width * p + 2 * e * t * width * p  # gate and up (one tensor); activation output, product
    total += t * k * 8  # top-k indices (int64)
    return total + t * 4 * width * a.n_shared_experts * p  # the shared expert: gate, up, activation output, product

