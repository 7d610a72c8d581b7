"""Recommend a size and check an order line, given a fitted model and plain data (no database here).

The caller supplies the shopper (an id the model may know from history, and/or body measurements in
cm/kg, and/or the size she wears in a brand she knows), the item (id, category, brand), the sizes it is
offered in and, where it has one, its size chart. Every offered size is scored in one batch. The
explanation starts from the size layer (her size in the brand she knows, the item's offset, the chart's
ease against the shopper's body, her fit preference), then adds the features that moved the model's
residual most. Its sentences are :class:`~sizing.messages.Message` objects (a code and parameters), so a
caller renders them in the shopper's language; ``explanation`` and ``reason`` give them in English.
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

from sizing import known_size
from sizing.features import BODY_NUMERIC, CHART_MEASUREMENTS
from sizing.known_size import KnownSize, Placement
from sizing.layer import LayerParts, chart_column, preference_word
from sizing.messages import Message
from sizing.model import STAGES, SizeFitClassifier, SizeFitModel
from sizing.savings import flag_threshold
from sizing.scales import category_scale

log = logging.getLogger(__name__)

#: P(fit) values closer than this are a tie: the model does not tell those sizes apart
P_FIT_TIE: Final = 0.001
#: body fields a caller may give (cm, kg, years; cup and body type as text)
BODY_FIELDS: Final = (*BODY_NUMERIC, "cup", "body_type")


@dataclass(frozen=True)
class Shopper:
    """Who is buying: a known shopper id, body measurements, or both (measurements win); ``known`` is
    the size she usually wears in a brand she knows, if she said."""

    shopper_id: str | None = None
    body: Mapping[str, float | str | None] = field(default_factory=dict)
    known: KnownSize | None = None


@dataclass(frozen=True)
class Item:
    """What is bought; ``sizes`` are (label, numeric size) pairs, in any order; ``chart`` maps a size
    label to its garment measurements in cm (``bust_girth``, ``waist_girth``, ``hip_girth``)."""

    item_id: str
    category: str | None
    brand: str | None
    sizes: Sequence[tuple[str, float]]
    chart: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class ChartGap:
    """The chart against the body at one size, at the measurement that binds (ease = chart − body)."""

    size: str
    measurement: str
    chart_cm: float
    body_cm: float
    ease_cm: float


@dataclass(frozen=True)
class Reasons:
    """The size layer's part of the answer, in structured form (the web widget shows it)."""

    item_offset_steps: float | None  # > 0: runs small; None when the item has no fit history
    usual_size: str | None  # the offered size nearest her reference: known size, history or body
    usual_from: str  # "known_size", "history" or "measurements"
    preference: str | None  # tight / regular / loose; None for a shopper without history
    preference_steps: float | None
    chart: list[ChartGap]  # the recommended (or ordered) size and the one below it, where charted
    known_size: Placement | None = None  # the size she wears in a brand she knows, on this item's scale


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
    messages: list[Message]
    reasons: Reasons

    @property
    def explanation(self) -> list[str]:
        """The messages in English."""
        return [str(m) for m in self.messages]


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
    verdict: Message
    reasons: Reasons

    @property
    def reason(self) -> str:
        """The verdict in English."""
        return str(self.verdict)


def _columns(lines: Sequence[tuple[Shopper, Item]]) -> tuple[dict[str, list[object]], list[slice]]:
    """One canonical row per (line, offered size), as columns; the slices say which rows are whose."""
    charts = tuple(chart_column(m) for m in CHART_MEASUREMENTS)
    names = ("shopper_id", "item_id", "size", "size_num", "category", "brand", *BODY_FIELDS, *charts)
    cols: dict[str, list[object]] = {k: [] for k in names}
    spans: list[slice] = []
    for shopper, item in lines:
        if not item.sizes:
            raise ValueError(f"item {item.item_id!r} has no offered sizes")
        start = len(cols["size"])
        ordered = sorted(item.sizes, key=lambda s: s[1])
        cols["size"].extend(label for label, _ in ordered)
        cols["size_num"].extend(float(num) for _, num in ordered)
        for m, col in zip(CHART_MEASUREMENTS, charts, strict=True):
            cols[col].extend(item.chart.get(label, {}).get(m) for label, _ in ordered)
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


