"""Brands and items: labelling systems, grading rules, vanity offsets, size charts, mis-charted items.

A brand labels each family in one system (US numbers, letters, EU/UK/IT, CN, waist inches) and
shifts labels against bodies by a vanity offset (steps; positive: its sizes fit larger bodies than
the label says, i.e. it runs large). Its chart is honest about that: at a size of nominal scale value
``v`` the chart's key girth is the reference chart's at ``v + vanity``, graded from US 8 by the
brand's own cm per step (a factor on the reference grading), and its other girths follow ANSUR II's
proportions, graded the same way. A mis-charted item is made like the size ``true_offset_steps``
away from its label (negative: it runs small) while its chart still shows the brand's chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from sizing.scales import ScaleName, category_scale, key_girth, normalize, value_to_girth
from sizing.simulate.bodies import MEASUREMENTS, proportions
from sizing.simulate.fit import TOLERANCE_CM

INCH_CM: Final = 2.54
#: the US 8 anchor every grading rule pivots on (steps)
ANCHOR: Final = 4.0

#: family → (categories, share of a gender's items)
CATEGORIES: Final[dict[bool, dict[ScaleName, tuple[tuple[str, ...], float]]]] = {
    True: {
        "dress": (("dress", "gown", "sheath", "jumpsuit"), 0.45),
        "top": (("top", "blouse", "sweater", "jacket"), 0.30),
        "bottom": (("pants", "jeans", "skirt"), 0.25),
    },
    False: {
        "top": (("men's shirt", "men's sweater", "men's jacket"), 0.55),
        "bottom": (("men's trousers", "men's jeans"), 0.45),
    },
}
#: every size a system offers, smallest first, as shops print them
LADDERS: Final[dict[str, tuple[str, ...]]] = {
    "us": tuple(str(n) for n in range(0, 26, 2)),
    "us_bottom": tuple(str(n) for n in range(0, 22, 2)),  # a bare 23+ in bottoms reads as waist inches
    "letter": ("XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"),
    "eu": tuple(f"EU {n}" for n in range(30, 56, 2)),
    "uk": tuple(f"UK {n}" for n in range(4, 30, 2)),
    "it": tuple(f"IT {n}" for n in range(36, 62, 2)),
    "cn": tuple(f"{155 + 5 * (b - 80) // 4}/{b}A" for b in range(72, 108, 4)),
    "cn_bottom": tuple(f"{155 + 5 * (w - 66) // 4}/{w}A" for w in range(58, 98, 4)),
    "waist": tuple(str(w) for w in range(24, 41)),
    "letter_men": ("XS", "S", "M", "L", "XL", "XXL", "3XL"),
    "cn_men": tuple(f"{170 + 5 * (c - 92) // 4}/{c}A" for c in range(80, 120, 4)),
    "waist_men": tuple(f"W{w} L32" for w in (28, 29, 30, 31, 32, 33, 34, 36, 38, 40, 42)),
}
#: (female, family) → (systems, their shares among brands)
SYSTEMS: Final[dict[tuple[bool, ScaleName], tuple[tuple[str, ...], tuple[float, ...]]]] = {
    (True, "dress"): (("us", "letter", "eu", "uk", "it", "cn"), (0.4, 0.3, 0.1, 0.05, 0.05, 0.1)),
    (True, "top"): (("us", "letter", "eu", "uk", "it", "cn"), (0.3, 0.4, 0.1, 0.05, 0.05, 0.1)),
    (True, "bottom"): (("us_bottom", "letter", "waist", "cn_bottom"), (0.4, 0.2, 0.3, 0.1)),
    (False, "top"): (("letter_men", "cn_men"), (0.75, 0.25)),
    (False, "bottom"): (("waist_men", "letter_men"), (0.7, 0.3)),
}
MAX_SIZES: Final = max(len(v) for v in LADDERS.values())
#: inside leg (cm) printed on charts of waist-inch trousers, from their ``L`` length
LEG_CM: Final = 32 * INCH_CM


@dataclass(frozen=True)
class Catalogue:
    """Items as arrays (one row per item; sizes padded to ``MAX_SIZES`` with NaN / None)."""

    item_id: np.ndarray
    brand: np.ndarray
    category: np.ndarray
    family: np.ndarray  # ScaleName per item
    system: np.ndarray
    female: np.ndarray
    vanity: np.ndarray  # the brand's vanity offset, steps
    labels: np.ndarray  # (n, K) object
    values: np.ndarray  # (n, K) nominal scale value of each label
    chart_cm: np.ndarray  # (n, K, 3) what the chart says
    true_cm: np.ndarray  # (n, K, 3) what the garment fits
    tol_cm: np.ndarray  # (n, 3)
    true_offset: np.ndarray
    has_chart: np.ndarray
    popularity: np.ndarray

    def items_frame(self) -> pd.DataFrame:
        """The item truth: offset and mis-charting, with the offered sizes (``|``-joined labels)."""
        sizes = ["|".join(str(x) for x in row if x is not None) for row in self.labels]
        return pd.DataFrame(
            {
                "item_id": self.item_id,
                "brand": self.brand,
                "category": self.category,
                "scale": self.family,
                "system": self.system,
                "sizes": sizes,
                "true_offset_steps": self.true_offset,
                "mis_charted": self.true_offset != 0.0,
                "has_chart": self.has_chart,
            }
        )

    def size_charts_frame(self, sold: np.ndarray) -> pd.DataFrame:
        """Chart rows (item_id, brand, size, measurement, cm to 0.5 cm) of the items that publish one,
        among the ``sold`` ones (a boolean per item): a shop's database only knows items it has sold."""
        parts = []
        published = (self.has_chart & sold)[:, None] & ~np.isnan(self.values)
        for m, name in enumerate(MEASUREMENTS):
            i, k = np.nonzero(published & ~np.isnan(self.tol_cm[:, m])[:, None])
            parts.append((i, k, np.full(i.size, name), np.round(self.chart_cm[i, k, m] * 2) / 2))
        waist_men = published & (self.system == "waist_men")[:, None]
        i, k = np.nonzero(waist_men)
        parts.append((i, k, np.full(i.size, "inside_leg"), np.full(i.size, LEG_CM)))
        i, k, measurement, cm = (np.concatenate(p) for p in zip(*parts, strict=True))
        order = np.lexsort((measurement, k, i))
        i, k, measurement, cm = i[order], k[order], measurement[order], cm[order]
        return pd.DataFrame(
            {"item_id": self.item_id[i], "brand": self.brand[i], "size": self.labels[i, k],
             "measurement": measurement, "cm": cm}
        )  # fmt: skip


