"""``--engine dask`` entry points: train from a Parquet folder, or fit inside an evaluation protocol."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client

from sizing.distributed.fit import DEFAULT_ROUNDS, fit_dask
from sizing.distributed.parquet import COLUMNS, read_labelled
from sizing.features import CHART_MEASUREMENTS
from sizing.layer import chart_column
from sizing.model import Progress, SizeFitModel
from sizing.train import TRAIN_COMMAND, Trained, save_model

log = logging.getLogger(__name__)

#: the columns the artifact's info and data fingerprint read
ID_COLUMNS = ["order_id", "shopper_id", "item_id", "size", "fit"]


def train_on_parquet(
    client: Client,
    data_dir: Path,
    out_dir: Path,
    *,
    dataset: str,
    command: str = TRAIN_COMMAND,
    seed: int = 0,
    rounds: int = DEFAULT_ROUNDS,
) -> Trained:
    """Fit on every labelled line under ``data_dir`` on the cluster and save the usual artifact."""
    frame = read_labelled(data_dir)
    model = fit_dask(client, frame, params={"random_state": seed}, rounds=rounds)
    ids = frame[ID_COLUMNS].compute()
    if len(ids) < 50:
        raise ValueError(f"need at least 50 labelled transactions to train, got {len(ids)}")
    return save_model(model, ids.reset_index(drop=True), out_dir, dataset=dataset, command=command)


def dask_fitter(
    client: Client, *, partitions: int | None = None, rounds: int = DEFAULT_ROUNDS
) -> Callable[..., SizeFitModel]:
    """A ``SizeFitModel.fit`` look-alike that trains on ``client`` (for :func:`sizing.evaluate.evaluate`)."""
    parts = partitions or 2 * max(1, len(client.scheduler_info()["workers"]))

    def fit(
        X: pd.DataFrame,
        y: Sequence[str] | np.ndarray | pd.Series,
        *,
        params: dict[str, Any] | None = None,
        eval_set: tuple[pd.DataFrame, Sequence[str] | np.ndarray | pd.Series] | None = None,
        progress: Progress | None = None,
    ) -> SizeFitModel:
        train = dd.from_pandas(_training_columns(X, y), npartitions=parts, sort=False)
        valid = None
        if eval_set is not None:
            valid = dd.from_pandas(_training_columns(*eval_set), npartitions=parts, sort=False)
        return fit_dask(client, train, valid=valid, params=params, rounds=rounds)

    return fit


def _training_columns(X: pd.DataFrame, y: Sequence[str] | np.ndarray | pd.Series) -> pd.DataFrame:
    charts = [chart_column(m) for m in CHART_MEASUREMENTS]
    keep = [c for c in (*COLUMNS, *charts) if c in X.columns]
    out = X[keep].reset_index(drop=True).assign(fit=np.asarray(y, dtype=object))
    return out.reindex(columns=[*COLUMNS, "fit", *charts])
