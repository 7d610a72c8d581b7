"""What the size itself is worth to the size-fit model: ``python -m bench.sizing_ablation [--protocol P]``.

Each variant trains from scratch on the protocol's train part (seed 0) and is scored on its test part:

- ``monotone`` — the shipped risk model: monotone in every size-dependent feature;
- ``layer`` — the shipped size curves: the physical size layer's floored slope, size-free residual;
- ``no_size`` — the same model with the ordered size hidden (``size_num`` missing on every row), so it
  can only use the shopper's body and history and the item's history;
- ``unconstrained`` — the same features with no monotone constraint;
- ``unconstrained_projected`` — the unconstrained model made monotone afterwards: for every test row,
  its probabilities at each size the item is offered in are projected onto a monotone curve (isotonic
  regression) and read off at the ordered size.

If ``monotone`` ≈ ``no_size`` and ``unconstrained_projected`` < ``unconstrained``, then the lift of the
unconstrained model comes from using the size in the direction the guarantee forbids.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.isotonic import IsotonicRegression

from api.settings import get_settings
from sizing.datasets import load_rtr
from sizing.evaluate import PROTOCOLS, metrics, split
from sizing.model import SizeFitClassifier

KEYS = ("auc_small", "auc_fit", "auc_large", "macro_auc")


def _projected(model: SizeFitClassifier, frame: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Test-row probabilities after an isotonic projection over each item's offered sizes."""
    offered = frame.dropna(subset=["size_num"]).groupby("item_id")["size_num"].unique()
    counts = test["item_id"].map(offered.map(len)).to_numpy()
    grid = test.loc[test.index.repeat(counts)].copy()
    grid["size_num"] = np.concatenate([np.sort(offered[i]) for i in test["item_id"]])
    grid["size"] = grid["size_num"].map(lambda v: f"{v:g}")
    proba = model.predict_proba(grid)
    p_small, rest = proba[:, 0], 1.0 - proba[:, 0]
    p_large_given = np.divide(proba[:, 2], rest, out=np.zeros_like(rest), where=rest > 0)
    out = np.empty((len(test), 3))
    start = 0
    for row, (n, ordered) in enumerate(zip(counts, test["size_num"], strict=True)):
        sizes = grid["size_num"].to_numpy()[start : start + n]
        small = IsotonicRegression(increasing=False).fit(sizes, p_small[start : start + n])
        large = IsotonicRegression(increasing=True).fit(sizes, p_large_given[start : start + n])
        s, lg = float(small.predict([ordered])[0]), float(large.predict([ordered])[0])
        out[row] = (s, (1 - s) * (1 - lg), (1 - s) * lg)
        start += n
    return out


def run(protocol: str = "misra2018", seed: int = 0) -> dict[str, Any]:
    frame = load_rtr(get_settings().data_dir)
    train, val, test = split(frame, protocol, seed)
    y = frame["fit"].to_numpy(dtype=object)
    parts = {name: frame.iloc[idx].reset_index(drop=True) for name, idx in
             (("train", train), ("val", val), ("test", test))}  # fmt: skip
    hidden = {k: v.assign(size_num=np.nan) for k, v in parts.items()}
    results: dict[str, dict[str, float]] = {}
    for name, data, monotone, layer in (("monotone", parts, True, False), ("layer", parts, True, True),
                                        ("no_size", hidden, True, False),
                                        ("unconstrained", parts, False, False)):  # fmt: skip
        model = SizeFitClassifier(random_state=seed, monotone=monotone, layer=layer)
        model.fit(data["train"], y[train], eval_set=(data["val"], y[val]))
        results[name] = metrics(y[test], model.predict_proba(data["test"]))
        if name == "unconstrained":
            results["unconstrained_projected"] = metrics(y[test], _projected(model, frame, parts["test"]))
    return {"protocol": protocol, "seed": seed, "n_test": int(len(test)), "variants": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="misra2018", choices=PROTOCOLS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    console = Console(stderr=True)
    with console.status(f"training five variants on {args.protocol} (a few minutes) …"):
        result = run(args.protocol, args.seed)
    title = f"size ablation, {args.protocol} on rtr (seed {args.seed}), n_test {result['n_test']:,}"
    table = Table(title=title)
    table.add_column("variant")
    for k in KEYS:
        table.add_column(k, justify="right")
    for name, m in result["variants"].items():
        table.add_row(name, *(f"{m[k]:.4f}" for k in KEYS))
    console.print(table)
    Console().print_json(json.dumps(result))


if __name__ == "__main__":
    main()
