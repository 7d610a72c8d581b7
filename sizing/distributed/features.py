"""A :class:`sizing.features.FeatureBuilder` fitted over a Dask DataFrame, and its out-of-fold features.

History tables are sums, so they are built by group-bys over the partitions. The out-of-fold table of
fold ``k`` is the total minus fold ``k``'s own sums; only ``rel_sum`` (a row's true size net of its
item's mean over the *other* folds) needs the per-fold item means first. A row's fold is a hash of its
``order_id`` (not its position), so every worker assigns it alike and no row's own label reaches its
features. The fitted builder is the same object local training saves, so serving is unchanged.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Final

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from sizing.features import (
    _STATS,
    BODY_NUMERIC,
    CATEGORICAL,
    HISTORY_KEYS,
    FeatureBuilder,
    _keys,
    _Table,
    as_columns,
)
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

FOLD: Final = "_fold"
#: per-row history sums (``rel_sum`` is built per fold from them)
_ROW_STATS: Final = tuple(s for s in _STATS if s != "rel_sum")


def row_hash(order_ids: pd.Series, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each order id: the same on every worker, whatever the partitioning."""
    key = f"fitroom-{seed % 10**8:08d}"
    return pd.util.hash_pandas_object(order_ids.astype(str), index=False, hash_key=key).to_numpy(np.uint64)


def hash_unit(order_ids: pd.Series, seed: int, salt: int) -> np.ndarray:
    """A uniform number in [0, 1) per order id; ``salt`` gives independent draws (folds, splits)."""
    h = row_hash(order_ids, seed + 7919 * salt)
    return (h >> np.uint64(11)).astype(np.float64) / float(2**53)


@dataclass(frozen=True)
class _Given:
    """History sums already joined onto the rows (duck-types :class:`sizing.features._Table`)."""

    stats: dict[str, np.ndarray]

    def lookup(self, keys: np.ndarray) -> dict[str, np.ndarray]:
        return self.stats


def _base(part: pd.DataFrame, builder: FeatureBuilder) -> pd.DataFrame:
    """Per row: the history keys, the label-derived sums and the item key (as ``_tables`` builds them)."""
    cols = as_columns(part)
    labels = part["fit"].to_numpy(dtype=object)
    body_pred = builder._body_design(cols) @ builder.body_coef_
    out = builder.row_sums(cols["size_num"], labels, body_pred).drop(columns="rel_sum")
    out.index = part.index
    out[FOLD] = part[FOLD].to_numpy()
    out["_item"] = pd.Series(cols["item_id"]).fillna("\0").astype(str).to_numpy()
    for key, prefix in HISTORY_KEYS.items():
        out[f"k_{prefix}"] = pd.Series(_keys(cols, key), index=part.index, dtype=object)
    return out


def _key_sums(
    part: pd.DataFrame, builder: FeatureBuilder, item_means: pd.DataFrame, n_folds: int
) -> pd.DataFrame:
    """Per (key, fold): the row sums, plus ``rel_<k>`` (rel_sum as fold k's complement sees it)."""
    base = _base(part, builder)
    means = item_means.reindex(base["_item"]).to_numpy()
    tsize = base["tsize_sum"].to_numpy()
    fold = base[FOLD].to_numpy()
    for k in range(n_folds):
        base[f"rel_{k}"] = np.where(fold == k, 0.0, tsize - means[:, k])
    base["rel_all"] = tsize - means[:, n_folds]
    groups = []
    for prefix in HISTORY_KEYS.values():
        keyed = base[base[f"k_{prefix}"].notna()]
        summed = keyed.groupby([keyed[f"k_{prefix}"].astype(str), FOLD])[_sum_columns(n_folds)].sum()
        summed.index = summed.index.set_names(["key", FOLD])
        groups.append(summed.assign(prefix=prefix).reset_index())
    return pd.concat(groups, ignore_index=True)


def _sum_columns(n_folds: int) -> list[str]:
    return [*_ROW_STATS, *(f"rel_{k}" for k in range(n_folds)), "rel_all"]


@dataclass
class History:
    """Fitted history: serving tables (all rows) and per-fold complements (for training rows)."""

    serving: dict[str, Any]
    complement: dict[str, pd.DataFrame]  # prefix -> (key, fold)-indexed sums over the other folds
    priors: pd.DataFrame  # fold -> class shares over the other folds


def fit_static(frame: dd.DataFrame, builder: FeatureBuilder) -> None:
    """Vocabularies, body medians, the body->size ridge and the size step, from aggregates over ``frame``."""
    uniques = dask.compute(*(frame[c].dropna().astype(str).unique() for c in CATEGORICAL))
    builder.vocab_ = {
        c: {v: i for i, v in enumerate(sorted(u))} for c, u in zip(CATEGORICAL, uniques, strict=True)
    }
    med = frame[list(BODY_NUMERIC)].quantile(0.5).compute()  # approximate median: only imputes gaps
    builder.body_median_ = np.nan_to_num(med.reindex(list(BODY_NUMERIC)).to_numpy(dtype=float))
    normal = [dask.delayed(_normal_equations)(p, builder) for p in frame.to_delayed()]
    parts = dask.compute(*normal)
    gram = sum(p[0] for p in parts)
    rhs = sum(p[1] for p in parts)
    builder.body_coef_ = np.linalg.solve(gram + 1e-3 * np.eye(len(gram)), rhs)
    pairs = frame[["shopper_id", "size_num"]].dropna().drop_duplicates().compute()
    builder.size_step_ = builder._size_step(as_columns(pairs))


