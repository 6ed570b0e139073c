"""Small data sets generated in code: nothing is downloaded.

- :func:`make_classification`: points labelled by a fixed random "teacher"
  network, for the MLP (lessons 01–04).
- :func:`make_tokens`: token sequences from a noisy modular recurrence, for
  the tiny transformer: learnable, so a loss can fall (lessons 01–03, 06).

Both are deterministic for a seed and independent of the global RNG.
"""

from __future__ import annotations

import torch

from . import _validate as v


@v.checked
def make_classification(
    n_samples: v.PositiveInt = 512, d_in: v.PositiveInt = 32, n_classes: v.IntRange(2, None) = 4, seed: v.Seed = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x, y)``: ``x`` float32 of shape (n_samples, d_in) from N(0, 1),
    ``y`` int64 class labels given by the argmax of a fixed random linear-ReLU
    teacher, so a small MLP can learn them. Lesson 00; lesson 04, section 3.
    """
    n = n_samples
    d = d_in
    k = n_classes
    # x and the teacher's hidden layer (n × d, n × 2d), its weights (d × 2d, 2d × k), the logits (n × k)
    v.fits_memory(f"n_samples={n}, d_in={d}, n_classes={k}", 4 * (3 * n * d + 2 * d * d + 2 * d * k + n * k))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w1 = torch.randn(d, 2 * d, generator=g) / d**0.5
    w2 = torch.randn(2 * d, k, generator=g) / (2 * d) ** 0.5
    y = (torch.relu(x @ w1) @ w2).argmax(dim=1)
    return x, y


@v.checked
def make_tokens(
    n_seqs: v.PositiveInt = 64, seq_len: v.PositiveInt = 32, vocab_size: v.IntRange(2, None) = 64, noise: v.Range(0.0, 1.0, allow_zero=True) = 0.1, seed: v.Seed = 0
) -> torch.Tensor:
    """Return int64 token ids of shape (n_seqs, seq_len + 1).

    Each sequence starts at a random token and continues with
    ``next = (3 * prev + 1) % vocab_size``; with probability ``noise`` a token
    is replaced by a random one. Inputs are ``ids[:, :-1]`` and next-token
    targets ``ids[:, 1:]``. Lesson 03, section 1.
    """
    n = n_seqs
    s = seq_len
    vocab = vocab_size
    p = noise
    v.fits_memory(f"n_seqs={n}, seq_len={s}, vocab_size={vocab}", 24 * n * s + 8 * vocab)
    g = torch.Generator().manual_seed(seed)
    ids = torch.empty(n, s + 1, dtype=torch.int64)
    ids[:, 0] = torch.randint(0, vocab, (n,), generator=g)
    for t in range(1, s + 1):
        ids[:, t] = (3 * ids[:, t - 1] + 1) % vocab
        flip = torch.rand(n, generator=g) < p
        ids[flip, t] = torch.randint(0, vocab, (int(flip.sum()),), generator=g)
    return ids
