"""Checks every importer shares: parse raw columns and validate canonical frames, reporting each bad cell.

Convention: a frame's index is the 1-based record number in the source file, so a problem found on a
canonical column can still name the row (and, through ``names``, the column) the person must fix.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from sizing.ingest.report import ValidationReport
from sizing.schema import BODY_RANGES, FIT_LABELS, RETURN_REASONS, SHOPPER_COLUMNS, TRANSACTION_COLUMNS

#: What to do with a body measurement outside the human range: reject the file, or report it and
#: set it to missing (public datasets carry self-reported typos such as age 0 or 117).
Implausible = Literal["error", "drop"]

#: plausible ranges of canonical numeric columns (inclusive), with their unit
RANGES: Final[dict[str, tuple[float, float, str]]] = {
    **BODY_RANGES,
    "size_num": (-10.0, 100.0, "size number"),
    "rating": (0.0, 10.0, "points"),
    "cm": (1.0, 300.0, "cm"),
}
BODY_COLUMNS: Final = frozenset(c for c in SHOPPER_COLUMNS if c in RANGES)

#: longest text each canonical column may hold (the database column widths)
MAX_LENGTH: Final[dict[str, int]] = {
    "order_id": 64,
    "shopper_id": 64,
    "item_id": 64,
    "size": 32,
    "source": 32,
    "cup": 8,
    "body_type": 32,
    "category": 64,
    "brand": 128,
    "rented_for": 64,
    "measurement": 64,
}

REQUIRED_TRANSACTION: Final = ("order_id", "shopper_id", "item_id", "size")


def to_number(raw: pd.Series, column: str, report: ValidationReport) -> pd.Series:
    """Parse numbers; every non-empty cell that is not a number is an error naming its row."""
    values = pd.to_numeric(_blank_to_na(raw), errors="coerce").astype("float64")
    bad = raw.notna() & (_blank_to_na(raw).notna()) & values.isna()
    for row, value in raw[bad].items():
        report.error(_row(row), column, "not a number", value)
    return values


def to_datetime(raw: pd.Series, column: str, report: ValidationReport) -> pd.Series:
    """Parse ISO-8601 dates or datetimes into naive UTC; anything else is an error naming its row."""
    cleaned = _blank_to_na(raw)
    if pd.api.types.is_datetime64_any_dtype(cleaned):
        values = cleaned
    else:
        values = pd.to_datetime(cleaned.astype("string"), errors="coerce", format="ISO8601", utc=True)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    for row, value in raw[cleaned.notna() & values.isna()].items():
        report.error(_row(row), column, "not an ISO-8601 date (YYYY-MM-DD[THH:MM:SS])", value)
    return values.astype("datetime64[us]")


def to_text(raw: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; empty cells become missing."""
    text = raw.astype("string").str.strip()
    return text.mask(text == "", pd.NA)


def check_required(
    frame: pd.DataFrame, columns: tuple[str, ...], report: ValidationReport, names: Mapping[str, str]
) -> None:
    """Every listed column exists and is filled in on every row."""
    for col in columns:
        if col not in frame.columns:
            report.error(None, names.get(col, col), "required column is missing")
            continue
        for row in frame.index[frame[col].isna()]:
            report.error(_row(row), names.get(col, col), "required value is empty")


def check_choices(
    frame: pd.DataFrame,
    column: str,
    choices: tuple[str, ...],
    report: ValidationReport,
    names: Mapping[str, str],
) -> None:
    """Non-empty values must be one of ``choices`` (compared in lower case)."""
    if column not in frame.columns:
        return
    values = frame[column]
    bad = values.notna() & ~values.isin(choices)
    for row, value in values[bad].items():
        report.error(_row(row), names.get(column, column), f"must be one of {', '.join(choices)}", value)


def check_lengths(frame: pd.DataFrame, report: ValidationReport, names: Mapping[str, str]) -> None:
    """Text must fit its database column."""
    for col, limit in MAX_LENGTH.items():
        if col not in frame.columns:
            continue
        lengths = frame[col].astype("string").str.len()
        for row, value in frame[col][lengths > limit].items():
            report.error(_row(row), names.get(col, col), f"longer than {limit} characters", value)


