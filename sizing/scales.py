"""Size labels → positions on one numeric body-size scale per category family.

Why: a "12", an "M", an "EU 40" and a "165/88A" must become comparable before a model can say that
one size is larger than another, or how far apart two sizes are. Every family scale is anchored on one
reference chart of women's US misses sizes (:data:`REFERENCE_CHART`): US numeric size ``n`` sits at
``n / 2``, so the dress sizes 0, 2, 4, … are consecutive steps and **one size step is 1.0**. Labels
of other systems land where their body measurements fall on that chart (letters at the middle of the
US sizes brand charts give them, CN sizes at their bust or waist girth, waist-inch trousers at their
waist), so a value is a body size, not a rank. Tables and sources: ``docs/sizes.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd

ScaleName = Literal["dress", "top", "bottom", "bra"]
Girth = Literal["bust", "waist", "hip"]
SCALES: Final[tuple[ScaleName, ...]] = get_args(ScaleName)


@dataclass(frozen=True)
class SizePoint:
    """A label's position: ``value`` on the ``scale`` of its category family (one size step == 1.0),
    and the labelling ``system`` that was recognised (``us``, ``letter``, ``eu``, ``cn``, ``rtr``, …)."""

    value: float
    scale: ScaleName
    system: str


#: Reference body chart (inches) of women's US misses sizes, the anchor of every scale: US size,
#: bust, waist, hip. Values follow common US brand charts (1 in per size to US 10, then 1.5 and 2 in).
REFERENCE_CHART: Final = np.array(
    [
        # US   bust  waist  hip
        [-2.0, 31.0, 23.0, 33.0],  # 00
        [0.0, 32.0, 24.0, 34.0],
        [2.0, 33.0, 25.0, 35.0],
        [4.0, 34.0, 26.0, 36.0],
        [6.0, 35.0, 27.0, 37.0],
        [8.0, 36.0, 28.0, 38.0],
        [10.0, 37.0, 29.0, 39.0],
        [12.0, 38.5, 30.5, 40.5],
        [14.0, 40.0, 32.0, 42.0],
        [16.0, 41.5, 33.5, 43.5],
        [18.0, 43.5, 35.5, 45.5],
        [20.0, 45.5, 37.5, 47.5],
        [22.0, 47.5, 39.5, 49.5],
        [24.0, 49.5, 41.5, 51.5],
    ]
)
_REF_VALUE = REFERENCE_CHART[:, 0] / 2.0
_GIRTH_COLUMN: Final = {"bust": 1, "waist": 2, "hip": 3}
INCH_CM: Final = 2.54

#: women's letters at the middle of the US sizes they cover (XS = 0–2, S = 4–6, M = 8–10, …), in steps
LETTERS_WOMEN: Final[dict[str, float]] = {
    "XXS": -1.0, "XS": 0.5, "S": 2.5, "M": 4.5, "L": 6.5, "XL": 8.5,
    "XXL": 10.5, "XXXL": 12.5, "XXXXL": 14.5,
    "1X": 8.5, "2X": 10.5, "3X": 12.5, "4X": 14.5,
}  # fmt: skip
#: men's letters by chest and waist (inches, the middle of common brand charts' ranges)
LETTERS_MEN: Final[dict[str, tuple[float, float]]] = {
    "XS": (33.0, 27.0), "S": (36.0, 29.0), "M": (39.0, 32.0), "L": (42.0, 35.0), "XL": (45.0, 38.0),
    "XXL": (48.0, 41.0), "XXXL": (51.0, 44.0), "XXXXL": (54.0, 47.0),
}  # fmt: skip
_LETTER_WORDS: Final = {
    "XXSMALL": "XXS", "XSMALL": "XS", "EXTRASMALL": "XS", "SMALL": "S", "MEDIUM": "M", "LARGE": "L",
    "XLARGE": "XL", "EXTRALARGE": "XL", "XXLARGE": "XXL", "2XL": "XXL", "3XL": "XXXL", "4XL": "XXXXL",
    "0X": "XL",
}  # fmt: skip
#: dress-size systems given as an offset from the US number (UK 12 = US 8, EU/DE 38 = US 8, …)
US_OFFSET: Final[dict[str, float]] = {
    "us": 0.0, "uk": 4.0, "au": 4.0, "eu": 30.0, "de": 30.0, "fr": 32.0, "it": 36.0,
}  # fmt: skip
#: RentTheRunway's size codes (its own numbers, undocumented) → steps; see docs/sizes.md for the evidence
RTR_ANCHORS: Final = (np.array([0.0, 1.0, 4.0, 100.0]), np.array([-1.0, 0.0, 1.0, 25.0]))
#: ModCloth's size codes track hip girth at about one code per inch (estimated: code ≈ hip in − 25.5)
MODCLOTH_HIP_OFFSET: Final = 25.5
#: US bra sizing: bust girth (in) ≈ band (in) + this many inches for the cup letter
CUP_INCHES: Final[dict[str, float]] = {
    "aa": 0.0, "a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0, "dd": 5.0,
    "f": 6.0, "ddd": 6.0, "g": 7.0, "h": 8.0, "i": 9.0, "j": 10.0,
}  # fmt: skip
#: bra scale: one cup (one inch of bust over the band) is one step; 34B sits at 0
BRA_ANCHOR_IN: Final = 36.0

_CATEGORY_SCALE: Final[dict[str, ScaleName]] = {
    **dict.fromkeys(("bra", "bralette", "bras", "lingerie", "sports bra"), "bra"),
    **dict.fromkeys(
        ("pant", "pants", "trouser", "trousers", "jeans", "jean", "skirt", "skirts", "culotte", "culottes",
         "legging", "leggings", "jogger", "joggers", "sweatpants", "shorts", "short", "skort", "tight",
         "tights", "bottom", "bottoms", "chinos"),
        "bottom",
    ),
    **dict.fromkeys(
        ("top", "tops", "blouse", "shirt", "tee", "t-shirt", "tank", "cami", "sweater", "sweatshirt",
         "sweatershirt", "hoodie", "cardigan", "pullover", "turtleneck", "henley", "crewneck", "buttondown",
         "knit", "jacket", "coat", "blazer", "bomber", "vest", "peacoat", "parka", "trench", "overcoat",
         "cape", "poncho", "kimono", "duster", "down", "tunic", "blouson", "outerwear", "polo"),
        "top",
    ),
}  # fmt: skip
_GENDER_PREFIX = re.compile(r"^(?:(men|women)(?:'?s)?[\s_:-]+)", re.IGNORECASE)

_SYSTEM_PREFIX = re.compile(r"^(US|UK|AU|EU|DE|FR|IT|RTR|CN)\s*[:.]?\s*(.+)$", re.IGNORECASE)
_NUMBER = re.compile(r"^(\d{1,2}(?:\.5)?)\s*([WP]|R|T)?$", re.IGNORECASE)
_CN = re.compile(r"^(\d{3})\s*/\s*(\d{2,3})\s*([YABC])?$", re.IGNORECASE)
_WAIST = re.compile(
    r"^(?:W\s*(\d{2})(?:\s*[/xX]?\s*L\s*(\d{2}))?|(\d{2})\s*[xX/]\s*(\d{2})|(\d{2})\s*W(?:\s*(\d{2})\s*L)?)$",
    re.IGNORECASE,
)
_BRA = re.compile(r"^(\d{2,3})\s*(AA|DDD|DD|[A-J])$", re.IGNORECASE)


def category_scale(category: str | None) -> ScaleName:
    """The family scale of a category (RentTheRunway, ModCloth or a shop's own words); dresses, gowns,
    jumpsuits and anything unknown use the ``dress`` scale, the whole-body one."""
    if not category:
        return "dress"
    word = _GENDER_PREFIX.sub("", str(category).strip().lower()).strip()
    return _CATEGORY_SCALE.get(word, _CATEGORY_SCALE.get(word.rstrip("s"), "dress"))


def is_mens(category: str | None) -> bool:
    """Whether a category names men's wear (``men's shirt``, ``mens_jeans``): letters follow men's charts."""
    m = _GENDER_PREFIX.match(str(category or "").strip())
    return m is not None and m.group(1).lower() == "men"