def best_index(curve: np.ndarray, values: np.ndarray, reference: float) -> int:
    """The size with the highest P(fit) (to ``P_FIT_TIE``); a tie goes to the size nearest ``reference``
    (her usual or body-predicted size)."""
    distance = np.nan_to_num(np.abs(values - reference), nan=0.0)
    return int(np.lexsort((distance, -np.round(curve[:, 1] / P_FIT_TIE)))[0])


def suggested_index(curve: np.ndarray, at: int, flag: bool, *, small: bool) -> int:
    """What a check suggests for the size at ``at``: itself when not flagged; when flagged too small
    (``small``) or too large, the larger (smaller) size most likely to fit, or itself when none is offered."""
    if not flag:
        return at
    side = np.arange(at + 1, len(curve)) if small else np.arange(at)
    if not len(side):
        return at
    return int(side[np.argmax(curve[side, 1])])


def _tie_note(scores: Sequence[SizeScore], best: int) -> list[Message]:
    """Say so when other sizes score the same as the chosen one: the choice then rests on the reference."""
    tied = [s.size for s in scores if abs(s.p_fit - scores[best].p_fit) < P_FIT_TIE]
    if len(tied) < 2:
        return []
    return [Message("tie", {"sizes": tied, "size": scores[best].size})]


def _compared(label: object, size: float, usual: float, who: str) -> Message:
    """Where a size sits against what someone (``who``: the item's buyers or "you") usually orders."""
    if abs(size - usual) < 0.5:
        return Message("usual_order", {"size": str(label), "who": who})
    side = "above" if size > usual else "below"
    return Message("usual_order_side", {"size": str(label), "side": side, "who": who, "usual": float(usual)})


def _runs(side: str, share: float, **params: object) -> Message:
    return Message("item_history" if "n" in params else "category_history",
                   {**params, "side": side, "share": float(share)})  # fmt: skip


def _sentence(
    model: SizeFitClassifier, feature: str, row: Mapping[str, object], values: Mapping[str, float]
) -> Message | None:
    """Plain language for one influential feature, or None when it has nothing to say to a shopper."""
    fb = model.features_
    size = float(row["size_num"])  # type: ignore[arg-type]
    if feature in ("it_mean_size", "off_it_usual") and not np.isnan(values.get("it_mean_size", np.nan)):
        return _compared(row["size"], size, values["it_mean_size"], "item")
    if feature.startswith("it_"):
        hist = fb.history_of("it", str(row["item_id"]))
        if not hist or hist["n"] < 1:
            return None
        small, large = hist["small_n"] / hist["n"], hist["large_n"] / hist["n"]
        if small >= large:
            return _runs("small", small, n=float(hist["n"]))
        return _runs("large", large, n=float(hist["n"]))
    if feature in ("sh_mean_size", "gap_sh_mean", "off_sh_usual") and not np.isnan(
        values.get("sh_mean_size", np.nan)
    ):
        return _compared(row["size"], size, values["sh_mean_size"], "you")
    if feature.startswith("sh_") and row["shopper_id"] is not None:
        hist = fb.history_of("sh", str(row["shopper_id"]))
        if not hist:
            return None
        counts = {"small": float(hist["small_n"]), "n": float(hist["n"]), "large": float(hist["large_n"])}
        return Message("shopper_history", counts)
    if feature.startswith("cat_") and row.get("category"):
        hist = fb.history_of("cat", str(row["category"]))
        if not hist or hist["n"] < 1:
            return None
        small, large = hist["small_n"] / hist["n"], hist["large_n"] / hist["n"]
        side, rate = ("small", small) if small >= large else ("large", large)
        return _runs(side, rate, category=str(row["category"]))
    if feature in ("off_body", "body_pred", *BODY_NUMERIC, "bmi"):
        pred = values.get("body_pred", np.nan)
        if np.isnan(pred):
            return None
        return Message("body_usual", {"usual": float(pred)})
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
                features[:, : model.n_features_in_],
                num_iteration=model.best_iterations_[stage],
                pred_leaf=True,
                num_threads=1,
            ),
            dtype=np.int64,
        ).reshape(len(features), -1)
        out[stage] = table[leaves + offsets].sum(axis=1)
    return out