def build(
    n_items: int,
    n_brands: int,
    rng: np.random.Generator,
    ansur_dir: Path,
    *,
    female_share: float,
    mis_charted_share: float,
    chart_share: float,
) -> Catalogue:
    """Brands (gender, system per family, vanity, grading) and their items (category, sizes, charts)."""
    props = proportions(ansur_dir)
    brand_female = rng.random(n_brands) < female_share
    brand_female[0], brand_female[-1] = True, False  # both genders always sell
    brand_vanity = np.clip(rng.normal(0.3, 0.6, n_brands), -1.5, 2.0)
    brand_grade = rng.uniform(0.85, 1.2, (n_brands, len(MEASUREMENTS)))
    brand_system = {
        (b, fam): rng.choice(
            SYSTEMS[(bool(brand_female[b]), fam)][0], p=SYSTEMS[(bool(brand_female[b]), fam)][1]
        )
        for b in range(n_brands)
        for fam in CATEGORIES[bool(brand_female[b])]
    }
    brand_of = rng.integers(0, n_brands, n_items)
    female = brand_female[brand_of]
    labels = np.full((n_items, MAX_SIZES), None, dtype=object)
    values = np.full((n_items, MAX_SIZES), np.nan)
    categories, families, systems = [], [], []
    for j in range(n_items):
        groups = CATEGORIES[bool(female[j])]
        fams = list(groups)
        fam = fams[rng.choice(len(fams), p=[groups[f][1] for f in fams])]
        category = str(rng.choice(groups[fam][0]))
        system = str(brand_system[(int(brand_of[j]), fam)])
        ladder = LADDERS[system]
        n_sizes = int(rng.integers(min(5, len(ladder)), min(9, len(ladder)) + 1))
        start = int(rng.integers(0, len(ladder) - n_sizes + 1))
        for k, label in enumerate(ladder[start : start + n_sizes]):
            point = normalize(label, category=category)
            if point is None or category_scale(category) != fam:
                raise AssertionError(f"simulator ladder {system} label {label!r} is not on the {fam} scale")
            labels[j, k], values[j, k] = label, point.value
        if np.any(np.diff(values[j, :n_sizes]) <= 0):
            raise AssertionError(f"simulator ladder {system} does not grow in {category}: {ladder}")
        categories.append(category)
        families.append(fam)
        systems.append(system)
    family = np.array(families, dtype=object)
    mis = rng.random(n_items) < mis_charted_share
    offset = np.where(mis, rng.choice([-1.0, 1.0], n_items) * rng.uniform(0.75, 1.5, n_items), 0.0)
    vanity = brand_vanity[brand_of]
    grade = brand_grade[brand_of]
    chart = _chart(values, vanity, grade, family, female, props)
    true = _chart(values + offset[:, None], vanity, grade, family, female, props)
    return Catalogue(
        item_id=np.array([f"sim-i{j:06d}" for j in range(n_items)], dtype=object),
        brand=np.array([f"sim-brand-{b:03d}" for b in brand_of], dtype=object),
        category=np.array(categories, dtype=object),
        family=family,
        system=np.array(systems, dtype=object),
        female=female,
        vanity=vanity,
        labels=labels,
        values=values,
        chart_cm=chart,
        true_cm=true,
        tol_cm=np.array([TOLERANCE_CM[f] for f in families]),
        true_offset=np.round(offset, 2),
        has_chart=rng.random(n_items) < chart_share,
        popularity=rng.lognormal(0.0, 1.0, n_items),
    )


def _chart(
    values: np.ndarray,
    vanity: np.ndarray,
    grade: np.ndarray,
    family: np.ndarray,
    female: np.ndarray,
    props: dict[tuple[bool, int], np.ndarray],
) -> np.ndarray:
    """Girths (cm) a garment of nominal value ``values`` is made for, per item and size: (n, K, 3)."""
    out = np.full((*values.shape, len(MEASUREMENTS)), np.nan)
    for fem in (True, False):
        for fam in TOLERANCE_CM:
            rows = (female == fem) & (family == fam)
            girth = key_girth(fam)
            key = MEASUREMENTS.index(f"{girth}_girth")
            if not rows.any():
                continue
            v = values[rows] + vanity[rows, None]
            ref = value_to_girth(v, girth) * INCH_CM
            anchor = value_to_girth(ANCHOR + vanity[rows], girth)[:, None] * INCH_CM
            slope, intercept = props[(fem, key)][:, 0], props[(fem, key)][:, 1]
            at = ref[..., None] * slope + intercept
            at_anchor = anchor[..., None] * slope + intercept
            out[rows] = at_anchor + grade[rows, None, :] * (at - at_anchor)
    return out
