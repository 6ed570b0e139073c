"""Tiny models defined in code, seeded, small enough for a laptop CPU.

- :class:`MLP`: a plain multilayer perceptron (lessons 01–04).
- :class:`TinyGPT`: a GPT-style decoder-only transformer in the shape of
  nanoGPT (Karpathy), with attention written out as matmuls so the FLOP
  counter and the activation tracker see every step (lessons 01–03, 06),
  and a key/value cache for generation (:class:`KVCache`, lessons 07–08).

Both take a ``seed``: the same arguments always give the same weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(v.integer("seed", seed, minimum=0))


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

    def __init__(self, d_in: int = 32, hidden: int = 128, d_out: int = 4, depth: int = 2, seed: int = 0):
        super().__init__()
        d_in, hidden, d_out = (v.positive_int(n, x) for n, x in (("d_in", d_in), ("hidden", hidden), ("d_out", d_out)))
        depth = v.positive_int("depth", depth)
        widths = [d_in] + [hidden] * depth
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], d_out))
        self.net = nn.Sequential(*layers)
        self.d_in = d_in
        _init_(self, _seeded(seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class KVCache:
    """The keys and values of every position a :class:`TinyGPT` has already seen.

    One key tensor and one value tensor per layer, each (batch, heads,
    seq_len, head_dim), grown by concatenation as tokens arrive, so the
    bytes allocated (``reserved_bytes``) equal the bytes held (``nbytes``).
    Make one with ``model.new_cache(batch)``; ``model(ids, cache=cache)``
    appends the keys and values of ``ids``. Lesson 07, section 2.
    """

    def __init__(self, n_layers: int, batch: int):
        self.n_layers = v.positive_int("n_layers", n_layers)
        self.batch = v.positive_int("batch", batch)
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
        this cache grows as it goes (lesson 08 contrasts caches that reserve
        ahead). Lesson 07, section 2."""
        return self.nbytes

    def append(self, layer: int, k: torch.Tensor, val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append one layer's new keys and values; return all of that layer's. Lesson 07, section 2."""
        if self.keys[layer] is not None:
            k = torch.cat([self.keys[layer], k], dim=2)
            val = torch.cat([self.values[layer], val], dim=2)
        self.keys[layer], self.values[layer] = k, val
        return k, val

    def __repr__(self) -> str:
        return f"KVCache(n_layers={self.n_layers}, batch={self.batch}, seq_len={self.seq_len}, nbytes={self.nbytes})"


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask, written as plain matmuls.

    With a ``cache`` (and this block's ``layer`` index) the new tokens attend
    to every cached position as well as to each other (lesson 07).
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
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


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)) with a 4× MLP."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    """A GPT-style language model: token + position embeddings, ``n_layers``
    blocks, a final LayerNorm and a linear head to ``vocab_size`` logits.

    Input: token ids of shape (batch, seq) with seq <= ``max_seq_len``;
    output: logits of shape (batch, seq, vocab_size). Introduced in lesson 01.
    """

    def __init__(
        self,
        vocab_size: int = 64,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        max_seq_len: int = 64,
        seed: int = 0,
    ):
        super().__init__()
        vocab_size = v.positive_int("vocab_size", vocab_size)
        d_model = v.positive_int("d_model", d_model)
        n_heads = v.positive_int("n_heads", n_heads)
        n_layers = v.positive_int("n_layers", n_layers)
        max_seq_len = v.positive_int("max_seq_len", max_seq_len)
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
        self.vocab_size, self.d_model, self.n_heads = vocab_size, d_model, n_heads
        self.n_layers, self.max_seq_len = n_layers, max_seq_len
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(max_seq_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        _init_(self, _seeded(seed))

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits for the tokens ``idx`` (batch, seq).

        With ``cache`` the tokens are placed after the ``cache.seq_len``
        positions already cached, and their keys and values are appended
        (lesson 07). Without it, the whole sequence is processed from scratch.
        """
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

    @torch.no_grad()
    def generate(
        self,
        ids: torch.Tensor,
        max_new_tokens: int,
        *,
        use_cache: bool = True,
        temperature: float = 0.0,
        seed: int | None = None,
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
        n = v.integer("max_new_tokens", max_new_tokens, minimum=0, maximum=self.max_seq_len - ids.shape[1])
        temperature = v.number("temperature", temperature, minimum=0.0)
        gen = None if seed is None else torch.Generator(device=ids.device).manual_seed(v.integer("seed", seed, minimum=0))
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


def count_params(model: nn.Module, *, trainable_only: bool = True, include_embeddings: bool = True) -> int:
    """Number of parameter elements of ``model``.

    With ``include_embeddings=False`` the lookup tables of ``nn.Embedding``
    modules are left out: they do no matmul, so Kaplan's 2·N rule counts N
    without them (lesson 01).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    skip = set()
    if not include_embeddings:
        skip = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    return sum(
        p.numel() for p in model.parameters() if (p.requires_grad or not trainable_only) and id(p) not in skip
    )