def girth_to_value(inches: float | np.ndarray, girth: Girth) -> np.ndarray:
    """Where a body girth (inches) sits on the reference chart, in steps; linear beyond its ends."""
    x = REFERENCE_CHART[:, _GIRTH_COLUMN[girth]]
    g = np.asarray(inches, dtype=float)
    inside = np.interp(g, x, _REF_VALUE)
    below = _REF_VALUE[0] + (g - x[0]) / (x[1] - x[0]) * (_REF_VALUE[1] - _REF_VALUE[0])
    above = _REF_VALUE[-1] + (g - x[-1]) / (x[-1] - x[-2]) * (_REF_VALUE[-1] - _REF_VALUE[-2])
    return np.where(g < x[0], below, np.where(g > x[-1], above, inside))


def value_to_girth(value: float | np.ndarray, girth: Girth) -> np.ndarray:
    """The reference chart's body girth (inches) at a scale value: the inverse of :func:`girth_to_value`."""
    x = REFERENCE_CHART[:, _GIRTH_COLUMN[girth]]
    v = np.asarray(value, dtype=float)
    inside = np.interp(v, _REF_VALUE, x)
    below = x[0] + (v - _REF_VALUE[0]) * (x[1] - x[0])
    above = x[-1] + (v - _REF_VALUE[-1]) * (x[-1] - x[-2])
    return np.where(v < _REF_VALUE[0], below, np.where(v > _REF_VALUE[-1], above, inside))


