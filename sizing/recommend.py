"""Recommend a size and check an order line, given a fitted model and plain data (no database here).

The caller supplies the shopper (an id the model may know from history, and/or body measurements in
cm/kg), the item (id, category, brand) and the sizes it is offered in. Every offered size is scored in
one batch; the explanation is built from the model's feature contributions at the recommended size.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import lightgbm as lgb
import numpy as np

from sizing.features import BODY_NUMERIC
from sizing.model import STAGES, SizeFitClassifier

log = logging.getLogger(__name__)

#: an order line is flagged when P(small) or P(large) reaches this (about 2.7x the RTR base rate)
FLAG_THRESHOLD: Final = 0.35
#: P(fit) values closer than this are a tie: the model does not tell those sizes apart
P_FIT_TIE: Final = 0.001
#: body fields a caller may give (cm, kg, years; cup and body type as text)
BODY_FIELDS: Final = (*BODY_NUMERIC, "cup", "body_type")


@dataclass(frozen=True)
class Shopper:
    """Who is buying: a known shopper id, body measurements, or both (measurements win)."""

    shopper_id: str | None = None
    body: Mapping[str, float | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """What is bought; ``sizes`` are (label, numeric size) pairs, in any order."""

    item_id: str
    category: str | None
    brand: str | None
    sizes: Sequence[tuple[str, float]]


@dataclass(frozen=True)
class SizeScore:
    size: str
    p_small: float
    p_fit: float
    p_large: float


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    shopper_id: str | None
    sizes: list[SizeScore]
    recommended_size: str
    confidence: float
    explanation: list[str]


@dataclass(frozen=True)
class FitCheck:
    item_id: str
    shopper_id: str | None
    size: str
    flag: bool
    p_small: float
    p_fit: float
    p_large: float
    suggested_size: str
    reason: str


def _columns(lines: Sequence[tuple[Shopper, Item]]) -> tuple[dict[str, list[object]], list[slice]]:
    """One canonical row per (line, offered size), as columns; the slices say which rows are whose."""
    names = ("shopper_id", "item_id", "size", "size_num", "category", "brand", *BODY_FIELDS)
    cols: dict[str, list[object]] = {k: [] for k in names}
    spans: list[slice] = []
    for shopper, item in lines:
        if not item.sizes:
            raise ValueError(f"item {item.item_id!r} has no offered sizes")
        start = len(cols["size"])
        ordered = sorted(item.sizes, key=lambda s: s[1])
        cols["size"].extend(label for label, _ in ordered)
        cols["size_num"].extend(float(num) for _, num in ordered)
        same: dict[str, object] = {"shopper_id": shopper.shopper_id, "item_id": item.item_id}
        same |= {"category": item.category, "brand": item.brand}
        same |= {k: shopper.body.get(k) for k in BODY_FIELDS}
        for name, value in same.items():
            cols[name].extend([value] * len(ordered))  # one line's fields repeat for each of its sizes
        spans.append(slice(start, len(cols["size"])))
    return cols, spans


def _score(size: object, p: np.ndarray) -> SizeScore:
    return SizeScore(str(size), round(float(p[0]), 4), round(float(p[1]), 4), round(float(p[2]), 4))


def _scores(sizes: Sequence[object], proba: np.ndarray) -> list[SizeScore]:
    return [_score(s, p) for s, p in zip(sizes, proba, strict=True)]


def _reference(model: SizeFitClassifier, features: np.ndarray) -> tuple[np.ndarray, str]:
    """The size a tie falls back on, per row, and what it is: her usual size, else her body's size."""
    names = list(model.feature_names_in_)
    ref = features[:, names.index("body_pred")]
    what = "the size people with your measurements usually order"
    if "sh_mean_size" in names:
        usual = features[:, names.index("sh_mean_size")]
        if not np.isnan(usual).all():
            ref, what = np.where(np.isnan(usual), ref, usual), "the size you usually order"
    return ref, what


def _best(model: SizeFitClassifier, features: np.ndarray, proba: np.ndarray) -> int:
    """Row with the highest P(fit) (to ``P_FIT_TIE``); ties go to the size nearest :func:`_reference`, because
    the model is often flat far from it (fit feedback barely moves with the size; see the README)."""
    size = features[:, list(model.feature_names_in_).index("size_num")]
    distance = np.nan_to_num(np.abs(size - _reference(model, features)[0]), nan=0.0)
    return int(np.lexsort((distance, -np.round(proba[:, 1] / P_FIT_TIE)))[0])


