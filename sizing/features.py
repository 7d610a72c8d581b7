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
#: how each per-size history curve moves as the ordered size grows
CURVE_DIRECTIONS: Final = {
    "is_small_curve": -1, "is_large_curve": 1, "is_cdf": 1, "is_small_ge": -1, "is_large_le": 1,
    "sh_small_ge": -1, "sh_large_le": 1, "sh_kept_cdf": 1,
}  # fmt: skip
#: signed fit code: "small" means the shopper needed a larger size (+1), "large" a smaller one (-1)
FIT_SIGN: Final = {"small": 1.0, "fit": 0.0, "large": -1.0}
_STATS: Final = (
    "n", "size_sum", "resid_sum", "true_sum", "tsize_sum",
    "rel_sum", "fit_n", "fit_size_sum", "small_n", "large_n",
)  # fmt: skip


#: canonical columns the features read (outcome columns are not among them)
FLOAT_INPUTS: Final = ("size_num", *BODY_NUMERIC)
TEXT_INPUTS: Final = ("shopper_id", "item_id", "size", *CATEGORICAL)
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


def _pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) fit by pool-adjacent-violators; y and w are short (sizes)."""
    values, weights, counts = [], [], []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        values.append(yi)
        weights.append(wi)
        counts.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            wsum = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wsum
            values[-2:], weights[-2:], counts[-2:] = [merged], [wsum], [counts[-2] + counts[-1]]
    return np.repeat(values, counts)


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

    def _tables(self, frame: Columns, labels: np.ndarray, body_pred: np.ndarray) -> dict[str, Any]:
        """Per-key sums of sizes, body-relative sizes and fit outcomes over the given transactions."""
        size = frame["size_num"]
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
        tables["curve"] = self._size_curves(items, size, body_pred - sign * self.size_step_, labels)
        tables["sh_curve"] = self._shopper_curves(frame["shopper_id"], size, labels)
        return tables

    def _size_curves(
        self, items: np.ndarray, size: np.ndarray, fits: np.ndarray, labels: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per item, along its sizes: the body size each size fits, P(small) and P(large), made monotone.

        ``fits`` is each buyer's body-predicted size, moved one size step toward what the ordered size
        fitted ("small" means it fits a smaller body). Per-size means are shrunk toward the item's
        average and then made isotonic in the size, so features read from them keep the model monotone.
        """
        ok = ~np.isnan(size)
        rows = pd.DataFrame(
            {
                "item": items[ok],
                "size_num": size[ok],
                "n": 1.0,
                "fits": fits[ok],
                "shift": fits[ok] - size[ok],
                "small": (labels[ok] == "small").astype(float),
                "large": (labels[ok] == "large").astype(float),
            }
        )
        item = rows.groupby("item")[["n", "shift", "small", "large"]].sum()
        per = (
            rows.groupby(["item", "size_num"], sort=True)[["n", "fits", "small", "large"]].sum().reset_index()
        )
        tot = item.loc[per["item"]]
        m = SHRINK["is"]
        n = per["n"].to_numpy()
        w = n + m
        prior_fits = per["size_num"].to_numpy() + tot["shift"].to_numpy() / tot["n"].to_numpy()
        fits_s = (per["fits"].to_numpy() + m * prior_fits) / w
        small_s = (per["small"].to_numpy() + m * tot["small"].to_numpy() / tot["n"].to_numpy()) / w
        large_s = (per["large"].to_numpy() + m * tot["large"].to_numpy() / tot["n"].to_numpy()) / w
        starts = np.flatnonzero(np.r_[True, per["item"].to_numpy()[1:] != per["item"].to_numpy()[:-1]])
        bounds = np.r_[starts, len(per)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if b - a > 1:
                fits_s[a:b] = _pava(fits_s[a:b], w[a:b])
                small_s[a:b] = -_pava(-small_s[a:b], w[a:b])
                large_s[a:b] = _pava(large_s[a:b], w[a:b])
        xs = per["size_num"].to_numpy()
        # cumulative shares along the sizes: monotone by construction, so they keep the model monotone
        cdf, small_ge, large_le = np.empty(len(per)), np.empty(len(per)), np.empty(len(per))
        cnt, sm, lg = n, per["small"].to_numpy(), per["large"].to_numpy()
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            total = cnt[a:b].sum()
            cdf[a:b] = np.cumsum(cnt[a:b]) / total
            small_ge[a:b] = np.cumsum(sm[a:b][::-1])[::-1] / (total + m)
            large_le[a:b] = np.cumsum(lg[a:b]) / (total + m)
        curves = np.vstack([xs, fits_s, small_s, large_s, cdf, small_ge, large_le])
        names = per["item"].to_numpy()
        return {str(names[a]): curves[:, a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)}

    @staticmethod
    def _shopper_curves(shoppers: np.ndarray, size: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        """Per shopper, along the sizes she ordered: how many were too small at that size or above, too
        large at that size or below, and the share of her fitting orders at that size or below.

        If size 8 was too small for her, so is size 4: these counts only grow (or shrink) with the size.
        """
        ok = ~np.isnan(size) & np.array([v is not None for v in shoppers], dtype=bool)
        rows = pd.DataFrame(
            {
                "s": shoppers[ok].astype(str),
                "z": size[ok],
                "n": 1.0,
                "small": (labels[ok] == "small").astype(float),
                "large": (labels[ok] == "large").astype(float),
                "fit": (labels[ok] == "fit").astype(float),
            }
        )
        per = rows.groupby(["s", "z"], sort=True)[["n", "small", "large", "fit"]].sum().reset_index()
        g = per.groupby("s", sort=False)
        total = g["n"].transform("sum").to_numpy() + 1.0
        small_ge = (g["small"].transform("sum") - g["small"].cumsum() + per["small"]).to_numpy() / total
        large_le = g["large"].cumsum().to_numpy() / total
        fit_cdf = g["fit"].cumsum().to_numpy() / total
        curves = np.vstack([per["z"].to_numpy(), small_ge, large_le, fit_cdf])
        names = per["s"].to_numpy()
        starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
        bounds = np.r_[starts, len(per)]
        return {str(names[a]): curves[:, a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)}

    @staticmethod
    def _shopper_curve_features(
        frame: Columns, curves: dict[str, np.ndarray], out: dict[str, np.ndarray]
    ) -> None:
        """Each row's shopper curves at the ordered size (zero history: all zero)."""
        n = _n(frame)
        small_ge, large_le, fit_cdf = np.zeros(n), np.zeros(n), np.zeros(n)
        size = out["size_num"]
        for i, shopper in enumerate(frame["shopper_id"]):
            curve = curves.get(shopper) if shopper is not None else None
            if curve is None or np.isnan(size[i]):
                continue
            xs = curve[0]
            small_ge[i] = np.interp(size[i], xs, curve[1], right=0.0)
            large_le[i] = np.interp(size[i], xs, curve[2], left=0.0)
            fit_cdf[i] = np.interp(size[i], xs, curve[3], left=0.0)
        out["sh_small_ge"], out["sh_large_le"], out["sh_kept_cdf"] = small_ge, large_le, fit_cdf

    @staticmethod
    def _curve_features(frame: Columns, curves: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> None:
        """Read each row's item curve at its size: linear between sizes, slope one (fits) or flat beyond."""
        n = _n(frame)
        fits, small, large = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        cdf, small_ge, large_le = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        items = frame["item_id"]
        size = out["size_num"]
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            if item is not None and item in curves:
                groups.setdefault(item, []).append(i)
        for item, rows in groups.items():
            xs, ys, sm, lg, cd, sge, lle = curves[item]
            where = np.asarray(rows)
            s = size[where]
            fits[where] = np.interp(s, xs, ys) + np.clip(s - xs[-1], 0, None) + np.clip(s - xs[0], None, 0)
            small[where] = np.interp(s, xs, sm)
            large[where] = np.interp(s, xs, lg)
            cdf[where] = np.interp(s, xs, cd, left=0.0)
            small_ge[where] = np.interp(s, xs, sge, right=0.0)
            large_le[where] = np.interp(s, xs, lle, left=0.0)
        out["off_is_body"] = fits - out["body_pred"]
        out["is_small_curve"] = small
        out["is_large_curve"] = large
        out["is_cdf"], out["is_small_ge"], out["is_large_le"] = cdf, small_ge, large_le

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
            names += ["sh_mean_size", "it_mean_size", "sh_rel"]
            # size-dependent features, all monotone in the size (few: each constraint costs accuracy)
            names += [
                "off_sh_mean",
                "off_it_true",
                "off_latent",
                "off_is_body",
                "is_small_ge",
                "is_large_le",
                "sh_small_ge",
                "sh_large_le",
            ]
        return names

    @property
    def size_directions_(self) -> dict[str, int]:
        """How each size-dependent feature moves as the ordered size grows: +1 up, -1 down.

        Every feature that changes with the size is listed, so constraining these makes the model monotone.
        """
        out = {n: 1 for n in self.feature_names_ if n == "size_num" or n.startswith("off_")}
        if self.history:
            names = set(self.feature_names_)
            out.update({n: d for n, d in CURVE_DIRECTIONS.items() if n in names})
        return out

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
        size = out["size_num"]
        prior = tables["prior"]
        sh_kept = sh_true = it_true_size = np.full(_n(frame), np.nan)
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
                    sh_kept = np.where(stats["fit_n"] > 0, stats["fit_size_sum"] / stats["fit_n"], np.nan)
                    sh_true = np.where(n > 0, stats["true_sum"] / n, np.nan)
                    out["sh_rel"] = stats["rel_sum"] / (n + 1.0)
                elif prefix == "it":
                    out["it_mean_size"] = np.where(n > 0, stats["size_sum"] / n, np.nan)
                    it_true_size = np.where(n > 0, stats["tsize_sum"] / n, np.nan)
        off_body = out["off_body"]
        out["off_sh_mean"] = size - out["sh_mean_size"]
        out["off_sh_kept"] = size - sh_kept
        out["off_sh_true"] = off_body - sh_true
        out["off_it_mean"] = size - out["it_mean_size"]
        out["off_it_true"] = off_body - out["it_true_resid"]
        out["off_full"] = off_body - out["it_true_resid"] - out["sh_true_resid"] - out["cat_true_resid"]
        out["off_latent"] = size - it_true_size - out["sh_rel"]
        self._curve_features(frame, tables["curve"], out)
        self._shopper_curve_features(frame, tables["sh_curve"], out)

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
