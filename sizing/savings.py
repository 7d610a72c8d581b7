"""The returns team's cost decision: at which risk does nudging a shopper about her size pay?

A flagged order line gets a nudge ("this size may run small for you"), which costs ``nudge_cost`` (the
friction, a few lost sales) on every flagged line. A share ``switch_share`` of nudged shoppers changes
size. Where the line would have come back as a fit return, the change avoids it (``return_cost`` saved);
where it would have fitted (a good order disturbed), the new size comes back as a fit return with
probability ``harm_share``. So, per order line,

    net saving = return_cost × switch_share × (P(flag, fit return) − harm_share × P(flag, good))
                 − nudge_cost × P(flag)

The risk is the size model's held-out max(P(small), P(large)) at the ordered size, the score the service
flags on; the chosen threshold maximises the net saving. Counts are per 1,000 order lines.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PER_LINES: Final = 1000
THRESHOLDS: Final = np.round(np.arange(0.05, 1.0, 0.01), 2)
#: where the chosen threshold is written, in the models folder the service reads
THRESHOLD_FILE: Final = "flag_threshold.json"
ENV_THRESHOLD: Final = "FITROOM_FLAG_THRESHOLD"
ENV_MODELS_DIR: Final = "FITROOM_MODELS_DIR"
CURVE_COLUMNS: Final = (
    "threshold",
    "flagged_share",
    "returns_avoided",
    "good_orders_disturbed",
    "net_saving",
)


@dataclass(frozen=True)
class Costs:
    """What a fit return and a nudge cost (one currency), and how many nudged shoppers change size."""

    return_cost: float
    nudge_cost: float
    switch_share: float = 0.5
    harm_share: float = 0.5

    def __post_init__(self) -> None:
        if self.return_cost < 0 or self.nudge_cost < 0:
            raise ValueError(
                f"costs must be >= 0; got return_cost={self.return_cost}, nudge_cost={self.nudge_cost}"
            )
        for name in ("switch_share", "harm_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must be between 0 and 1")


def curve(
    risk: np.ndarray, fit_return: np.ndarray, costs: Costs, thresholds: np.ndarray = THRESHOLDS
) -> pd.DataFrame:
    """Per threshold (flag when risk >= threshold): ``CURVE_COLUMNS``, counts and money per 1,000 lines."""
    risk, fit_return = np.asarray(risk, dtype=float), np.asarray(fit_return, dtype=bool)
    if risk.shape != fit_return.shape or risk.size == 0:
        raise ValueError(f"risk ({risk.size}) and fit_return ({fit_return.size}) must be equal, non-empty")
    flagged = risk[None, :] >= np.asarray(thresholds, dtype=float)[:, None]
    share = flagged.mean(axis=1)
    caught = (flagged & fit_return[None, :]).mean(axis=1)
    disturbed = share - caught
    avoided = costs.switch_share * caught
    caused = costs.switch_share * costs.harm_share * disturbed
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "flagged_share": share,
            "returns_avoided": avoided * PER_LINES,
            "good_orders_disturbed": disturbed * PER_LINES,
            "net_saving": (costs.return_cost * (avoided - caused) - costs.nudge_cost * share) * PER_LINES,
        }
    )


def choose(table: pd.DataFrame) -> pd.Series:
    """The operating point: the largest net saving; of equal ones, the highest threshold (fewer nudges).
    When no threshold saves money, the highest threshold (flag almost nothing)."""
    best = table["net_saving"].max()
    if best <= 0:
        return table.iloc[-1]
    return table[np.isclose(table["net_saving"], best)].iloc[-1]


def decision(table: pd.DataFrame, costs: Costs) -> dict[str, object]:
    """The ``--json`` object: the costs, the chosen point's numbers and the whole curve."""
    point = choose(table)
    return {
        "return_cost": costs.return_cost,
        "nudge_cost": costs.nudge_cost,
        "threshold": float(point["threshold"]),
        "flagged_share": round(float(point["flagged_share"]), 6),
        "returns_avoided": round(float(point["returns_avoided"]), 4),
        "good_orders_disturbed": round(float(point["good_orders_disturbed"]), 4),
        "net_saving": round(float(point["net_saving"]), 4),
        "curve": [{k: round(float(v), 6) for k, v in row.items()} for row in table.to_dict("records")],
    }


