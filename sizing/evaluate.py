"""Named evaluation protocols: every model trains from scratch on the training part only.

- ``misra2018``: random 80/10/10 train/validation/test split with a fixed seed (Misra et al. 2018).
- ``temporal``: test on the last 10% of transactions by date; train/validation before that date.
- ``cold_start``: shoppers split 80/10/10, so every test shopper is unseen in training.

- ``custom``: the caller's own train and test files (a random 10% of the train file validates).

Metrics: one-vs-rest AUC per class, their mean (``macro_auc``), accuracy and top-label ECE, and the
recommendation metrics of :mod:`sizing.rec_metrics` (with their two baselines).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from sizing.baselines import ClassPrior, LatentSizeLR
from sizing.model import Progress, SizeFitClassifier, SizeFitModel
from sizing.rec_metrics import attach_charts, offered_sizes, recommendation_metrics
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

ProtocolName = Literal["misra2018", "temporal", "cold_start"]
PROTOCOLS: Final[tuple[ProtocolName, ...]] = ("misra2018", "temporal", "cold_start")
ECE_BINS: Final = 15


class _Scorer(Protocol):
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


def split(frame: pd.DataFrame, protocol: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions of the train, validation and test parts (about 80/10/10)."""
    n = len(frame)
    rng = np.random.default_rng(seed)
    if protocol == "misra2018":
        u = rng.random(n)
    elif protocol == "cold_start":
        shoppers = frame["shopper_id"].astype(str)
        codes, uniques = pd.factorize(shoppers, sort=True)
        u = rng.random(len(uniques))[codes]
    elif protocol == "temporal":
        when = pd.to_datetime(frame["ordered_at"])
        if when.isna().any():
            raise ValueError("ordered_at is missing for some rows; the temporal protocol needs every date")
        cut = when.quantile(0.9)
        after = (when > cut).to_numpy()
        u = np.where(after, 1.0, rng.random(n) * 0.8 / 0.9)
    else:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    idx = np.arange(n)
    return idx[u < 0.8], idx[(u >= 0.8) & (u < 0.9)], idx[u >= 0.9]


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE: |accuracy − confidence| averaged over equal-width confidence bins, weighted by count."""
    conf = proba.max(axis=1)
    correct = (np.array(FIT_LABELS, dtype=object)[proba.argmax(axis=1)] == y).astype(float)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """AUC per class (one-vs-rest), macro AUC, accuracy and ECE; probabilities in small/fit/large order."""
    y = np.asarray(y, dtype=object)
    out: dict[str, float] = {}
    for j, label in enumerate(FIT_LABELS):
        positive = y == label
        out[f"auc_{label}"] = (
            float(roc_auc_score(positive, proba[:, j])) if 0 < positive.sum() < len(y) else float("nan")
        )
    out["macro_auc"] = float(np.mean([out[f"auc_{c}"] for c in FIT_LABELS]))
    out["accuracy"] = float(np.mean(np.array(FIT_LABELS, dtype=object)[proba.argmax(axis=1)] == y))
    out["ece"] = expected_calibration_error(y, proba)
    return {k: round(v, 4) for k, v in out.items()}


def custom_split(train_rows: int, test_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parts of ``concat([train_file, test_file])``: the train file split 90/10 train/validation."""
    is_val = np.random.default_rng(seed).random(train_rows) < 0.1
    idx = np.arange(train_rows)
    return idx[~is_val], idx[is_val], np.arange(train_rows, train_rows + test_rows)


def evaluate(
    frame: pd.DataFrame,
    *,
    protocol: str,
    dataset: str,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    baselines: bool = True,
    progress: Progress | None = None,
    on_step: Callable[[str], None] | None = None,
    charts: pd.DataFrame | None = None,
    catalogue: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
    parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    fit_model: Callable[..., SizeFitModel] = SizeFitModel.fit,
) -> dict[str, Any]:
    """Train the model (and baselines) on the train part of ``protocol`` and score them on its test part.

    ``charts`` (size chart rows) join each line at its size; ``catalogue`` lists each item's offered
    sizes; ``truth`` (simulated ground truth per
    ``order_id``) adds the true-best-size keys; ``parts`` gives the split (``custom``) instead.
    ``fit_model`` trains the size-fit model (``SizeFitModel.fit``'s signature): the Dask engine passes its
    own, so both engines are scored by the same code on the same split.
    """
    frame = attach_charts(frame.reset_index(drop=True), charts)
    train, val, test = parts if parts is not None else split(frame, protocol, seed)
    if len(train) == 0 or len(val) == 0 or len(test) == 0:
        raise ValueError(f"{protocol}: too few rows to split ({len(frame)} rows)")
    X_tr, X_val, X_te = frame.iloc[train], frame.iloc[val], frame.iloc[test]
    y_tr, y_val, y_te = (frame["fit"].to_numpy(dtype=object)[i] for i in (train, val, test))
    step = on_step or (lambda _: None)

    step("size-fit model")
    started = time.perf_counter()
    model = fit_model(
        X_tr,
        y_tr,
        params={"random_state": seed, **(params or {})},
        eval_set=(X_val, y_val),
        progress=progress,
    )
    train_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "protocol": protocol,
        "dataset": dataset,
        "seed": seed,
        "n_train": int(len(train)),
        "n_val": int(len(val)),
        "n_test": int(len(test)),
        **metrics(y_te, model.predict_proba(X_te)),
        "features": list(model.risk.feature_names_in_),
        "monotone_features": list(model.risk.features_.size_features_) if model.risk.monotone else [],
        "best_iterations": model.risk.best_iterations_,
        "flag_threshold": round(model.flag_threshold_, 4),
        "train_seconds": round(train_seconds, 1),
    }
    if model.curves.layer:
        result["layer_slopes"] = [round(k, 3) for k in model.curves.layer_.slopes_]
        result["curves"] = metrics(y_te, model.curve_proba(X_te))
    step("recommendation metrics")
    offered = offered_sizes(frame, charts, catalogue)
    result |= recommendation_metrics(model, X_tr, X_te, offered, truth)
    if baselines:
        scored: dict[str, dict[str, float]] = {}
        candidates: list[tuple[str, Callable[[], _Scorer]]] = [
            ("class_prior", lambda: ClassPrior().fit(X_tr, y_tr)),
            ("latent_size_1lv_lr", lambda: LatentSizeLR().fit(X_tr, y_tr)),
            (
                "lightgbm_no_history",
                lambda: SizeFitClassifier(
                    random_state=seed, **{**(params or {}), "history": False, "layer": False}
                ).fit(X_tr, y_tr, eval_set=(X_val, y_val), progress=progress),
            ),
        ]
        for name, build in candidates:
            step(f"baseline {name}")
            scored[name] = metrics(y_te, build().predict_proba(X_te))
        result["baselines"] = scored
    return result