def explain_row(
    model: SizeFitClassifier, row: Mapping[str, object], features: np.ndarray, top: int = 3
) -> list[Message]:
    """Up to ``top`` distinct sentences from the features that moved this row's fit the most.

    ``features`` is the row's (1, F) feature matrix from ``model.transform``.
    """
    features = features[:, : model.n_features_in_]
    contrib = path_contributions(model, features)
    names = list(model.feature_names_in_)
    weight = np.abs(contrib["small"][0, :-1]) + np.abs(contrib["large"][0, :-1])
    values = dict(zip(names, features[0], strict=True))
    sentences: list[Message] = []
    for j in np.argsort(-weight):
        if weight[j] <= 0 or len(sentences) >= top:
            break
        text = _sentence(model, names[j], row, values)
        if text and text not in sentences:
            sentences.append(text)
    return sentences


def _reference(
    model: SizeFitModel, shopper: Shopper, item: Item, parts: LayerParts, at: int, known: Placement | None
) -> tuple[float, str]:
    """Her reference size on the item's scale and where it comes from: the size she wears in a brand
    she knows (she said so), else her usual size in her history, else what her measurements suggest."""
    if known is not None and known.value_steps is not None:
        return known.value_steps, "known_size"
    usual = model.curves.layer_.usual_size(shopper.shopper_id, category_scale(item.category))
    return (usual, "history") if usual is not None else (float(parts.body_size[at]), "measurements")


def _reasons(
    model: SizeFitModel,
    shopper: Shopper,
    item: Item,
    cols: Mapping[str, Sequence[object]],
    parts: LayerParts,
    at: int,
    placed: Placement | None = None,
) -> Reasons:
    """The layer's view of one line's scored sizes (rows of ``cols``), about the size at row ``at``;
    ``placed``: the size she wears in a brand she knows, on this item's scale."""
    layer = model.curves.layer_
    values = np.asarray(cols["size_num"], dtype=float)
    target, usual_from = _reference(model, shopper, item, parts, at, placed)
    usual_label = str(cols["size"][int(np.argmin(np.abs(values - target)))]) if not np.isnan(target) else None
    known_item = item.item_id in layer.items_
    known = bool(parts.known_shopper[at])
    chart = []
    for i in (at, at - 1):
        measurement = parts.chart_measurement[i] if i >= 0 else None
        if measurement is None:
            continue
        ease = float(parts.chart_ease_cm[i])
        garment = float(cols[chart_column(measurement)][i])  # type: ignore[arg-type]
        chart.append(ChartGap(str(cols["size"][i]), measurement, garment, round(garment - ease, 1),
                              round(ease, 1)))  # fmt: skip
    return Reasons(
        item_offset_steps=round(float(parts.item_offset[at]), 2) if known_item else None,
        usual_size=usual_label,
        usual_from=usual_from,
        preference=preference_word(float(parts.preference[at])) if known else None,
        preference_steps=round(float(parts.preference[at]), 2) if known else None,
        chart=chart,
        known_size=placed,
    )


def _layer_sentences(reasons: Reasons, size: str) -> list[Message]:
    """Why a size, in words: her size in the brand she knows, the item's offset, the chart against the
    body, her fit preference."""
    out = []
    if reasons.known_size is not None:
        here = reasons.usual_size if reasons.usual_from == "known_size" else None
        out.append(known_size.sentence(reasons.known_size, here))
    offset = reasons.item_offset_steps
    if offset is not None and abs(offset) >= 0.5:
        steps = round(abs(offset))
        params: dict[str, object] = {"side": "small" if offset > 0 else "large"}
        code = "item_runs_one" if steps <= 1 else "item_runs_many"
        if steps > 1:
            params["steps"] = steps
        if reasons.usual_size is not None and reasons.usual_size != size:
            code += "_rather"
            params |= {"size": size, "basis": reasons.usual_from, "usual": reasons.usual_size}
        out.append(Message(code, params))
    for gap in reasons.chart:
        where = gap.measurement.replace("_girth", "")
        if gap.ease_cm < 0:
            out.append(Message("chart_tight", {"size": gap.size, "cm": -gap.ease_cm, "measurement": where}))
        else:
            out.append(Message("chart_room", {"size": gap.size, "cm": gap.ease_cm, "measurement": where}))
    if reasons.preference in ("loose", "tight"):
        out.append(Message(f"prefers_{reasons.preference}"))
    return out