def key_girth(scale: ScaleName) -> Girth:
    """The body girth a family's sizes are graded on: waist for bottoms, bust (chest) otherwise."""
    return "waist" if scale == "bottom" else "bust"


def _letter(text: str, scale: ScaleName, mens: bool) -> SizePoint | None:
    key = re.sub(r"[\s.\-]", "", text.upper())
    key = _LETTER_WORDS.get(key, key)
    if mens and key in LETTERS_MEN:
        chest, waist = LETTERS_MEN[key]
        inches = waist if scale == "bottom" else chest
        return SizePoint(float(girth_to_value(inches, key_girth(scale))), scale, "letter_men")
    if key in LETTERS_WOMEN:
        return SizePoint(LETTERS_WOMEN[key], scale, "letter")
    parts = re.split(r"/", key)
    if len(parts) == 2 and all(p in LETTERS_WOMEN or p in _LETTER_WORDS for p in parts):
        ends = [e for p in parts if (e := _letter(p, scale, mens))]  # S/M, M/L: the middle of both
        if len(ends) == 2:
            return SizePoint((ends[0].value + ends[1].value) / 2, scale, ends[0].system)
    return None


def _dress_number(number: float, system: str, scale: ScaleName) -> SizePoint:
    return SizePoint((number - US_OFFSET[system]) / 2.0, scale, system)


def _bare_number(number: float, scale: ScaleName) -> SizePoint | None:
    """A number without a system, read the way shops use it in each family."""
    if scale == "bottom" and 23 <= number <= 50:
        return SizePoint(float(girth_to_value(number, "waist")), scale, "waist")
    if number <= 26:
        return _dress_number(number, "us", scale)
    if scale != "bra" and 30 <= number <= 60 and number % 2 == 0:
        return _dress_number(number, "eu", scale)
    return None


def _bra(band: float, cup: str) -> SizePoint | None:
    band_in = band if band < 55 else 34.0 + (band - 75.0) / 5.0 * 2.0  # EU/CN bands are underbust cm
    cup_in = CUP_INCHES.get(cup.lower())
    if cup_in is None or not 26 <= band_in <= 50:
        return None
    return SizePoint(band_in + cup_in - BRA_ANCHOR_IN, "bra", "bra" if band < 55 else "bra_eu")


def _rtr(code: float, scale: ScaleName) -> SizePoint:
    return SizePoint(float(np.interp(code, *RTR_ANCHORS)), scale, "rtr")


