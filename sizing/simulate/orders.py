"""Order lines, their outcomes, returns and reviews, for one time slice of the simulated shop.

Ordering mimics real selection: a shopper starts from her usual size for the item's family; if she
knows the item runs small or large (``aware_share``) she moves by its offset, if she knows the brand's
vanity sizing she moves by that; she takes the offered size nearest that target; some shoppers also
order the adjacent size (bracketing) and return the one that fits worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from sizing.schema import FIT_LABELS, SHOPPER_COLUMNS, TRANSACTION_COLUMNS
from sizing.simulate.catalogue import Catalogue
from sizing.simulate.config import SimConfig
from sizing.simulate.fit import PREFERENCE_EASE_CM, draw_outcomes, ease_z, fit_probabilities, true_label
from sizing.simulate.shoppers import FAMILIES, Shoppers, only_where

SOURCE: Final = "sim"
TARGET_SD: Final = 0.3
#: P(return | outcome) for a size misfit, and the non-size return reasons with their rates among fits
RETURN_MISFIT: Final = {0: ("too_small", 0.85), 2: ("too_large", 0.8)}
RETURN_OTHER: Final = (("style", 0.07), ("quality", 0.03), ("other", 0.02))
REVIEW_TEXT: Final = {
    0: ("Runs small, too tight.", "Had to send it back, could not close it.", "Snug everywhere."),
    1: ("True to size.", "Fits perfectly.", "Great fit, ordered my usual size."),
    2: ("Runs large, too loose.", "Swimming in it.", "Size down if you can."),
}
BLOCK: Final = 100_000
#: times are epoch microseconds, kept to whole seconds (what shops export)
SECOND: Final = 1_000_000
DAY: Final = 86_400 * SECOND
#: re-draws of an item whose sizes do not reach the shopper's target (by more than COVER steps)
PICKS: Final = 6
COVER: Final = 0.75


@dataclass(frozen=True)
class Chunk:
    transactions: pd.DataFrame
    truth: pd.DataFrame
    returns: pd.DataFrame
    reviews: pd.DataFrame


def generate(
    shoppers: Shoppers, catalogue: Catalogue, config: SimConfig, n: int, window: tuple[int, int], prefix: str,
    rng: np.random.Generator,
) -> Chunk:  # fmt: skip
    """``n`` order lines placed in ``window`` (epoch microseconds, half-open), ids ``<prefix><line>``."""
    n_pairs = int(rng.binomial(n // 2, config.bracket_share))
    base = n - n_pairs
    shopper = rng.choice(len(shoppers.activity), base, p=shoppers.activity)
    female = shoppers.bodies.female[shopper]
    item = _pick_items(catalogue, female, rng)
    target = _targets(shoppers, catalogue, config, shopper, item, rng)
    for _ in range(PICKS):  # shoppers browse past items that do not come in their size
        low, high = np.nanmin(catalogue.values[item], axis=1), np.nanmax(catalogue.values[item], axis=1)
        miss = np.flatnonzero((target < low - COVER) | (target > high + COVER))
        if miss.size == 0:
            break
        item[miss] = _pick_items(catalogue, female[miss], rng)
        target[miss] = _targets(shoppers, catalogue, config, shopper[miss], item[miss], rng)
    values = catalogue.values[item]
    size = np.nanargmin(np.abs(values - target[:, None]), axis=1)
    first = rng.choice(base, n_pairs, replace=False)
    second = _neighbour(values[first], size[first], target[first])
    ordered_at = np.sort(rng.integers(window[0], window[1], base)) // SECOND * SECOND
    shopper = np.concatenate([shopper, shopper[first]])
    item = np.concatenate([item, item[first]])
    size = np.concatenate([size, second])
    at = np.concatenate([ordered_at, ordered_at[first]])
    partner = np.full(n, -1)
    partner[first], partner[base + np.arange(n_pairs)] = base + np.arange(n_pairs), first
    order = np.lexsort((np.arange(n), at))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    shopper, item, size, at, partner = shopper[order], item[order], size[order], at[order], partner[order]
    partner = np.where(partner >= 0, rank[np.maximum(partner, 0)], -1)
    return _outcomes(shoppers, catalogue, config, shopper, item, size, at, partner, prefix, rng)


def _targets(
    shoppers: Shoppers, catalogue: Catalogue, config: SimConfig, shopper: np.ndarray, item: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """The size each line aims at: the usual size, moved by what the shopper knows of the item."""
    family = np.array([FAMILIES.index(f) for f in catalogue.family])[item]
    return (
        shoppers.usual[shopper, family]
        - (rng.random(item.size) < config.vanity_aware_share) * catalogue.vanity[item]
        - (rng.random(item.size) < config.aware_share) * catalogue.true_offset[item]
        + rng.normal(0.0, TARGET_SD, item.size)
    )


def _pick_items(catalogue: Catalogue, female: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(female.size, dtype=np.int64)
    for sex in (True, False):
        pool = np.flatnonzero(catalogue.female == sex)
        lines = np.flatnonzero(female == sex)
        weight = catalogue.popularity[pool]
        out[lines] = pool[rng.choice(pool.size, lines.size, p=weight / weight.sum())]
    return out


def _neighbour(values: np.ndarray, size: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The adjacent offered size on the target's side of the chosen one (the other side at a ladder end)."""
    rows = np.arange(size.size)
    chosen = values[rows, size]
    step = np.where(target >= chosen, 1, -1)
    n_sizes = (~np.isnan(values)).sum(axis=1)
    second = size + step
    outside = (second < 0) | (second >= n_sizes)
    return np.where(outside, size - step, second)


