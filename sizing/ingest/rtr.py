"""RentTheRunway (Misra et al., RecSys 2018) → canonical transactions.

Two inputs are accepted:
- the shipped structured Parquet (``data/renttherunway/renttherunway_structured_no_text.parquet``, or
  the data folder holding it), converted by :func:`sizing.datasets.load_rtr` so that training, evaluation
  and the database see exactly the same conversion;
- the original JSON-lines release (``renttherunway_final_data.json[.gz]``), whose free-text values
  ("5' 8\"", "137lbs", "34d") are parsed here into the same frame. ``order_id`` is
  ``rtr:<0-based record position>`` in both, so the two agree on the records they share.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from sizing.datasets import RTR_FILE, bust_girth_cm, load_rtr, rtr_size_steps
from sizing.ingest.report import ImportResult, ValidationReport
from sizing.ingest.units import bra_size, feet_inches_to_cm, pounds_to_kg
from sizing.ingest.validate import (
    Implausible,
    check_transactions,
    parse_each,
    read_json_lines,
    to_number,
    to_text,
)

log = logging.getLogger(__name__)

SOURCE = "rtr"
#: canonical column → RentTheRunway column in the structured Parquet
NAMES = {
    "shopper_id": "user_id",
    "item_id": "item_id",
    "size": "size",
    "size_num": "size",
    "ordered_at": "review_date",
    "stature_cm": "height_in",
    "body_mass_kg": "weight_lbs",
    "bust_girth_cm": "bust_size_num",
    "bra_band": "bust_size_num",
    "cup": "bust_size_letter",
    "body_type": "body_type",
    "age_years": "age",
    "rented_for": "rented_for",
}
#: where the JSON-lines release differs from the Parquet column names
JSON_NAMES = {
    "stature_cm": "height",
    "body_mass_kg": "weight",
    "bust_girth_cm": "bust size",
    "bra_band": "bust size",
    "cup": "bust size",
    "body_type": "body type",
    "rented_for": "rented for",
}


def read_rtr(path: Path, *, implausible: Implausible = "drop") -> ImportResult:
    """Parse and validate RentTheRunway data (row = 1-based record number in the file)."""
    path = Path(path)
    if path.is_dir() and (path / RTR_FILE.name).is_file():
        path = path / RTR_FILE.name
    if path.is_dir():
        frame = load_rtr(path)
        source = path / RTR_FILE
    elif path.name == RTR_FILE.name and path.parent.name == RTR_FILE.parent.name:
        frame = load_rtr(path.parent.parent)
        source = path
    elif path.name.endswith((".json", ".json.gz", ".jsonl")):
        if not path.is_file():
            raise FileNotFoundError(f"RentTheRunway file {path} does not exist")
        return _read_json(path, implausible)
    else:
        raise ValueError(
            f"RentTheRunway path {path} must be the data folder, .../{RTR_FILE} or a JSON-lines file"
        )
    report = ValidationReport(source=str(source), n_rows=len(frame))
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame = check_transactions(frame, report, names=NAMES, implausible=implausible)
    log.info("%s", report.summary())
    return ImportResult("transactions", frame, report)


def _read_json(path: Path, implausible: Implausible) -> ImportResult:
    report = ValidationReport(source=str(path))
    records = read_json_lines(path, report)
    keys = ["user_id", "item_id", "size", "review_date", "height", "weight", "bust size", "body type",
            "age", "category", "rented for", "fit", "rating", "review_text"]  # fmt: skip
    raw = pd.DataFrame.from_dict(records, orient="index").reindex(columns=keys)
    size_num = to_number(raw["size"], "size", report)
    bust = to_text(raw["bust size"])
    band = parse_each(bust, lambda t: bra_size(t)[0], "bust size", report)
    cup = bust.map(lambda t: bra_size(t)[1] if _parses(t) else None, na_action="ignore")
    dates = pd.to_datetime(to_text(raw["review_date"]), format="%B %d, %Y", errors="coerce")
    for row, value in raw["review_date"][raw["review_date"].notna() & dates.isna()].items():
        report.error(int(row), "review_date", "not a date such as 'April 20, 2016'", value)
    frame = pd.DataFrame(
        {
            "order_id": SOURCE + ":" + pd.Series(raw.index - 1, index=raw.index).astype(str),
            "shopper_id": SOURCE + ":" + to_text(raw["user_id"]),
            "item_id": SOURCE + ":" + to_text(raw["item_id"]),
            "size": size_num.map(lambda v: f"{v:g}", na_action="ignore"),
            "size_num": rtr_size_steps(size_num, to_text(raw["category"])),
            "ordered_at": dates,
            "source": SOURCE,
            "stature_cm": parse_each(raw["height"], feet_inches_to_cm, "height", report),
            "body_mass_kg": parse_each(raw["weight"], pounds_to_kg, "weight", report),
            "bust_girth_cm": bust_girth_cm(band, cup.astype("object")),
            "bra_band": band,
            "cup": cup,
            "body_type": to_text(raw["body type"]),
            "age_years": to_number(raw["age"], "age", report),
            "category": to_text(raw["category"]),
            "rented_for": to_text(raw["rented for"]),
            "fit": to_text(raw["fit"]).str.lower(),
            "rating": to_number(raw["rating"], "rating", report),
            "review_text": to_text(raw["review_text"]),
        },
        index=raw.index,
    )
    names = {**NAMES, **JSON_NAMES}
    frame = check_transactions(frame, report, names=names, implausible=implausible)
    log.info("%s", report.summary())
    return ImportResult("transactions", frame, report)


def _parses(text: str) -> bool:
    try:
        bra_size(text)
    except ValueError:
        return False
    return True
