"""Size-fit features: one code path for training and serving, built only from pre-outcome facts.

Outcome columns (``sizing.schema.OUTCOME_COLUMNS``) never enter a row's own features. Fit labels are
used only through *history* aggregates of other transactions (per shopper, item, category, brand),
and while training those aggregates are computed out-of-fold, so a row never sees its own label.
At serving time the same aggregates come from all the data the model was trained on.

Every feature whose value grows with the ordered size is listed in :attr:`FeatureBuilder.size_features_`
so the model can put monotone constraints on them (a larger size is never more likely "too small").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

BODY_NUMERIC: Final = (
    "stature_cm",
    "body_mass_kg",
    "bust_girth_cm",
    "waist_girth_cm",
    "hip_girth_cm",
    "bra_band",
    "age_years",
)
CATEGORICAL: Final = ("body_type", "cup", "category", "brand", "rented_for")
#: history is aggregated over these keys; the prefixes name the resulting features
HISTORY_KEYS: Final = {
    "shopper_id": "sh",
    "item_id": "it",
    "item_size": "is",
    "item_body": "ib",
    "category": "cat",
    "brand": "br",
}
#: shrinkage strength (pseudo-counts toward the global prior) per history key
SHRINK: Final = {"sh": 2.0, "it": 10.0, "is": 10.0, "ib": 10.0, "cat": 50.0, "br": 50.0}
#: signed fit code: "small" means the shopper needed a larger size (+1), "large" a smaller one (-1)
FIT_SIGN: Final = {"small": 1.0, "fit": 0.0, "large": -1.0}
_STATS: Final = (
    "n", "size_sum", "resid_sum", "true_sum", "tsize_sum",
    "rel_sum", "fit_n", "fit_size_sum", "small_n", "large_n",
)  # fmt: skip


def _column(frame: pd.DataFrame, name: str, dtype: str = "float") -> np.ndarray:
    """A canonical column as numpy; a column the caller did not supply is all missing."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan) if dtype == "float" else np.full(len(frame), None, dtype=object)
    col = frame[name]
    if dtype == "float":
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)


def _keys(frame: pd.DataFrame, key: str) -> np.ndarray:
    """History keys of each row; ``item_size`` / ``item_body`` pair the item with the size / body type."""
    if key not in ("item_size", "item_body"):
        return _column(frame, key, "object")
    other = "size" if key == "item_size" else "body_type"
    items, sizes = _column(frame, "item_id", "object"), _column(frame, other, "object")
    return np.array(
        [f"{i}|{z}" if i is not None and z is not None else None for i, z in zip(items, sizes, strict=True)],
        dtype=object,
    )


