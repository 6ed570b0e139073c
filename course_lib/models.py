"""Tiny models defined in code, seeded, small enough for a laptop CPU.

- :class:`MLP`: a plain multilayer perceptron (lessons 01–04).
- :class:`TinyGPT`: a GPT-style decoder-only transformer in the shape of
  nanoGPT (Karpathy), with attention written out as matmuls so the FLOP
  counter and the activation tracker see every step (lessons 01–03, 06),
  and a key/value cache for generation (:class:`KVCache`, lessons 07–08).
- :class:`MoE`: a mixture-of-experts feed-forward layer, total vs active
  parameters (lesson 01).

Each takes a ``seed``: the same arguments always give the same weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v


@v.checked
def _seeded(seed: v.Seed) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


#: Most layers (and most sequences) of one key/value cache: a typo like 10**9 is refused at once.
MAX_CACHE_LAYERS = 4096
MAX_CACHE_BATCH = 65_536


def _check_hidden(name: str, x, width: int, module: nn.Module, ndim=None, what: str = "d_model"):
    """A float tensor whose last dimension is ``width``, in the dtype of ``module``'s weights. The values
    are not scanned: a hidden state is a model's own intermediate (a diverging training run makes NaN
    that torch carries on), and a scan per layer would be timed as the model's work in every lesson."""
    if v.input_passed(module, x):
        return x
    v.tensor(name, x, kind="float", ndim=ndim, last_dim=width, width=f"{what}={width}",
             dtype=None if v._autocast() else v.weight_dtype(module), allow_nan=True)
    v.remember_input(module, x, "forward")
    return x


def _check_size(what: str, n_params: int) -> None:
    """Refuse a model whose fp32 weights, gradients and Adam state (16 bytes/param) would not fit this machine."""
    v.fits_memory(what, 16 * n_params)


def _check_tokens(model: "TinyGPT", args, kwargs) -> None:
    """Forward pre-hook: ``idx`` is a (batch, seq) torch.long tensor of ids in [0, vocab_size)
    (not scanned again when it passed already, :func:`course_lib._validate.input_passed`)."""
    idx = args[0] if args else kwargs.get("idx")
    if not v.input_passed(model, idx):
        v.token_ids("idx", idx, vocab_size=model.vocab_size)
        v.remember_input(model, idx, "forward")


def _check_features(model: "MLP", args) -> None:
    """Forward pre-hook: ``x`` is a float tensor whose last dimension is ``d_in``, without NaN
    (not scanned again when it passed already, :func:`course_lib._validate.input_passed`)."""
    x = args[0] if args else None
    if not v.input_passed(model, x):
        v.tensor("x", x, kind="float", last_dim=model.d_in, dtype=None if v._autocast() else v.weight_dtype(model))
        v.remember_input(model, x, "forward")


def _init_(module: nn.Module, generator: torch.Generator) -> None:
    """Initialise every Linear/Embedding from ``generator`` (independent of the global RNG)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(m, nn.Embedding):
            with torch.no_grad():
                m.weight.normal_(0.0, 0.02, generator=generator)


class MLP(nn.Module):
    """``depth`` hidden layers of width ``hidden`` with ReLU, then a linear head.

    ``MLP(d_in=32, hidden=128, d_out=4, depth=2)`` has Linear layers
    32→128, 128→128 and 128→4. Introduced in lesson 01.
    """

    @v.checked
    def __init__(self, d_in: v.PositiveInt = 32, hidden: v.PositiveInt = 128, d_out: v.PositiveInt = 4, depth: v.PositiveInt = 2, seed: v.Seed = 0):
        super().__init__()
        n_params = d_in * hidden + hidden + (depth - 1) * (hidden * hidden + hidden) + hidden * d_out + d_out
        _check_size(f"MLP(d_in={d_in}, hidden={hidden}, d_out={d_out}, depth={depth})", n_params)
        widths = [d_in] + [hidden] * depth
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], d_out))
        self.net = nn.Sequential(*layers)
        self.d_in = d_in
        _init_(self, _seeded(seed))
        self.register_forward_pre_hook(_check_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, d_out). Lesson 00; lesson 01, section 2."""
        _check_features(self, (x,))  # no work when the pre-hook just passed x
        return self.net(x)


