"""Shoppers: a body, a fit preference, a size habit per family, and what they tell the shop.

The *usual size* of a family is where the shopper's key girth (bust, or waist for bottoms) sits on
the reference chart, moved by her preferred ease and by a personal habit (most shoppers within half a
step of their body's size, some a size off). She orders from it; the fit follows from her body.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from sizing.scales import ScaleName, girth_to_value, key_girth, value_to_girth
from sizing.schema import BODY_RANGES, SHOPPER_COLUMNS
from sizing.simulate.bodies import MEASUREMENTS, Bodies, resample
from sizing.simulate.fit import PREFERENCE_EASE_CM

INCH_CM: Final = 2.54
#: family order of ``Shoppers.usual`` columns
FAMILIES: Final[tuple[ScaleName, ...]] = ("dress", "top", "bottom")
PREFERENCE_SHARES: Final = (0.2, 0.6, 0.2)
HABIT_SD: Final = 0.4
#: cups (US), with bust − band inches and their share among women
CUPS: Final = (("a", 1.0, 0.12), ("b", 2.0, 0.3), ("c", 3.0, 0.28), ("d", 4.0, 0.18), ("dd", 5.0, 0.12))


@dataclass(frozen=True)
class Shoppers:
    """The shopper population; ``facts`` holds the self-reported ``SHOPPER_COLUMNS`` (NaN: not given)."""

    shopper_id: np.ndarray
    bodies: Bodies
    preference: np.ndarray  # index into fit.PREFERENCES
    usual: np.ndarray  # (n, 3) steps, FAMILIES order
    activity: np.ndarray  # probability of placing each order line
    facts: pd.DataFrame


def build_shoppers(n: int, rng: np.random.Generator, ansur_dir: Path, female_share: float) -> Shoppers:
    """``n`` shoppers with bodies from ANSUR II, preferences, habits and partial self-reports."""
    bodies = resample(n, female_share, rng, ansur_dir)
    preference = rng.choice(len(PREFERENCE_SHARES), n, p=PREFERENCE_SHARES)
    usual = np.empty((n, len(FAMILIES)))
    for f, family in enumerate(FAMILIES):
        girth = key_girth(family)
        value = girth_to_value(bodies.girths[:, MEASUREMENTS.index(f"{girth}_girth")] / INCH_CM, girth)
        cm_per_step = (value_to_girth(value + 0.5, girth) - value_to_girth(value - 0.5, girth)) * INCH_CM
        ease_steps = PREFERENCE_EASE_CM[preference] / cm_per_step
        usual[:, f] = value + ease_steps + rng.normal(0.0, HABIT_SD, n)
    activity = rng.lognormal(0.0, 1.0, n)
    return Shoppers(
        shopper_id=np.array([f"sim-s{j:07d}" for j in range(n)], dtype=object),
        bodies=bodies,
        preference=preference,
        usual=usual,
        activity=activity / activity.sum(),
        facts=_self_reports(bodies, rng),
    )


def only_where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` where ``mask`` holds, ``None`` elsewhere (an object column with blanks)."""
    out = np.full(mask.shape, None, dtype=object)
    out[mask] = values[mask]
    return out


def _given(values: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(values.shape[0]) < share, values, np.nan)


def _self_reports(bodies: Bodies, rng: np.random.Generator) -> pd.DataFrame:
    """What shoppers fill in: rounded, a little off, often blank; bra size and body type for women."""
    n = bodies.female.size
    female = bodies.female
    cup_idx = rng.choice(len(CUPS), n, p=[c[2] for c in CUPS])
    cup_in = np.array([c[1] for c in CUPS])[cup_idx]
    band = np.clip(2 * np.round((bodies.girths[:, 0] / INCH_CM - cup_in) / 2), 28, 46)
    has_bra = female & (rng.random(n) < 0.65)
    facts = pd.DataFrame(
        {
            "stature_cm": _given(np.round(bodies.stature_cm + rng.normal(0, 1.5, n)), 0.97, rng),
            "body_mass_kg": _given(np.round(bodies.body_mass_kg + rng.normal(0, 2.0, n), 1), 0.85, rng),
            "bust_girth_cm": _given(np.round(bodies.girths[:, 0] + rng.normal(0, 2.0, n)), 0.5, rng),
            "waist_girth_cm": _given(np.round(bodies.girths[:, 1] + rng.normal(0, 2.0, n)), 0.4, rng),
            "hip_girth_cm": _given(np.round(bodies.girths[:, 2] + rng.normal(0, 2.0, n)), 0.4, rng),
            "bra_band": np.where(has_bra, band, np.nan),
            "cup": only_where(has_bra, np.array([c[0] for c in CUPS], dtype=object)[cup_idx]),
            "body_type": only_where(female & (rng.random(n) < 0.7), _body_type(bodies)),
            "age_years": _given(np.round(bodies.age_years), 0.95, rng),
        }
    )
    for col, (lo, hi, _) in BODY_RANGES.items():  # nobody types a value the shop's form would refuse
        facts[col] = facts[col].clip(lo, hi)
    return facts[list(SHOPPER_COLUMNS)]


def _body_type(bodies: Bodies) -> np.ndarray:
    """RentTheRunway's body-type words, from girth differences and stature."""
    bust, waist, hip = bodies.girths.T
    kind = np.select(
        [bodies.stature_cm < 157, bust - hip > 5, hip - bust > 8, waist > 0.9 * hip, hip - waist > 22],
        ["petite", "full bust", "pear", "apple", "hourglass"],
        default="athletic",
    )
    return kind.astype(object)
