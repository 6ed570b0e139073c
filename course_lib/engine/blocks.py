"""The block manager: which fixed-size blocks of the KV pool each request
holds, shared prefixes, and the KV memory arithmetic (lesson 08, sections 3-4).

The pool's tensors live in :mod:`course_lib.engine.runner`; this module only
decides which block holds what. A block is ``block_size`` consecutive
positions of one request's keys and values. Free blocks wait in a queue,
least recently freed first. With prefix caching (vLLM's *Automatic Prefix
Caching*; SGLang's RadixAttention shares prefixes the same way, in a tree) a
full block is named by a hash of its tokens chained to the hash of the block
before it, so two blocks with the same name hold the same keys and values;
a request whose prompt starts with named blocks takes them (their reference
count goes up) instead of computing them. A freed block keeps its name
until it is handed out again, so the least recently used cached blocks are
the first evicted.
"""

from __future__ import annotations

from collections import OrderedDict

from .. import _validate as v
from ..models import TinyGPT


@v.checked
def kv_bytes_per_position(model: v.Instance(TinyGPT, "a TinyGPT")) -> int:
    """Bytes of keys and values one token position holds in ``model``'s cache:
    2 (K and V) × layers × d_model × bytes per value. Lesson 08, section 3."""
    size = next(model.parameters()).element_size()
    return 2 * model.n_layers * model.d_model * size


@v.checked
def blocks_needed(n_tokens: v.NonNegativeInt, kv_block: v.PositiveInt) -> int:
    """Blocks of ``kv_block`` positions that ``n_tokens`` cached tokens occupy:
    ceil(n_tokens / kv_block), the arithmetic :func:`course_lib.engine.blocks.reserved_positions` and
    :func:`course_lib.engine.scheduler.serve` use; not tied to one lesson."""
    return _ceil_blocks(n_tokens, kv_block)


def _ceil_blocks(n_tokens: int, kv_block: int) -> int:
    """:func:`blocks_needed` on checked sizes, for the scheduler's loop (no check per step)."""
    return -(-n_tokens // kv_block)


@v.checked
def reserved_positions(n_tokens: v.NonNegativeInt, max_len: v.PositiveInt, kv_block: v.PositiveInt | None) -> int:
    """Positions reserved for a request holding ``n_tokens``: ``max_len`` when
    each request reserves the maximum length up front (``kv_block=None``),
    else whole blocks: blocks_needed × kv_block. Lesson 08, section 3."""
    if kv_block is None:
        return max_len
    return _ceil_blocks(n_tokens, kv_block) * kv_block


def _chain(previous, tokens) -> int:
    """A full block's name: its tokens and the name of the block before it."""
    return hash((previous, tuple(tokens)))


class BlockManager:
    """``n_blocks`` blocks of ``block_size`` positions: a free queue (least
    recently freed first), a reference count per block and, with
    ``prefix_caching``, a table from block names (chained hashes) to blocks.
    Built by :func:`course_lib.engine.run` and :func:`course_lib.engine.simulate`.
    Used by :func:`course_lib.engine.serve.run` and :func:`course_lib.engine.serve.simulate`; not tied to one lesson.
    """

    def __init__(self, n_blocks: int, block_size: int, prefix_caching: bool = False):
        self.n_blocks, self.block_size, self.prefix_caching = n_blocks, block_size, prefix_caching
        self.refs = [0] * n_blocks
        self.names: list = [None] * n_blocks
        self.free: OrderedDict[int, None] = OrderedDict((b, None) for b in range(n_blocks))
        self.cached: dict = {}  # block name -> block id
        self.evictions = 0

    @property
    def n_free(self) -> int:
        """Blocks no request holds (some may still hold a cached prefix). Used by
        :func:`course_lib.engine.scheduler.serve` and :meth:`course_lib.engine.blocks.BlockManager.allocate`; not tied
        to one lesson."""
        return len(self.free)

    @property
    def n_shared(self) -> int:
        """Blocks held by more than one request at once. Used by :func:`course_lib.engine.scheduler.serve`; not tied
        to one lesson."""
        return sum(r > 1 for r in self.refs)

    def match(self, tokens) -> tuple[list[int], list]:
        """The cached blocks that hold ``tokens``' first full blocks, and their
        names: stops at the first block not cached, and leaves at least the
        last token to compute (its logits make the next token). Used by :func:`course_lib.engine.scheduler.serve`; not
        tied to one lesson."""
        if not self.prefix_caching:
            return [], []
        blocks, names, name = [], [], None
        for i in range((len(tokens) - 1) // self.block_size):
            name = _chain(name, tokens[i * self.block_size:(i + 1) * self.block_size])
            if name not in self.cached:
                break
            blocks.append(self.cached[name])
            names.append(name)
        return blocks, names

    def free_after_taking(self, blocks) -> int:
        """Blocks still free once ``blocks`` (cached, some perhaps free) are taken. Used by
        :func:`course_lib.engine.scheduler.serve`; not tied to one lesson."""
        return self.n_free - sum(1 for b in blocks if self.refs[b] == 0)

    def take(self, blocks) -> None:
        """Hold cached ``blocks`` (one more reference each). Used by :func:`course_lib.engine.scheduler.serve`; not
        tied to one lesson."""
        for b in blocks:
            if self.refs[b] == 0:
                del self.free[b]
            self.refs[b] += 1

    def allocate(self, n: int) -> list[int]:
        """Hand out ``n`` free blocks, least recently freed first; a block that
        still held a cached prefix is evicted (its name forgotten). Used by :func:`course_lib.engine.scheduler.serve`;
        not tied to one lesson."""
        if n > self.n_free:
            raise RuntimeError(f"{n} blocks asked for, {self.n_free} free: the scheduler must check first")
        out = []
        for _ in range(n):
            b, _ = self.free.popitem(last=False)
            if self.names[b] is not None:
                if self.cached.get(self.names[b]) == b:
                    del self.cached[self.names[b]]
                self.names[b] = None
                self.evictions += 1
            self.refs[b] = 1
            out.append(b)
        return out

    def release(self, blocks) -> None:
        """Drop one reference to each of ``blocks``; a block nobody holds goes to
        the back of the free queue, the request's last block first (so a
        prefix's first blocks are evicted last). Used by :func:`course_lib.engine.scheduler.serve`; not tied to one
        lesson."""
        for b in reversed(blocks):
            self.refs[b] -= 1
            if self.refs[b] == 0:
                self.free[b] = None

    def name_full_blocks(self, tokens, table, names: list, n_cached: int) -> None:
        """Name each block of ``table`` that ``n_cached`` positions of ``tokens``
        fill, after the ``names`` already known (extended in place), so later
        requests can find it. Used by :func:`course_lib.engine.scheduler.serve`; not tied to one lesson."""
        if not self.prefix_caching:
            return
        size = self.block_size
        for i in range(len(names), n_cached // size):
            name = _chain(names[-1] if names else None, tokens[i * size:(i + 1) * size])
            names.append(name)
            b = table[i]
            if name not in self.cached and self.names[b] is None:
                self.cached[name] = b
                self.names[b] = name