def write_threshold(models_dir: Path, result: dict[str, object], costs: Costs, *, source: str) -> Path:
    """Store the decision (threshold, costs, assumptions, curve) where :func:`flag_threshold`, the report
    and ``/v1/analytics/savings`` find it."""
    path = Path(models_dir) / THRESHOLD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**result, "switch_share": costs.switch_share, "harm_share": costs.harm_share, "source": source,
              "per_order_lines": PER_LINES}  # fmt: skip
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(path)
    log.info("flag threshold %.2f written to %s", result["threshold"], path)
    return path


def flag_threshold(model_default: float) -> float:
    """The threshold the service flags at: ``FITROOM_FLAG_THRESHOLD`` if set, else the one the savings
    analysis wrote to ``$FITROOM_MODELS_DIR/flag_threshold.json``, else the model's own."""
    if (value := os.environ.get(ENV_THRESHOLD)) not in (None, ""):
        threshold = float(value)
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"{ENV_THRESHOLD}={value} must be between 0 and 1")
        return threshold
    stored = read_decision(Path(os.environ.get(ENV_MODELS_DIR) or "."))
    return float(stored["threshold"]) if stored is not None else model_default


def read_decision(models_dir: Path) -> dict[str, Any] | None:
    """The last decision written to ``models_dir`` (None when there is none)."""
    path = Path(models_dir) / THRESHOLD_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return dict(_read(str(path), stat.st_mtime_ns))


@lru_cache(maxsize=4)
def _read(path: str, _mtime_ns: int) -> dict[str, Any]:
    """Parsed once per file version: the service asks on every check."""
    return dict(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class HeldOut:
    """Held-out order lines of one analysis: the model's risk, whether each came back as a fit return,
    and (simulator only) whether its size was truly wrong."""

    risk: np.ndarray
    fit_return: np.ndarray
    truly_wrong: np.ndarray | None
    basis: str


def held_out(
    frame: pd.DataFrame, *, truth: pd.DataFrame | None = None, seed: int = 0, n_estimators: int = 400
) -> HeldOut:
    """Train the risk model on the train part of a random split (:func:`sizing.evaluate.split`) and
    score every line of the test part at its ordered size, as the service would at checkout."""
    from sizing.analytics import outcomes  # heavy imports only for this step
    from sizing.evaluate import split
    from sizing.model import SizeFitClassifier
    from sizing.schema import FIT_LABELS

    frame = frame.reset_index(drop=True)
    train, val, test = split(frame, "misra2018", seed)
    labelled = frame["fit"].isin(FIT_LABELS).to_numpy()
    train, val = train[labelled[train]], val[labelled[val]]
    o = outcomes(frame)
    test = test[o.counted.to_numpy()[test]]
    if min(len(train), len(val), len(test)) == 0:
        raise ValueError(f"too few labelled order lines to train and test on ({len(frame)} lines)")
    model = SizeFitClassifier(random_state=seed, n_estimators=n_estimators)
    if "layer" in model.get_params():  # the risk model the service flags with has no size layer
        model.set_params(layer=False)
    fit = frame["fit"].to_numpy(dtype=object)
    model.fit(frame.iloc[train], fit[train], eval_set=(frame.iloc[val], fit[val]))
    proba = model.predict_proba(frame.iloc[test])
    classes = list(model.classes_)
    risk = np.maximum(proba[:, classes.index("small")], proba[:, classes.index("large")])
    fit_return = (o.small | o.large).to_numpy()[test]
    wrong = None
    if truth is not None:
        by_id = truth.set_index("order_id")["ordered_fits"]
        wrong = ~frame["order_id"].iloc[test].map(by_id).fillna(True).to_numpy(dtype=bool)
    return HeldOut(risk=risk, fit_return=fit_return, truly_wrong=wrong, basis=o.basis)


def truth_check(data: HeldOut, threshold: float) -> dict[str, float]:
    """On simulated data: of the flagged lines, how many had a truly wrong size, and of the flagged fit
    returns, how many a size change could really have avoided (the size was wrong, not the shopper)."""
    if data.truly_wrong is None:
        raise ValueError("no truth: only simulated data knows which sizes were truly wrong")
    flagged = data.risk >= threshold
    returned = flagged & data.fit_return
    return {
        "flag_precision_truly_wrong": float(data.truly_wrong[flagged].mean())
        if flagged.any()
        else float("nan"),
        "fit_returns_truly_wrong": float(data.truly_wrong[returned].mean())
        if returned.any()
        else float("nan"),
        "truly_wrong_caught": float(flagged[data.truly_wrong].mean())
        if data.truly_wrong.any()
        else float("nan"),
    }
