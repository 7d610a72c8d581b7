"""Train, save and load the serving size-fit model, and write its model card.

The artifact is one joblib file (the fitted :class:`SizeFitClassifier` with its encodings and history
tables, so serving knows a shopper's usual size and an item's fit bias). Its version is a hash of the
boosters, so the same data and seed give the same version. The model card is deterministic (no
timestamps, no timings); metrics in it come only from ``evaluate`` runs, never from scoring the
serving model on data it has seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import joblib
import numpy as np
import pandas as pd

from sizing.model import Progress, SizeFitClassifier
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)

DEFAULT_NAME: Final = "sizefit-rtr"
ARTIFACT: Final = "sizefit.joblib"
TRAINING_JSON: Final = "training.json"
CARD: Final = "MODEL_CARD.md"
TRAIN_COMMAND: Final = "fitroom sizing train"


@dataclass(frozen=True)
class Trained:
    model: SizeFitClassifier
    version: str
    directory: Path
    info: dict[str, Any]


def model_version(model: SizeFitClassifier) -> str:
    """A content hash of the fitted boosters: equal for equal data, parameters and seed."""
    digest = hashlib.sha256()
    for stage in sorted(model.boosters_):
        digest.update(
            model.boosters_[stage].model_to_string(num_iteration=model.best_iterations_[stage]).encode()
        )
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
    model = SizeFitClassifier(random_state=seed, **(params or {}))
    model.fit(labelled, labelled["fit"], progress=progress)
    version = model_version(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out_dir / ARTIFACT, compress=3)
    info = {
        "version": version,
        "dataset": dataset,
        "command": command,
        "rows": int(len(labelled)),
        "shoppers": int(labelled["shopper_id"].nunique()),
        "items": int(labelled["item_id"].nunique()),
        "class_counts": {c: int((labelled["fit"] == c).sum()) for c in FIT_LABELS},
        "data_sha256": data_fingerprint(labelled),
        "params": model.get_params(),
        "features": list(model.feature_names_in_),
        "monotone_features": list(model.features_.size_features_),
        "best_iterations": model.best_iterations_,
    }
    (out_dir / TRAINING_JSON).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_card(out_dir)
    log.info("saved %s to %s", version, out_dir)
    return Trained(model, version, out_dir, info)


def load(out_dir: Path) -> tuple[SizeFitClassifier, str]:
    """The saved model and its version; FileNotFoundError names the missing artifact."""
    path = out_dir / ARTIFACT
    if not path.is_file():
        raise FileNotFoundError(f"size model artifact not found: {path} (run `fitroom sizing train`)")
    model = joblib.load(path)
    if not isinstance(model, SizeFitClassifier):
        raise ValueError(f"{path} does not hold a SizeFitClassifier")
    return model, model_version(model)


def save_evaluation(out_dir: Path, result: dict[str, Any]) -> Path:
    """Keep an evaluation (without its timing) beside the model so the card can quote it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in result.items() if k != "train_seconds"}
    path = out_dir / f"evaluation_{result['protocol']}.json"
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
            f"- version: `{info['version']}` (hash of the boosters: same data + seed → same version)",
            "- ordinal pair of LightGBM binary boosters: P(small) and P(large | not small), monotone "
            "(−1 / +1) in every size feature, early stopping on a 10% validation split",
            f"- best iterations: {info['best_iterations']}",
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
            f"- monotone in size: {', '.join(f'`{f}`' for f in info['monotone_features'])}",
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
                f"Command: `fitroom sizing evaluate --dataset {r['dataset']} "
                f"--protocol {r['protocol']} --json`",
                "",
                "| model | auc_small | auc_fit | auc_large | macro_auc | accuracy | ece |",
                "|---|---|---|---|---|---|---|",
                _metric_row("size-fit model", r),
                *(_metric_row(name, m) for name, m in sorted(r.get("baselines", {}).items())),
                "",
            ]
    path = out_dir / CARD
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


def feature_rows(model: SizeFitClassifier, frame: pd.DataFrame) -> np.ndarray:
    """The model's feature matrix for ``frame`` (what serving sees), for inspection and tests."""
    return model.features_.transform(frame)