def check_ranges(
    frame: pd.DataFrame, report: ValidationReport, names: Mapping[str, str], implausible: Implausible
) -> pd.DataFrame:
    """Numbers outside their plausible range: errors, or (``drop``) warnings with the value set to missing.

    ``drop`` applies to body measurements only; other numbers out of range are always errors.
    """
    out = frame.copy()
    for col, (lo, hi, unit) in RANGES.items():
        if col not in out.columns:
            continue
        values = out[col]
        bad = values.notna() & ((values < lo) | (values > hi) | ~np.isfinite(values.astype("float64")))
        if not bad.any():
            continue
        drop = implausible == "drop" and col in BODY_COLUMNS
        for row, value in values[bad].items():
            message = f"{value:.4g} {unit} is outside the plausible range {lo:g}–{hi:g} {unit}"
            if drop:
                report.warning(_row(row), names.get(col, col), message + "; set to missing", value)
            else:
                report.error(_row(row), names.get(col, col), message, value)
        if drop:
            out.loc[bad, col] = np.nan
    return out


def dedupe(
    frame: pd.DataFrame, key: list[str], report: ValidationReport, names: Mapping[str, str]
) -> pd.DataFrame:
    """Keep the last row of each key (a re-sent row replaces the earlier one) and note the others."""
    dup = frame.duplicated(subset=key, keep="last")
    label = "+".join(names.get(k, k) for k in key)
    for row in frame.index[dup]:
        report.warning(_row(row), label, "duplicate key; a later row replaces this one")
    return frame[~dup]


def check_transactions(
    frame: pd.DataFrame,
    report: ValidationReport,
    *,
    names: Mapping[str, str] | None = None,
    implausible: Implausible = "error",
    required: tuple[str, ...] = REQUIRED_TRANSACTION,
) -> pd.DataFrame:
    """Validate a canonical transaction frame and return it cleaned, deduplicated and complete.

    Missing optional columns are added as empty, so every importer returns exactly
    ``TRANSACTION_COLUMNS``; the index stays the source record number.
    """
    names = names or {}
    check_required(frame, required, report, names)
    check_choices(frame, "fit", FIT_LABELS, report, names)
    check_choices(frame, "return_reason", RETURN_REASONS, report, names)
    check_lengths(frame, report, names)
    out = check_ranges(frame, report, names, implausible)
    for col in TRANSACTION_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out = conform(out[list(TRANSACTION_COLUMNS)])
    if "order_id" in frame.columns:
        out = dedupe(out, ["order_id"], report, names)
    return out


def _blank_to_na(raw: pd.Series) -> pd.Series:
    if raw.dtype.kind in "biufcM":
        return raw
    text = raw.astype("string").str.strip()
    return text.mask(text == "", pd.NA)


def _row(index_value: object) -> int | None:
    try:
        return int(index_value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


TEXT_COLUMNS: Final = frozenset(
    {
        "order_id",
        "shopper_id",
        "item_id",
        "size",
        "source",
        "cup",
        "body_type",
        "category",
        "brand",
        "rented_for",
        "fit",
        "return_reason",
        "review_text",
    }
)


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Give canonical columns their canonical dtypes (text ``str``, numbers float64, times datetime64[us])."""
    out = frame.copy()
    for col in out.columns:
        if col in TEXT_COLUMNS:
            out[col] = out[col].astype("str")
        elif col == "ordered_at":
            values = out[col] if out[col].dtype.kind == "M" else pd.to_datetime(out[col], format="ISO8601")
            out[col] = values.astype("datetime64[us]")
        elif col in RANGES:
            out[col] = pd.to_numeric(out[col]).astype("float64")
    return out


def parse_each(
    raw: pd.Series, parse: Callable[[str], float], column: str, report: ValidationReport
) -> pd.Series:
    """Apply a text parser (e.g. ``5ft 6in`` → cm) to each non-empty cell; failures are errors by row."""
    out = pd.Series(np.nan, index=raw.index, dtype="float64")
    for row, value in _blank_to_na(raw).dropna().items():
        try:
            out[row] = parse(str(value))
        except ValueError as exc:
            report.error(_row(row), column, str(exc), value)
    return out


def read_json_lines(path: Path, report: ValidationReport) -> dict[int, dict[str, object]]:
    """The JSON objects of a (possibly gzipped) JSON-lines file, keyed by line number; every bad line
    is reported, blank lines are skipped, and ``report.n_rows`` counts the non-blank lines."""
    opener = gzip.open if path.name.endswith(".gz") else open
    records: dict[int, dict[str, object]] = {}
    bad = 0
    with opener(path, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.error(line_no, "<line>", f"not valid JSON: {exc.msg}", line.strip())
                bad += 1
                continue
            if not isinstance(record, dict):
                report.error(line_no, "<line>", "not a JSON object", line.strip())
                bad += 1
                continue
            records[line_no] = record
    report.n_rows = len(records) + bad
    if report.n_rows == 0:
        report.error(None, "<file>", "no records: the file is empty")
    return records
