"""The canonical transaction frame every importer produces and every model step consumes.

One row is one order line, joined with what we know of its shopper and item, and with its outcome
(fit feedback and/or a return). Columns marked *outcome* are known only after delivery and must never
become model features (``OUTCOME_COLUMNS``); tests enforce that.
"""

from __future__ import annotations

from typing import Final, Literal

FitLabel = Literal["small", "fit", "large"]
FIT_LABELS: Final[tuple[FitLabel, ...]] = ("small", "fit", "large")
ReturnReason = Literal["too_small", "too_large", "style", "quality", "other"]
RETURN_REASONS: Final[tuple[ReturnReason, ...]] = ("too_small", "too_large", "style", "quality", "other")

#: identity and ordering
KEY_COLUMNS: Final = ("order_id", "shopper_id", "item_id", "size", "size_num", "ordered_at", "source")
#: shopper facts (cm, kg, years), known before the order
SHOPPER_COLUMNS: Final = (
    "stature_cm",
    "body_mass_kg",
    "bust_girth_cm",
    "waist_girth_cm",
    "hip_girth_cm",
    "bra_band",
    "cup",
    "body_type",
    "age_years",
)
#: the numeric shopper facts, in the same order
SHOPPER_NUMERIC: Final = tuple(c for c in SHOPPER_COLUMNS if c not in ("cup", "body_type"))
#: item facts, known before the order
ITEM_COLUMNS: Final = ("category", "brand", "rented_for")
#: known only after the outcome: never features
OUTCOME_COLUMNS: Final = ("fit", "return_reason", "rating", "review_text")

TRANSACTION_COLUMNS: Final = KEY_COLUMNS + SHOPPER_COLUMNS + ITEM_COLUMNS + OUTCOME_COLUMNS

#: plausible ranges of the numeric shopper columns (inclusive), with their unit; importers and the
#: API both refuse values outside them
BODY_RANGES: Final[dict[str, tuple[float, float, str]]] = {
    "stature_cm": (120.0, 220.0, "cm"),
    "body_mass_kg": (30.0, 250.0, "kg"),
    "bust_girth_cm": (60.0, 180.0, "cm"),
    "waist_girth_cm": (40.0, 180.0, "cm"),
    "hip_girth_cm": (60.0, 200.0, "cm"),
    "bra_band": (26.0, 50.0, "in (US band size)"),
    "age_years": (13.0, 100.0, "years"),
}
