"""The runs-small/large detector: BH on hand-computed cases, and precision/recall on simulated truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sizing import analytics_duckdb, running
from sizing.simulate.config import SimConfig
from sizing.simulate.run import stream

ROOT = Path(__file__).resolve().parents[2]


def test_benjamini_hochberg_matches_a_hand_computed_case() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    # sorted 0.005, 0.01, 0.03, 0.04, 0.5 times 5/rank: 0.025, 0.025, 0.05, 0.05, 0.5 (already monotone)
    assert running.benjamini_hochberg(p) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    assert running.benjamini_hochberg(np.array([0.04, 0.04])) == pytest.approx([0.04, 0.04])
    assert running.benjamini_hochberg(np.array([])).size == 0


def _evidence(shift: np.ndarray, n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Items of two brands whose lines have the given mean evidence (sd 0.7, like the simulator)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, mean in enumerate(shift):
        draws = rng.normal(mean, 0.7, n)
        rows.append({"item_id": f"i{i:03d}", "category": "dress", "brand": f"b{i % 2}", "orders": n,
                     "small": 0, "large": 0, "shifted": n, "shift_mean": draws.mean(),
                     "shift_var": draws.var(ddof=1)})  # fmt: skip
    return pd.DataFrame(rows)


def test_only_items_beyond_the_null_are_flagged_and_in_their_direction() -> None:
    shift = np.zeros(200)
    shift[:8], shift[8:14] = 1.0, -1.0  # 8 run small (shoppers size up), 6 run large
    found = running.detect(_evidence(shift), min_orders=50)
    assert set(found["small"]["item_id"]) == {f"i{i:03d}" for i in range(8)}
    assert set(found["large"]["item_id"]) == {f"i{i:03d}" for i in range(8, 14)}
    assert (found["small"]["q_value"] <= running.DEFAULT_Q).all()
    assert found["small"]["z"].is_monotonic_decreasing and found["large"]["z"].is_monotonic_increasing
    untested = running.detect(_evidence(shift, n=40), min_orders=50)
    assert untested["small"].empty and untested["large"].empty, "items under min_orders are not tested"


def test_an_honest_catalogue_gets_almost_no_flags() -> None:
    flags = sum(len(t) for t in running.detect(_evidence(np.zeros(300), seed=5), min_orders=50).values())
    assert flags <= 3


def test_bad_detector_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="q="):
        running.detect(_evidence(np.zeros(5)), q=1.5)
    with pytest.raises(ValueError, match="min_orders="):
        running.detect(_evidence(np.zeros(5)), min_orders=0)


@pytest.mark.slow
def test_precision_and_recall_on_the_simulators_mis_charted_items(tmp_path: Path) -> None:
    """Seed 101 was never used to choose the detector's settings (docs/analytics.md)."""
    config = SimConfig(n_orders=150_000, seed=101)
    stream(config, tmp_path, ansur_dir=ROOT / "data" / "ansur2", chunk_orders=50_000)
    items = pd.read_parquet(tmp_path / "items.parquet").set_index("item_id")
    lines = analytics_duckdb.Lines.parquet(tmp_path)
    found = analytics_duckdb.items_running(lines, min_orders=50)
    eligible = analytics_duckdb.item_evidence(lines).query("orders >= 50")["item_id"]
    offset = items.loc[eligible, "true_offset_steps"]
    truth = {"small": set(offset.index[offset < 0]), "large": set(offset.index[offset > 0])}
    hits = sum(len(truth[d] & set(found[d]["item_id"])) for d in truth)
    flagged = sum(len(found[d]) for d in truth)
    actual = sum(len(truth[d]) for d in truth)
    assert actual > 50, "enough mis-charted items to measure"
    assert hits / flagged >= 0.9 and hits / actual >= 0.9, (hits, flagged, actual)