def _tie_note(
    model: SizeFitClassifier, features: np.ndarray, scores: Sequence[SizeScore], best: int
) -> list[str]:
    """Say so when other sizes score the same as the chosen one: the choice then rests on the reference."""
    tied = [s.size for s in scores if abs(s.p_fit - scores[best].p_fit) < P_FIT_TIE]
    if len(tied) < 2:
        return []
    ref, what = _reference(model, features[best : best + 1])
    if np.isnan(ref[0]):
        return [f"sizes {', '.join(tied)} are equally likely to fit"]
    return [f"sizes {', '.join(tied)} are equally likely to fit; {scores[best].size} is nearest "
            f"{what} (about {ref[0]:.0f})"]  # fmt: skip


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _compared(label: object, size: float, usual: float, whose: str) -> str:
    """Where a size sits against what someone usually orders, in words."""
    if abs(size - usual) < 0.5:
        return f"size {label} is what {whose} usually order"
    side = "above" if size > usual else "below"
    return f"size {label} is {side} what {whose} usually order (about {usual:.0f})"


def _sentence(
    model: SizeFitClassifier, feature: str, row: Mapping[str, object], values: Mapping[str, float]
) -> str | None:
    """Plain language for one influential feature, or None when it has nothing to say to a shopper."""
    fb = model.features_
    if feature in ("it_mean_size", "off_it_usual") and not np.isnan(values.get("it_mean_size", np.nan)):
        return _compared(row["size"], values["size_num"], values["it_mean_size"], "buyers of this item")
    if feature.startswith("it_"):
        hist = fb.history_of("it", str(row["item_id"]))
        if not hist or hist["n"] < 1:
            return None
        small, large = hist["small_n"] / hist["n"], hist["large_n"] / hist["n"]
        if small >= large:
            return f"this item runs small for {_pct(small)} of {hist['n']:.0f} buyers"
        return f"this item runs large for {_pct(large)} of {hist['n']:.0f} buyers"
    if feature in ("sh_mean_size", "gap_sh_mean", "off_sh_usual") and not np.isnan(
        values.get("sh_mean_size", np.nan)
    ):
        return _compared(row["size"], values["size_num"], values["sh_mean_size"], "you")
    if feature.startswith("sh_") and row["shopper_id"] is not None:
        hist = fb.history_of("sh", str(row["shopper_id"]))
        if not hist:
            return None
        return (
            f"you found {hist['small_n']:.0f} of your {hist['n']:.0f} past orders too small "
            f"and {hist['large_n']:.0f} too large"
        )
    if feature.startswith("cat_") and row.get("category"):
        hist = fb.history_of("cat", str(row["category"]))
        if not hist or hist["n"] < 1:
            return None
        small, large = hist["small_n"] / hist["n"], hist["large_n"] / hist["n"]
        side, rate = ("small", small) if small >= large else ("large", large)
        return f"{row['category']} items run {side} for {_pct(rate)} of buyers"
    if feature in ("off_body", "body_pred", *BODY_NUMERIC, "bmi"):
        pred = values.get("body_pred", np.nan)
        if np.isnan(pred):
            return None
        return f"people with your measurements usually order about size {pred:.0f}"
    return None


