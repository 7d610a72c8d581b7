"""Size labels land on their family's scale, one size step apart, across systems, on real labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sizing.datasets import RTR_FILE
from sizing.scales import (
    SCALES,
    Girth,
    category_scale,
    girth_to_value,
    normalize,
    normalize_many,
    value_to_girth,
)

DATA = Path(__file__).resolve().parents[2] / "data"
MODCLOTH = DATA / "modcloth" / "modcloth_final_data_first100.json"

#: real labels as shops print them: (label, category, value in steps, system)
REAL_LABELS = [
    ("0", "dress", 0.0, "us"),
    ("00", "dress", -1.0, "us"),
    ("2", "dress", 1.0, "us"),
    ("8", "sheath", 4.0, "us"),
    ("24", "gown", 12.0, "us"),
    ("14W", "dress", 7.0, "us"),
    ("6P", "dress", 3.0, "us"),
    ("US 10", "top", 5.0, "us"),
    ("UK 12", "dress", 4.0, "uk"),
    ("EU 38", "dress", 4.0, "eu"),
    ("38", "dress", 4.0, "eu"),
    ("FR 40", "dress", 4.0, "fr"),
    ("IT 44", "dress", 4.0, "it"),
    ("XS", "top", 0.5, "letter"),
    ("S", "blouse", 2.5, "letter"),
    ("M", "dress", 4.5, "letter"),
    ("Medium", "sweater", 4.5, "letter"),
    ("L", "jacket", 6.5, "letter"),
    ("X-Large", "top", 8.5, "letter"),
    ("XXL", "top", 10.5, "letter"),
    ("2XL", "top", 10.5, "letter"),
    ("3XL", "coat", 12.5, "letter"),
    ("1X", "dress", 8.5, "letter"),
    ("S/M", "top", 3.5, "letter"),
    ("W28 L32", "jeans", 4.0, "waist"),
    ("28x32", "pants", 4.0, "waist"),
    ("28", "jeans", 4.0, "waist"),
    ("32W 30L", "trousers", 7.0, "waist"),
    ("34B", "bra", 0.0, "bra"),
    ("34C", "bra", 1.0, "bra"),
    ("36B", "bra", 2.0, "bra"),
    ("34DD", "bra", 3.0, "bra"),
    ("75C", "bra", 1.0, "bra_eu"),
    ("EU 75C", "bra", 1.0, "bra_eu"),
]


@pytest.mark.parametrize(("label", "category", "value", "system"), REAL_LABELS)
def test_real_labels_land_on_their_documented_step(
    label: str, category: str, value: float, system: str
) -> None:
    point = normalize(label, category=category)
    assert point is not None, label
    assert point.value == pytest.approx(value)
    assert point.system == system
    assert point.scale == category_scale(category)


@pytest.mark.parametrize("label", ["One Size", "", "OS", "abc", "34", "12C3"])
def test_unrecognised_labels_are_none(label: str) -> None:
    assert normalize(label, category="bra" if label == "34" else "dress") is None


def test_one_dress_size_is_one_step_in_every_numeric_system() -> None:
    for system, first in (("us", 0), ("uk", 4), ("eu", 30), ("fr", 32), ("it", 36)):
        values = [normalize(str(first + 2 * k), system=system) for k in range(10)]
        assert [v.value for v in values if v] == pytest.approx(list(range(10))), system


def test_cn_labels_sit_at_their_bust_or_waist_girth() -> None:
    top = normalize("165/88A", category="top")
    bottom = normalize("165/70A", category="pants")
    assert top is not None and bottom is not None and top.system == bottom.system == "cn"
    assert value_to_girth(top.value, "bust") * 2.54 == pytest.approx(88.0)
    assert value_to_girth(bottom.value, "waist") * 2.54 == pytest.approx(70.0)
    # 4 cm of bust between CN sizes is more than one US step below US 10 (1 in per size) and less above
    small = [normalize(f"160/{b}A", category="top") for b in (80, 84, 88)]
    steps = np.diff([p.value for p in small if p])
    assert np.all(steps > 1.0)


def test_mens_letters_follow_mens_chest_and_waist() -> None:
    women = normalize("M", category="top")
    men = normalize("M", category="men's shirt")
    men_bottom = normalize("M", category="mens_trousers")
    assert women is not None and men is not None and men_bottom is not None
    assert men.system == "letter_men" and men.value > women.value + 1
    assert value_to_girth(men.value, "bust") == pytest.approx(39.0)
    assert value_to_girth(men_bottom.value, "waist") == pytest.approx(32.0)


def test_girth_scale_round_trips_inside_and_beyond_the_chart() -> None:
    girths: tuple[Girth, ...] = ("bust", "waist", "hip")
    for girth in girths:
        inches = np.linspace(28.0, 60.0, 33)
        assert value_to_girth(girth_to_value(inches, girth), girth) == pytest.approx(inches)


def test_category_scale_groups_rtr_and_modcloth_categories() -> None:
    assert category_scale("gown") == category_scale("jumpsuit") == category_scale(None) == "dress"
    assert category_scale("blazer") == category_scale("tops") == category_scale("Men's Shirt") == "top"
    assert category_scale("culottes") == category_scale("bottoms") == category_scale("jeans") == "bottom"
    assert category_scale("bra") == "bra"


def test_every_rtr_code_maps_and_real_item_ladders_are_size_steps() -> None:
    raw = pd.read_parquet(DATA / RTR_FILE, columns=["item_id", "size", "category"])
    values, scales = normalize_many(raw["size"].astype(str), raw["category"], system="rtr")
    assert not np.isnan(values).any()
    assert set(scales) <= set(SCALES)
    by_code = pd.Series(values).groupby(raw["size"].to_numpy()).first()
    assert by_code.is_monotonic_increasing and by_code.is_unique
    # the commonest numeric ladder on the site (US 0, 2, 4, …, 14) is consecutive steps
    ladder = [normalize(str(c), system="rtr") for c in (1, 4, 8, 12, 16, 20, 24, 28)]
    assert [p.value for p in ladder if p] == pytest.approx(list(range(8)))
    ladders = raw.groupby("item_id")["size"].agg(lambda s: tuple(sorted(set(s))))
    assert (ladders == (1, 4, 8, 12, 16, 20, 24, 28)).sum() > 100


def test_modcloth_codes_all_map_in_order() -> None:
    records = [json.loads(line) for line in MODCLOTH.read_text().splitlines() if line.strip()]
    codes = sorted({r["size"] for r in records})
    points = [normalize(str(c), category="new", system="modcloth") for c in codes]
    values = [p.value for p in points if p]
    assert len(values) == len(codes) and np.all(np.diff(values) > 0)


def test_normalize_many_agrees_with_normalize_row_by_row() -> None:
    labels = [r[0] for r in REAL_LABELS] + ["One Size", None]
    categories = [r[1] for r in REAL_LABELS] + ["dress", "top"]
    values, scales = normalize_many(labels, categories)
    for label, category, value, scale in zip(labels, categories, values, scales, strict=True):
        point = normalize(label, category=category) if label is not None else None
        assert (np.isnan(value) and point is None) or point is not None and point.value == value
        assert scale == (point.scale if point else category_scale(category))
    with pytest.raises(ValueError, match="pair up"):
        normalize_many(["8"], ["dress", "top"])
