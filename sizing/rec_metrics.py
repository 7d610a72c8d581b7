"""Recommendation metrics: does the model choose sizes, not only rank risk?

Every test line is scored at every size its item is offered in (the sizes it was sold in, plus its
chart's). From those curves:

- ``rec_fit_hit``: lines labelled fit whose recommended size is the ordered one;
- ``rec_direction_small`` / ``rec_direction_large``: lines reported too small (large) whose recommended
  size is larger (smaller) than the ordered one;
- ``rec_within1``: lines labelled fit whose recommendation is within one offered size of the ordered one;
- ``flat_share``: lines whose P(fit) range over the offered sizes is below 0.02 (items offered in
  two or more sizes; ``n_single_size`` counts the others);
- ``check_right_way_small`` / ``_large``: lines reported too small (large) that the check flags and for
  which it suggests a larger (smaller) size; ``check_flag_fit``: lines labelled fit that it flags;
- with ground truth (simulated data): ``rec_top1`` and ``rec_within1_true`` against the true best size,
  ``flag_precision`` / ``flag_recall`` against lines whose ordered size truly does not fit, and
  ``check_right_way_true``: of the true mismatches flagged, the share whose suggestion points the right way.

Two baselines get the same keys: ``usual_size`` (the offered size nearest the shopper's usual size on
the item's scale, else the size her body predicts) and ``item_bias`` (that size moved one step when
the item's small and large shares differ by more than 0.15); each flags a line whose ordered size
differs from its own choice and suggests that choice.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from sizing.features import CHART_MEASUREMENTS
from sizing.layer import chart_column
from sizing.model import SizeFitModel
from sizing.recommend import best_index, suggested_index
from sizing.scales import category_scale, normalize_many

#: the keys every evaluation prints, and those only ground truth allows
REC_KEYS: Final = (
    "rec_fit_hit", "rec_direction_small", "rec_direction_large", "flat_share", "rec_within1",
    "check_right_way_small", "check_right_way_large", "check_flag_fit",
)  # fmt: skip
TRUTH_KEYS: Final = ("rec_top1", "rec_within1_true", "flag_precision", "flag_recall", "check_right_way_true")
FLAT_RANGE: Final = 0.02
ITEM_BIAS_MARGIN: Final = 0.15


def scale_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's size scale: ``size_scale`` where the frame has it, else its category's family."""
    by_category = frame["category"].astype(object).map(category_scale, na_action=None)
    if "size_scale" in frame:
        return frame["size_scale"].astype(object).where(frame["size_scale"].notna(), by_category)
    return by_category


def offered_sizes(
    frame: pd.DataFrame, charts: pd.DataFrame | None = None, catalogue: pd.DataFrame | None = None
) -> pd.DataFrame:
    """item_id, size, size_num, pos: every size an item is sold in, charted in, or listed with in the
    ``catalogue`` (item_id, category, ``|``-joined sizes), ordered on its scale."""
    sold = frame[["item_id", "size", "size_num"]].dropna()
    if catalogue is not None and len(catalogue):
        listed = catalogue[["item_id", "category", "sizes"]].assign(size=catalogue["sizes"].str.split("|"))
        listed = listed.explode("size")
        listed["size_num"] = normalize_many(listed["size"].to_numpy(), listed["category"].to_numpy())[0]
        sold = pd.concat([sold, listed[["item_id", "size", "size_num"]].dropna()], ignore_index=True)
    if charts is not None and len(charts):
        known = sold.drop_duplicates(["item_id", "size"])
        charted = charts[["item_id", "size"]].dropna().drop_duplicates().merge(known, how="left")
        sold = pd.concat([sold, charted.dropna()], ignore_index=True)
    sizes = sold.drop_duplicates(["item_id", "size"]).sort_values(["item_id", "size_num", "size"])
    sizes = sizes.reset_index(drop=True)
    sizes["pos"] = sizes.groupby("item_id").cumcount()
    return sizes