def _labels(y: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    labels = np.asarray(y, dtype=object)
    bad = sorted({str(v) for v in labels if v not in FIT_SIGN})
    if bad:
        raise ValueError(f"fit labels must be one of {list(FIT_LABELS)}; got {bad[:5]}")
    return labels


class FeatureBuilder:
    """Turns canonical transactions into a numeric matrix; ``fit_transform`` for training rows.

    Parameters
    ----------
    history : use shopper/item/category/brand history (False gives the "no history" baseline).
    n_folds : folds for the out-of-fold history of training rows.
    random_state : seed of the fold assignment.
    """

    def __init__(self, *, history: bool = True, n_folds: int = 5, random_state: int = 0) -> None:
        self.history = history
        self.n_folds = n_folds
        self.random_state = random_state

    # ----------------------------------------------------------------- learned state
    def _fit_static(self, frame: pd.DataFrame, labels: np.ndarray) -> None:
        """Vocabularies, the body→size regression and the priors; none of them reads a row's own outcome
        except the global class priors (three numbers shared by every row)."""
        self.vocab_: dict[str, dict[str, int]] = {}
        for name in CATEGORICAL:
            values = pd.Series(_column(frame, name, "object")).dropna().astype(str)
            self.vocab_[name] = {v: i for i, v in enumerate(sorted(values.unique()))}
        numeric = np.column_stack([_column(frame, c) for c in BODY_NUMERIC])
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.where(np.isnan(numeric).all(axis=0), 0.0, numeric), axis=0)
        self.body_median_ = np.nan_to_num(med)
        design = self._body_design(frame)
        size = _column(frame, "size_num")
        ok = ~np.isnan(size)
        ridge = 1e-3 * np.eye(design.shape[1])
        self.body_coef_ = np.linalg.solve(design[ok].T @ design[ok] + ridge, design[ok].T @ size[ok])
        self.prior_ = {lab: float(np.mean(labels == lab)) for lab in FIT_LABELS}
        self.size_step_ = self._size_step(frame)

    def _size_step(self, frame: pd.DataFrame) -> float:
        """The typical gap between two sizes one shopper orders: how far one "size up" moves size_num."""
        sizes = pd.DataFrame({"s": _column(frame, "shopper_id", "object"), "z": _column(frame, "size_num")})
        sizes = sizes.dropna().drop_duplicates().sort_values(["s", "z"])
        same = sizes["s"].eq(sizes["s"].shift())
        gaps = sizes["z"].diff()[same]
        smallest = gaps.groupby(sizes["s"][same]).min()
        return float(smallest.median()) if len(smallest) else 1.0

    def _body_design(self, frame: pd.DataFrame) -> np.ndarray:
        """Imputed body measurements, missing indicators and one-hot body type/cup, plus an intercept."""
        cols = []
        for j, name in enumerate(BODY_NUMERIC):
            v = _column(frame, name)
            miss = np.isnan(v)
            cols += [np.where(miss, self.body_median_[j], v), miss.astype(float)]
        for name in ("body_type", "cup"):
            codes = self._codes(frame, name)
            for k in range(len(self.vocab_[name])):
                cols.append((codes == k).astype(float))
        cols.append(np.ones(len(frame)))
        return np.column_stack(cols)

    def _codes(self, frame: pd.DataFrame, name: str) -> np.ndarray:
        vocab = self.vocab_[name]
        values = _column(frame, name, "object")
        return np.array([vocab.get(str(v), np.nan) if v is not None else np.nan for v in values], dtype=float)

    def _tables(
        self, frame: pd.DataFrame, labels: np.ndarray, body_pred: np.ndarray
    ) -> dict[str, pd.DataFrame]:
        """Per-key sums of sizes, body-relative sizes and fit outcomes over the given transactions."""
        size = _column(frame, "size_num")
        sign = np.array([FIT_SIGN[v] for v in labels])
        resid = size - body_pred
        base = pd.DataFrame(
            {
                "n": 1.0,
                "size_sum": size,
                "resid_sum": resid,
                "true_sum": resid + sign * self.size_step_,
                "tsize_sum": size + sign * self.size_step_,
                "rel_sum": 0.0,
                "fit_n": (sign == 0).astype(float),
                "fit_size_sum": np.where(sign == 0, size, 0.0),
                "small_n": (labels == "small").astype(float),
                "large_n": (labels == "large").astype(float),
            }
        )
        # a shopper's true size relative to the items she ordered: net of each item's own true size
        items = pd.Series(_column(frame, "item_id", "object")).fillna("\0").astype(str).to_numpy()
        item_true = base.groupby(items)["tsize_sum"].transform("mean").to_numpy()
        base["rel_sum"] = base["tsize_sum"].to_numpy() - item_true
        tables = {}
        for key, prefix in HISTORY_KEYS.items():
            keys = pd.Series(_keys(frame, key))
            ok = keys.notna().to_numpy()
            grouped = base[ok].groupby(keys[ok].astype(str).to_numpy()).sum()
            tables[prefix] = grouped[list(_STATS)]
        return tables

    # ----------------------------------------------------------------- features
    @property
    def feature_names_(self) -> list[str]:
        names = ["size_num", "off_body", "body_pred", *BODY_NUMERIC, "bmi", *CATEGORICAL]
        if self.history:
            for prefix in HISTORY_KEYS.values():
                names += [
                    f"{prefix}_n",
                    f"{prefix}_small_rate",
                    f"{prefix}_large_rate",
                    f"{prefix}_true_resid",
                ]
            names += ["sh_mean_size", "it_mean_size", "sh_rel"]
            names += [
                "off_sh_mean",
                "off_sh_fit",
                "off_sh_true",
                "off_it_mean",
                "off_it_true",
                "off_full",
                "off_latent",
            ]
        return names

    @property
    def size_features_(self) -> list[str]:
        """Features that increase one-for-one with the ordered size (monotone constraints go here)."""
        return [n for n in self.feature_names_ if n == "size_num" or n.startswith("off_")]

    @property
    def categorical_features_(self) -> list[str]:
        return list(CATEGORICAL)

    def _history_features(
        self,
        frame: pd.DataFrame,
        tables: dict[str, pd.DataFrame],
        out: dict[str, np.ndarray],
        body_pred: np.ndarray,
    ) -> None:
        size = out["size_num"]
        sh_fit = sh_true = it_true_size = np.full(len(frame), np.nan)
        for key, prefix in HISTORY_KEYS.items():
            table = tables[prefix]
            keys = _keys(frame, key)
            idx = table.index.get_indexer(pd.Index([str(k) if k is not None else "\0" for k in keys]))
            # index -1 (unseen key) picks the appended zero: no history
            stats = {s: np.append(table[s].to_numpy(dtype=float), 0.0)[idx] for s in _STATS}
            n, m = stats["n"], SHRINK[prefix]
            out[f"{prefix}_n"] = n
            out[f"{prefix}_small_rate"] = (stats["small_n"] + m * self.prior_["small"]) / (n + m)
            out[f"{prefix}_large_rate"] = (stats["large_n"] + m * self.prior_["large"]) / (n + m)
            out[f"{prefix}_true_resid"] = stats["true_sum"] / (n + m)
            with np.errstate(all="ignore"):
                if prefix == "sh":
                    out["sh_mean_size"] = np.where(n > 0, stats["size_sum"] / n, np.nan)
                    sh_fit = np.where(stats["fit_n"] > 0, stats["fit_size_sum"] / stats["fit_n"], np.nan)
                    sh_true = np.where(n > 0, stats["true_sum"] / n, np.nan)
                    out["sh_rel"] = stats["rel_sum"] / (n + 1.0)
                elif prefix == "it":
                    out["it_mean_size"] = np.where(n > 0, stats["size_sum"] / n, np.nan)
                    it_true_size = np.where(n > 0, stats["tsize_sum"] / n, np.nan)
        off_body = out["off_body"]
        out["off_sh_mean"] = size - out["sh_mean_size"]
        out["off_sh_fit"] = size - sh_fit
        out["off_sh_true"] = off_body - sh_true
        out["off_it_mean"] = size - out["it_mean_size"]
        out["off_it_true"] = off_body - out["it_true_resid"]
        out["off_full"] = off_body - out["it_true_resid"] - out["sh_true_resid"] - out["cat_true_resid"]
        out["off_latent"] = size - it_true_size - out["sh_rel"]

    def _features(self, frame: pd.DataFrame, tables: dict[str, pd.DataFrame] | None) -> np.ndarray:
        body_pred = self._body_design(frame) @ self.body_coef_
        out: dict[str, np.ndarray] = {"size_num": _column(frame, "size_num"), "body_pred": body_pred}
        out["off_body"] = out["size_num"] - body_pred
        for name in BODY_NUMERIC:
            out[name] = _column(frame, name)
        with np.errstate(all="ignore"):
            out["bmi"] = out["body_mass_kg"] / (out["stature_cm"] / 100.0) ** 2
        for name in CATEGORICAL:
            out[name] = self._codes(frame, name)
        if self.history:
            if tables is None:
                raise ValueError("history features need fitted history tables; call fit_transform first")
            self._history_features(frame, tables, out, body_pred)
        return np.column_stack([out[n] for n in self.feature_names_]).astype(float)

    # ----------------------------------------------------------------- public API
    def fit_transform(self, frame: pd.DataFrame, y: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
        """Learn vocabularies, body regression and history; return out-of-fold features for ``frame``."""
        labels = _labels(y)
        if len(labels) != len(frame):
            raise ValueError(f"y has {len(labels)} labels but frame has {len(frame)} rows")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}")
        frame = frame.reset_index(drop=True)
        self._fit_static(frame, labels)
        if not self.history:
            self.tables_: dict[str, pd.DataFrame] = {}
            return self._features(frame, None)
        body_pred = self._body_design(frame) @ self.body_coef_
        folds = np.random.default_rng(self.random_state).integers(0, self.n_folds, len(frame))
        result = np.empty((len(frame), len(self.feature_names_)))
        for k in range(self.n_folds):
            part = folds == k
            tables = self._tables(frame[~part], labels[~part], body_pred[~part])
            result[part] = self._features(frame[part], tables)
        self.tables_ = self._tables(frame, labels, body_pred)
        return result

    def refit_history(self, frame: pd.DataFrame, y: Sequence[str] | np.ndarray | pd.Series) -> FeatureBuilder:
        """Rebuild the serving history tables from ``frame`` (e.g. train plus validation rows)."""
        labels = _labels(y)
        frame = frame.reset_index(drop=True)
        if self.history:
            body_pred = self._body_design(frame) @ self.body_coef_
            self.tables_ = self._tables(frame, labels, body_pred)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Features of new transactions, with history from everything seen in ``fit_transform``."""
        if not hasattr(self, "body_coef_"):
            raise ValueError("FeatureBuilder is not fitted; call fit_transform first")
        return self._features(frame.reset_index(drop=True), self.tables_ if self.history else None)

    def history_of(self, prefix: str, key: str) -> dict[str, float] | None:
        """Raw history counts of one shopper/item/category/brand (for explanations), or None if unseen."""
        table = self.tables_.get(prefix) if self.history else None
        if table is None or key not in table.index:
            return None
        return {s: float(v) for s, v in table.loc[key].items()}
