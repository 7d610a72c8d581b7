"""Unit parsing at the edge: imperial, free-text source values become cm and kg exactly once, here."""

from __future__ import annotations

import re
from typing import Final

INCH_CM: Final = 2.54
POUND_KG: Final = 0.45359237

_FEET_INCHES = re.compile(
    r"""^\s*(\d+)\s*(?:ft|')\s*(?:(\d+(?:\.\d+)?)\s*(?:in|"|'')?)?\s*$""", re.IGNORECASE
)
_POUNDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:lbs?|pounds?)?\s*$", re.IGNORECASE)
_BUST = re.compile(r"^\s*(\d{2})\s*([a-z]+)?\+?(?:/[a-z]+)?\s*$", re.IGNORECASE)
_INCHES = re.compile(r"^\s*(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?\s*(?:in|\")?\s*$", re.IGNORECASE)


def feet_inches_to_cm(text: str) -> float:
    """``5ft 6in``, ``5ft``, ``5' 8"`` → cm. Raises ValueError naming the expected form."""
    m = _FEET_INCHES.match(text)
    if not m:
        raise ValueError(f"height {text!r} is not of the form 5ft 6in or 5' 6\"")
    feet, inches = float(m.group(1)), float(m.group(2) or 0.0)
    if inches >= 12:
        raise ValueError(f"height {text!r} has {inches:g} inches; must be below 12")
    return (feet * 12 + inches) * INCH_CM


def pounds_to_kg(text: str) -> float:
    """``137lbs`` or ``137`` → kg."""
    m = _POUNDS.match(text)
    if not m:
        raise ValueError(f"weight {text!r} is not a number of pounds such as 137lbs")
    return float(m.group(1)) * POUND_KG


def inches_to_cm(text: str) -> float:
    """``36``, ``42.0`` or a range ``37-39`` (its middle) in inches → cm."""
    m = _INCHES.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a number of inches such as 36 or 37-39")
    lo = float(m.group(1))
    hi = float(m.group(2)) if m.group(2) else lo
    return (lo + hi) / 2 * INCH_CM


def bra_size(text: str) -> tuple[float, str | None]:
    """``34d`` → (34.0, "d"); ``34`` → (34.0, None); ``34d+`` → "d", ``34ddd/e`` → "ddd" (first letters)."""
    m = _BUST.match(text)
    if not m:
        raise ValueError(f"bra size {text!r} is not a band and cup such as 34d")
    cup = m.group(2).lower() if m.group(2) else None
    return float(m.group(1)), cup