def _normal_equations(part: pd.DataFrame, builder: FeatureBuilder) -> tuple[np.ndarray, np.ndarray]:
    cols = as_columns(part)
    design = builder._body_design(cols)
    ok = ~np.isnan(cols["size_num"])
    return design[ok].T @ design[ok], design[ok].T @ cols["size_num"][ok]


def fit_history(frame: dd.DataFrame, builder: FeatureBuilder, n_folds: int) -> History:
    """Serving and out-of-fold history tables of ``frame`` (which carries a ``_fold`` column)."""
    meta_base = _base(frame._meta, builder)
    base = frame.map_partitions(_base, builder, meta=meta_base)
    per_item, labels = dask.compute(
        base.groupby(["_item", FOLD])[["n", "tsize_sum"]].sum(),
        frame.groupby([FOLD, "fit"]).size(),
    )
    item_means = _item_means(per_item, n_folds)
    meta = _key_sums(frame._meta, builder, item_means.iloc[:0], n_folds)
    sums = frame.map_partitions(_key_sums, builder, item_means, n_folds, meta=meta)
    totals = sums.groupby(["prefix", "key", FOLD])[_sum_columns(n_folds)].sum().compute()
    serving: dict[str, Any] = {}
    complement: dict[str, pd.DataFrame] = {}
    for prefix in HISTORY_KEYS.values():
        by_fold = (
            totals.xs(prefix, level="prefix")
            if prefix in totals.index.get_level_values(0)
            else totals.iloc[:0]
        )
        total = by_fold.groupby(level="key").sum()
        serving[prefix] = _Table.from_frame(total[list(_ROW_STATS)].assign(rel_sum=total["rel_all"]))
        complement[prefix] = _complements(by_fold, total, n_folds)
    counts = (
        labels.unstack("fit")
        .reindex(columns=list(FIT_LABELS))
        .fillna(0.0)
        .reindex(range(n_folds))
        .fillna(0.0)
    )
    serving["prior"] = {c: float(counts[c].sum() / counts.to_numpy().sum()) for c in FIT_LABELS}
    other = counts.sum() - counts
    priors = other.div(other.sum(axis=1), axis=0)
    return History(serving, complement, priors)


def _item_means(per_item: pd.Series | pd.DataFrame, n_folds: int) -> pd.DataFrame:
    """Per item: the mean true size over all folds but k (columns 0..K-1) and over all (column K)."""
    wide = per_item.unstack(FOLD).reindex(columns=range(n_folds), level=FOLD).fillna(0.0)
    n, tsize = wide["n"], wide["tsize_sum"]
    with np.errstate(all="ignore"):
        cols = {k: (tsize.sum(axis=1) - tsize[k]) / (n.sum(axis=1) - n[k]) for k in range(n_folds)}
        cols[n_folds] = tsize.sum(axis=1) / n.sum(axis=1)
    return pd.DataFrame(cols, index=wide.index)


def _complements(by_fold: pd.DataFrame, total: pd.DataFrame, n_folds: int) -> pd.DataFrame:
    """(key, fold) sums over every fold but ``fold``; ``rel_sum`` as that complement computes it."""
    frames = []
    for k in range(n_folds):
        own = (
            by_fold.xs(k, level=FOLD)
            if k in by_fold.index.get_level_values(FOLD)
            else by_fold.iloc[:0].droplevel(FOLD)
        )
        own = own.reindex(total.index).fillna(0.0)
        comp = total[list(_ROW_STATS)] - own[list(_ROW_STATS)]
        comp["rel_sum"] = total[f"rel_{k}"]
        comp = comp[comp["n"] > 0]
        frames.append(comp.assign(**{FOLD: k}).set_index(FOLD, append=True))
    return pd.concat(frames)


def features(
    part: pd.DataFrame,
    builder: FeatureBuilder,
    history: History | None,
    extra: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One partition's feature matrix (names as ``builder.feature_names_``).

    With ``history`` the rows are training rows and each sees its fold's complement; without, the
    builder's serving tables (validation and test rows).
    """
    cols = as_columns(part)
    if history is None:
        matrix = builder._features(cols, builder.tables_)
    else:
        fold = part[FOLD].to_numpy()
        tables: dict[str, Any] = {
            "prior": {c: history.priors[c].reindex(fold).to_numpy() for c in FIT_LABELS}
        }
        for key, prefix in HISTORY_KEYS.items():
            keys = pd.Series(_keys(cols, key), dtype=object).fillna("\0").astype(str)
            index = pd.MultiIndex.from_arrays([keys.to_numpy(), fold], names=["key", FOLD])
            joined = history.complement[prefix].reindex(index).fillna(0.0)
            tables[prefix] = _Given({s: joined[s].to_numpy(dtype=float) for s in _STATS})
        matrix = builder._features(cols, tables)
    return pd.DataFrame(matrix, columns=builder.feature_names_, index=part.index)


def size_free(builder: FeatureBuilder) -> FeatureBuilder:
    """The same fitted state with the size-free feature set (the layer-based classifier's)."""
    twin = copy.copy(builder)
    twin.__dict__.pop("feature_names_", None)
    twin.size_free = True
    return twin
