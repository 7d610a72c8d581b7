"""The words a mismatch check gives (its message, rendered in English), and which size a check suggests
for a flagged line."""

from __future__ import annotations

import numpy as np

from sizing.recommend import SizeScore, _reason, best_index, suggested_index


def test_a_flag_names_the_suggested_size_or_says_none_is_offered_that_way() -> None:
    ordered = SizeScore("4", 0.45, 0.50, 0.05)
    better = SizeScore("8", 0.10, 0.80, 0.10)
    assert (
        str(_reason(ordered, better, flag=True)) == "size 4 is likely too small (45%); size 8 fits with 80%"
    )
    assert (
        str(_reason(ordered, ordered, flag=True))
        == "size 4 is likely too small (45%); no larger size is offered"
    )
    loose = SizeScore("20", 0.01, 0.50, 0.49)
    assert (
        str(_reason(loose, loose, flag=True))
        == "size 20 is likely too large (49%); no smaller size is offered"
    )
    assert str(_reason(better, better, flag=False)) == "size 8 is likely to fit (80%)"


def test_a_flagged_line_gets_the_best_size_on_the_flags_side_only() -> None:
    curve = np.array([[0.6, 0.35, 0.05], [0.3, 0.6, 0.1], [0.1, 0.7, 0.2], [0.05, 0.5, 0.45]])
    assert suggested_index(curve, 0, True, small=True) == 2
    assert suggested_index(curve, 3, True, small=False) == 2
    assert suggested_index(curve, 3, True, small=True) == 3  # nothing larger is offered
    assert suggested_index(curve, 1, False, small=True) == 1  # not flagged: keep the size


def test_the_best_size_breaks_ties_towards_the_reference() -> None:
    curve = np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.1, 0.7, 0.2]])
    sizes = np.array([2.0, 3.0, 4.0])
    assert best_index(curve, sizes, 3.1) == 1
    assert best_index(curve, sizes, 1.0) == 0
