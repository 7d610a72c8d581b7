"""The simulator's ground-truth fit rule: ease (garment − body) at each key girth, against tolerances.

Why a closed form: the truth must be recomputable. A line is *small* when its tightest key girth, in
units of that girth's tolerance and after the shopper's preferred ease, falls below −1 with Gaussian
noise added; otherwise *large* when its loosest one exceeds +1 with noise; otherwise it fits. So the
probabilities of each outcome are exact, and the best size is the one with the highest P(fit).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from scipy.special import ndtr

from sizing.scales import ScaleName
from sizing.schema import FIT_LABELS

#: ease tolerance (cm) per key girth (bust, waist, hip) of each family; NaN: not a key girth there
TOLERANCE_CM: Final[dict[ScaleName, tuple[float, float, float]]] = {
    "dress": (4.5, 9.0, 9.0),
    "top": (5.5, np.nan, np.nan),
    "bottom": (np.nan, 4.5, 9.0),
}
#: fit preference → the ease (cm, every key girth) the shopper wants on top of a regular fit
PREFERENCES: Final = ("tight", "regular", "loose")
PREFERENCE_EASE_CM: Final = np.array([-3.0, 0.0, 3.0])
#: outcome noise, in tolerance units
NOISE: Final = 0.35


def ease_z(
    garment_cm: np.ndarray, body_cm: np.ndarray, pref_cm: np.ndarray, tol_cm: np.ndarray
) -> np.ndarray:
    """Ease beyond the preferred one, per key girth, in tolerance units (NaN where not a key girth).
    Shapes broadcast: (..., 3) girths, (...) preference."""
    return (garment_cm - body_cm - np.asarray(pref_cm)[..., None]) / tol_cm


def _extremes(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tight = np.where(np.isnan(z), np.inf, z).min(axis=-1)
    loose = np.where(np.isnan(z), -np.inf, z).max(axis=-1)
    return tight, loose


def fit_probabilities(z: np.ndarray) -> np.ndarray:
    """P(small), P(fit), P(large) stacked on a last axis, from :func:`ease_z`."""
    tight, loose = _extremes(z)
    small = ndtr((-1.0 - tight) / NOISE)
    large = (1.0 - small) * ndtr((loose - 1.0) / NOISE)
    return np.stack([small, 1.0 - small - large, large], axis=-1)


def draw_outcomes(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One observed outcome per line (index into ``FIT_LABELS``), noised as in :func:`fit_probabilities`."""
    tight, loose = _extremes(z)
    small = tight + rng.normal(0.0, NOISE, tight.shape) < -1.0
    large = ~small & (loose + rng.normal(0.0, NOISE, loose.shape) > 1.0)
    return np.where(small, 0, np.where(large, 2, 1))


def true_label(probabilities: np.ndarray) -> np.ndarray:
    """The noise-free outcome: the most likely of small / fit / large."""
    return np.asarray(FIT_LABELS, dtype=object)[probabilities.argmax(axis=-1)]
