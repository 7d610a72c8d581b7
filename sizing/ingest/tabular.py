"""Generic CSV or Parquet files of orders, returns, reviews and size charts → canonical frames.

Column names are matched case-insensitively; units are canonical (cm, kg, years); dates are ISO 8601.
Unknown columns are ignored with a warning. Row numbers in reports count data records from 1
(in a CSV file, record 1 is on line 2, under the header).

``orders`` (one row per order line)
    required: ``order_id``, ``shopper_id``, ``item_id``, ``size``
    optional: ``ordered_at``, ``size_num`` (else the label's position on its category's size scale,
    :mod:`sizing.scales`; an unrecognised label is a warning for its row), ``brand``, ``category``,
    ``rented_for``, shopper facts ``stature_cm``, ``body_mass_kg``, ``bust_girth_cm``, ``waist_girth_cm``,
    ``hip_girth_cm``, ``bra_band``, ``cup``, ``body_type``, ``age_years``, and outcomes ``fit``
    (small|fit|large), ``return_reason``, ``rating`` (0–10), ``review_text``
``returns``
    required: ``order_id``, ``reason`` (too_small|too_large|style|quality|other); optional: ``returned_at``
``reviews``
    required: ``order_id``; optional: ``fit`` (small|fit|large), ``rating`` (0–10), ``review_text``,
    ``reviewed_at``
``size_charts`` (one row per size and body measurement)
    required: ``size``, ``measurement`` (e.g. ``bust_girth``), ``cm``, and ``item_id`` or ``brand`` (or both)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa

from sizing.ingest.report import ImportKind, ImportResult, ValidationReport
from sizing.ingest.validate import (
    Implausible,
    check_choices,
    check_lengths,
    check_ranges,
    check_required,
    check_transactions,
    conform,
    dedupe,
    to_datetime,
    to_number,
    to_text,
)
from sizing.scales import normalize_many
from sizing.schema import FIT_LABELS, RETURN_REASONS, SHOPPER_COLUMNS, SHOPPER_NUMERIC

log = logging.getLogger(__name__)

COLUMNS: Final[dict[ImportKind, tuple[str, ...]]] = {
    "transactions": (
        "order_id",
        "shopper_id",
        "item_id",
        "size",
        "size_num",
        "ordered_at",
        "source",
        "brand",
        "category",
        "rented_for",
        *SHOPPER_COLUMNS,
        "fit",
        "return_reason",
        "rating",
        "review_text",
    ),
    "returns": ("order_id", "reason", "returned_at"),
    "reviews": ("order_id", "fit", "rating", "review_text", "reviewed_at"),
    "size_charts": ("item_id", "brand", "size", "measurement", "cm"),
}
#: user-facing kind names (the CLI's ``--kind``) → internal kinds
KINDS: Final[dict[str, ImportKind]] = {
    "orders": "transactions",
    "returns": "returns",
    "reviews": "reviews",
    "size_charts": "size_charts",
}


def read_table(
    path: Path, kind: str, *, source: str = "generic", implausible: Implausible = "error"
) -> ImportResult:
    """Read, parse and validate one CSV (``.csv``/``.csv.gz``) or Parquet (``.parquet``) file of ``kind``."""
    path = Path(path)
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file {path} does not exist")
    raw = _read(path)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    report = ValidationReport(source=str(path), n_rows=len(raw))
    internal = KINDS[kind]
    for col in raw.columns:
        if col not in COLUMNS[internal]:
            report.warning(
                None, col, f"unknown column for {kind}; ignored (see the expected columns in the README)"
            )
    if raw.columns.duplicated().any():
        for col in raw.columns[raw.columns.duplicated()]:
            report.error(None, col, "column appears more than once")
        return ImportResult(internal, pd.DataFrame(), report)
    parse = {"transactions": _orders, "returns": _returns, "reviews": _reviews, "size_charts": _size_charts}
    frame = parse[internal](raw, report, source, implausible)
    log.info("%s", report.summary())
    return ImportResult(internal, frame, report)


def _read(path: Path) -> pd.DataFrame:
    """The file as a frame; an unreadable file is a ValueError naming it (never a traceback)."""
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"file {path} is empty: expected a header row") from exc
    except (pd.errors.ParserError, pa.ArrowException, OSError) as exc:
        raise ValueError(f"file {path} cannot be read as {name.rsplit('.', 1)[-1]}: {exc}") from exc
    raise ValueError(f"file {path} must end in .csv, .csv.gz or .parquet")


def _col(raw: pd.DataFrame, name: str) -> pd.Series:
    return raw[name] if name in raw.columns else pd.Series(pd.NA, index=raw.index, dtype="object")


def _require(raw: pd.DataFrame, columns: tuple[str, ...], report: ValidationReport) -> None:
    """Required columns exist and are filled in (judged on the raw text, before parsing)."""
    check_required(
        pd.DataFrame({c: to_text(raw[c]) for c in columns if c in raw.columns}, index=raw.index),
        columns,
        report,
        {},
    )


def _orders(
    raw: pd.DataFrame, report: ValidationReport, source: str, implausible: Implausible
) -> pd.DataFrame:
    frame = pd.DataFrame(index=raw.index)
    for col in (
        "order_id",
        "shopper_id",
        "item_id",
        "size",
        "brand",
        "category",
        "rented_for",
        "cup",
        "body_type",
        "review_text",
    ):
        if col in raw.columns:
            frame[col] = to_text(raw[col])
    for col in ("fit", "return_reason"):
        if col in raw.columns:
            frame[col] = to_text(raw[col]).str.lower()
    for col in (*SHOPPER_NUMERIC, "rating"):
        if col in raw.columns:
            frame[col] = to_number(raw[col], col, report)
    if "size_num" in raw.columns:
        frame["size_num"] = to_number(raw["size_num"], "size_num", report)
    elif "size" in frame.columns:
        frame["size_num"] = _size_steps(frame["size"], _col(frame, "category"), report)
    if "ordered_at" in raw.columns:
        frame["ordered_at"] = to_datetime(raw["ordered_at"], "ordered_at", report)
    frame["source"] = to_text(_col(raw, "source")).fillna(source)
    return check_transactions(frame, report, implausible=implausible)


def _size_steps(size: pd.Series, category: pd.Series, report: ValidationReport) -> pd.Series:
    """Size labels as steps on their category's scale; an unrecognised label is reported by row and
    left without a number (the order line still imports, but no size-based model can use it)."""
    values, _ = normalize_many(size.astype("object").where(size.notna(), None), category.astype("object"))
    steps = pd.Series(values, index=size.index)
    for row, label in size[size.notna() & steps.isna()].items():
        report.warning(
            int(row), "size", "label not on any size scale (see docs/sizes.md); give size_num", label
        )
    return steps


def _returns(raw: pd.DataFrame, report: ValidationReport, _source: str, _imp: Implausible) -> pd.DataFrame:
    frame = pd.DataFrame(index=raw.index)
    frame["order_id"] = to_text(_col(raw, "order_id"))
    frame["reason"] = to_text(_col(raw, "reason")).str.lower()
    frame["returned_at"] = to_datetime(_col(raw, "returned_at"), "returned_at", report)
    _require(raw, ("order_id", "reason"), report)
    check_choices(frame, "reason", RETURN_REASONS, report, {})
    check_lengths(frame, report, {})
    return dedupe(conform(frame), ["order_id"], report, {})


def _reviews(raw: pd.DataFrame, report: ValidationReport, _source: str, _imp: Implausible) -> pd.DataFrame:
    frame = pd.DataFrame(index=raw.index)
    frame["order_id"] = to_text(_col(raw, "order_id"))
    frame["fit"] = to_text(_col(raw, "fit")).str.lower()
    frame["rating"] = to_number(_col(raw, "rating"), "rating", report)
    frame["review_text"] = to_text(_col(raw, "review_text"))
    frame["reviewed_at"] = to_datetime(_col(raw, "reviewed_at"), "reviewed_at", report)
    _require(raw, ("order_id",), report)
    check_choices(frame, "fit", FIT_LABELS, report, {})
    check_lengths(frame, report, {})
    frame = check_ranges(frame, report, {}, "error")
    return dedupe(conform(frame), ["order_id"], report, {})


def _size_charts(
    raw: pd.DataFrame, report: ValidationReport, _source: str, _imp: Implausible
) -> pd.DataFrame:
    frame = pd.DataFrame(index=raw.index)
    for col in ("item_id", "brand", "size", "measurement"):
        frame[col] = to_text(_col(raw, col))
    frame["measurement"] = frame["measurement"].str.lower()
    frame["cm"] = to_number(_col(raw, "cm"), "cm", report)
    _require(raw, ("size", "measurement", "cm"), report)
    for row in frame.index[frame["item_id"].isna() & frame["brand"].isna()]:
        report.error(int(row), "item_id/brand", "a size chart row needs an item_id or a brand")
    check_lengths(frame, report, {})
    frame = check_ranges(frame, report, {}, "error")
    return dedupe(conform(frame), ["item_id", "brand", "size", "measurement"], report, {})
