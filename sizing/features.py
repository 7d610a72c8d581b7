"""Size-fit features: one code path for training and serving, built only from pre-outcome facts.

Outcome columns (``sizing.schema.OUTCOME_COLUMNS``) never enter a row's own features. Fit labels are
used only through *history* aggregates of other transactions (per shopper, item, category, brand),
and while training those aggregates are computed out-of-fold, so a row never sees its own label.
At serving time the same aggregates come from all the data the model was trained on.

Every feature whose value grows with the ordered size is listed in :attr:`FeatureBuilder.size_features_`
so the model can put monotone constraints on them (a larger size is never more likely "too small").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from sizing.schema import FIT_LABELS, SHOPPER_NUMERIC

#: body measurements a size chart may give per size (``chart_<name>_cm`` columns; see sizing.layer)
CHART_MEASUREMENTS: Final = ("bust_girth", "waist_girth", "hip_girth")

log = logging.getLogger(__name__)

BODY_NUMERIC: Final = SHOPPER_NUMERIC
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


#: canonical columns the features read (outcome columns are not among them)
FLOAT_INPUTS: Final = ("size_num", *BODY_NUMERIC, *(f"chart_{m}_cm" for m in CHART_MEASUREMENTS))
TEXT_INPUTS: Final = ("shopper_id", "item_id", "size", "size_scale", *CATEGORICAL)
Columns = dict[str, np.ndarray]


def as_columns(frame: pd.DataFrame | Mapping[str, Sequence[object] | np.ndarray]) -> Columns:
    """The input columns as numpy (float, or object with None for missing); absent columns are missing.

    Serving passes a small dict of lists (no DataFrame round trip); training passes the canonical frame.
    """
    n = len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))
    cols: Columns = {}
    for name in (*FLOAT_INPUTS, *TEXT_INPUTS):
        if name not in frame:
            cols[name] = np.full(n, np.nan) if name in FLOAT_INPUTS else np.full(n, None, dtype=object)
        elif isinstance(frame, pd.DataFrame):
            col = frame[name]
            if name in FLOAT_INPUTS:
                cols[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            else:
                cols[name] = col.astype(object).where(col.notna(), None).to_numpy(dtype=object)
        elif name in FLOAT_INPUTS:
            cols[name] = np.array([np.nan if v is None else v for v in frame[name]], dtype=float)
        else:
            values = frame[name]
            cols[name] = np.array([None if v is None or v != v else str(v) for v in values], dtype=object)
    return cols


def _n(cols: Columns) -> int:
    return len(cols["size_num"])


def _take(cols: Columns, rows: np.ndarray) -> Columns:
    return {k: v[rows] for k, v in cols.items()}


@dataclass(frozen=True)
class _Table:
    """History sums per key: ``rows`` maps a key to its row of ``values``; the last row is all zeros."""

    rows: dict[str, int]
    values: np.ndarray

    @classmethod
    def from_frame(cls, grouped: pd.DataFrame) -> _Table:
        values = np.vstack([grouped[list(_STATS)].to_numpy(dtype=float), np.zeros((1, len(_STATS)))])
        return cls({str(k): i for i, k in enumerate(grouped.index)}, values)

    def lookup(self, keys: np.ndarray) -> dict[str, np.ndarray]:
        miss = len(self.values) - 1
        idx = np.fromiter((self.rows.get(k, miss) if k is not None else miss for k in keys), int, len(keys))
        picked = self.values[idx]
        return {s: picked[:, j] for j, s in enumerate(_STATS)}


def _keys(frame: Columns, key: str) -> np.ndarray:
    """History keys of each row; ``item_size`` / ``item_body`` pair the item with the size / body type."""
    if key not in ("item_size", "item_body"):
        return frame[key]
    other = "size" if key == "item_size" else "body_type"
    items, sizes = frame["item_id"], frame[other]
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
    size_free : leave out every feature that moves with the ordered size (the size layer carries the
        size effect; the boosters then learn only a size-free residual).
    """

    def __init__(
        self, *, history: bool = True, n_folds: int = 5, random_state: int = 0, size_free: bool = False
    ) -> None:
        self.history = history
        self.n_folds = n_folds
        self.random_state = random_state
        self.size_free = size_free

    # ----------------------------------------------------------------- learned state
    def _fit_static(self, frame: Columns) -> None:
        """Vocabularies, the typical size step and the body→size regression: none reads an outcome."""
        self.vocab_: dict[str, dict[str, int]] = {}
        for name in CATEGORICAL:
            values = pd.Series(frame[name]).dropna().astype(str)
            self.vocab_[name] = {v: i for i, v in enumerate(sorted(values.unique()))}
        numeric = np.column_stack([frame[c] for c in BODY_NUMERIC])
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.where(np.isnan(numeric).all(axis=0), 0.0, numeric), axis=0)
        self.body_median_ = np.nan_to_num(med)
        design = self._body_design(frame)
        size = frame["size_num"]
        ok = ~np.isnan(size)
        ridge = 1e-3 * np.eye(design.shape[1])
        self.body_coef_ = np.linalg.solve(design[ok].T @ design[ok] + ridge, design[ok].T @ size[ok])
        self.size_step_ = self._size_step(frame)

    def _size_step(self, frame: Columns) -> float:
        """The typical gap between two sizes one shopper orders: how far one "size up" moves size_num."""
        sizes = pd.DataFrame({"s": frame["shopper_id"], "z": frame["size_num"]})
        sizes = sizes.dropna().drop_duplicates().sort_values(["s", "z"])
        same = sizes["s"].eq(sizes["s"].shift())
        gaps = sizes["z"].diff()[same]
        smallest = gaps.groupby(sizes["s"][same]).min()
        return float(smallest.median()) if len(smallest) else 1.0

    def _body_design(self, frame: Columns) -> np.ndarray:
        """Imputed body measurements, missing indicators and one-hot body type/cup, plus an intercept."""
        cols = []
        for j, name in enumerate(BODY_NUMERIC):
            v = frame[name]
            miss = np.isnan(v)
            cols += [np.where(miss, self.body_median_[j], v), miss.astype(float)]
        for name in ("body_type", "cup"):
            codes = self._codes(frame, name)
            for k in range(len(self.vocab_[name])):
                cols.append((codes == k).astype(float))
        cols.append(np.ones(_n(frame)))
        return np.column_stack(cols)

    def _codes(self, frame: Columns, name: str) -> np.ndarray:
        vocab = self.vocab_[name]
        values = frame[name]
        return np.array([vocab.get(str(v), np.nan) if v is not None else np.nan for v in values], dtype=float)

    def row_sums(self, size: np.ndarray, labels: np.ndarray, body_pred: np.ndarray) -> pd.DataFrame:
        """Each transaction's contribution to the history sums (``rel_sum`` is 0: it needs the item means).

        Public so a distributed builder (sizing.distributed) sums exactly the same quantities.
        """
        sign = np.array([FIT_SIGN[v] for v in labels])
        resid = size - body_pred
        return pd.DataFrame(
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

    def _tables(self, frame: Columns, labels: np.ndarray, body_pred: np.ndarray) -> dict[str, Any]:
        """Per-key sums of sizes, body-relative sizes and fit outcomes over the given transactions."""
        base = self.row_sums(frame["size_num"], labels, body_pred)
        # a shopper's true size relative to the items she ordered: net of each item's own true size
        items = pd.Series(frame["item_id"]).fillna("\0").astype(str).to_numpy()
        item_true = base.groupby(items)["tsize_sum"].transform("mean").to_numpy()
        base["rel_sum"] = base["tsize_sum"].to_numpy() - item_true
        # class priors (the shrinkage target) come from the same rows as the history, never the row itself
        tables: dict[str, Any] = {"prior": {lab: float(np.mean(labels == lab)) for lab in FIT_LABELS}}
        for key, prefix in HISTORY_KEYS.items():
            keys = pd.Series(_keys(frame, key))
            ok = keys.notna().to_numpy()
            grouped = base[ok].groupby(keys[ok].astype(str).to_numpy()).sum()
            tables[prefix] = _Table.from_frame(grouped)
        return tables

    # ----------------------------------------------------------------- features
    @functools.cached_property
    def feature_names_(self) -> list[str]:
        names = ["size_num", "off_body", "body_pred", *BODY_NUMERIC, "bmi", *CATEGORICAL]
        if self.history:
            for prefix in HISTORY_KEYS.values():
                if prefix == "is":
                    continue  # per-size history enters only through the monotone size curves
                names += [
                    f"{prefix}_n",
                    f"{prefix}_small_rate",
                    f"{prefix}_large_rate",
                    f"{prefix}_true_resid",
                ]
            # the shopper's usual size and the item's, and their gaps to the body-predicted size, do not
            # change with the ordered size, so they stay unconstrained; the offsets of the ordered size
            # from them do, and are constrained (see size_directions_)
            names += ["sh_mean_size", "it_mean_size", "sh_rel", "gap_sh_mean", "gap_latent"]
            names += ["off_sh_usual", "off_it_usual"]
        if self.size_free:
            return [n for n in names if n not in ("size_num", "off_body", "off_sh_usual", "off_it_usual")]
        return names

    @property
    def size_directions_(self) -> dict[str, int]:
        """How each size-dependent feature moves as the ordered size grows: +1 up, -1 down.

        Every feature that changes with the size is listed, so constraining these makes the model monotone:
        the size itself and its offsets from the body-predicted size, the shopper's usual size and the
        item's usual size. Everything else is size-free.
        """
        return {n: 1 for n in self.feature_names_ if n == "size_num" or n.startswith("off_")}

    @property
    def size_features_(self) -> list[str]:
        return list(self.size_directions_)

    @property
    def categorical_features_(self) -> list[str]:
        return list(CATEGORICAL)

    def _history_features(
        self,
        frame: Columns,
        tables: dict[str, Any],
        out: dict[str, np.ndarray],
        body_pred: np.ndarray,
    ) -> None:
        prior = tables["prior"]
        it_true_size = np.full(_n(frame), np.nan)
        for key, prefix in HISTORY_KEYS.items():
            stats = tables[prefix].lookup(_keys(frame, key))  # an unseen key has all-zero history
            n, m = stats["n"], SHRINK[prefix]
            out[f"{prefix}_n"] = n
            out[f"{prefix}_small_rate"] = (stats["small_n"] + m * prior["small"]) / (n + m)
            out[f"{prefix}_large_rate"] = (stats["large_n"] + m * prior["large"]) / (n + m)
            out[f"{prefix}_true_resid"] = stats["true_sum"] / (n + m)
            with np.errstate(all="ignore"):
                if prefix == "sh":
                    out["sh_mean_size"] = np.where(n > 0, stats["size_sum"] / n, np.nan)
                    out["sh_rel"] = stats["rel_sum"] / (n + 1.0)
                elif prefix == "it":
                    out["it_mean_size"] = np.where(n > 0, stats["size_sum"] / n, np.nan)
                    it_true_size = np.where(n > 0, stats["tsize_sum"] / n, np.nan)
        # size − centre = off_body − (centre − body_pred): the gaps carry each centre without the size
        out["gap_sh_mean"] = out["sh_mean_size"] - body_pred
        out["gap_latent"] = it_true_size + out["sh_rel"] - body_pred
        out["off_sh_usual"] = frame["size_num"] - out["sh_mean_size"]
        out["off_it_usual"] = frame["size_num"] - out["it_mean_size"]

    def _features(self, frame: Columns, tables: dict[str, Any] | None) -> np.ndarray:
        body_pred = self._body_design(frame) @ self.body_coef_
        out: dict[str, np.ndarray] = {"size_num": frame["size_num"], "body_pred": body_pred}
        out["off_body"] = out["size_num"] - body_pred
        for name in BODY_NUMERIC:
            out[name] = frame[name]
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
        cols = as_columns(frame)
        if len(labels) != _n(cols):
            raise ValueError(f"y has {len(labels)} labels but frame has {_n(cols)} rows")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}")
        self._fit_static(cols)
        if not self.history:
            self.tables_: dict[str, Any] = {}
            return self._features(cols, None)
        body_pred = self._body_design(cols) @ self.body_coef_
        folds = np.random.default_rng(self.random_state).integers(0, self.n_folds, len(labels))
        result = np.empty((len(labels), len(self.feature_names_)))
        for k in range(self.n_folds):
            part = folds == k
            tables = self._tables(_take(cols, ~part), labels[~part], body_pred[~part])
            result[part] = self._features(_take(cols, part), tables)
        self.tables_ = self._tables(cols, labels, body_pred)
        return result

    def refit_history(self, frame: pd.DataFrame, y: Sequence[str] | np.ndarray | pd.Series) -> FeatureBuilder:
        """Rebuild the serving history tables from ``frame`` (e.g. train plus validation rows)."""
        labels = _labels(y)
        frame = as_columns(frame)
        if self.history:
            body_pred = self._body_design(frame) @ self.body_coef_
            self.tables_ = self._tables(frame, labels, body_pred)
        return self

    def transform(self, frame: pd.DataFrame | Mapping[str, Sequence[object] | np.ndarray]) -> np.ndarray:
        """Features of new transactions (a frame or a dict of columns), with history from training."""
        if not hasattr(self, "body_coef_"):
            raise ValueError("FeatureBuilder is not fitted; call fit_transform first")
        return self._features(as_columns(frame), self.tables_ if self.history else None)

    def history_of(self, prefix: str, key: str) -> dict[str, float] | None:
        """Raw history counts of one shopper/item/category/brand (for explanations), or None if unseen."""
        table = self.tables_.get(prefix) if self.history else None
        if table is None or key not in table.rows:
            return None
        return {s: float(v) for s, v in zip(_STATS, table.values[table.rows[key]], strict=True)}
