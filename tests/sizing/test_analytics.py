"""Analytics on canonical frames, checked against direct counts; the report's files are real and readable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sizing import analytics, analytics_duckdb, export
from sizing.analytics_report import compute, write_report
from sizing.schema import TRANSACTION_COLUMNS


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=list(TRANSACTION_COLUMNS))
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    return frame


REASONS = {"small": "too_small", "large": "too_large", "fit": None}


def _shop(seed: int = 0, n: int = 600, with_returns: bool = False) -> pd.DataFrame:
    """Random orders over 6 items; item A runs small, item F runs large, the rest are neutral."""
    rng = np.random.default_rng(seed)
    items = ["A", "B", "C", "D", "E", "F"]
    p_small = {"A": 0.6, "F": 0.05}
    p_large = {"A": 0.05, "F": 0.6}
    rows = []
    for i in range(n):
        item = items[i % len(items)]
        ps, pl = p_small.get(item, 0.12), p_large.get(item, 0.12)
        fit = rng.choice(["small", "fit", "large"], p=[ps, 1 - ps - pl, pl])
        rows.append({
            "order_id": f"o{i}", "shopper_id": f"s{i % 50}", "item_id": item, "size": str(4 + 2 * (i % 4)),
            "size_num": 4.0 + 2 * (i % 4), "ordered_at": f"2024-{1 + i % 6:02d}-15", "category": "dress" if
            item < "D" else "top", "brand": "acme" if item < "C" else None, "fit": fit,
            "return_reason": REASONS[fit] if with_returns else None,
        })  # fmt: skip
    return _frame(rows)


def test_wilson_interval_matches_its_closed_forms() -> None:
    z = analytics.Z95
    lo, hi = analytics.wilson(np.array([0, 10, 50]), np.array([20, 10, 100]))
    assert lo[0] == pytest.approx(0.0, abs=1e-12) and hi[0] == pytest.approx(z**2 / (20 + z**2))
    assert hi[1] == pytest.approx(1.0) and lo[1] == pytest.approx(10 / (10 + z**2))
    assert lo[2] < 0.5 < hi[2] and (hi[2] - 0.5) == pytest.approx(0.5 - lo[2])


@pytest.mark.parametrize("by", ["item", "brand", "category", "size"])
def test_rates_by_group_equal_direct_counts(by: analytics.GroupBy) -> None:
    frame = _shop()
    table = analytics.rates_by(frame, by).set_index(analytics.GROUP_COLUMNS[by])
    key = frame[analytics.GROUP_COLUMNS[by]].fillna(analytics.UNKNOWN)
    for value, group in frame.groupby(key):
        row = table.loc[value]
        assert row["orders"] == len(group)
        assert row["small"] == (group["fit"] == "small").sum()
        assert row["large"] == (group["fit"] == "large").sum()
        assert row["rate"] == pytest.approx(group["fit"].isin(["small", "large"]).mean())
        assert row["ci_low"] <= row["rate"] <= row["ci_high"]
    assert set(table["basis"]) == {"fit_feedback"}


def test_returns_take_precedence_over_fit_feedback_and_say_so() -> None:
    frame = _shop(with_returns=True)
    frame.loc[frame.index[:30], "return_reason"] = None  # kept orders: no fit return, whatever the feedback
    table = analytics.rates_by(frame, "item").set_index("item_id")
    assert set(table["basis"]) == {"returns"}
    for item, group in frame.groupby("item_id"):
        assert table.loc[item, "fit_returns"] == group["return_reason"].isin(["too_small", "too_large"]).sum()
        assert table.loc[item, "orders"] == len(group)
    assert analytics.summary(frame)["basis"] == "returns"


def test_monthly_trend_counts_each_month() -> None:
    frame = _shop()
    trend = analytics.monthly_trend(frame).set_index("month")
    months = frame["ordered_at"].dt.to_period("M").dt.start_time
    for month, group in frame.groupby(months):
        assert trend.loc[month, "orders"] == len(group)
        assert trend.loc[month, "small"] == (group["fit"] == "small").sum()


def test_size_offset_rates_count_each_step_from_the_usual_size() -> None:
    orders = [("a", 8, "fit"), ("a", 8, "small"), ("a", 8, "fit"), ("a", 12, "large"), ("b", 4, "large"),
              ("b", 6, "fit"), ("b", 6, "small"), ("c", 10, "small"), ("c", 30, "fit")]  # fmt: skip
    frame = _frame([{"order_id": f"o{i}", "shopper_id": s, "item_id": "x", "size": str(z), "size_num": z,
                     "fit": f} for i, (s, z, f) in enumerate(orders)])  # fmt: skip
    table = analytics.rates_by_size_offset(frame).set_index("offset")  # c has only two orders
    assert table["orders"].to_dict() == {-2: 1, 0: 5, 4: 1}
    assert table["small"].to_dict() == {-2: 0, 0: 2, 4: 0}
    assert table["large"].to_dict() == {-2: 1, 0: 0, 4: 1}
    assert table.loc[0, "small_rate"] == pytest.approx(0.4)
    wide = analytics.rates_by_size_offset(frame, min_history=2, clip=6).set_index("offset")
    assert wide.loc[-6, "orders"] == 1 and wide.loc[6, "small"] == 0 and wide.loc[-6, "small"] == 1
    with pytest.raises(ValueError, match="min_history"):
        analytics.rates_by_size_offset(frame, min_history=1)


def test_size_chart_issues_find_non_increasing_charts_and_brand_disagreement() -> None:
    charts = pd.DataFrame(
        [
            ("i1", None, "S", "bust_girth", 86.0), ("i1", None, "M", "bust_girth", 85.0),
            ("i1", None, "L", "bust_girth", 96.0), ("i2", None, "M", "bust_girth", 92.0),
            ("i3", None, "S", "bust_girth", 80.0), ("i3", None, "M", "bust_girth", 84.0),
            (None, "other", "8", "waist_girth", 70.0), (None, "other", "10", "waist_girth", 75.0),
        ],
        columns=["item_id", "brand", "size", "measurement", "cm"],
    )  # fmt: skip
    brands = pd.Series({"i1": "acme", "i2": "acme", "i3": "solo"})
    issues = analytics.size_chart_issues(charts, item_brands=brands, tolerance_cm=4.0)
    not_increasing = issues[issues["issue"].str.startswith("not_increasing")]
    assert not_increasing[["item_id", "size"]].values.tolist() == [["i1", "M"]]
    disagree = issues[issues["issue"].str.startswith("brand_disagrees")]
    assert sorted(disagree["item_id"]) == ["i1", "i2"] and set(disagree["size"]) == {"M"}
    assert "i3" not in set(issues["item_id"]) and "other" not in set(issues["brand"].dropna())


def test_unknown_grouping_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="by="):
        analytics.rates_by(_shop(), "colour")  # type: ignore[arg-type]


def test_report_writes_tables_plots_and_one_self_contained_html(tmp_path: Path) -> None:
    frame = _shop(n=1200)
    tables = compute(frame, None, min_orders=20)
    written = write_report(tables, tmp_path, min_orders=20)
    for name, table in tables.tables.items():
        pd.testing.assert_frame_equal(pd.read_parquet(written[f"{name}.parquet"]), table, check_dtype=False)
        assert len(pd.read_csv(written[f"{name}.csv"])) == len(table)
    pngs = [p for n, p in written.items() if n.endswith(".png")]
    assert {p.stem for p in pngs} >= {"rate_by_category", "rate_by_size", "items_running", "monthly_trend",
                                       "rate_by_size_offset",
                                      "rate_by_brand"}  # fmt: skip
    for png in pngs:
        with Image.open(png) as im:
            assert im.format == "PNG" and im.width > 400 and im.height > 200
    page = written["report.html"].read_text()
    assert page.count("data:image/png;base64,") == len(pngs)
    assert "fit feedback" in page and "<table" in page


@pytest.mark.parametrize("with_returns", [False, True])
def test_duckdb_tables_equal_the_pandas_reference(with_returns: bool) -> None:
    """Every analytics table, on both bases, from DuckDB over the same lines as pandas."""
    frame = _shop(seed=3, n=1800, with_returns=with_returns)
    frame.loc[frame.index[::7], "ordered_at"] = pd.NaT
    reference, duck = compute(frame, None), compute(analytics_duckdb.Lines.frame(frame), None)
    assert duck.summary == reference.summary
    for name, table in reference.tables.items():
        pd.testing.assert_frame_equal(duck.tables[name], table, check_dtype=False, rtol=1e-9, obj=name)


def test_duckdb_filters_equal_the_pandas_filters() -> None:
    frame = _shop(n=900)
    where = analytics_duckdb.LineFilter(category="dress", since=pd.Timestamp("2024-02-01").date(),
                                        until=pd.Timestamp("2024-04-30").date())  # fmt: skip
    lines = analytics_duckdb.Lines.frame(frame, where)
    subset = where.apply(frame)
    assert 0 < len(subset) < len(frame)
    assert analytics_duckdb.summary(lines) == analytics.summary(subset)
    expected = analytics.rates_by(subset, "item")
    pd.testing.assert_frame_equal(analytics_duckdb.rates_by(lines, "item"), expected, check_dtype=False)


def test_parquet_folder_with_stored_usual_sizes_equals_the_pandas_reference(tmp_path: Path) -> None:
    """The snapshot path: month-partitioned Parquet in two chunks, usual sizes written beside it."""
    frame = _shop(seed=4, n=1200, with_returns=True)
    halves = [frame.iloc[:500], frame.iloc[500:]]
    export.write_partitioned(halves, tmp_path, "orders", export.ORDERS, month_of="ordered_at")
    cold = compute(analytics_duckdb.Lines.parquet(tmp_path), None)
    analytics_duckdb.add_history(tmp_path)
    warm = compute(analytics_duckdb.Lines.parquet(tmp_path), None)
    reference = compute(frame, None)
    for name, table in reference.tables.items():
        for tables in (cold, warm):
            pd.testing.assert_frame_equal(tables.tables[name], table, check_dtype=False, rtol=1e-9, obj=name)


def test_a_snapshots_database_file_gives_the_same_tables_through_the_shared_connection(
    tmp_path: Path,
) -> None:
    """The served path: the snapshot's lines copied into lines.duckdb, read through cursors on one
    read-only connection per process, filtered or not, equal the pandas reference."""
    frame = _shop(seed=5, n=1200, with_returns=True)
    export.write_partitioned([frame], tmp_path, "orders", export.ORDERS, month_of="ordered_at")
    analytics_duckdb.add_history(tmp_path)
    analytics_duckdb.write_database(tmp_path)
    assert (tmp_path / analytics_duckdb.DATABASE).is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no partial file is left"
    reference = compute(frame, None)
    for _ in range(2):  # the second time through the connection the first opened
        served = compute(analytics_duckdb.Lines.snapshot(tmp_path), None)
        assert served.summary == reference.summary
        for name, table in reference.tables.items():
            pd.testing.assert_frame_equal(served.tables[name], table, check_dtype=False, rtol=1e-9, obj=name)
    where = analytics_duckdb.LineFilter(category="dress", since=pd.Timestamp("2024-02-01").date())
    subset = where.apply(frame)
    assert 0 < len(subset) < len(frame)
    lines = analytics_duckdb.Lines.snapshot(tmp_path, where)
    assert analytics_duckdb.summary(lines) == analytics.summary(subset)