def _outcomes(
    shoppers: Shoppers, catalogue: Catalogue, config: SimConfig, shopper: np.ndarray, item: np.ndarray,
    size: np.ndarray, at: np.ndarray, partner: np.ndarray, prefix: str, rng: np.random.Generator,
) -> Chunk:  # fmt: skip
    n = shopper.size
    body = shoppers.bodies.girths[shopper]
    pref = PREFERENCE_EASE_CM[shoppers.preference[shopper]]
    tol = catalogue.tol_cm[item]
    z = ease_z(catalogue.true_cm[item, size], body, pref, tol)
    probs = fit_probabilities(z)
    outcome = draw_outcomes(z, rng)
    best = _best_sizes(catalogue, item, body, pref, tol)
    reason = _return_reasons(outcome, partner, probs[:, 1], rng)
    reviewed = rng.random(n) < config.review_share
    known = reviewed | np.isin(reason, ["too_small", "too_large"])
    labels = np.asarray(FIT_LABELS, dtype=object)
    order_id = prefix + pd.Series(np.arange(n)).astype(str).str.zfill(8).to_numpy(dtype=object)
    ordered_at = at.astype("datetime64[us]")
    rating = np.where(
        outcome == 1,
        rng.choice([6.0, 8.0, 10.0], n, p=[0.1, 0.3, 0.6]),
        rng.choice([2.0, 4.0, 6.0, 8.0], n, p=[0.2, 0.3, 0.3, 0.2]),
    )
    text = np.array(
        [REVIEW_TEXT[o][j] for o, j in zip(outcome, rng.integers(0, 3, n), strict=True)], dtype=object
    )
    facts = shoppers.facts.iloc[shopper].reset_index(drop=True)
    transactions = pd.DataFrame(
        {
            "order_id": order_id,
            "shopper_id": shoppers.shopper_id[shopper],
            "item_id": catalogue.item_id[item],
            "size": catalogue.labels[item, size],
            "size_num": catalogue.values[item, size],
            "ordered_at": ordered_at,
            "source": SOURCE,
            **{c: facts[c].to_numpy() for c in SHOPPER_COLUMNS},
            "category": catalogue.category[item],
            "brand": catalogue.brand[item],
            "rented_for": None,
            "fit": only_where(known, labels[outcome]),
            "return_reason": reason,
            "rating": np.where(reviewed, rating, np.nan),
            "review_text": only_where(reviewed, text),
        }
    )[list(TRANSACTION_COLUMNS)]
    truth = pd.DataFrame(
        {
            "order_id": order_id,
            "best_size": catalogue.labels[item, best],
            "best_size_num": catalogue.values[item, best],
            "ordered_fits": true_label(probs) == "fit",
            "true_fit": true_label(probs),
            "p_fit": probs[:, 1],
        }
    )
    returned = reason != None  # noqa: E711 (object array)
    days = rng.integers(4 * DAY, 21 * DAY, n) // SECOND * SECOND
    returns = pd.DataFrame(
        {"order_id": order_id[returned], "reason": reason[returned],
         "returned_at": (at[returned] + days[returned]).astype("datetime64[us]")}
    )  # fmt: skip
    later = rng.integers(5 * DAY, 40 * DAY, n) // SECOND * SECOND
    reviews = pd.DataFrame(
        {"order_id": order_id[reviewed], "fit": labels[outcome[reviewed]], "rating": rating[reviewed],
         "review_text": text[reviewed],
         "reviewed_at": (at[reviewed] + later[reviewed]).astype("datetime64[us]")}
    )  # fmt: skip
    return Chunk(transactions, truth, returns, reviews)


def _best_sizes(
    catalogue: Catalogue, item: np.ndarray, body: np.ndarray, pref: np.ndarray, tol: np.ndarray
) -> np.ndarray:
    """Index of the offered size with the highest true P(fit), per line (blocks bound the memory)."""
    best = np.empty(item.size, dtype=np.int64)
    for lo in range(0, item.size, BLOCK):
        sl = slice(lo, lo + BLOCK)
        z = ease_z(catalogue.true_cm[item[sl]], body[sl, None, :], pref[sl, None], tol[sl, None, :])
        p_fit = fit_probabilities(z)[..., 1]
        best[sl] = np.where(np.isnan(catalogue.values[item[sl]]), -1.0, p_fit).argmax(axis=1)
    return best


def _return_reasons(
    outcome: np.ndarray, partner: np.ndarray, p_fit: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Misfits mostly go back for their size; some fits for style, quality or other reasons. Of a
    bracketed pair the worse one always goes back (by outcome, then by how well it fits)."""
    n = outcome.size
    reason = np.full(n, None, dtype=object)
    u = rng.random(n)
    for code, (name, rate) in RETURN_MISFIT.items():
        reason[(outcome == code) & (u < rate)] = name
    edge = 0.0
    for name, rate in RETURN_OTHER:
        reason[(outcome == 1) & (u >= edge) & (u < edge + rate)] = name
        edge += rate
    paired = np.flatnonzero(partner >= 0)
    mate = partner[paired]
    fits, mate_fits = outcome[paired] == 1, outcome[mate] == 1
    less = (p_fit[paired] < p_fit[mate]) | ((p_fit[paired] == p_fit[mate]) & (paired > mate))
    worse = (~fits & mate_fits) | ((fits == mate_fits) & less)
    lines = paired[worse]
    keep_reason = reason[lines]
    reason[lines] = np.where(
        keep_reason == None,  # noqa: E711
        np.where(outcome[lines] == 0, "too_small", np.where(outcome[lines] == 2, "too_large", "other")),
        keep_reason,
    )
    return reason
