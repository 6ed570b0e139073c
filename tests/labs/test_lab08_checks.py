"""Lab 08's verifiers accept the right answer (computed here by hand) and
reject plausible wrong ones."""

import math

import pytest

from course_lib.exercises import lab08


def test_blocks():
    # prompts 7, 12, 3, 16, 9 and outputs 10, 5, 14, 2, 20 cache p + o - 1 = 16, 16, 16, 17, 28 positions
    right = 2 + 2 + 2 + 3 + 4
    assert right == 13
    lab08.verify_blocks(right)
    for wrong in (3 + 3 + 3 + 3 + 4,  # counted p + o positions (the last token is never fed back)
                  math.ceil(93 / 8),  # rounded the total up instead of each request: 12
                  5 * 64 // 8,  # each request reserving 64 positions, counted in blocks: 40
                  93,  # positions, not blocks
                  13.0):  # not an int
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_blocks(wrong)


def test_steps():
    # outputs 12, 3, 3, 9, 2, 2, 7, 4, max_batch 3
    # static: batches (12, 3, 3), (9, 2, 2), (7, 4) -> 12 + 9 + 7 = 28
    # continuous, by hand (tokens still to make per running request, before each call):
    #   calls 1-3: [12, 3, 3] -> after call 3: [9] (both 3s done)
    #   calls 4-5: [9, 9, 2] (9 and 2 join) -> after call 5: [7, 7]
    #   calls 6-7: [7, 7, 2] -> after call 7: [5, 5]
    #   calls 8-12: [5, 5, 7] -> after call 12: [2] (12 and 9 done)
    #   calls 13-16: [2, 4] -> after call 14: [2]; calls 15-16: done -> 16 calls
    right = (28, 16)
    lab08.verify_steps(right)
    for wrong in ((16, 28),  # swapped
                  (28, math.ceil(42 / 3)),  # total tokens / max_batch, no tail
                  (42, 16),  # static = total tokens (one request at a time)
                  (12 + 9 + 7 + 1, 16),  # an extra call for the prefill
                  [28, 16],  # not a tuple
                  28):
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_steps(wrong)


def test_fit():
    per_position = 2 * 32 * 4096 * 2  # 524,288 B: 0.5 MiB per token
    reserved = 40 * 10**9 // (4096 * per_position)  # 2 GiB per request -> 18
    paged = 40 * 10**9 // (704 * per_position)  # 44 blocks of 16 = 704 positions -> 108
    assert (reserved, paged) == (18, 108)
    lab08.verify_fit((reserved, paged))
    for wrong in ((paged, reserved),  # swapped
                  (18, 40 * 10**9 // (690 * per_position)),  # no rounding up to whole blocks: 110
                  (36, 216),  # forgot the factor 2 for keys and values
                  (9, 54),  # 4 bytes per value
                  (18.6, 108),  # not whole requests
                  (round(40 * 10**9 / (4096 * per_position)), 108)):  # rounded to nearest: 19
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_fit(wrong)


def test_tokens():
    right = 1 + 0.7 + 0.7**2 + 0.7**3 + 0.7**4 + 0.7**5
    assert right == pytest.approx(2.94117, rel=1e-5)
    lab08.verify_tokens(right)
    for wrong in (0.7 * 5,  # accepted tokens only, as if independent of earlier rejections
                  1 / (1 - 0.7),  # k unbounded
                  (1 - 0.7**5) / (1 - 0.7),  # forgot the target's own token
                  6.0):  # k + 1: everything accepted
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_tokens(wrong)


def test_speedup():
    tokens = 1 + 0.75 + 0.75**2 + 0.75**3
    right = tokens / (3 * 0.1 + 1)
    assert right == pytest.approx(2.10337, rel=1e-5)
    lab08.verify_speedup(right)
    for wrong in (tokens,  # the draft's cost ignored
                  tokens / (3 * 0.1),  # forgot the target call
                  tokens / (0.1 + 1),  # one draft call per round
                  tokens * (1 - 0.1)):
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_speedup(wrong)


def test_numpy_and_torch_integers_of_the_right_value_are_accepted():
    # Issue 12: np.int64 answers were refused by an isinstance(int) check.
    import numpy as np
    import torch

    static, continuous = lab08._expected_steps()
    lab08.verify_steps((np.int64(static), torch.tensor(continuous)))
    lab08.verify_fit(tuple(np.int64(x) for x in lab08._expected_fit()))
    lab08.verify_blocks(np.int64(lab08._expected_blocks()))
    with pytest.raises(AssertionError, match="array of shape"):
        lab08.verify_blocks(np.array([1, 2]))
    with pytest.raises(AssertionError, match="whole"):
        lab08.verify_steps((float(static), continuous))


def test_prefix():
    # system prompt 45 tokens, blocks of 16: its 2 full blocks (32 tokens) are shared; the third block holds
    # 13 system-prompt tokens and the request's own, so every request computes it
    first = 45 + 6  # nothing cached yet
    later = (13 + 11) + (13 + 3) + (13 + 9)
    right = (first + later, 3 * 32)
    assert right == (113, 96) and sum(right) == 4 * 45 + 6 + 11 + 3 + 9
    lab08.verify_prefix(right)
    for wrong in ((209 - 3 * 45, 3 * 45),  # the partly filled block shared too
                  (209 - 4 * 32, 4 * 32),  # the first request found the prefix cached as well
                  (113, 6),  # blocks, not tokens
                  (209, 0),  # no caching at all
                  (96, 113),  # swapped
                  [113, 96],  # not a tuple
                  (113.0, 96)):  # not whole numbers
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_prefix(wrong)


def test_chunks():
    # a prompt of 1,100 tokens beside 12 decoding requests: 128 - 12 = 116, 256 - 12 = 244, 512 - 12 = 500 a step
    right = [math.ceil(1100 / 116), math.ceil(1100 / 244), math.ceil(1100 / 500)]
    assert right == [10, 5, 3]
    lab08.verify_chunks(right)
    lab08.verify_chunks(tuple(right))
    for wrong in ([math.ceil(1100 / t) for t in (128, 256, 512)],  # forgot the decode tokens: [9, 5, 3]
                  [1100 // 116, 1100 // 244, 1100 // 500],  # rounded down: [9, 4, 2]
                  [11, 6, 4],  # one more step for the first token
                  [10, 5],  # too short
                  10):
        with pytest.raises(AssertionError, match="Hint"):
            lab08.verify_chunks(wrong)
