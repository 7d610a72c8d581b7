"""ModCloth (Misra et al., RecSys 2018) JSON lines → canonical transactions.

Each line is one purchase with its fit feedback. Keys absent from a record mean "missing". Imperial
values are converted here: ``height`` "5ft 6in" → cm, ``waist``/``hips``/``bust`` inches → cm,
``bra size`` → band, ``cup size`` → cup; ``size`` (ModCloth's own code) is kept as the label and
placed on the category's size scale as ``size_num`` (:mod:`sizing.scales`). ``quality`` (1–5) is the
rating, an outcome. ``user_name``, ``length`` and shoe fields are not imported (not needed; the name
is personal data).

The source has no order id, so one is derived from user, item and size: importing the same purchase
twice, or the same file again, updates rather than duplicates.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from sizing.ingest.report import ImportResult, ValidationReport
from sizing.ingest.units import bra_size, feet_inches_to_cm, inches_to_cm
from sizing.ingest.validate import (
    Implausible,
    check_transactions,
    parse_each,
    read_json_lines,
    to_number,
    to_text,
)
from sizing.scales import normalize_many

log = logging.getLogger(__name__)

SOURCE = "modcloth"
#: canonical column → the ModCloth key it comes from (for problem reports)
NAMES = {
    "shopper_id": "user_id",
    "item_id": "item_id",
    "size": "size",
    "size_num": "size",
    "fit": "fit",
    "rating": "quality",
    "category": "category",
    "stature_cm": "height",
    "waist_girth_cm": "waist",
    "hip_girth_cm": "hips",
    "bust_girth_cm": "bust",
    "bra_band": "bra size",
    "cup": "cup size",
}
#: the order id is derived from these, so only they are checked for presence
REQUIRED = ("shopper_id", "item_id", "size")


def read_modcloth(path: Path, *, implausible: Implausible = "drop") -> ImportResult:
    """Parse and validate a ModCloth JSON-lines file (row = line number)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ModCloth file {path} does not exist")
    report = ValidationReport(source=str(path))
    records = read_json_lines(path, report)
    raw = pd.DataFrame.from_dict(records, orient="index")
    raw = raw.reindex(columns=sorted(set(raw.columns) | set(NAMES.values())))
    frame = _canonical(raw, report)
    frame = check_transactions(frame, report, names=NAMES, implausible=implausible, required=REQUIRED)
    log.info("%s", report.summary())
    return ImportResult("transactions", frame, report)


def _canonical(raw: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    user, item = to_text(raw["user_id"]), to_text(raw["item_id"])
    size_num = to_number(raw["size"], "size", report)
    size = size_num.map(lambda v: f"{v:g}", na_action="ignore").astype("str")
    band_cup = raw["bra size"]
    frame = pd.DataFrame(index=raw.index)
    frame["order_id"] = SOURCE + ":" + user + ":" + item + ":" + size
    frame["shopper_id"] = SOURCE + ":" + user
    frame["item_id"] = SOURCE + ":" + item
    frame["size"] = size
    frame["size_num"] = normalize_many(size, to_text(raw["category"]), system="modcloth")[0]
    frame["ordered_at"] = pd.NaT
    frame["source"] = SOURCE
    frame["stature_cm"] = parse_each(raw["height"], feet_inches_to_cm, "height", report)
    frame["waist_girth_cm"] = parse_each(raw["waist"], inches_to_cm, "waist", report)
    frame["hip_girth_cm"] = parse_each(raw["hips"], inches_to_cm, "hips", report)
    frame["bust_girth_cm"] = parse_each(raw["bust"], inches_to_cm, "bust", report)
    frame["bra_band"] = parse_each(band_cup, lambda t: bra_size(t)[0], "bra size", report)
    frame["cup"] = to_text(raw["cup size"]).str.lower()
    frame["category"] = to_text(raw["category"])
    frame["fit"] = to_text(raw["fit"]).str.lower()
    frame["rating"] = to_number(raw["quality"], "quality", report)
    return frame
