"""The physical size layer: a floored slope in the size, body-driven sizes for new visitors, item
offsets and chart gaps that the explanation names, on real RentTheRunway rows and a simulated shop."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from sizing.features import as_columns
from sizing.layer import K_MIN
from sizing.model import SizeFitModel
from sizing.rec_metrics import attach_charts
from sizing.recommend import Item, Shopper, check_many, recommend
from tests.sizing_support import fast_model, rtr_slice, simulated


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return rtr_slice(6000, seed=3)


@pytest.fixture(scope="module")
def model(frame) -> SizeFitModel:
    return fast_model(frame)


@lru_cache(maxsize=1)
def sim_model() -> SizeFitModel:
    sim = simulated()
    lines = attach_charts(sim.transactions, sim.size_charts)
    return fast_model(lines)


def _grid(row: pd.Series, sizes: np.ndarray) -> pd.DataFrame:
    grid = pd.DataFrame([row] * len(sizes)).reset_index(drop=True)
    grid["size_num"], grid["size"] = sizes, [f"{s:g}" for s in sizes]
    return grid


def _busiest(frame: pd.DataFrame) -> Item:
    """The slice's busiest item, offered in every size it sold in."""
    item_id = frame["item_id"].value_counts().index[0]
    sold = frame[frame["item_id"] == item_id]
    sizes = sorted(set(zip(sold["size"], sold["size_num"], strict=True)), key=lambda s: s[1])
    return Item(item_id, sold["category"].iloc[0], None, sizes)


def test_every_size_step_moves_both_stages_by_at_least_the_floor(model, frame) -> None:
    """Strict monotonicity with a margin: one step up lowers logit P(small) and raises
    logit P(large | not small) by at least K_MIN, for known shoppers and new visitors alike."""
    sizes = np.arange(-12.0, 16.0, 1.0)
    rows = frame.drop_duplicates("item_id").head(12)
    for _, row in rows.iterrows():
        for who in (row, row.drop("shopper_id")):
            proba = model.curve_proba(_grid(who, sizes))
            a = logit(proba[:, 0])
            b = logit(proba[:, 2] / (1.0 - proba[:, 0]))
            assert (np.diff(a) <= -K_MIN + 1e-6).all(), row["item_id"]
            assert (np.diff(b) >= K_MIN - 1e-6).all(), row["item_id"]
            # three steps make a real difference in probability too, where the curve is not saturated
            assert (proba[:-3, 0] - proba[3:, 0]).max() > 0.1


def test_new_visitors_of_different_bodies_get_different_sizes_and_curves_that_move(model, frame) -> None:
    item = _busiest(frame)
    sizes = list(item.sizes)
    picks = []
    for stature, mass in ((158.0, 48.0), (178.0, 92.0)):
        out = recommend(model, Shopper(body={"stature_cm": stature, "body_mass_kg": mass}), item)
        # the curve moves by a real margin; a small body may already fit the smallest size, so for her
        # the margin shows in P(large) rather than P(small)
        moved = max(
            out.sizes[0].p_small - out.sizes[-1].p_small, out.sizes[-1].p_large - out.sizes[0].p_large
        )
        assert moved >= 0.2, (stature, out.sizes)
        assert out.reasons.usual_from == "measurements" and out.reasons.preference is None
        picks.append(float(dict(sizes)[out.recommended_size]))
    assert picks[0] < picks[1]


def test_learned_item_offsets_follow_the_simulators_true_offsets() -> None:
    sim = simulated()
    model = sim_model()
    items = sim.items.set_index("item_id")
    counts = sim.transactions.loc[sim.transactions["fit"].notna(), "item_id"].value_counts()
    busy = counts[counts >= 30].index
    learned = np.array([model.curves.layer_.o_[model.curves.layer_.items_[i]] for i in busy])
    true = items.loc[busy, "true_offset_steps"].to_numpy(dtype=float)  # negative: runs small
    assert np.corrcoef(learned, -true)[0, 1] > 0.5


def test_explanation_names_the_items_offset_and_the_chart_gap() -> None:
    sim = simulated()
    model = sim_model()
    layer = model.curves.layer_
    item_id = max(layer.items_, key=lambda i: layer.o_[layer.items_[i]])  # runs smallest
    assert layer.o_[layer.items_[item_id]] >= 0.5
    meta = sim.items.set_index("item_id").loc[item_id]
    sold = sim.transactions[sim.transactions["item_id"] == item_id]
    sizes = sorted(set(zip(sold["size"], sold["size_num"], strict=True)), key=lambda s: s[1])
    charts = sim.size_charts[
        (sim.size_charts["item_id"] == item_id) | (sim.size_charts["brand"] == meta["brand"])
    ]
    chart: dict[str, dict[str, float]] = {}
    for r in charts.itertuples():
        chart.setdefault(r.size, {})[r.measurement] = float(r.cm)
    body = {"stature_cm": 165.0, "body_mass_kg": 62.0, "bust_girth_cm": 92.0, "waist_girth_cm": 75.0,
            "hip_girth_cm": 100.0}  # fmt: skip
    plain = recommend(model, Shopper(body=body), Item(item_id, meta["category"], meta["brand"], sizes))
    assert plain.reasons.item_offset_steps is not None and plain.reasons.item_offset_steps >= 0.5
    assert any(line.startswith("this item runs about") and "small" in line for line in plain.explanation)
    charted = recommend(
        model, Shopper(body=body), Item(item_id, meta["category"], meta["brand"], sizes, chart)
    )
    assert charted.reasons.chart, "a charted size must report its ease"
    gap = charted.reasons.chart[0]
    assert gap.size == charted.recommended_size
    assert gap.ease_cm == pytest.approx(gap.chart_cm - gap.body_cm, abs=0.05)
    word = "tighter than your" if gap.ease_cm < 0 else "of room at your"
    assert any(f"size {gap.size}'s chart" in line and word in line for line in charted.explanation)


def test_a_flag_suggests_a_size_the_flags_way(model, frame) -> None:
    """A line flagged too small gets a larger size; too large a smaller one; unflagged keeps its size."""
    item = _busiest(frame)
    sizes = list(item.sizes)
    shopper = Shopper(body={"stature_cm": 170.0, "body_mass_kg": 65.0})
    order = {label: i for i, (label, _) in enumerate(sizes)}
    checks = check_many(model, [(shopper, item, label) for label, _ in sizes])
    for c in checks:
        if not c.flag:
            assert c.suggested_size == c.size
        elif c.p_small >= c.p_large:
            assert order[c.suggested_size] > order[c.size] or c.size == sizes[-1][0]
        else:
            assert order[c.suggested_size] < order[c.size] or c.size == sizes[0][0]


def test_the_layer_reads_only_pre_outcome_columns(frame) -> None:
    """Outcome columns change nothing in a fitted layer's scores (labels enter only through fit)."""
    layer = fast_model(frame).curves.layer_
    tampered = frame.assign(fit="small", rating=1.0, return_reason="too_small")
    np.testing.assert_array_equal(layer.parts(as_columns(frame)).a, layer.parts(as_columns(tampered)).a)
