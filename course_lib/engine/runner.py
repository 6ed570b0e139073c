"""The model runner: the KV pool's tensors and one batched forward step
through block tables (lesson 08, sections 1 and 3).

How a step is computed ("selective batching", Orca §4.2): the new tokens of
every request in the step (a prompt, a chunk of one, or one token) are laid
side by side in one sequence, so every Linear layer, LayerNorm and the MLP
run once for the whole step. Attention keeps requests apart. In each layer
the new keys and values are first written into the pool, at the slots their
request's block table names; then each request's keys and values are
gathered back through its block table into one padded batch, and every
query sees only its own request's positions up to its own (the padding and
the future masked out). So no request ever sees another's tokens, and the
masked entries add exact zeros to each sum.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from .. import _validate as v
from ..models import TinyGPT


class KVPool:
    """The keys and values of a run: per layer, one tensor of ``n_blocks`` ×
    ``block_size`` positions × heads × head size, allocated once. Built by
    :func:`course_lib.engine.run`. Used by :func:`course_lib.engine.serve.run`; not tied to one lesson."""

    def __init__(self, model: TinyGPT, n_blocks: int, block_size: int):
        hd = model.d_model // model.n_heads
        n_pos = n_blocks * block_size
        v.fits_memory(f"a KV pool of {n_blocks} blocks of {block_size} positions",
                      2 * model.n_layers * n_pos * model.d_model * 4)
        self.block_size = block_size
        self.k = [torch.zeros(n_pos, model.n_heads, hd) for _ in range(model.n_layers)]
        self.v = [torch.zeros(n_pos, model.n_heads, hd) for _ in range(model.n_layers)]

    @property
    def nbytes(self) -> int:
        """Bytes of the pool's key and value tensors. Used by :func:`course_lib.engine.serve.run`; not tied to one
        lesson."""
        return sum(t.numel() * t.element_size() for t in self.k + self.v)

    def slots(self, table, start: int, stop: int) -> list[int]:
        """Pool rows of positions ``start`` … ``stop - 1`` of a request whose blocks are ``table``. Used by
        :func:`course_lib.engine.runner.forward_step`; not tied to one lesson."""
        b = self.block_size
        return [table[p // b] * b + p % b for p in range(start, stop)]


def _group(pool: KVPool, work, members, starts) -> tuple:
    """Index tensors for one padded attention batch over the requests ``members``
    of ``work``: each query's row in the packed sequence, each request's pool
    rows, which key each query sees, and which padded queries are real."""
    lens = [len(work[i][0]) for i in members]
    begin = [work[i][1] for i in members]
    ctx = [s + n for s, n in zip(begin, lens)]  # positions each request sees after this step
    max_q, max_k = max(lens), max(ctx)
    read = torch.zeros(len(members), max_k, dtype=torch.long)  # pool rows of the positions it sees (0: padding)
    rows = torch.zeros(len(members), max_q, dtype=torch.long)  # each padded query's row in the packed sequence
    for j, i in enumerate(members):
        read[j, :ctx[j]] = torch.tensor(pool.slots(work[i][2], 0, ctx[j]))
        rows[j, :lens[j]] = torch.arange(starts[i], starts[i] + lens[j])
    real = torch.arange(max_q) < torch.tensor(lens)[:, None]
    q_pos = torch.tensor(begin)[:, None] + torch.arange(max_q)
    # query i of a request (at position start + i) sees keys 0 .. start + i; a padded query sees key 0 only
    sees = (torch.arange(max_k) <= torch.where(real, q_pos, 0)[:, :, None]).unsqueeze(1)
    return rows, read, sees, real


@torch.no_grad()
def forward_step(model: TinyGPT, pool: KVPool, work) -> torch.Tensor:
    """One forward call; ``work`` lists ``(tokens, start, table)`` per request:
    the new ``tokens`` at positions ``start`` … and the request's block
    ``table``. Writes the new keys and values into ``pool`` and returns each
    request's logits after its last new token, shape (requests, vocab).
    Attention runs as two padded batches, the one-token (decode) rows
    together and the longer (prefill) rows together, so a long prompt does not
    pad every decode row to its length. Used by :func:`course_lib.engine.serve.run`; not tied to one lesson.
    """
    lens = [len(t) for t, _, _ in work]
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).tolist()
    ids = torch.tensor([t for toks, _, _ in work for t in toks], dtype=torch.long).unsqueeze(0)
    pos = torch.tensor([p for (_, s, _), n in zip(work, lens) for p in range(s, s + n)], dtype=torch.long)
    write = torch.tensor([r for (_, s, tab), n in zip(work, lens) for r in pool.slots(tab, s, s + n)], dtype=torch.long)
    groups = [g for g in ([i for i, n in enumerate(lens) if n == 1], [i for i, n in enumerate(lens) if n > 1]) if g]
    groups = [_group(pool, work, g, starts) for g in groups]
    d, h = model.d_model, model.n_heads
    hd = d // h
    x = model.tok_emb(ids) + model.pos_emb(pos)
    for layer, block in enumerate(model.blocks):
        q_all, k_all, v_all = block.attn.qkv(block.ln1(x)).split(d, dim=2)
        pool.k[layer][write] = k_all[0].view(-1, h, hd)
        pool.v[layer][write] = v_all[0].view(-1, h, hd)
        out = torch.empty_like(x[0])
        for rows, read, sees, real in groups:
            n_req, max_q = rows.shape
            q = q_all[0][rows].view(n_req, max_q, h, hd).transpose(1, 2)
            keys = pool.k[layer][read].transpose(1, 2)  # (requests, heads, positions, head size)
            values = pool.v[layer][read].transpose(1, 2)
            scores = ((q @ keys.transpose(-2, -1)) / math.sqrt(hd)).masked_fill(~sees, float("-inf"))
            out[rows[real]] = (F.softmax(scores, dim=-1) @ values).transpose(1, 2).reshape(n_req, max_q, d)[real]
        x = x + block.attn.proj(out.unsqueeze(0))
        x = x + block.mlp(block.ln2(x))
    last = torch.tensor(np.cumsum(lens) - 1)
    return model.head(model.ln_f(x[0, last]))
