"""The size a shopper usually wears in a brand she knows, as a reference on an item's size scale.

"I wear 8 in Acme" says more about a new visitor's size than height and weight do, once two things
are known: where the label sits on the item's scale family (:func:`sizing.scales.normalize`; one size
step is 1.0) and how Acme runs. The size layer learns each item's offset ``o`` in steps (``o > 0``:
runs small, a label fits like the size below it); a brand runs as the mean offset of its items. Her
size is then the label's value minus the brand's offset — the position on a true-to-size scale she is
most likely to keep, which is what the layer's ``body_size`` estimates from measurements.

This module only places the reference; :mod:`sizing.recommend` uses it as the tie-break reference,
in the "usual size" words and, for a shopper without history, as her latent size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from sizing.layer import LayerParts, SizeLayer
from sizing.messages import Message
from sizing.scales import ScaleName, category_scale, normalize

#: a category word per scale family, to ask whether a label means anything on any scale
_SCALE_PROBES: Final[dict[ScaleName, str | None]] = {
    "dress": None,
    "top": "top",
    "bottom": "pants",
    "bra": "bra",
}


@dataclass(frozen=True)
class KnownSize:
    """What the shopper said (``brand``, size ``label``) and how that brand runs, in steps (> 0 small);
    ``brand_offset`` is None when the model has seen none of the brand's items (taken as true to size)."""

    brand: str
    label: str
    brand_offset: float | None = None


@dataclass(frozen=True)
class Placement:
    """A known size on one item's scale: her size there in steps, the label's value minus the brand's
    offset (None when the label belongs to another scale family than the item's: a bra size for a dress)."""

    brand: str
    label: str
    brand_offset_steps: float | None
    value_steps: float | None


def normalizes_somewhere(label: str) -> bool:
    """Whether ``label`` is a size on at least one scale family (what an API may accept at all)."""
    return any(normalize(label, category=c) is not None for c in _SCALE_PROBES.values())


def brand_offset(layer: SizeLayer, item_ids: Iterable[str]) -> float | None:
    """The mean learned offset (steps, > 0 runs small) over the brand's items the layer knows, or None."""
    rows = [layer.items_[i] for i in item_ids if i in layer.items_]
    return float(np.mean(layer.o_[rows])) if rows else None


def place(known: KnownSize, category: str | None) -> Placement:
    """Her size on the scale family of ``category``: the label's value there, corrected by the brand."""
    point = normalize(known.label, category=category)
    offset = None if known.brand_offset is None else round(known.brand_offset, 2)
    if point is None or point.scale != category_scale(category):
        return Placement(known.brand, known.label, offset, None)
    return Placement(known.brand, known.label, offset, round(point.value - (known.brand_offset or 0.0), 2))


def as_latent(
    layer: SizeLayer, features: np.ndarray, n_features: int, parts: LayerParts, reference: float
) -> tuple[np.ndarray, LayerParts]:
    """Score rows as if her latent size were ``reference`` instead of what her body suggests.

    On rows whose gap comes from the body (not from a size chart against her girths) the gap grows by
    ``body_size − reference``; both stage logits move along the layer's slopes, in the two starting-score
    columns the size curves read after their ``n_features`` booster features.
    """
    shift = np.where(np.isnan(parts.chart_gap), parts.body_size - reference, 0.0)
    a = parts.a - layer.slopes_[0] * shift
    b = parts.b + layer.slopes_[1] * shift
    moved = features.copy()
    moved[:, n_features] = a
    moved[:, n_features + 1] = b
    shopper_size = np.where(np.isnan(parts.chart_gap), reference, parts.shopper_size)
    return moved, replace(parts, gap=parts.gap + shift, a=a, b=b, shopper_size=shopper_size)


def sentence(placement: Placement, size: str | None) -> Message:
    """What the explanation says about it: the brand's lean and her size here (``size``, an offered label)."""
    params: dict[str, object] = {"label": placement.label, "brand": placement.brand}
    if placement.value_steps is None or size is None:
        return Message("known_size_elsewhere", params)
    params["size"] = size
    offset = placement.brand_offset_steps
    if offset is None:
        return Message("known_size", params)
    halves = round(abs(offset) * 2) / 2  # said in half sizes; under a quarter: true to size
    if halves == 0:
        return Message("known_size_true", params)
    params["side"] = "small" if offset > 0 else "large"
    if halves == 0.5:
        return Message("known_size_half", params)
    if halves == 1.0:
        return Message("known_size_one", params)
    return Message("known_size_many", {**params, "steps": halves})
