"""Train, save and load the serving size-fit model, and write its model card.

The artifact is one joblib file (the fitted :class:`SizeFitModel`: risk boosters and size curves,
with their encodings, history tables and size layer, so serving knows a shopper's usual size, an
item's offset and her fit preference). Its version is a hash of the boosters and the layer: it names
this artifact. Training is
deterministic on one machine (fixed seeds, LightGBM ``deterministic`` with fixed threads), so a retrain
here gives the same version; on another machine floating-point sums in BLAS and L-BFGS may differ in the
last bits, so the version may differ while the metrics agree within a small tolerance (docs/sizing.md).
The model card is deterministic (no timestamps, no timings); metrics in it come only from ``evaluate``
runs, never from scoring the serving model on data it has seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import joblib
import numpy as np
import pandas as pd

from sizing.layer import K_MIN
from sizing.model import FLAG_FIT_SHARE, Progress, SizeFitClassifier, SizeFitModel
from sizing.rec_metrics import REC_KEYS, TRUTH_KEYS
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

DEFAULT_NAME: Final = "sizefit-rtr"
ARTIFACT: Final = "sizefit.joblib"
TRAINING_JSON: Final = "training.json"
CARD: Final = "MODEL_CARD.md"
TRAIN_COMMAND: Final = "fitroom sizing train"


@dataclass(frozen=True)
class Trained:
    model: SizeFitModel
    version: str
    directory: Path
    info: dict[str, Any]


def model_version(model: SizeFitModel) -> str:
    """A content hash of the fitted boosters and size layer: it names this artifact."""
    digest = hashlib.sha256()
    for part in (model.risk, model.curves):
        for stage in sorted(part.boosters_):
            digest.update(
                part.boosters_[stage].model_to_string(num_iteration=part.best_iterations_[stage]).encode()
            )
        if part.layer:
            layer = part.layer_
            for values in (layer.u_, layer.o_, layer.beta_, layer.theta_cat_, np.array(layer.slopes_)):
                digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return f"{DEFAULT_NAME}-{digest.hexdigest()[:12]}"


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over the training rows (ids, sizes, labels) so the card names exactly the data used."""
    cols = ["order_id", "shopper_id", "item_id", "size", "fit"]
    hashed = pd.util.hash_pandas_object(frame[cols].astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def train(
    frame: pd.DataFrame,
    out_dir: Path,
    *,
    dataset: str,
    command: str = TRAIN_COMMAND,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Trained:
    """Fit on every labelled row of ``frame``, save the artifact and (re)write the model card."""
    labelled = frame[frame["fit"].isin(FIT_LABELS)].reset_index(drop=True)
    if len(labelled) < 50:
        raise ValueError(f"need at least 50 labelled transactions to train, got {len(labelled)}")
    model = SizeFitModel.fit(
        labelled, labelled["fit"], params={"random_state": seed, **(params or {})}, progress=progress
    )
    return save_model(model, labelled, out_dir, dataset=dataset, command=command)


def save_model(
    model: SizeFitModel, labelled: pd.DataFrame, out_dir: Path, *, dataset: str, command: str
) -> Trained:
    """Write the artifact, training.json and the card for a model fitted (by any engine) on ``labelled``
    (its id, size and label columns are enough)."""
    version = model_version(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_artifact(model, out_dir)
    info = {
        "version": version,
        "dataset": dataset,
        "command": command,
        "rows": int(len(labelled)),
        "shoppers": int(labelled["shopper_id"].nunique()),
        "items": int(labelled["item_id"].nunique()),
        "class_counts": {c: int((labelled["fit"] == c).sum()) for c in FIT_LABELS},
        "data_sha256": data_fingerprint(labelled),
        "params": model.risk.get_params(),
        "features": list(model.risk.feature_names_in_),
        "monotone_features": list(model.risk.features_.size_features_),
        "curve_features": list(model.curves.feature_names_in_),
        "best_iterations": model.risk.best_iterations_,
        "curve_best_iterations": model.curves.best_iterations_,
        "flag_threshold": round(model.flag_threshold_, 4),
        "layer": _layer_info(model.curves),
    }
    partial_info = out_dir / f".{TRAINING_JSON}.{os.getpid()}.partial"
    partial_info.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(partial_info, out_dir / TRAINING_JSON)
    write_card(out_dir)
    log.info("saved %s to %s", version, out_dir)
    return Trained(model, version, out_dir, info)


def save_artifact(model: SizeFitModel, out_dir: Path) -> Path:
    """Write under a temporary name, then rename: a reader, or a process killed mid-write, never
    finds half an artifact under the real name (the serving watch swaps on the rename)."""
    partial = out_dir / f".{ARTIFACT}.{os.getpid()}.partial"
    joblib.dump(model, partial, compress=3)
    os.replace(partial, out_dir / ARTIFACT)
    return out_dir / ARTIFACT


def _layer_info(model: SizeFitClassifier) -> dict[str, Any] | None:
    if not model.layer:
        return None
    layer = model.layer_
    return {
        "slope_floor": K_MIN,
        "slopes": [round(k, 4) for k in layer.slopes_],
        "shoppers": len(layer.shoppers_),
        "items": len(layer.items_),
        "scales": sorted(layer.scales_),
        "chart_grade_cm": {m: round(g, 2) for m, g in layer.grade_cm_.items()},
    }


def load(out_dir: Path) -> tuple[SizeFitModel, str]:
    """The saved model and its version; FileNotFoundError names the missing artifact."""
    path = out_dir / ARTIFACT
    if not path.is_file():
        raise FileNotFoundError(f"size model artifact not found: {path} (run `fitroom sizing train`)")
    model = joblib.load(path)
    if not isinstance(model, SizeFitModel):
        raise ValueError(f"{path} does not hold a SizeFitModel")
    return model, model_version(model)


def save_evaluation(out_dir: Path, result: dict[str, Any]) -> Path:
    """Keep an evaluation (without its timing) beside the model so the card can quote it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in result.items() if k != "train_seconds"}
    name = result["protocol"] if result["dataset"] == "rtr" else f"{result['dataset']}_{result['protocol']}"
    path = out_dir / f"evaluation_{name}.json"
    path.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
    write_card(out_dir)
    return path


def _metric_row(name: str, m: dict[str, Any]) -> str:
    keys = ("auc_small", "auc_fit", "auc_large", "macro_auc", "accuracy", "ece")
    return (
        f"| {name} | "
        + " | ".join(f"{m[k]:.4f}" if isinstance(m.get(k), float) else "–" for k in keys)
        + " |"
    )


def _rec_rows(r: dict[str, Any]) -> list[str]:
    keys = [k for k in (*REC_KEYS, *TRUTH_KEYS) if k in r]
    names = list(r.get("rec_baselines", {}))
    rows = ["| metric | size-fit model | " + " | ".join(names) + " |", "|---" * (2 + len(names)) + "|"]
    for key in keys:
        values = [r.get(key), *(r["rec_baselines"][n].get(key) for n in names)]
        rows.append(
            f"| {key} | " + " | ".join(f"{v:.4f}" if isinstance(v, float) else "–" for v in values) + " |"
        )
    return rows


def _command(r: dict[str, Any]) -> str:
    extra = f" --sim-orders {r['sim_orders']} --seed {r['seed']}" if r["dataset"] == "sim" else ""
    return f"fitroom sizing evaluate --dataset {r['dataset']} --protocol {r['protocol']}{extra} --json"


def write_card(out_dir: Path) -> Path:
    """Render MODEL_CARD.md from training.json and the saved evaluations (deterministic text)."""
    lines = [f"# Size-fit model `{DEFAULT_NAME}`", ""]
    train_json = out_dir / TRAINING_JSON
    if train_json.is_file():
        info = json.loads(train_json.read_text())
        lines += [
            "## Data",
            f"- dataset: {info['dataset']} ({info['rows']:,} labelled transactions, {info['shoppers']:,} "
            f"shoppers, {info['items']:,} items)",
            f"- classes: {', '.join(f'{k} {v:,}' for k, v in info['class_counts'].items())}",
            f"- data sha256 (order_id, shopper_id, item_id, size, fit): `{info['data_sha256']}`",
            "",
            "## Model",
            f"- version: `{info['version']}`: a hash of this artifact (all boosters and the size layer). "
            "A retrain on the same machine gives the same version; on another machine floating-point sums "
            "may differ in the last bits, so compare the metrics, not the version (docs/sizing.md)",
            "- **risk**: an ordinal pair of LightGBM binary boosters, P(small) and P(large | not small), "
            "monotone (−1 / +1) in every size feature; it scores a line at its ordered size (AUC, check "
            f"flags); best iterations {info['best_iterations']}",
            "- **size curves**: the physical size layer (sizing/layer.py: shopper latent size = body "
            "regression + her learned offset, i.e. fit preference; item offsets; chart ease where a chart "
            "exists) starts both boosters of a second pair that sees only size-free features; slope "
            f"floor {K_MIN} logit per size step, learned slopes {(info.get('layer') or {}).get('slopes')}; "
            f"best iterations {info.get('curve_best_iterations')}; recommendations and suggested sizes",
            f"- check flag threshold on risk max(P(small), P(large)) (flags {100 * FLAG_FIT_SHARE:.0f}% of "
            f"validation lines labelled fit): {info.get('flag_threshold')}",
            "- early stopping on a 10% validation split",
            f"- command: `{info['command']}`",
            "",
            "## Parameters",
            "",
            "```json",
            json.dumps(info["params"], indent=2, sort_keys=True),
            "```",
            "",
            "## Features",
            f"- all ({len(info['features'])}): {', '.join(f'`{f}`' for f in info['features'])}",
            "- the size enters only through the size layer, whose slope is floored: P(small) falls and "
            "P(large | not small) rises with every size step by at least the floor in log-odds",
            "- never features: `fit`, `return_reason`, `rating`, `review_text` (outcomes); history "
            "aggregates of training rows are out-of-fold (5 folds)",
            "",
        ]
    evals = sorted(out_dir.glob("evaluation_*.json"))
    if evals:
        lines += ["## Metrics (held-out test part; every model trained from scratch on the train part)", ""]
        for path in evals:
            r = json.loads(path.read_text())
            lines += [
                f"### {r['protocol']} on {r['dataset']} (seed {r['seed']}): n_train {r['n_train']:,}, "
                f"n_test {r['n_test']:,}",
                "",
                f"Command: `{_command(r)}`",
                "",
                *(
                    []
                    if "rec_baselines" in r
                    else ["Measured on the model before the size layer (no recommendation metrics yet); "
                          "the command above re-measures it.", ""]
                ),
                "| model | auc_small | auc_fit | auc_large | macro_auc | accuracy | ece |",
                "|---|---|---|---|---|---|---|",
                _metric_row("size-fit model", r),
                *(_metric_row(name, m) for name, m in sorted(r.get("baselines", {}).items())),
                "",
                *(_rec_rows(r) + [""] if "rec_baselines" in r else []),
            ]
    path = out_dir / CARD
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
