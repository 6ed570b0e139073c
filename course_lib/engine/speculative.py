"""Speculative decoding: a small draft model proposes ``k`` tokens, the target
checks them all in one forward call and keeps the longest prefix it agrees
with (greedy speculative decoding: Leviathan, Kalman & Matias, ICML 2023;
Chen et al. 2023). The output is exactly the target's own greedy output.
Also :func:`train_lm`, which trains the lesson's target and draft. Lesson 08,
section 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .. import _validate as v
from ..data import make_tokens
from ..models import KVCache, TinyGPT
from .requests import MAX_BATCH


@v.checked
def expected_tokens_per_call(alpha: v.Fraction0, k: v.NonNegativeInt) -> float:
    """Expected tokens per target forward call when each drafted token is
    accepted with probability ``alpha`` independently and ``k`` are drafted:
    (1 − α^(k+1)) / (1 − α), and k + 1 when α = 1 (Leviathan et al. 2023,
    eq. 1). Lesson 08, section 6."""
    if alpha == 1.0:
        return float(k + 1)
    return (1 - alpha ** (k + 1)) / (1 - alpha)


def _truncate(cache: KVCache, length: int) -> None:
    """Drop cached positions from ``length`` on (rejected draft tokens)."""
    for i in range(cache.n_layers):
        if cache.keys[i] is not None:
            cache.keys[i] = cache.keys[i][:, :, :length]
            cache.values[i] = cache.values[i][:, :, :length]


@dataclass(frozen=True)
class SpecStats:
    """Counts from :func:`speculative_generate`. ``proposed``: draft tokens
    drafted; ``judged``: those the target actually judged (each round's
    accepted ones plus the first mismatch, if any: the proposals after a
    mismatch are thrown away unjudged); ``accepted / judged`` is the measured
    per-position acceptance α of Leviathan et al.; ``target_calls`` includes
    the prefill call that makes the first token. Used by :func:`course_lib.engine.speculative.speculative_generate`;
    not tied to one lesson."""

    proposed: int
    accepted: int
    target_calls: int
    draft_calls: int
    rounds: int
    new_tokens: int
    judged: int = 0

    @property
    def acceptance_rate(self) -> float:
        """Accepted / judged draft tokens: α, the chance the target accepts a
        proposal it judges. Not tied to one lesson."""
        return self.accepted / self.judged if self.judged else math.nan

    @property
    def kept_share(self) -> float:
        """Accepted / proposed draft tokens: the share of drafted tokens kept
        (falls with k by construction; not α). Not tied to one lesson."""
        return self.accepted / self.proposed if self.proposed else math.nan

    @property
    def tokens_per_target_call(self) -> float:
        """Tokens made per verifying call, after the prefill call's first token. Not tied to one lesson."""
        return (self.new_tokens - 1) / self.rounds if self.rounds else math.nan


@v.checked(finite=False)  # (ids, stats): token ids and counts, nothing to scan
@torch.no_grad()
def speculative_generate(target: v.Instance(TinyGPT, "a TinyGPT"), draft: v.Instance(TinyGPT, "a TinyGPT"),
                         ids: torch.Tensor, max_new_tokens: int, *, k: int = 4):
    """Greedy speculative decoding: ``(ids, stats)`` where ``ids`` is the prompt
    (1, T) followed by ``max_new_tokens`` tokens, exactly what
    ``target.generate(ids, max_new_tokens)`` returns, and ``stats`` a
    :class:`SpecStats`.

    Each round the draft proposes up to ``k`` tokens one by one (cheap calls
    on its own cache); the target runs once on the last accepted token plus
    the proposals, which gives its own choice after each of them. The
    proposals it agrees with are kept, and its choice at the first
    disagreement (or after the last proposal, if all agree) is added, so a
    round makes between 1 and k + 1 tokens. Rejected positions are cut from
    both caches. Leviathan et al. 2023; Chen et al. 2023. Lesson 08, section 6.
    """
    if draft.vocab_size != target.vocab_size:
        raise ValueError(f"draft and target need the same vocabulary, got {draft.vocab_size} and {target.vocab_size}")
    v.token_ids("ids", ids, vocab_size=target.vocab_size, max_len=min(target.max_seq_len, draft.max_seq_len) - 1)
    if ids.shape[0] != 1:
        raise ValueError(f"ids must be one sequence, shape (1, seq), got shape {tuple(ids.shape)}")
    limit = min(target.max_seq_len, draft.max_seq_len) - ids.shape[1]
    n = v.integer("max_new_tokens", max_new_tokens, minimum=1, maximum=limit)
    k = v.positive_int("k", k, maximum=min(target.max_seq_len, draft.max_seq_len))
    target.eval()
    draft.eval()
    seq = ids[0].tolist()
    t_cache, d_cache = target.new_cache(1), draft.new_cache(1)
    # prefill: the target's first token, as generate makes it
    seq.append(int(target(ids, cache=t_cache)[0, -1].argmax()))
    proposed = accepted = judged = draft_calls = rounds = 0
    target_calls = 1
    while len(seq) - ids.shape[1] < n:
        left = n - (len(seq) - ids.shape[1])
        kk = min(k, left - 1)  # a round makes at most kk + 1 tokens
        guesses = []
        for _ in range(kk):
            feed = (seq + guesses)[d_cache.seq_len:]
            logits = draft(torch.tensor([feed]), cache=d_cache)
            draft_calls += 1
            guesses.append(int(logits[0, -1].argmax()))
        base = t_cache.seq_len  # = len(seq) - 1: the newest token is not in the target's cache yet
        logits = target(torch.tensor([seq[base:] + guesses]), cache=t_cache)[0]
        target_calls += 1
        rounds += 1
        choice = logits[-(kk + 1):].argmax(dim=-1).tolist()  # the target's token after each position
        good = 0
        while good < kk and guesses[good] == choice[good]:
            good += 1
        proposed += kk
        accepted += good
        judged += good + (1 if good < kk else 0)  # the first mismatch is judged too; later proposals are not
        seq += guesses[:good] + [choice[good]]
        _truncate(t_cache, len(seq) - 1)
        _truncate(d_cache, min(d_cache.seq_len, len(seq) - 1))
    stats = SpecStats(proposed, accepted, target_calls, draft_calls, rounds, n, judged)
    return torch.tensor([seq]), stats


@v.checked(finite=False)  # a diverging run's NaN is part of the result
def train_lm(
    model: v.Instance(TinyGPT, "a TinyGPT"),
    *,
    steps: v.Size(100_000) = 100,
    batch: v.Size(MAX_BATCH) = 16,
    seq_len: int = 16,
    lr: v.Range(0.0, 10.0, allow_zero=False) = 3e-3,
    noise: float = 0.1,
    seed: v.Seed = 0,
) -> list[float]:
    """Train ``model`` in place on the course's synthetic tokens
    (:func:`course_lib.data.make_tokens`, sequences of ``seq_len`` tokens)
    with AdamW, ``steps`` steps of ``batch`` sequences; return the losses.
    Deterministic for ``seed`` at a fixed thread count. Lesson 08, section 6.
    """
    seq_len = v.integer("seq_len", seq_len, minimum=2, maximum=model.max_seq_len)
    v.fits_memory(f"steps={steps} x batch={batch} x seq_len={seq_len} (the training tokens)", 8 * steps * batch * seq_len)
    data = make_tokens(steps * batch, seq_len, model.vocab_size, noise=noise, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for i in range(steps):
        chunk = data[i * batch:(i + 1) * batch]
        logits = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses
