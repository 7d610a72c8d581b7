"""The savings curve on hand-computed cases, the operating point, and where the service reads it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sizing import savings

RISK = np.array([0.9, 0.8, 0.6, 0.4, 0.2])
RETURNED = np.array([True, True, False, True, False])


def test_curve_matches_hand_computed_counts_and_money() -> None:
    costs = savings.Costs(return_cost=20.0, nudge_cost=1.0, switch_share=0.5, harm_share=0.5)
    table = savings.curve(RISK, RETURNED, costs, thresholds=np.array([0.5, 0.7, 0.95])).set_index("threshold")
    # t = 0.5 flags 0.9, 0.8, 0.6: two fit returns, one good order, of five lines
    row = table.loc[0.5]
    assert row["flagged_share"] == pytest.approx(3 / 5)
    assert row["returns_avoided"] == pytest.approx(0.5 * 2 / 5 * 1000)
    assert row["good_orders_disturbed"] == pytest.approx(1 / 5 * 1000)
    # 20 × (0.5 × 2/5 − 0.5 × 0.5 × 1/5) − 1 × 3/5 = 20 × 0.15 − 0.6 = 2.4 per line
    assert row["net_saving"] == pytest.approx(2.4 * 1000)
    # t = 0.7 flags two fit returns only: 20 × 0.5 × 2/5 − 2/5 = 3.6 per line
    assert table.loc[0.7, "net_saving"] == pytest.approx(3.6 * 1000)
    assert table.loc[0.95, ["flagged_share", "net_saving"]].tolist() == [0.0, 0.0]


def test_the_decision_picks_the_best_threshold_and_has_the_issues_keys() -> None:
    costs = savings.Costs(return_cost=20.0, nudge_cost=1.0)
    table = savings.curve(RISK, RETURNED, costs, thresholds=np.array([0.5, 0.7, 0.95]))
    decision = savings.decision(table, costs)
    assert list(decision) == ["return_cost", "nudge_cost", "threshold", "flagged_share", "returns_avoided",
                              "good_orders_disturbed", "net_saving", "curve"]  # fmt: skip
    assert decision["threshold"] == 0.7 and decision["net_saving"] == pytest.approx(3600)
    assert [p["threshold"] for p in decision["curve"]] == [0.5, 0.7, 0.95]  # type: ignore[union-attr]
    json.dumps(decision)  # one JSON line


def test_when_nudges_cost_more_than_they_save_almost_nothing_is_flagged() -> None:
    costs = savings.Costs(return_cost=1.0, nudge_cost=5.0)
    decision = savings.decision(savings.curve(RISK, RETURNED, costs), costs)
    assert decision["threshold"] == savings.THRESHOLDS[-1] and decision["flagged_share"] == pytest.approx(0.0)


def test_the_service_threshold_comes_from_env_then_the_analysis_then_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(savings.ENV_THRESHOLD, raising=False)
    monkeypatch.setenv(savings.ENV_MODELS_DIR, str(tmp_path))
    assert savings.flag_threshold(0.31) == 0.31
    costs = savings.Costs(25.0, 1.0)
    decision = savings.decision(savings.curve(RISK, RETURNED, costs), costs)
    savings.write_threshold(tmp_path, decision, costs, source="test")
    assert savings.flag_threshold(0.31) == decision["threshold"]
    monkeypatch.setenv(savings.ENV_THRESHOLD, "0.42")
    assert savings.flag_threshold(0.31) == 0.42
    monkeypatch.setenv(savings.ENV_THRESHOLD, "1.5")
    with pytest.raises(ValueError, match="FITROOM_FLAG_THRESHOLD"):
        savings.flag_threshold(0.31)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"return_cost": -1.0, "nudge_cost": 1.0}, "costs"), ({"return_cost": 1.0, "nudge_cost": 1.0,
      "switch_share": 1.5}, "switch_share")],
)  # fmt: skip
def test_bad_costs_name_the_field(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        savings.Costs(**kwargs)


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="risk"):
        savings.curve(RISK, RETURNED[:3], savings.Costs(1.0, 1.0))


def test_the_report_gets_the_decision_section_and_its_plot(tmp_path: Path) -> None:
    from PIL import Image

    from sizing.analytics_report import compute, write_report
    from tests.sizing.test_analytics import _shop

    costs = savings.Costs(25.0, 1.0)
    decision = {**savings.decision(savings.curve(RISK, RETURNED, costs), costs), "currency": "CNY"}
    written = write_report(compute(_shop(n=600)), tmp_path, savings=decision)
    with Image.open(written["savings.png"]) as im:
        assert im.format == "PNG" and im.width > 400
    assert len(pd.read_csv(written["savings.csv"])) == len(savings.THRESHOLDS)
    page = written["report.html"].read_text()
    assert "Size nudges: the cost decision" in page and f"risk &gt;= {decision['threshold']:.2f}" in page


def test_truth_check_counts_truly_wrong_sizes_by_hand() -> None:
    wrong = np.array([True, False, True, True, False])
    data = savings.HeldOut(risk=RISK, fit_return=RETURNED, truly_wrong=wrong, basis="returns")
    check = savings.truth_check(data, 0.5)  # flags lines 0, 1, 2
    assert check["flag_precision_truly_wrong"] == pytest.approx(2 / 3)
    assert check["fit_returns_truly_wrong"] == pytest.approx(1 / 2)  # flagged fit returns: lines 0, 1
    assert check["truly_wrong_caught"] == pytest.approx(2 / 3)  # truly wrong: 0, 2, 3
    with pytest.raises(ValueError, match="truth"):
        savings.truth_check(savings.HeldOut(RISK, RETURNED, None, "returns"), 0.5)
