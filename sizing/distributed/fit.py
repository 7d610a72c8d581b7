"""Fit a :class:`sizing.model.SizeFitModel` on a Dask cluster: the same artifact as local training.

Steps, each over the partitions: fold and validation assignment by a hash of ``order_id``; the feature
builder's state (:mod:`sizing.distributed.features`); the out-of-fold feature matrix, kept in worker
memory; the four LightGBM boosters (risk and size curves, two ordinal stages each) trained by
``lightgbm.dask`` (one LightGBM process per worker, data-parallel). The physical size layer
(:mod:`sizing.layer`, an L-BFGS fit over per-shopper and per-item parameters) is fitted in the client
process from its input columns only: it is the one step that still needs one machine's memory.

``lightgbm.dask`` has no early stopping (each worker sees only its own validation rows), so each
booster trains ``rounds`` rounds and keeps, as local training does, the iteration with the lowest
validation log-loss over the whole validation set.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed import Client
from lightgbm.dask import DaskLGBMClassifier

from sizing.distributed.features import FOLD, History, features, fit_history, fit_static, hash_unit, size_free
from sizing.distributed.parquet import COLUMNS
from sizing.features import CHART_MEASUREMENTS, FeatureBuilder, as_columns
from sizing.layer import SizeLayer, chart_column
from sizing.model import FLAG_FIT_SHARE, STAGES, SizeFitClassifier, SizeFitModel
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

LAYER_FOLD: Final = "_lfold"
VALID: Final = "_valid"
#: rounds per booster without early stopping (local training stops well before this; see docs/scale.md)
DEFAULT_ROUNDS: Final = 600
_A, _B, _Y = "_layer_a", "_layer_b", "_y"


def _assign(
    part: pd.DataFrame, seed: int, n_folds: int, layer_folds: int, valid_share: float
) -> pd.DataFrame:
    ids = part["order_id"]
    return part.assign(
        **{
            FOLD: (hash_unit(ids, seed, 1) * n_folds).astype(np.int64),
            LAYER_FOLD: (hash_unit(ids, seed, 2) * layer_folds).astype(np.int64),
            VALID: hash_unit(ids, seed, 3) < valid_share,
        }
    )


def _layer_columns(frame: dd.DataFrame) -> pd.DataFrame:
    wanted = [c for c in (*COLUMNS, *(chart_column(m) for m in CHART_MEASUREMENTS), "fit", LAYER_FOLD)]
    return frame[[c for c in wanted if c in frame.columns]].compute()


def _fit_layers(rows: pd.DataFrame, layer_folds: int) -> tuple[list[SizeLayer], SizeLayer]:
    """Layers fitted without each layer fold (training rows' starting scores) and on all rows."""
    cols, labels, folds = as_columns(rows), rows["fit"].to_numpy(dtype=object), rows[LAYER_FOLD].to_numpy()
    per_fold = []
    for k in range(layer_folds):
        keep = folds != k
        per_fold.append(SizeLayer().fit({c: v[keep] for c, v in cols.items()}, labels[keep]))
    return per_fold, SizeLayer().fit(cols, labels)


def _matrix(
    part: pd.DataFrame, builder: FeatureBuilder, history: History | None, layers: list[SizeLayer]
) -> pd.DataFrame:
    """Features, the layer's starting scores (out-of-fold for training rows) and the label code."""
    out = features(part, builder, history)
    cols = as_columns(part)
    a, b = np.empty(len(part)), np.empty(len(part))
    which = part[LAYER_FOLD].to_numpy() if len(layers) > 1 else np.zeros(len(part), np.int64)
    for k, layer in enumerate(layers):
        rows = which == k
        if rows.any():
            p = layer.parts({c: v[rows] for c, v in cols.items()})
            a[rows], b[rows] = p.a, p.b
    codes = {label: i for i, label in enumerate(FIT_LABELS)}
    return out.assign(**{_A: a, _B: b, _Y: part["fit"].map(codes).to_numpy(dtype=np.int64)})


def _best_iteration(booster: lgb.Booster, F: np.ndarray, y: np.ndarray, init: np.ndarray | None) -> int:
    """1-based iteration with the lowest validation log-loss (what local early stopping keeps)."""
    raw = np.zeros(len(y)) if init is None else init.copy()
    losses = []
    for i in range(booster.num_trees()):
        raw += booster.predict(F, start_iteration=i, num_iteration=1, raw_score=True)
        p = np.clip(1.0 / (1.0 + np.exp(-raw)), 1e-15, 1 - 1e-15)
        losses.append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return int(np.argmin(losses)) + 1


def _train_classifier(
    client: Client,
    clf: SizeFitClassifier,
    builder: FeatureBuilder,
    train: dd.DataFrame,
    valid: pd.DataFrame,
    rounds: int,
) -> SizeFitClassifier:
    names = builder.feature_names_
    clf.boosters_, clf.evals_result_ = {}, {}
    best: dict[str, int] = {}
    for j, (stage, (positive, direction)) in enumerate(STAGES.items()):
        pos = FIT_LABELS.index(positive)
        rows = train if stage == "small" else train[train[_Y] != FIT_LABELS.index("small")]
        params = {k: v for k, v in clf._params(builder, direction).items() if k != "num_threads"}
        model = DaskLGBMClassifier(client=client, n_estimators=rounds, **params)
        model.fit(
            rows[names],
            (rows[_Y] == pos).astype(np.int64),
            init_score=rows[(_A, _B)[j]] if clf.layer else None,
            # a categorical column never seen (all missing) crashes distributed LightGBM 4.7 at dataset
            # construction; as a plain column it is dropped as constant, exactly as local training ignores it
            categorical_feature=[c for c in builder.categorical_features_ if builder.vocab_[c]],
        )
        booster = model.booster_
        v = valid if stage == "small" else valid[valid[_Y] != FIT_LABELS.index("small")]
        init = v[(_A, _B)[j]].to_numpy() if clf.layer else None
        best[stage] = _best_iteration(booster, v[names].to_numpy(), (v[_Y] == pos).to_numpy(float), init)
        clf.boosters_[stage] = booster
        log.info("dask stage %s: best iteration %d of %d", stage, best[stage], rounds)
    clf.features_ = builder
    clf.classes_ = np.array(FIT_LABELS, dtype=object)
    clf.feature_names_in_ = np.array(names, dtype=object)
    clf.n_features_in_ = len(names)
    clf.best_iterations_ = best
    return clf


def fit_dask(
    client: Client,
    frame: dd.DataFrame,
    *,
    valid: dd.DataFrame | None = None,
    params: dict[str, Any] | None = None,
    rounds: int = DEFAULT_ROUNDS,
) -> SizeFitModel:
    """Train on the labelled rows of ``frame`` (validation: ``valid``, else a hashed 10% of ``frame``)."""
    given = dict(params or {})
    with_layer = bool(given.pop("layer", True))
    risk = SizeFitClassifier(**given, layer=False)
    seed, n_folds, layer_folds = risk.random_state, risk.n_folds, risk.layer_folds
    share = 0.0 if valid is not None else risk.validation_fraction
    meta = _assign(frame._meta, seed, n_folds, layer_folds, share)
    # read (and chart-joined) once, kept in the workers' memory for the passes below
    frame = frame.map_partitions(_assign, seed, n_folds, layer_folds, share, meta=meta).persist()
    if valid is None:
        train_rows, valid_rows = frame[~frame[VALID]], frame[frame[VALID]]
    else:
        train_rows = frame
        valid_rows = valid.map_partitions(_assign, seed, n_folds, layer_folds, 0.0, meta=meta).persist()

    builder = FeatureBuilder(history=True, n_folds=n_folds, random_state=seed)
    fit_static(train_rows, builder)
    history = fit_history(train_rows, builder, n_folds)
    builder.tables_ = history.serving
    layers, full = _fit_layers(_layer_columns(train_rows), layer_folds) if with_layer else ([], None)
    meta_m = _matrix(train_rows._meta, builder, None, [])
    train_m = train_rows.map_partitions(_matrix, builder, history, layers, meta=meta_m).persist()
    valid_m = valid_rows.map_partitions(_matrix, builder, None, [full] if full else [], meta=meta_m)
    valid_local = valid_m.compute()
    if not len(valid_local) or not len(train_m.index):
        raise ValueError("need at least one training and one validation row")

    _train_classifier(client, risk, builder, train_m, valid_local, rounds)
    F_val = valid_local[builder.feature_names_].to_numpy()
    y_val = np.array(FIT_LABELS, dtype=object)[valid_local[_Y].to_numpy()]
    proba = risk.proba_from_features(F_val)
    at_risk = np.maximum(proba[:, 0], proba[:, 2])[y_val == "fit"]
    risk.flag_threshold_ = float(np.quantile(at_risk, 1.0 - FLAG_FIT_SHARE)) if len(at_risk) else 0.5

    every = dd.concat([train_rows, valid_rows]) if valid is not None else frame
    refit = fit_history(every, builder, n_folds)
    builder.tables_ = refit.serving
    if not with_layer:
        return SizeFitModel(risk, risk)
    curves = SizeFitClassifier(**given, layer=True)
    free = size_free(builder)
    _train_classifier(client, curves, free, train_m, valid_local, rounds)
    curves.flag_threshold_ = risk.flag_threshold_
    curves.layer_ = SizeLayer().fit(*_labelled_columns(every))
    del train_m
    return SizeFitModel(risk, curves)


def _labelled_columns(frame: dd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rows = _layer_columns(frame)
    return as_columns(rows), rows["fit"].to_numpy(dtype=object)
