"""Items that run small or large, with the false-discovery rate under control.

In the spirit of Zalando's SizeFlags, every item is a hypothesis test against the other items of its
brand. The evidence per order line is the step between the ordered size and the shopper's usual size
on that scale (shoppers size up for an item that runs small, once reviews or friends tell them), plus
one step for a too-small outcome and minus one for a too-large one (those who did not size up send it
back). An item's mean evidence is compared with the median item of its brand, so a brand's vanity
sizing is not blamed on each of its items.

Items of one brand differ more than sampling explains, so each item's z-score adds a between-item
variance (a random-effects model) to its sampling variance, and the z-scores are then read against an
empirical null (their median and MAD), not against N(0, 1). Benjamini–Hochberg over both directions of
all tested items keeps the expected share of wrong flags at ``q``. Validation on the simulator's
deliberately mis-charted items: docs/analytics.md and ``bench/running.py``.
Input is small: one row of aggregates per item, whatever engine computed them.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from sizing.intervals import Z95, wilson

Direction = Literal["small", "large"]
#: expected share of flagged items that do not really run small/large
DEFAULT_Q: Final = 0.05
#: sized lines a shopper needs on a scale for a usual size there
MIN_HISTORY: Final = 2
#: steps from the usual size beyond this fold in (one odd order must not dominate an item)
CLIP_STEPS: Final = 3.0
#: steps of evidence a too-small (minus: too-large) outcome adds
FIT_WEIGHT: Final = 1.0
#: items need this many lines with evidence to set their brand's baseline
BASELINE_MIN_LINES: Final = 10
EVIDENCE_COLUMNS: Final = ("item_id", "category", "brand", "orders", "small", "large", "shifted",
                           "shift_mean", "shift_var")  # fmt: skip
COLUMNS: Final = ("item_id", "category", "brand", "orders", "small", "large", "share", "ci_low", "ci_high",
                  "baseline", "excess", "shift", "z", "q_value")  # fmt: skip
MAD_SCALE: Final = 1.4826


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values): rejecting every hypothesis with q <= α keeps the FDR at α."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def detect(
    evidence: pd.DataFrame, *, min_orders: int = 50, q: float = DEFAULT_Q, z: float = Z95
) -> dict[Direction, pd.DataFrame]:
    """Items running small and large from per-item aggregates (``EVIDENCE_COLUMNS``).

    Items with at least ``min_orders`` counted orders are tested. Per direction, the flagged items with
    ``COLUMNS``: ``share`` of the direction with its Wilson interval at ``z``, ``baseline`` (the share over
    all items), ``excess`` over it, ``shift`` (mean evidence minus the brand's, in steps; positive: runs
    small), the standardised ``z`` and the BH ``q_value``; the strongest first.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q={q} must be between 0 and 1")
    if min_orders < 1:
        raise ValueError(f"min_orders={min_orders} must be at least 1")
    c = evidence[list(EVIDENCE_COLUMNS)].reset_index(drop=True)
    shift, score = _scores(c)
    tested = (c["orders"].to_numpy() >= min_orders) & np.isfinite(score)
    centre, spread = _empirical_null(score[tested])
    standard = (score - centre) / spread
    p = np.concatenate([norm.sf(standard[tested]), norm.cdf(standard[tested])])
    adjusted = benjamini_hochberg(p)
    n = int(tested.sum())
    total = c["orders"].sum()
    out: dict[Direction, pd.DataFrame] = {}
    directions: tuple[tuple[Direction, float], ...] = (("small", 1.0), ("large", -1.0))
    for i, (d, sign) in enumerate(directions):
        qv = np.full(len(c), np.nan)
        qv[tested] = adjusted[i * n : (i + 1) * n]
        t = c.assign(share=c[d] / c["orders"].where(c["orders"] > 0), shift=shift, z=standard, q_value=qv)
        t["ci_low"], t["ci_high"] = wilson(t[d], t["orders"], z)
        t["baseline"] = c[d].sum() / total if total else np.nan
        t["excess"] = t["share"] - t["baseline"]
        t = t[tested & (qv <= q)].assign(strength=lambda f, s=sign: -s * f["z"])
        t = t.sort_values(["strength", "item_id"])
        out[d] = t[list(COLUMNS)].reset_index(drop=True)
    return out


def _scores(c: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(mean evidence minus the brand's median item, that difference over its random-effects s.e.)."""
    brand = c["brand"].astype("object").where(c["brand"].notna(), "")
    mean = c["shift_mean"].to_numpy(dtype=float)
    enough = c["shifted"].to_numpy() >= BASELINE_MIN_LINES
    medians = pd.Series(mean[enough]).groupby(brand[enough].to_numpy()).median()
    fallback = float(np.median(mean[enough])) if enough.any() else 0.0
    shift = mean - brand.map(medians).fillna(fallback).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se2 = c["shift_var"].to_numpy(dtype=float) / c["shifted"].to_numpy(dtype=float)
    usable = enough & np.isfinite(shift) & np.isfinite(se2)
    if usable.any():
        mad = MAD_SCALE * np.median(np.abs(shift[usable] - np.median(shift[usable])))
        between = max(0.0, mad**2 - float(np.median(se2[usable])))
    else:
        between = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return shift, shift / np.sqrt(se2 + between)


def _empirical_null(scores: np.ndarray) -> tuple[float, float]:
    """Centre and spread of the null z-scores (median, MAD): most items are honest."""
    if scores.size < 3:
        return 0.0, 1.0
    centre = float(np.median(scores))
    spread = float(MAD_SCALE * np.median(np.abs(scores - centre)))
    return centre, spread if spread > 0 else 1.0
