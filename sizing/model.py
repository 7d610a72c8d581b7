"""The size-fit classifier: P(small), P(fit), P(large) for one order line, strictly monotone in the size.

Why two boosters and not one LightGBM ``multiclass`` booster: LightGBM applies a monotone constraint in
the same direction to every class's raw score, and under a softmax that does not make P(small) fall as
the size grows. We use the ordinal (continuation-ratio) form of the same three-class model instead:

    P(small) = σ(a(x))                    a: decreasing in every size feature
    P(large) = (1 − σ(a(x))) · σ(b(x))    b: "large vs fit" among non-small, increasing in every size feature
    P(fit)   = (1 − σ(a(x))) · (1 − σ(b(x)))

so a larger size never raises P(small) and never lowers P(large), exactly, for every shopper and item.

With ``layer=True`` (the default) both raw scores start from the physical size layer
(:mod:`sizing.layer`): ``a = a_layer(gap) + f_a(x)`` and ``b = b_layer(gap) + f_b(x)``, where the boosters
``f`` see only size-free features. The size then moves the outcome through the layer's floored slope
alone, so P(small) falls by a real margin across sizes and the data cannot flatten it. The layer's
scores for training rows are out-of-fold (a row's own label never shapes its starting score).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from sizing.features import FeatureBuilder, _labels, as_columns
from sizing.layer import SizeLayer
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

#: stage name -> (positive label, direction of the constraint on size features)
STAGES: Final = {"small": ("small", -1), "large": ("large", 1)}
Progress = Callable[[str, int, int], None]
#: the check flags an order line when max(P(small), P(large)) reaches the threshold that flags this
#: share of the validation lines labelled fit (an operating point fixed before any test data is seen)
FLAG_FIT_SHARE: Final = 0.12
Frame: TypeAlias = pd.DataFrame | Mapping[str, Sequence[object] | np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class SizeFitClassifier(ClassifierMixin, BaseEstimator):
    """LightGBM size-fit model over canonical transactions (``X`` is a frame in the schema's columns).

    Hyperparameters only are stored here; everything learned ends with ``_``.
    """

    def __init__(
        self,
        *,
        history: bool = True,
        layer: bool = True,
        layer_folds: int = 3,
        monotone: bool = True,
        monotone_method: str = "intermediate",
        n_estimators: int = 3000,
        learning_rate: float = 0.1,
        num_leaves: int = 63,
        min_child_samples: int = 200,
        feature_fraction: float = 0.7,
        bagging_fraction: float = 0.8,
        reg_lambda: float = 5.0,
        early_stopping_rounds: int = 100,
        validation_fraction: float = 0.1,
        n_folds: int = 5,
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.history = history
        self.layer = layer
        self.layer_folds = layer_folds
        self.monotone = monotone
        self.monotone_method = monotone_method
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_folds = n_folds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _params(self, builder: FeatureBuilder, direction: int) -> dict[str, Any]:
        names = builder.feature_names_
        size = builder.size_directions_
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.n_jobs,
            "verbose": -1,
        }
        if self.monotone and not self.layer:
            params["monotone_constraints"] = [direction * size.get(n, 0) for n in names]
            params["monotone_constraints_method"] = self.monotone_method
        return params

    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[str] | np.ndarray | pd.Series,
        *,
        eval_set: tuple[pd.DataFrame, Sequence[str] | np.ndarray | pd.Series] | None = None,
        progress: Progress | None = None,
    ) -> SizeFitClassifier:
        """Train both stages with early stopping on ``eval_set`` (else a random ``validation_fraction``)."""
        labels = _labels(y)
        X = X.reset_index(drop=True)
        if len(labels) != len(X):
            raise ValueError(f"y has {len(labels)} labels but X has {len(X)} rows")
        if eval_set is None:
            if not 0.0 < self.validation_fraction < 1.0:
                raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
            rng = np.random.default_rng(self.random_state)
            is_val = rng.random(len(X)) < self.validation_fraction
            X_tr, y_tr, X_val, y_val = X[~is_val], labels[~is_val], X[is_val], labels[is_val]
        else:
            X_tr, y_tr = X, labels
            X_val, y_val = eval_set[0].reset_index(drop=True), _labels(eval_set[1])
        if len(X_val) == 0 or len(X_tr) == 0:
            raise ValueError("need at least one training and one validation row")

        builder = FeatureBuilder(
            history=self.history, n_folds=self.n_folds, random_state=self.random_state, size_free=self.layer
        )
        F_tr = builder.fit_transform(X_tr, y_tr)
        F_val = builder.transform(X_val)
        init_tr, init_val = self._layer_scores(X_tr, y_tr, X_val)
        cat = builder.categorical_features_
        self.boosters_: dict[str, lgb.Booster] = {}
        self.evals_result_: dict[str, list[float]] = {}
        for j, (stage, (positive, direction)) in enumerate(STAGES.items()):
            rows_tr = np.ones(len(y_tr), bool) if stage == "small" else y_tr != "small"
            rows_val = np.ones(len(y_val), bool) if stage == "small" else y_val != "small"
            train = lgb.Dataset(
                F_tr[rows_tr], (y_tr[rows_tr] == positive).astype(float),
                init_score=None if init_tr is None else init_tr[rows_tr, j],
                feature_name=builder.feature_names_, categorical_feature=cat, free_raw_data=True,
            )  # fmt: skip
            valid = lgb.Dataset(
                F_val[rows_val], (y_val[rows_val] == positive).astype(float),
                init_score=None if init_val is None else init_val[rows_val, j], reference=train,
            )  # fmt: skip
            record: dict[str, dict[str, list[float]]] = {}
            callbacks: list[Callable[..., None]] = [
                lgb.early_stopping(self.early_stopping_rounds, verbose=False),
                lgb.record_evaluation(record),
            ]
            if progress is not None:
                callbacks.append(lambda env, s=stage: progress(s, env.iteration + 1, env.end_iteration))
            booster = lgb.train(
                self._params(builder, direction),
                train,
                num_boost_round=self.n_estimators,
                valid_sets=[valid],
                valid_names=["valid"],
                callbacks=callbacks,
            )
            self.boosters_[stage] = booster
            self.evals_result_[stage] = list(record["valid"]["binary_logloss"])
            log.info("stage %s: best iteration %d", stage, booster.best_iteration)
        self.features_ = builder
        self.classes_ = np.array(FIT_LABELS, dtype=object)
        self.feature_names_in_ = np.array(builder.feature_names_, dtype=object)
        self.n_features_in_ = len(builder.feature_names_)
        self.best_iterations_ = {s: int(b.best_iteration) for s, b in self.boosters_.items()}
        val_proba = self.proba_from_features(self._with_layer(F_val, init_val))
        risk = np.maximum(val_proba[:, 0], val_proba[:, 2])[y_val == "fit"]
        self.flag_threshold_ = float(np.quantile(risk, 1.0 - FLAG_FIT_SHARE)) if len(risk) else 0.5
        X_all, y_all = pd.concat([X_tr, X_val], ignore_index=True), np.concatenate([y_tr, y_val])
        builder.refit_history(X_all, y_all)
        if self.layer:
            self.layer_ = SizeLayer().fit(as_columns(X_all), y_all)
        return self

    def _layer_scores(
        self, X_tr: pd.DataFrame, y_tr: np.ndarray, X_val: pd.DataFrame
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The layer's (a, b) logits: out-of-fold for training rows, from all training rows for validation."""
        if not self.layer:
            return None, None
        cols = as_columns(X_tr)
        folds = np.random.default_rng(self.random_state + 1).integers(0, self.layer_folds, len(y_tr))
        init = np.empty((len(y_tr), 2))
        for k in range(self.layer_folds):
            part = folds == k
            fitted = SizeLayer().fit({c: v[~part] for c, v in cols.items()}, y_tr[~part])
            p = fitted.parts({c: v[part] for c, v in cols.items()})
            init[part] = np.column_stack([p.a, p.b])
        p = SizeLayer().fit(cols, y_tr).parts(as_columns(X_val))
        return init, np.column_stack([p.a, p.b])

    @staticmethod
    def _with_layer(F: np.ndarray, init: np.ndarray | None) -> np.ndarray:
        return F if init is None else np.column_stack([F, init])

    def _stages(self, F: np.ndarray, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Both stages' outputs for a :meth:`transform` matrix: probabilities, or ``kwargs``' kind."""
        check_is_fitted(self, "boosters_")
        threads = 1 if len(F) < 1000 else self.n_jobs  # thread start-up dominates small batches
        raw = not kwargs and self.layer
        out = []
        for j, stage in enumerate(STAGES):
            pred = np.asarray(
                self.boosters_[stage].predict(
                    F[:, : self.n_features_in_], num_iteration=self.best_iterations_[stage],
                    num_threads=threads, raw_score=raw, **kwargs,
                )
            )  # fmt: skip
            if self.layer:
                start = F[:, self.n_features_in_ + j]
                if raw:
                    pred = _sigmoid(pred + start)
                elif kwargs.get("pred_contrib"):
                    pred[:, -1] += start  # the layer's score joins the bias column
            out.append(pred)
        return out[0], out[1]

    def transform(self, X: Frame) -> np.ndarray:
        """The boosters' feature matrix (a frame, or a dict of columns for fast serving); with the layer,
        its two starting scores follow as the last two columns."""
        check_is_fitted(self, "boosters_")
        F = self.features_.transform(X)
        if not self.layer:
            return F
        p = self.layer_.parts(as_columns(X))
        return np.column_stack([F, p.a, p.b])

    def proba_from_features(self, F: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities in ``classes_`` order (small, fit, large) from a :meth:`transform` matrix."""
        p_small, p_large_given = self._stages(F)
        rest = 1.0 - p_small
        return np.column_stack([p_small, rest * (1.0 - p_large_given), rest * p_large_given])

    def contributions_from_features(self, F: np.ndarray) -> dict[str, np.ndarray]:
        """Per-feature log-odds contributions (LightGBM ``pred_contrib``) of both stages; last column bias."""
        small, large = self._stages(F, pred_contrib=True)
        return {"small": small, "large": large}

    def predict_proba(self, X: Frame) -> np.ndarray:
        """(n, 3) probabilities in ``classes_`` order: small, fit, large."""
        return self.proba_from_features(self.transform(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def explain(self, X: Frame) -> dict[str, np.ndarray]:
        """Per-feature contributions (log-odds, LightGBM ``pred_contrib``) to each stage, plus the values.

        ``small``: (n, F + 1) toward "too small"; ``large``: (n, F + 1) toward "too large" among non-small;
        the last column is the bias. ``values``: the (n, F) feature matrix itself.
        """
        F = self.transform(X)
        return {**self.contributions_from_features(F), "values": F}


class SizeFitModel:
    """The served model: a risk ranker and size curves, trained on the same rows.

    ``risk`` (monotone boosters without the layer) scores a line at the size ordered. It may use
    everything the data teach, including how shoppers' own size choices relate to outcomes, so it
    ranks best (macro AUC) and sets the check's flag. ``curves`` (the layer-based classifier) scores
    every offered size; it moves with the size by the layer's floored slope, so recommendations and
    the check's suggested size come from it. With ``layer=False`` both are the risk model (the
    pre-layer behaviour, kept to measure what the layer changes).
    """

    def __init__(self, risk: SizeFitClassifier, curves: SizeFitClassifier) -> None:
        self.risk = risk
        self.curves = curves

    @classmethod
    def fit(
        cls,
        X: pd.DataFrame,
        y: Sequence[str] | np.ndarray | pd.Series,
        *,
        params: Mapping[str, Any] | None = None,
        eval_set: tuple[pd.DataFrame, Sequence[str] | np.ndarray | pd.Series] | None = None,
        progress: Progress | None = None,
    ) -> SizeFitModel:
        given = dict(params or {})
        layer = bool(given.pop("layer", True))
        risk = SizeFitClassifier(**given, layer=False).fit(X, y, eval_set=eval_set, progress=progress)
        if not layer:
            return cls(risk, risk)
        curves = SizeFitClassifier(**given, layer=True).fit(X, y, eval_set=eval_set, progress=progress)
        return cls(risk, curves)

    @property
    def flag_threshold_(self) -> float:
        return self.risk.flag_threshold_

    @property
    def classes_(self) -> np.ndarray:
        return self.risk.classes_

    def predict_proba(self, X: Frame) -> np.ndarray:
        """The risk model's (n, 3) small / fit / large at each row's own size (what a check flags on)."""
        return self.risk.predict_proba(X)

    def curve_proba(self, X: Frame) -> np.ndarray:
        """The size curves' (n, 3) small / fit / large (what a recommendation compares across sizes)."""
        return self.curves.predict_proba(X)
