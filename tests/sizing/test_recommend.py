"""The words a mismatch check gives: a better size is suggested only when one is more likely to fit."""

from __future__ import annotations

from sizing.recommend import SizeScore, _reason


def test_a_flag_suggests_a_size_only_when_it_fits_better() -> None:
    ordered = SizeScore("4", 0.45, 0.50, 0.05)
    better = SizeScore("8", 0.10, 0.80, 0.10)
    alike = SizeScore("14", 0.45, 0.5005, 0.0495)
    assert _reason(ordered, better, flag=True) == "size 4 is likely too small (45%); size 8 fits with 80%"
    no_better = "size 4 is likely too small (45%); no other size is more likely to fit"
    assert _reason(ordered, alike, flag=True) == no_better
    assert _reason(better, better, flag=False) == "size 8 is likely to fit (80%)"