def _modcloth(code: float, scale: ScaleName) -> SizePoint:
    return SizePoint(float(girth_to_value(code + MODCLOTH_HIP_OFFSET, "hip")), scale, "modcloth")


def _numeric(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def normalize(label: str, *, category: str | None = None, system: str | None = None) -> SizePoint | None:
    """The position of one size label on its category's scale, or ``None`` when it is not recognised.

    ``system`` forces how a bare number is read (``us``, ``uk``, ``eu``, ``fr``, ``it``, ``waist``,
    ``rtr``, ``modcloth``); without it a prefix in the label (``EU 38``) or the label's form decides,
    and bare numbers are US sizes up to 26, EU sizes 30–60 (even), or waist inches in bottoms.
    """
    text = str(label).strip()
    if not text:
        return None
    scale = category_scale(category)
    system = system.lower() if system else None
    number = _numeric(text)
    if system == "rtr" and number is not None:
        return _rtr(number, scale)
    if system == "modcloth" and number is not None:
        return _modcloth(number, scale)
    if system == "waist" and number is not None:
        return SizePoint(float(girth_to_value(number, "waist")), scale, "waist")
    if system in US_OFFSET and number is not None:
        return _dress_number(number, system, scale)
    return _parse(text, scale, is_mens(category))


def _parse(text: str, scale: ScaleName, mens: bool) -> SizePoint | None:
    if m := _SYSTEM_PREFIX.match(text):
        prefix, rest = m.group(1).lower(), m.group(2).strip()
        number = _numeric(rest)
        if prefix == "rtr" and number is not None:
            return _rtr(number, scale)
        if prefix in US_OFFSET and number is not None:
            return _dress_number(number, prefix, scale)
        if prefix in ("us", "uk", "eu", "cn"):
            return _parse(rest, scale, mens)
        return None
    if m := _CN.match(text):
        girth_in = float(m.group(2)) / INCH_CM
        return SizePoint(float(girth_to_value(girth_in, key_girth(scale))), scale, "cn")
    if (m := _WAIST.match(text)) and 22 <= (waist := float(next(g for g in m.group(1, 3, 5) if g))) <= 60:
        return SizePoint(float(girth_to_value(waist, "waist")), "bottom", "waist")
    if m := _BRA.match(text):
        return _bra(float(m.group(1)), m.group(2))
    if text == "00":
        return SizePoint(-1.0, scale, "us")
    if m := _NUMBER.match(text):
        return _bare_number(float(m.group(1)), scale)
    return _letter(text, scale, mens)


def normalize_many(
    labels: Sequence[str] | pd.Series | np.ndarray,
    categories: Sequence[str | None] | pd.Series | np.ndarray,
    *,
    system: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`normalize` over columns: (values, float with NaN where unrecognised; scale names, object).

    Each distinct (label, category) pair is parsed once, so millions of rows with a few thousand
    distinct pairs cost little more than two ``factorize`` calls.
    """
    label_codes, label_uniques = pd.factorize(pd.Series(labels, dtype="object"), use_na_sentinel=True)
    cat_codes, cat_uniques = pd.factorize(pd.Series(categories, dtype="object"), use_na_sentinel=True)
    if len(label_codes) != len(cat_codes):
        raise ValueError(f"{len(label_codes)} labels but {len(cat_codes)} categories: they must pair up")
    pair = (label_codes.astype(np.int64) + 1) * (len(cat_uniques) + 1) + (cat_codes.astype(np.int64) + 1)
    pair_codes, pair_uniques = pd.factorize(pair)
    values = np.full(len(pair_uniques), np.nan)
    scales = np.empty(len(pair_uniques), dtype=object)
    for i, key in enumerate(pair_uniques):
        li, ci = divmod(int(key), len(cat_uniques) + 1)
        category = cat_uniques[ci - 1] if ci else None
        scales[i] = category_scale(category)
        point = normalize(str(label_uniques[li - 1]), category=category, system=system) if li else None
        if point is not None:
            values[i], scales[i] = point.value, point.scale
    return values[pair_codes], scales[pair_codes]