def _leaf_paths(booster: lgb.Booster, num_iteration: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf of every tree, what each split feature on its root-to-leaf path added to the log-odds.

    Returns the first global leaf number of each tree and a (leaves, F + 1) matrix whose last column is
    the tree's root value, so a row's contributions are the sum of the rows of the leaves it lands in.
    Dense on purpose: a gather of about a hundred rows costs microseconds (a few MB per 100 trees).
    """
    trees = booster.dump_model(num_iteration=num_iteration or None)["tree_info"]
    offsets = np.cumsum([0] + [int(t["num_leaves"]) for t in trees])
    table = np.zeros((int(offsets[-1]), n_features + 1))
    for t, info in enumerate(trees):
        root = info["tree_structure"]
        base = float(root.get("internal_value", root.get("leaf_value", 0.0)))
        stack: list[tuple[dict[str, Any], float, np.ndarray]] = [(root, base, np.zeros(n_features + 1))]
        while stack:
            node, value, path = stack.pop()
            if "split_feature" not in node:
                leaf = int(offsets[t] + node.get("leaf_index", 0))
                table[leaf] = path
                table[leaf, n_features] = base
                continue
            for child in (node["left_child"], node["right_child"]):
                child_value = float(child.get("internal_value", child.get("leaf_value", 0.0)))
                step = path.copy()
                step[int(node["split_feature"])] += child_value - value
                stack.append((child, child_value, step))
    return offsets[:-1], table


_paths_lock = threading.Lock()
_paths: weakref.WeakKeyDictionary[SizeFitClassifier, dict[str, tuple[np.ndarray, np.ndarray]]] = (
    weakref.WeakKeyDictionary()
)


def prepare(model: SizeFitClassifier) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Build (once per model) the leaf-path tables that make an explanation cost one leaf lookup."""
    with _paths_lock:
        tables = _paths.get(model)
        if tables is None:
            n = int(model.n_features_in_)
            tables = {s: _leaf_paths(model.boosters_[s], model.best_iterations_[s], n) for s in STAGES}
            _paths[model] = tables
    return tables


def path_contributions(model: SizeFitClassifier, features: np.ndarray) -> dict[str, np.ndarray]:
    """Per-feature log-odds contributions of both stages along each row's decision paths; last column
    bias. Like LightGBM's ``pred_contrib`` (TreeSHAP) they add up to the raw score, but they cost one
    leaf lookup instead of a TreeSHAP pass (several ms a row), so every recommendation can afford them.
    """
    out = {}
    for stage, (offsets, table) in prepare(model).items():
        leaves = np.asarray(
            model.boosters_[stage].predict(
                features, num_iteration=model.best_iterations_[stage], pred_leaf=True, num_threads=1
            ),
            dtype=np.int64,
        ).reshape(len(features), -1)
        out[stage] = table[leaves + offsets].sum(axis=1)
    return out


def explain_row(
    model: SizeFitClassifier, row: Mapping[str, object], features: np.ndarray, top: int = 3
) -> list[str]:
    """Up to ``top`` distinct sentences from the features that moved this row's fit the most.

    ``features`` is the row's (1, F) feature matrix from ``model.transform``.
    """
    contrib = path_contributions(model, features)
    names = list(model.feature_names_in_)
    weight = np.abs(contrib["small"][0, :-1]) + np.abs(contrib["large"][0, :-1])
    values = dict(zip(names, features[0], strict=True))
    sentences: list[str] = []
    for j in np.argsort(-weight):
        if weight[j] <= 0 or len(sentences) >= top:
            break
        text = _sentence(model, names[j], row, values)
        if text and text not in sentences:
            sentences.append(text)
    return sentences


def recommend(model: SizeFitClassifier, shopper: Shopper, item: Item) -> Recommendation:
    """Score every offered size; recommend the one most likely to fit, and say why."""
    cols, _ = _columns([(shopper, item)])
    features = model.transform(cols)
    proba = model.proba_from_features(features)
    best = _best(model, features, proba)
    scores = _scores(cols["size"], proba)
    chosen = scores[best]
    lead = (
        f"size {chosen.size}: {_pct(chosen.p_fit)} chance it fits "
        f"({_pct(chosen.p_small)} too small, {_pct(chosen.p_large)} too large)"
    )
    row = {k: v[best] for k, v in cols.items()}
    return Recommendation(
        item_id=item.item_id,
        shopper_id=shopper.shopper_id,
        sizes=scores,
        recommended_size=chosen.size,
        confidence=chosen.p_fit,
        explanation=[lead, *_tie_note(model, features, scores, best),
                     *explain_row(model, row, features[best : best + 1])],  # fmt: skip
    )


def _reason(score: SizeScore, suggested: SizeScore, flag: bool) -> str:
    """Why a line is (not) flagged; a flag with no better size is a risk of the item, not of the size."""
    if not flag:
        return f"size {score.size} is likely to fit ({_pct(score.p_fit)})"
    side, p = ("too small", score.p_small) if score.p_small >= score.p_large else ("too large", score.p_large)
    text = f"size {score.size} is likely {side} ({_pct(p)})"
    if suggested.p_fit >= score.p_fit + P_FIT_TIE:
        return text + f"; size {suggested.size} fits with {_pct(suggested.p_fit)}"
    return text + "; no other size is more likely to fit"


def check_many(
    model: SizeFitClassifier, lines: Sequence[tuple[Shopper, Item, str]], threshold: float = FLAG_THRESHOLD
) -> list[FitCheck]:
    """Score order lines in one batch: flag each whose size is likely wrong and suggest the best size."""
    for _, item, size in lines:
        if size not in {s for s, _ in item.sizes}:
            raise ValueError(f"size {size!r} is not offered for item {item.item_id!r}")
    if not lines:
        return []
    cols, spans = _columns([(shopper, item) for shopper, item, _ in lines])
    features = model.transform(cols)
    proba = model.proba_from_features(features)
    sizes = cols["size"]
    out = []
    for (shopper, item, size), span in zip(lines, spans, strict=True):
        at = span.start + sizes[span].index(size)  # score only the two rows a check reports
        own = _score(sizes[at], proba[at])
        best = span.start + _best(model, features[span], proba[span])
        suggested = _score(sizes[best], proba[best])
        flag = max(own.p_small, own.p_large) >= threshold
        out.append(
            FitCheck(
                item_id=item.item_id,
                shopper_id=shopper.shopper_id,
                size=size,
                flag=flag,
                p_small=own.p_small,
                p_fit=own.p_fit,
                p_large=own.p_large,
                suggested_size=suggested.size,
                reason=_reason(own, suggested, flag),
            )
        )
    return out


def check(
    model: SizeFitClassifier, shopper: Shopper, item: Item, size: str, threshold: float = FLAG_THRESHOLD
) -> FitCheck:
    """The mismatch check for a single order line."""
    return check_many(model, [(shopper, item, size)], threshold)[0]