def recommend(model: SizeFitModel, shopper: Shopper, item: Item) -> Recommendation:
    """Score every offered size on the size curves; recommend the one most likely to fit, and say why.

    A known size (``shopper.known``) on the item's scale is her reference size and, for a shopper the
    model has no history of, her latent size in place of the one her measurements suggest.
    """
    cols, _ = _columns([(shopper, item)])
    curves = model.curves
    features = curves.transform(cols)
    parts = curves.layer_.parts(cols)
    known = known_size.place(shopper.known, item.category) if shopper.known is not None else None
    if known is not None and known.value_steps is not None and curves.layer and not parts.known_shopper[0]:
        features, parts = known_size.as_latent(
            curves.layer_, features, curves.n_features_in_, parts, known.value_steps
        )
    proba = curves.proba_from_features(features)
    values = np.asarray(cols["size_num"], dtype=float)
    best = best_index(proba, values, _reference(model, shopper, item, parts, 0, known)[0])
    scores = _scores(cols["size"], proba)
    chosen = scores[best]
    lead = Message("lead", {"size": chosen.size, "p_fit": chosen.p_fit, "p_small": chosen.p_small,
                            "p_large": chosen.p_large})  # fmt: skip
    row = {k: v[best] for k, v in cols.items()}
    reasons = _reasons(model, shopper, item, cols, parts, best, known)
    return Recommendation(
        item_id=item.item_id,
        shopper_id=shopper.shopper_id,
        sizes=scores,
        recommended_size=chosen.size,
        confidence=chosen.p_fit,
        messages=[
            lead,
            *_tie_note(scores, best),
            *_layer_sentences(reasons, chosen.size),
            *explain_row(curves, row, features[best : best + 1], top=2),
        ],  # fmt: skip
        reasons=reasons,
    )


def _reason(score: SizeScore, suggested: SizeScore, flag: bool) -> Message:
    """Why a line is (not) flagged, and which way to go."""
    if not flag:
        return Message("check_fits", {"size": score.size, "p_fit": score.p_fit})
    small = score.p_small >= score.p_large
    params = {"size": score.size, "side": "too_small" if small else "too_large",
              "p": score.p_small if small else score.p_large}  # fmt: skip
    if suggested.size != score.size:
        return Message("check_flag", {**params, "suggested": suggested.size, "p_suggested": suggested.p_fit})
    return Message("check_flag_none", {**params, "bound": "larger" if small else "smaller"})


def check_many(model: SizeFitModel, lines: Sequence[tuple[Shopper, Item, str]]) -> list[FitCheck]:
    """Score order lines in one batch: flag each whose size is likely wrong (the risk model at the
    ordered size, against its validation-set threshold) and suggest a size the flag's way (the curves)."""
    for _, item, size in lines:
        if size not in {s for s, _ in item.sizes}:
            raise ValueError(f"size {size!r} is not offered for item {item.item_id!r}")
    if not lines:
        return []
    cols, spans = _columns([(shopper, item) for shopper, item, _ in lines])
    proba = model.curve_proba(cols)
    parts = model.curves.layer_.parts(cols)
    sizes = cols["size"]
    ats = [sizes[span].index(size) for (_, _, size), span in zip(lines, spans, strict=True)]
    rows = [span.start + at for span, at in zip(spans, ats, strict=True)]
    risk = model.predict_proba({k: [v[r] for r in rows] for k, v in cols.items()})
    threshold = flag_threshold(model.flag_threshold_)
    out = []
    for (shopper, item, size), span, at, r in zip(lines, spans, ats, risk, strict=True):
        curve = proba[span]
        own = _score(size, r)
        flag = max(own.p_small, own.p_large) >= threshold
        to = suggested_index(curve, at, flag, small=own.p_small >= own.p_large)
        suggested = _score(sizes[span][to], curve[to])
        line_cols = {k: v[span] for k, v in cols.items()}
        line_parts = LayerParts(**{k: v[span] for k, v in vars(parts).items()})
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
                verdict=_reason(own, suggested, flag),
                reasons=_reasons(model, shopper, item, line_cols, line_parts, at),
            )
        )
    return out
