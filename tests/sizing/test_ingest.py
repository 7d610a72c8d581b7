"""Importers: real fixtures parse into canonical frames; bad files get every problem by row and column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sizing.datasets import load_rtr
from sizing.ingest import read_source
from sizing.ingest.units import INCH_CM, POUND_KG
from sizing.scales import normalize
from sizing.schema import FIT_LABELS, TRANSACTION_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
MODCLOTH = DATA / "modcloth" / "modcloth_final_data_first100.json"
RTR_JSON = DATA / "renttherunway" / "renttherunway_final_data_first100.json"


def _error_cells(result) -> set[tuple[int | None, str]]:
    return {(p.row, p.column) for p in result.report.errors}


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


def test_modcloth_fixture_converts_every_record_to_canonical_units() -> None:
    raw = [json.loads(line) for line in MODCLOTH.read_text().splitlines() if line.strip()]
    result = read_source("modcloth", MODCLOTH)
    assert result.report.ok, str(result.report)
    frame = result.frame
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)
    assert len(frame) == len(raw)
    assert set(frame["fit"]) <= set(FIT_LABELS)
    for record, (_, row) in zip(raw, frame.iterrows(), strict=True):
        assert row["shopper_id"] == f"modcloth:{record['user_id']}"
        assert row["size"] == str(record["size"])
        point = normalize(str(record["size"]), category=record.get("category"), system="modcloth")
        assert point is not None and row["size_num"] == point.value
        if "height" in record:
            feet, _, rest = record["height"].partition("ft")
            inches = float(rest.replace("in", "").strip() or 0)
            assert row["stature_cm"] == pytest.approx((int(feet) * 12 + inches) * INCH_CM)
        if "waist" in record:
            assert row["waist_girth_cm"] == pytest.approx(float(record["waist"]) * INCH_CM)
        if "hips" in record:
            assert row["hip_girth_cm"] == pytest.approx(float(record["hips"]) * INCH_CM)
        if "bra size" in record:
            assert row["bra_band"] == float(record["bra size"])
        assert row["rating"] == float(record["quality"])


def test_rtr_json_release_agrees_with_the_shipped_parquet_on_shared_records() -> None:
    from_json = read_source("rtr", RTR_JSON)
    assert from_json.report.ok, str(from_json.report)
    parquet = load_rtr(DATA).head(len(from_json.frame))
    js = from_json.frame.reset_index(drop=True)
    for col in ("order_id", "shopper_id", "item_id", "size", "size_num", "fit", "category", "rented_for",
                "ordered_at"):  # fmt: skip
        assert js[col].tolist() == parquet[col].tolist(), col
    raw = [json.loads(line) for line in RTR_JSON.read_text().splitlines()]
    for record, (_, row) in zip(raw, js.iterrows(), strict=True):
        if "weight" in record:
            assert row["body_mass_kg"] == pytest.approx(
                float(record["weight"].removesuffix("lbs")) * POUND_KG
            )


def test_rtr_parquet_import_keeps_every_row_and_reports_implausible_values_as_warnings() -> None:
    result = read_source("rtr", DATA / "renttherunway" / "renttherunway_structured_no_text.parquet")
    raw = pd.read_parquet(DATA / "renttherunway" / "renttherunway_structured_no_text.parquet")
    assert result.report.ok
    assert len(result.frame) == len(raw)
    flagged = {(p.row, p.column) for p in result.report.warnings if p.column == "weight_lbs"}
    kg = raw["weight_lbs"] * POUND_KG
    expected = {(i + 1, "weight_lbs") for i in raw.index[(kg < 30) | (kg > 250)]}
    assert flagged == expected
    assert result.frame.loc[[r for r, _ in flagged], "body_mass_kg"].isna().all()


def test_rtr_size_codes_become_steps_on_their_category_scale() -> None:
    frame = load_rtr(DATA)
    for code, category, steps in (("1", "dress", 0.0), ("8", "gown", 2.0), ("28", "top", 7.0)):
        row = frame[(frame["size"] == code) & (frame["category"] == category)].iloc[0]
        assert row["size_num"] == steps
    assert frame["size_num"].notna().all()


def test_generic_order_labels_get_scale_steps_and_unknown_labels_are_reported(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "orders.csv",
        """
order_id,shopper_id,item_id,size,category
o1,s1,i1,8,dress
o2,s1,i2,M,top
o3,s1,i3,W30 L32,jeans
o4,s1,i4,160/84A,top
o5,s1,i5,One Size,scarf
""",
    )
    result = read_source("csv", path)
    assert result.report.ok, str(result.report)
    expected = [normalize(s, category=c) for s, c in [("8", "dress"), ("M", "top"), ("W30 L32", "jeans"),
                                                       ("160/84A", "top")]]  # fmt: skip
    assert result.frame["size_num"].iloc[:4].tolist() == [p.value for p in expected if p]
    assert np.isnan(result.frame["size_num"].iloc[4])
    assert [(p.row, p.column, p.severity) for p in result.report.problems] == [(5, "size", "warning")]
    assert "size_num" in result.report.problems[0].message


def test_orders_csv_with_several_problems_reports_each_by_row_and_column(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "orders.csv",
        """
