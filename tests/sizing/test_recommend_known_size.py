"""The size a shopper wears in a brand she knows, on a real quickly trained model and real RTR items:
placed on the item's scale, corrected by how the brand runs, and moving the recommendation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sizing.known_size import KnownSize, Placement, brand_offset, normalizes_somewhere, place, sentence
from sizing.messages import EN, Message, render
from sizing.model import SizeFitModel
from sizing.recommend import Item, Shopper, recommend
from sizing.scales import normalize
from tests.sizing_support import fast_model, rtr_slice

BODY = {"stature_cm": 165.0, "body_mass_kg": 60.0}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return rtr_slice(4000, seed=4)


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> SizeFitModel:
    return fast_model(frame)


def _dress(frame: pd.DataFrame) -> Item:
    """The busiest dress, offered in every size it sold in (RTR codes on the dress scale)."""
    dresses = frame[frame["category"] == "dress"]
    item_id = dresses["item_id"].value_counts().index[0]
    sold = dresses[dresses["item_id"] == item_id]
    sizes = sorted(set(zip(sold["size"], sold["size_num"], strict=True)), key=lambda s: s[1])
    return Item(item_id, "dress", None, sizes)


def test_labels_are_placed_on_the_items_scale_and_corrected_by_the_brand() -> None:
    us8 = normalize("8", category="dress")
    assert us8 is not None
    assert place(KnownSize("Acme", "8"), "dress") == Placement("Acme", "8", None, us8.value)
    runs_small = place(KnownSize("Acme", "8", brand_offset=0.5), "dress")
    assert runs_small.value_steps == pytest.approx(us8.value - 0.5)  # an 8 there fits like a 7 elsewhere
    assert place(KnownSize("Acme", "M"), "top").value_steps == normalize("M", category="top").value  # type: ignore[union-attr]
    # a bra size says nothing about a dress, a waist size nothing about a top
    assert place(KnownSize("Acme", "34C"), "dress").value_steps is None
    assert place(KnownSize("Acme", "W28"), "blouse").value_steps is None
    assert all(normalizes_somewhere(s) for s in ("8", "M", "UK 12", "EU 38", "28W", "34C", "165/88A"))
    assert not any(normalizes_somewhere(s) for s in ("banana", "one size", "99"))


def test_a_brand_runs_as_the_mean_learned_offset_of_its_items(model: SizeFitModel) -> None:
    layer = model.curves.layer_
    items = list(layer.items_)[:5]
    expected = float(np.mean([layer.o_[layer.items_[i]] for i in items]))
    assert brand_offset(layer, [*items, "rtr:not-an-item"]) == pytest.approx(expected)
    assert brand_offset(layer, ["rtr:not-an-item"]) is None


def test_the_sentence_says_how_the_brand_runs_in_half_sizes() -> None:
    def said(offset: float | None, value: float | None = 4.0) -> str:
        return render(sentence(Placement("Acme", "8", offset, value), "10"), EN)

    assert said(-0.5) == "you wear 8 in Acme, which runs about half a size large: size 10 here"
    assert said(0.1) == "you wear 8 in Acme, which runs true to size: size 10 here"
    assert said(1.1) == "you wear 8 in Acme, which runs about one size small: size 10 here"
    assert said(-1.6) == "you wear 8 in Acme, which runs about 1.5 sizes large: size 10 here"
    assert said(None) == "you wear 8 in Acme: size 10 here"
    assert said(0.5, None).startswith("your size 8 in Acme is on another size scale")


def test_a_known_size_moves_a_new_visitors_answer(model: SizeFitModel, frame: pd.DataFrame) -> None:
    """Same body, different known sizes: a larger label gives a larger size (her latent size is the
    known one), and the reference and the words say where it came from."""
    item = _dress(frame)
    values = dict(item.sizes)
    picks = []
    for label in ("2", "14"):
        out = recommend(model, Shopper(body=BODY, known=KnownSize("Acme", label, 0.0)), item)
        assert out.reasons.usual_from == "known_size"
        assert out.reasons.known_size is not None
        assert out.reasons.known_size.value_steps == pytest.approx(normalize(label, category="dress").value)  # type: ignore[union-attr]
        here = out.reasons.usual_size
        assert f"you wear {label} in Acme, which runs true to size: size {here} here" in out.explanation
        picks.append(values[out.recommended_size])
    assert picks[0] < picks[1]
    plain = recommend(model, Shopper(body=BODY), item)
    assert plain.reasons.usual_from == "measurements" and plain.reasons.known_size is None


def test_the_brands_lean_changes_the_size_it_points_to(model: SizeFitModel, frame: pd.DataFrame) -> None:
    """An 8 in a brand running a size small is a smaller body than an 8 in one running a size large."""
    item = _dress(frame)
    small = recommend(model, Shopper(body=BODY, known=KnownSize("Snug", "8", 1.0)), item)
    large = recommend(model, Shopper(body=BODY, known=KnownSize("Roomy", "8", -1.0)), item)
    assert small.reasons.known_size and large.reasons.known_size
    assert large.reasons.known_size.value_steps == pytest.approx(small.reasons.known_size.value_steps + 2.0)  # type: ignore[operator]
    # the whole curve shifts: P(small) at every size is higher for the larger body
    pairs = list(zip(large.sizes, small.sizes, strict=True))
    assert all(a.p_small >= b.p_small for a, b in pairs) and any(a.p_small > b.p_small for a, b in pairs)
    assert dict(item.sizes)[large.recommended_size] > dict(item.sizes)[small.recommended_size]


def test_a_known_shopper_keeps_her_own_latent_size_but_takes_the_reference(
    model: SizeFitModel, frame: pd.DataFrame
) -> None:
    item = _dress(frame)
    shopper_id = str(frame.loc[frame["item_id"] == item.item_id, "shopper_id"].iloc[0])
    plain = recommend(model, Shopper(shopper_id=shopper_id), item)
    known = recommend(model, Shopper(shopper_id=shopper_id, known=KnownSize("Acme", "20", 0.0)), item)
    assert [s.p_fit for s in plain.sizes] == [s.p_fit for s in known.sizes]  # her history sets her size
    assert plain.reasons.usual_from == "history" and known.reasons.usual_from == "known_size"


def test_messages_render_as_the_english_sentences_they_replace() -> None:
    lead = Message("lead", {"size": "8", "p_fit": 0.6149, "p_small": 0.2351, "p_large": 0.15})
    assert str(lead) == "size 8: 61% chance it fits (24% too small, 15% too large)"
    tie = Message("tie", {"sizes": ["4", "8"], "size": "8"})
    assert str(tie) == "sizes 4, 8 are equally likely to fit; 8 is nearest your usual size"
    rather = {"side": "small", "size": "12", "basis": "measurements", "usual": "8"}
    assert str(Message("item_runs_one_rather", rather)) == (
        "this item runs about one size small: size 12 rather than the size your measurements suggest, 8"
    )