def attach_charts(frame: pd.DataFrame, charts: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``chart_<measurement>_cm`` per row from item charts (else the brand's) at the row's size."""
    if charts is None or not len(charts):
        return frame
    out = frame.copy()
    wide = charts[charts["measurement"].isin(CHART_MEASUREMENTS)]
    for key in ("item_id", "brand"):
        part = wide.dropna(subset=[key]) if key in wide else wide.iloc[:0]
        if key == "brand" and "item_id" in part:
            part = part[part["item_id"].isna()]
        if not len(part) or key not in out:
            continue
        table = part.pivot_table(index=[key, "size"], columns="measurement", values="cm", aggfunc="mean")
        table.columns = [chart_column(m) for m in table.columns]
        joined = out[[key, "size"]].merge(table, left_on=[key, "size"], right_index=True, how="left")
        for col in table.columns:
            values = joined[col].to_numpy(dtype=float)
            out[col] = values if col not in out else out[col].fillna(pd.Series(values, index=out.index))
    return out


def _grid(test: pd.DataFrame, offered: pd.DataFrame) -> pd.DataFrame:
    """One row per (test line, offered size), with the line's shopper and item facts."""
    lines = test.drop(columns=["size", "size_num"]).assign(line=np.arange(len(test)))
    lines = lines.drop(columns=[c for c in lines if c.startswith("chart_")])
    return lines.merge(offered, on="item_id", how="inner").sort_values(["line", "pos"], kind="stable")


def _usual(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """The shopper's median ordered size on the line's scale in training, else the body-predicted size."""
    key = train["shopper_id"].astype(str) + "|" + scale_of(train).astype(str)
    usual = train.assign(k=key).groupby("k")["size_num"].median()
    test_key = test["shopper_id"].astype(str) + "|" + scale_of(test).astype(str)
    got = test_key.map(usual).to_numpy(dtype=float)
    body = ["stature_cm", "body_mass_kg", "bust_girth_cm"]

    def design(f: pd.DataFrame) -> np.ndarray:
        x = f[body].to_numpy(dtype=float)
        means = train[body].mean().to_numpy(dtype=float)
        return np.column_stack([np.where(np.isnan(x), means, x), np.isnan(x), np.ones(len(f))])

    ok = train["size_num"].notna().to_numpy()
    coef = np.linalg.lstsq(design(train)[ok], train["size_num"].to_numpy(dtype=float)[ok], rcond=None)[0]
    return np.where(np.isnan(got), design(test) @ coef, got)


def _nearest(grid: pd.DataFrame, target: np.ndarray) -> np.ndarray:
    """Per line, the position of the offered size nearest ``target`` (per line)."""
    dist = np.abs(grid["size_num"].to_numpy(dtype=float) - target[grid["line"].to_numpy()])
    order = np.lexsort((grid["pos"].to_numpy(), dist, grid["line"].to_numpy()))
    first = grid.iloc[order].drop_duplicates("line")
    return first.set_index("line")["pos"].reindex(range(len(target))).to_numpy(dtype=float)


def _shares(part: np.ndarray) -> float:
    return round(float(part.mean()), 4) if len(part) else float("nan")


def _keys(
    y: np.ndarray,
    ordered: np.ndarray,
    rec: np.ndarray,
    flag: np.ndarray,
    suggested: np.ndarray,
    truth: pd.DataFrame | None,
    best: np.ndarray | None,
) -> dict[str, float]:
    small, fit, large = y == "small", y == "fit", y == "large"
    out = {
        "rec_fit_hit": _shares((rec == ordered)[fit]),
        "rec_direction_small": _shares((rec > ordered)[small]),
        "rec_direction_large": _shares((rec < ordered)[large]),
        "rec_within1": _shares((np.abs(rec - ordered) <= 1)[fit]),
        "check_right_way_small": _shares((flag & (suggested > ordered))[small]),
        "check_right_way_large": _shares((flag & (suggested < ordered))[large]),
        "check_flag_fit": _shares(flag[fit]),
    }
    if truth is not None and best is not None:
        wrong = ~truth["ordered_fits"].to_numpy(dtype=bool)
        true_fit = truth["true_fit"].to_numpy(dtype=object)
        right = np.where(true_fit == "small", suggested > ordered, suggested < ordered)
        out |= {
            "rec_top1": _shares(rec == best),
            "rec_within1_true": _shares(np.abs(rec - best) <= 1),
            "flag_precision": _shares(wrong[flag]),
            "flag_recall": _shares(flag[wrong]),
            "check_right_way_true": _shares(right[flag & wrong]),
        }
    return out


def recommendation_metrics(
    model: SizeFitModel,
    train: pd.DataFrame,
    test: pd.DataFrame,
    offered: pd.DataFrame,
    truth: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The keys above for the model and the two baselines, on ``test``: recommendations from the size
    curves, check flags from the risk model at the ordered size, suggestions from the curves."""
    test = test.reset_index(drop=True)
    grid = _grid(test, offered)
    n = len(test)
    p = model.curve_proba(grid)
    risk = model.predict_proba(test)
    line = grid["line"].to_numpy()
    pos = grid["pos"].to_numpy()
    starts = np.flatnonzero(np.r_[True, line[1:] != line[:-1]])
    bounds = np.r_[starts, len(grid)]
    ordered = np.full(n, np.nan)
    rec, sugg, flag = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)
    ranges, multi = np.zeros(n), np.zeros(n, bool)
    usual = _usual(train, test)
    sizes = grid["size"].to_numpy(dtype=object)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        i = line[a]
        own = [j for j in range(a, b) if sizes[j] == test["size"].iat[i]]
        if not own:
            continue
        at = own[0] - a
        ordered[i] = pos[a + at]
        curve = p[a:b]
        ranges[i], multi[i] = np.ptp(curve[:, 1]), b - a > 1
        values = grid["size_num"].to_numpy(dtype=float)[a:b]
        rec[i] = pos[a + best_index(curve, values, usual[i])]
        flag[i] = max(risk[i, 0], risk[i, 2]) >= model.flag_threshold_
        sugg[i] = pos[a + suggested_index(curve, at, flag[i], small=risk[i, 0] >= risk[i, 2])]
    keep = ~np.isnan(ordered)
    y = test["fit"].to_numpy(dtype=object)
    best = None
    if truth is not None:
        truth = test[["order_id"]].merge(truth, on="order_id", how="left")
        best_at = (
            test[["item_id"]]
            .assign(size=truth["best_size"].to_numpy())
            .merge(offered, on=["item_id", "size"], how="left")
        )
        best = best_at["pos"].to_numpy(dtype=float)
        keep &= ~np.isnan(best)
        truth = truth[keep].reset_index(drop=True)
        best = best[keep]

    def sub(a: np.ndarray) -> np.ndarray:
        return a[keep]

    result: dict[str, Any] = _keys(sub(y), sub(ordered), sub(rec), sub(flag), sub(sugg), truth, best)
    result["flat_share"] = _shares((ranges < FLAT_RANGE)[keep & multi])
    result["n_single_size"] = int((keep & ~multi).sum())
    result["n_lines"] = int(keep.sum())
    # baselines
    usual_pos = _nearest(grid, usual)
    item = train.groupby("item_id")["fit"].agg(
        small=lambda f: float((f == "small").mean()), large=lambda f: float((f == "large").mean())
    )
    shares = test[["item_id"]].join(item, on="item_id")
    lean = (shares["small"] - shares["large"]).fillna(0.0).to_numpy()
    n_sizes = grid.groupby("line")["pos"].max().reindex(range(n)).to_numpy(dtype=float)
    shifted = usual_pos + np.where(lean > ITEM_BIAS_MARGIN, 1, np.where(lean < -ITEM_BIAS_MARGIN, -1, 0))
    bias_pos = np.clip(shifted, 0, n_sizes)
    baselines = {}
    for name, choice in (("usual_size", usual_pos), ("item_bias", bias_pos)):
        c = sub(choice)
        baselines[name] = _keys(sub(y), sub(ordered), c, c != sub(ordered), c, truth, best)
    result["rec_baselines"] = baselines
    return result
