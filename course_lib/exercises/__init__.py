"""Verifiers for the labs, one module per lab (``lab01``, ``lab02``, …).

Each verifier takes the learner's answer and raises ``AssertionError`` with a
hint (via :mod:`course_lib.check`) when it is wrong. Expected values are
computed here from ``course_lib``'s measurements and formulas, never typed in.
"""
