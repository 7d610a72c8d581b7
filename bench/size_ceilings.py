"""How far can any size recommender or check get? Upper bounds for two of #11's targets.

``python -m bench.size_ceilings sim [--orders 300000] [--seeds 21 22 23]``: on simulated shops, the
share of order lines whose true best size is a near tie, and the ``rec_top1`` of *oracles* that are
told more than any shop can know (the simulator's own fit rule, each item's true garment sizes, each
shopper's exact fit preference), with only the shopper's body blurred by a measuring error of a given
size. It also scores the simulator's fit rule on what shoppers report (their self-measured girths and
the published charts), and the size each shopper ordered herself.

``python -m bench.size_ceilings rtr [--protocols temporal cold_start]``: trains the risk model on the
protocol's train part, then searches separate flag thresholds for "too small" and "too large" **on the
test part itself** (so the figure is optimistic) for the best ``min(check_right_way_small,
check_right_way_large)`` that keeps ``check_flag_fit`` at or below 0.15. A too-small line counts only if a
larger size of its item exists, as the metric requires.

Each prints one JSON line and writes ``bench/results/size_ceilings_<kind>.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "bench" / "results"
NEAR_TIE: Final = 0.05
BODY_ERROR_CM: Final = (0.5, 1.0, 1.5, 2.0, 3.0)
FLAG_FIT_MAX: Final = 0.15
GRID: Final = 120


def _argmax_fit(garment_cm: np.ndarray, body: np.ndarray, pref: np.ndarray, tol: np.ndarray,
                offered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per line, the offered size the simulator's fit rule scores highest for this body and garment,
    and P(fit) of every offered size (−1 where not offered)."""
    from sizing.simulate.fit import ease_z, fit_probabilities

    p_fit = fit_probabilities(ease_z(garment_cm, body[:, None, :], pref[:, None], tol[:, None, :]))[..., 1]
    return np.where(offered, p_fit, -1.0).argmax(axis=1), np.where(offered, p_fit, -1.0)


def sim_seed(orders: int, seed: int) -> dict[str, Any]:
    """The bounds above on one simulated shop's labelled order lines."""
    from sizing.simulate.config import SimConfig
    from sizing.simulate.fit import PREFERENCE_EASE_CM
    from sizing.simulate.run import _chunk, _chunks, _population

    config = SimConfig(n_orders=orders, seed=seed)
    catalogue, shoppers = _population(config, ROOT / "data" / "ansur2")
    ((n, window),) = _chunks(config, config.n_orders)
    lines = _chunk(config, catalogue, shoppers, 0, n, window).transactions
    lines = lines[lines["fit"].notna()].reset_index(drop=True)
    who = pd.Index(shoppers.shopper_id).get_indexer(lines["shopper_id"])
    what = pd.Index(catalogue.item_id).get_indexer(lines["item_id"])
    body = shoppers.bodies.girths[who]
    pref = PREFERENCE_EASE_CM[shoppers.preference[who]]
    tol = catalogue.tol_cm[what]
    offered = ~np.isnan(catalogue.values[what])
    true_cm = catalogue.true_cm[what]
    best, p_fit = _argmax_fit(true_cm, body, pref, tol, offered)
    ranked = -np.sort(-p_fit, axis=1)
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {
        "seed": seed,
        "lines": len(lines),
        "near_tie_share": round(float((ranked[:, 0] - ranked[:, 1] < NEAR_TIE).mean()), 4),
    }
    for sd in BODY_ERROR_CM:
        blurred = body + rng.normal(0.0, sd, body.shape)
        out[f"oracle_body_error_{sd:g}cm"] = round(float((_argmax_fit(true_cm, blurred, pref, tol, offered)[0]
                                                          == best).mean()), 4)  # fmt: skip
    chart = _argmax_fit(catalogue.chart_cm[what], body, pref, tol, offered)[0]
    out["oracle_exact_body_published_chart"] = round(float((chart == best).mean()), 4)
    reported = lines[["bust_girth_cm", "waist_girth_cm", "hip_girth_cm"]].to_numpy(dtype=float)
    usable = catalogue.has_chart[what] & ~np.isnan(np.where(np.isnan(tol), np.nan, reported)).all(axis=1)
    rule = _argmax_fit(catalogue.chart_cm[what], reported, pref, tol, offered)[0]
    out["rule_on_reports_share"] = round(float(usable.mean()), 4)
    out["rule_on_reports_exact_preference"] = round(float((rule == best)[usable].mean()), 4)
    labels = catalogue.labels[what]
    ordered = np.array([list(row).index(s) for row, s in zip(labels, lines["size"], strict=True)])
    out["shopper_own_choice"] = round(float((ordered == best).mean()), 4)
    return out


def rtr_protocol(protocol: str) -> dict[str, Any]:
    """The best right-way rates any threshold pair on the risk model reaches at ≤ 15 % fit lines flagged."""
    from sizing.datasets import load_rtr
    from sizing.evaluate import split
    from sizing.model import SizeFitClassifier
    from sizing.rec_metrics import offered_sizes

    frame = load_rtr(ROOT / "data").reset_index(drop=True)
    train, val, test = split(frame, protocol, 0)
    y = frame["fit"].to_numpy(dtype=object)
    model = SizeFitClassifier(layer=False, random_state=0)
    model.fit(frame.iloc[train], y[train], eval_set=(frame.iloc[val], y[val]))
    p = model.predict_proba(frame.iloc[test])
    sizes = offered_sizes(frame)
    lines = frame.iloc[test].reset_index(drop=True)
    pos = lines[["item_id", "size"]].merge(sizes, on=["item_id", "size"], how="left")["pos"].to_numpy()
    top = lines["item_id"].map(sizes.groupby("item_id")["pos"].max()).to_numpy()
    yt = y[test]
    small, fit, large = yt == "small", yt == "fit", yt == "large"
    larger, smaller = pos < top, pos > 0
    best = (0.0, 0.0, 0.0)
    for ts in np.quantile(p[fit, 0], np.linspace(0.5, 0.999, GRID)):
        says_small = p[:, 0] >= ts
        for tl in np.quantile(p[fit, 2], np.linspace(0.5, 0.999, GRID)):
            says_large = (p[:, 2] >= tl) & ~(says_small & (p[:, 0] / ts >= p[:, 2] / tl))
            says_small_only = says_small & ~says_large
            flag_fit = float((says_small_only | says_large)[fit].mean())
            if flag_fit > FLAG_FIT_MAX:
                continue
            right_small = float((says_small_only & larger)[small].mean())
            right_large = float((says_large & smaller)[large].mean())
            if min(right_small, right_large) > min(best[0], best[1]):
                best = (right_small, right_large, flag_fit)
    return {
        "protocol": protocol,
        "n_test": int(len(test)),
        "small_lines_with_a_larger_size": round(float(larger[small].mean()), 4),
        "large_lines_with_a_smaller_size": round(float(smaller[large].mean()), 4),
        "best_check_right_way_small": round(best[0], 4),
        "best_check_right_way_large": round(best[1], 4),
        "check_flag_fit_there": round(best[2], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["sim", "rtr"])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[21, 22, 23])
    parser.add_argument("--protocols", nargs="+", default=["temporal", "cold_start"])
    args = parser.parse_args()
    if args.kind == "sim":
        runs = [sim_seed(args.orders, s) for s in args.seeds]
    else:
        runs = [rtr_protocol(p) for p in args.protocols]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"size_ceilings_{args.kind}.json").write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(runs))  # noqa: T201 (a bench script's output)


if __name__ == "__main__":
    main()