class KVCache:
    """The keys and values of every position a :class:`TinyGPT` has already seen.

    One key tensor and one value tensor per layer, each (batch, heads,
    seq_len, head_dim), grown by concatenation as tokens arrive, so the
    bytes allocated (``reserved_bytes``) equal the bytes held (``nbytes``).
    Make one with ``model.new_cache(batch)``; ``model(ids, cache=cache)``
    appends the keys and values of ``ids``. Used by :meth:`course_lib.models.TinyGPT.forward` and
    :meth:`course_lib.models.TinyGPT.new_cache`; not tied to one lesson.
    """

    @v.checked
    def __init__(self, n_layers: v.Size(MAX_CACHE_LAYERS), batch: v.Size(MAX_CACHE_BATCH)):
        self.n_layers = n_layers
        self.batch = batch
        self.keys: list[torch.Tensor | None] = [None] * self.n_layers
        self.values: list[torch.Tensor | None] = [None] * self.n_layers

    @property
    def seq_len(self) -> int:
        """Number of cached positions. Lesson 07, section 2."""
        return 0 if self.keys[0] is None else self.keys[0].shape[2]

    @property
    def nbytes(self) -> int:
        """Bytes of the cached keys and values. Lesson 07, section 2."""
        return sum(t.numel() * t.element_size() for t in self.keys + self.values if t is not None)

    @property
    def reserved_bytes(self) -> int:
        """Bytes allocated for keys and values: equal to :attr:`nbytes`, since
        this cache grows as it goes (:mod:`course_lib.engine` contrasts caches that reserve
        ahead). Lesson 07, section 2."""
        return self.nbytes

    def append(self, layer: int, k: torch.Tensor, val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append one layer's new keys and values; return all of that layer's. Lesson 07, section 2."""
        layer = v.integer("layer", layer, minimum=0, maximum=self.n_layers - 1)
        for name, t in (("k", k), ("val", val)):
            v.tensor(name, t, kind="float", ndim=4, allow_nan=True)  # the model's own keys: not scanned in a timed step
            if t.shape[0] != self.batch:
                raise ValueError(f"{name} must have shape (batch={self.batch}, heads, seq, head_dim), "
                                 f"got shape {tuple(t.shape)}")
        if k.shape != val.shape or k.dtype != val.dtype:
            raise ValueError(f"k and val must have the same shape and dtype, got {tuple(k.shape)} {k.dtype} "
                             f"and {tuple(val.shape)} {val.dtype}")
        held = self.keys[layer]
        if held is not None and (held.shape[:2] + held.shape[3:] != k.shape[:2] + k.shape[3:] or held.dtype != k.dtype):
            raise ValueError(f"k must match the cached keys of layer {layer} (shape {tuple(held.shape)}, {held.dtype}) "
                             f"except in the sequence dimension, got {tuple(k.shape)} {k.dtype}")
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            val = torch.cat([self.values[layer], val], dim=2)
        self.keys[layer], self.values[layer] = k, val
        return k, val

    def __repr__(self) -> str:
        return f"KVCache(n_layers={self.n_layers}, batch={self.batch}, seq_len={self.seq_len}, nbytes={self.nbytes})"


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask, written as plain matmuls.

Not tied to one lesson.
    """

    @v.checked
    def __init__(self, d_model: v.PositiveInt, n_heads: v.PositiveInt):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
        _check_size(f"CausalSelfAttention(d_model={d_model})", 4 * d_model * d_model)
        self.n_heads, self.d_model = n_heads, d_model
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """Masked multi-head self-attention over (batch, seq, d_model); with a
        ``cache``, after the cached positions. Lesson 01, section 4."""
        _check_hidden("x", x, self.d_model, self, ndim=3)
        _check_cache(cache, layer, x.shape[0])
        b, s, d = x.shape
        q, k, val = self.qkv(x).split(d, dim=2)
        # (b, s, d) -> (b, heads, s, head_dim)
        q, k, val = (t.view(b, s, self.n_heads, d // self.n_heads).transpose(1, 2) for t in (q, k, val))
        past = 0
        if cache is not None:
            past = 0 if cache.keys[layer] is None else cache.keys[layer].shape[2]
            k, val = cache.append(layer, k, val)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.n_heads)
        # Query i sits at position past + i and may see keys 0 .. past + i.
        mask = torch.ones(s, past + s, dtype=torch.bool, device=x.device).tril(diagonal=past)
        scores = scores.masked_fill(~mask, float("-inf"))
        out = F.softmax(scores, dim=-1) @ val
        return self.proj(out.transpose(1, 2).reshape(b, s, d))


def _check_cache(cache, layer, batch: int) -> None:
    if cache is None:
        return
    v.instance("cache", cache, KVCache, "a KVCache from model.new_cache(batch)")
    v.integer("layer", layer, minimum=0, maximum=cache.n_layers - 1)
    if cache.batch != batch:
        raise ValueError(f"cache was made for batch={cache.batch}; x has batch {batch}")


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)) with a 4× MLP."""

    @v.checked
    def __init__(self, d_model: v.PositiveInt, n_heads: v.PositiveInt):
        super().__init__()
        _check_size(f"Block(d_model={d_model})", 12 * d_model * d_model)
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """x + attention(LN(x)), then + MLP(LN(x)). Lesson 01, section 4."""
        _check_hidden("x", x, self.ln1.normalized_shape[0], self, ndim=3)
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


#: Smallest non-zero sampling temperature: below it logits / temperature overflow float32.
MIN_TEMPERATURE = 1e-3


class TinyGPT(nn.Module):
    """A GPT-style language model: token + position embeddings, ``n_layers``
    blocks, a final LayerNorm and a linear head to ``vocab_size`` logits.

    Input: token ids of shape (batch, seq) with seq <= ``max_seq_len``;
    output: logits of shape (batch, seq, vocab_size). Introduced in lesson 01.
    """

    @v.checked
    def __init__(
        self,
        vocab_size: v.PositiveInt = 64,
        d_model: v.PositiveInt = 64,
        n_heads: v.PositiveInt = 4,
        n_layers: v.PositiveInt = 2,
        max_seq_len: v.PositiveInt = 64,
        seed: int = 0,
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
        self.vocab_size, self.d_model, self.n_heads = vocab_size, d_model, n_heads
        self.n_layers, self.max_seq_len = n_layers, max_seq_len
        _check_size(f"TinyGPT(vocab_size={vocab_size}, d_model={d_model}, n_layers={n_layers}, "
                    f"max_seq_len={max_seq_len})", 12 * n_layers * d_model**2 + 2 * (vocab_size + max_seq_len) * d_model)
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(max_seq_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        _init_(self, _seeded(seed))
        self.register_forward_pre_hook(_check_tokens, with_kwargs=True)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits of shape (batch, seq, vocab_size) for the tokens ``idx`` (batch, seq).

        With ``cache`` the tokens are placed after the ``cache.seq_len``
        positions already cached, and their keys and values are appended.
        Without it, the whole sequence is processed from scratch.
        Lesson 01, section 4.
        """
        _check_tokens(self, (idx,), {})  # no work when the pre-hook just passed idx
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, seq), got {tuple(idx.shape)}")
        past = 0
        if cache is not None:
            if not isinstance(cache, KVCache):
                raise TypeError(f"cache must be a KVCache from model.new_cache(batch), got {type(cache).__name__}")
            if cache.n_layers != self.n_layers or cache.batch != idx.shape[0]:
                raise ValueError(
                    f"cache was made for batch={cache.batch}, n_layers={cache.n_layers}; "
                    f"idx has batch {idx.shape[0]} and the model {self.n_layers} layers"
                )
            past = cache.seq_len
        s = idx.shape[1]
        if past + s > self.max_seq_len:
            raise ValueError(f"sequence length must be <= max_seq_len={self.max_seq_len}, got {past + s}")
        pos = torch.arange(past, past + s, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        return self.head(self.ln_f(x))

    def new_cache(self, batch: int = 1) -> KVCache:
        """An empty key/value cache for ``batch`` sequences. Lesson 07, section 2."""
        return KVCache(self.n_layers, batch)

    @v.checked
    @torch.no_grad()
    def generate(
        self,
        ids: torch.Tensor,
        max_new_tokens: int,
        *,
        use_cache: v.Bool = True,
        temperature: v.NonNegative = 0.0,
        seed: v.Seed | None = None,
    ) -> torch.Tensor:
        """The prompt ``ids`` (batch, T) followed by ``max_new_tokens`` generated tokens.

        Greedy (the most likely token each step) when ``temperature`` is 0;
        otherwise sampled from softmax(logits / temperature) with a generator
        seeded by ``seed``. With ``use_cache`` the prompt is run once (prefill)
        and each later step runs only the newest token against the cache
        (decode); without it every step re-runs the whole prefix. Both give the
        same tokens. Lesson 07, section 2.
        """
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype != torch.long:
            raise TypeError("ids must be a (batch, seq) tensor of token ids (torch.long)")
        v.token_ids("ids", ids, vocab_size=self.vocab_size, max_len=self.max_seq_len)
        n = v.integer("max_new_tokens", max_new_tokens, minimum=0, maximum=self.max_seq_len - ids.shape[1])
        if 0 < temperature < MIN_TEMPERATURE:
            raise ValueError(f"temperature must be 0 (greedy) or at least {MIN_TEMPERATURE:g} (smaller values overflow "
                             f"logits / temperature to inf), got {temperature:g}")
        gen = None if seed is None else torch.Generator(device=ids.device).manual_seed(seed)
        cache = self.new_cache(ids.shape[0]) if use_cache else None
        out, new = ids, ids
        for _ in range(n):
            logits = self(new, cache=cache)[:, -1, :] if use_cache else self(out)[:, -1, :]
            if temperature == 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                probs = F.softmax(logits / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=gen)
            out = torch.cat([out, nxt], dim=1)
            new = nxt
        return out


@v.checked
def count_params(model: nn.Module, *, trainable_only: v.Bool = True) -> int:
    """Number of parameter elements of ``model``: every weight, bias, norm and
    embedding table (what memory holds).
    Lesson 00; lesson 01, section 4; lesson 02, sections 1 and 5; lab 02, exercise 2; lab 06, exercise 5."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def matmul_params(model: nn.Module) -> int:
    """The course's N: the elements of the weights that take part in matmuls,
    the weight of every ``nn.Linear`` (biases, norms and embedding tables,
    which are lookups, left out). The forward pass costs 2·N FLOPs per token
    plus attention's own matmuls; lesson 01 checks it exactly. Kaplan et al.
    2020's N (non-embedding parameters) also leaves out the output head; for
    TinyGPT's default that is 98,304 against this 102,400. Lesson 01, section 4; lesson 05, section 3."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))


class MoE(nn.Module):
    """A mixture-of-experts feed-forward layer (the MLP of a transformer block
    replaced by ``n_experts`` MLPs of which each token uses ``top_k``).

    A router (Linear ``d_model`` → ``n_experts``, no bias) scores every
    token; the ``top_k`` best experts each run their MLP (``d_model`` →
    ``d_ff`` → ``d_model``, GELU, no biases) on that token, and the outputs
    are summed, weighted by the softmax of the chosen scores. This is the
    layer of Mixtral (Jiang et al. 2024, *Mixtral of Experts*: 8 experts,
    top 2). Input ``(..., d_model)``, output the same shape.

    Every expert's weights must be in memory (:meth:`total_params`), but each
    token is multiplied by the router and ``top_k`` experts only
    (:meth:`active_params`), so a forward pass costs 2 · active FLOPs per
    token. Introduced in lesson 01, section 4.
    """

    @v.checked
    def __init__(self, d_model: v.PositiveInt = 64, d_ff: v.PositiveInt = 256, n_experts: v.PositiveInt = 8, top_k: int = 2, seed: int = 0):
        super().__init__()
        d_model, d_ff = d_model, d_ff
        top_k = v.integer("top_k", top_k, minimum=1, maximum=n_experts)
        _check_size(f"MoE(d_model={d_model}, d_ff={d_ff}, n_experts={n_experts})",
                    n_experts * (2 * d_model * d_ff + d_model))
        self.d_model, self.d_ff, self.n_experts, self.top_k = d_model, d_ff, n_experts, top_k
        self.router = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(d_model, d_ff, bias=False), nn.GELU(), nn.Linear(d_ff, d_model, bias=False))
            for _ in range(n_experts)
        )
        _init_(self, _seeded(seed))

    def expert_params(self) -> int:
        """Parameters of one expert: 2 · d_model · d_ff. Used by :meth:`course_lib.models.MoE.active_params` and
        :meth:`course_lib.models.MoE.total_params`; not tied to one lesson."""
        return 2 * self.d_model * self.d_ff

    def total_params(self) -> int:
        """Every parameter the layer stores: router + all experts (memory follows this). Lesson 01."""
        return self.d_model * self.n_experts + self.n_experts * self.expert_params()

    def active_params(self) -> int:
        """Parameters one token is multiplied by: router + ``top_k`` experts (FLOPs follow this). Lesson 01."""
        return self.d_model * self.n_experts + self.top_k * self.expert_params()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The weighted sum of each token's ``top_k`` experts, same shape as ``x``. Lesson 01, section 4."""
        _check_hidden("x", x, self.d_model, self)
        tokens = x.reshape(-1, self.d_model)
        scores, chosen = self.router(tokens).topk(self.top_k, dim=-1)  # (T, k) each
        gates = F.softmax(scores, dim=-1)
        out = torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            token_idx, slot = (chosen == e).nonzero(as_tuple=True)
            if token_idx.numel():
                out = out.index_add(0, token_idx, expert(tokens[token_idx]) * gates[token_idx, slot, None])
        return out.reshape(x.shape)

    def tokens_per_expert(self, x: torch.Tensor) -> list[int]:
        """How many of the tokens in ``x`` the router sends to each expert. Lesson 01."""
        _check_hidden("x", x, self.d_model, self)
        with torch.no_grad():
            chosen = self.router(x.reshape(-1, self.d_model)).topk(self.top_k, dim=-1).indices
        return [int((chosen == e).sum()) for e in range(self.n_experts)]