order_id,shopper_id,item_id,size,ordered_at,stature_cm,body_mass_kg,fit,return_reason
o1,s1,i1,M,2024-01-05,170,65,fit,
o2,,i1,L,2024-13-40,170,65,snug,
o3,s2,i2,,2024-02-01,abc,400,large,too_large
o4,s3,i3,S,2024-02-01,1.70,60,small,lost
""",
    )
    result = read_source("csv", path, kind="orders")
    assert not result.report.ok
    assert _error_cells(result) == {
        (2, "shopper_id"),
        (2, "ordered_at"),
        (2, "fit"),
        (3, "size"),
        (3, "stature_cm"),
        (3, "body_mass_kg"),
        (4, "stature_cm"),
        (4, "return_reason"),
    }
    messages = {(p.row, p.column): p.message for p in result.report.errors}
    assert "120–220 cm" in messages[(4, "stature_cm")]
    assert "small, fit, large" in messages[(2, "fit")]


def test_implausible_measurements_can_be_dropped_instead_of_rejected(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "orders.csv", "order_id,shopper_id,item_id,size,stature_cm\no1,s1,i1,M,1.7\n"
    )
    assert not read_source("csv", path).report.ok
    dropped = read_source("csv", path, implausible="drop")
    assert dropped.report.ok
    assert [(p.row, p.column, p.severity) for p in dropped.report.problems] == [(1, "stature_cm", "warning")]
    assert dropped.frame["stature_cm"].isna().all()


def test_missing_required_column_is_named_once(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "orders.csv", "order_id,item_id,size\no1,i1,M\no2,i1,L\n")
    result = read_source("csv", path)
    assert _error_cells(result) == {(None, "shopper_id")}


def test_duplicate_rows_collapse_to_the_last_and_are_noted(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "orders.csv",
        "order_id,shopper_id,item_id,size,fit\no1,s1,i1,M,fit\no2,s1,i2,L,small\no1,s1,i1,M,large\n",
    )
    result = read_source("csv", path)
    assert result.report.ok
    assert sorted(result.frame["order_id"]) == ["o1", "o2"]
    assert result.frame.set_index("order_id").loc["o1", "fit"] == "large"
    assert [(p.row, p.severity) for p in result.report.problems] == [(1, "warning")]


def test_modcloth_bad_lines_are_reported_by_line_and_key(tmp_path: Path) -> None:
    good = MODCLOTH.read_text().splitlines()[0]
    record = json.loads(good)
    lines = [
        good,
        "{not json",
        json.dumps({**record, "height": "five feet"}),
        json.dumps({**record, "fit": "tight", "waist": "thirty"}),
        json.dumps({k: v for k, v in record.items() if k != "user_id"}),
    ]
    path = tmp_path / "modcloth.json"
    path.write_text("\n".join(lines) + "\n")
    result = read_source("modcloth", path)
    assert _error_cells(result) == {
        (2, "<line>"),
        (3, "height"),
        (4, "fit"),
        (4, "waist"),
        (5, "user_id"),
    }


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (
            "returns",
            "order_id,reason,returned_at\no1,too_small,2024-01-01\n,too_large,\no3,lost,yesterday\n",
            {(2, "order_id"), (3, "reason"), (3, "returned_at")},
        ),
        (
            "reviews",
            "order_id,fit,rating\no1,fit,5\no2,huge,4\no3,small,11\no4,large,great\n",
            {(2, "fit"), (3, "rating"), (4, "rating")},
        ),
        (
            "size_charts",
            "item_id,brand,size,measurement,cm\ni1,,S,bust_girth,86\n,,M,bust_girth,90\ni1,,L,,94\ni1,,XL,bust_girth,0\n",
            {(2, "item_id/brand"), (3, "measurement"), (4, "cm")},
        ),
    ],
)
def test_generic_kinds_report_every_bad_cell(tmp_path: Path, kind: str, text: str, expected: set) -> None:
    result = read_source("csv", _write_csv(tmp_path / f"{kind}.csv", text), kind=kind)
    assert _error_cells(result) == expected


def test_parquet_orders_read_like_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"order_id": ["a", "b"], "shopper_id": ["s", "s"], "item_id": ["i", "j"], "size": ["8", "10"],
         "ordered_at": pd.to_datetime(["2024-01-01", "2024-02-01"]), "fit": ["fit", "small"]}
    )  # fmt: skip
    frame.to_parquet(tmp_path / "orders.parquet")
    result = read_source("parquet", tmp_path / "orders.parquet", kind="orders", source="shop")
    assert result.report.ok, str(result.report)
    assert result.frame["size_num"].tolist() == [4.0, 5.0]  # US 8 and 10 on the dress scale
    assert set(result.frame["source"]) == {"shop"}
    assert result.frame["ordered_at"].tolist() == frame["ordered_at"].tolist()


def test_wrong_suffix_and_missing_file_raise_naming_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--format csv"):
        read_source("csv", MODCLOTH)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_source("modcloth", tmp_path / "absent.json")
    with pytest.raises(ValueError, match="kind"):
        read_source("csv", _write_csv(tmp_path / "x.csv", "a\n1\n"), kind="invoices")


def test_empty_and_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_source("csv", tmp_path / "empty.csv")
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="cannot be read as parquet"):
        read_source("parquet", tmp_path / "fake.parquet")
    (tmp_path / "empty.json").write_text("")
    for fmt in ("modcloth", "rtr"):
        result = read_source(fmt, tmp_path / "empty.json")
        assert _error_cells(result) == {(None, "<file>")}


def test_reading_a_file_twice_gives_the_same_ids_and_rows() -> None:
    """Ids are derived from the data, not from the run, so a re-import upserts instead of duplicating."""
    first, second = read_source("modcloth", MODCLOTH), read_source("modcloth", MODCLOTH)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert first.frame["order_id"].is_unique
