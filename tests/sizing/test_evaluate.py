"""Recommendation metrics on a small simulated shop, and caller-given train/test files via the CLI."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from sizing.evaluate import evaluate
from sizing.rec_metrics import REC_KEYS, TRUTH_KEYS
from sizing.simulate import write
from tests.sizing_support import FAST, simulated


@pytest.fixture(scope="module")
def result() -> dict:
    sim = simulated()
    return evaluate(sim.transactions, protocol="temporal", dataset="sim", params=FAST, baselines=False,
                    charts=sim.size_charts, catalogue=sim.items, truth=sim.truth)  # fmt: skip


def test_every_recommendation_key_is_a_share_for_the_model_and_both_baselines(result) -> None:
    for scores in (result, *result["rec_baselines"].values()):
        for key in (*REC_KEYS, *TRUTH_KEYS):
            if key == "flat_share" and scores is not result:
                continue  # a baseline has no probabilities to be flat
            assert 0.0 <= scores[key] <= 1.0, (key, scores[key])
    assert set(result["rec_baselines"]) == {"usual_size", "item_bias"}
    assert result["n_lines"] > 1000


def test_on_simulated_data_the_model_beats_both_baselines_at_the_true_best_size(result) -> None:
    for baseline in result["rec_baselines"].values():
        assert result["rec_top1"] > baseline["rec_top1"]
    assert result["flat_share"] <= 0.10
    assert result["check_right_way_true"] >= 0.8


def _write_split(tmp_path, fmt: str) -> tuple:
    sim = simulated()
    lines = sim.transactions.sort_values("ordered_at")
    cut = int(len(lines) * 0.8)
    paths = []
    for name, part in (("train", lines.iloc[:cut]), ("test", lines.iloc[cut:])):
        out = tmp_path / name
        written = write(
            type(sim)(part, sim.size_charts, sim.truth, sim.items, sim.returns, sim.reviews), out, fmt
        )
        paths.append(next(p for p in written if p.name.startswith("orders")))
    return tuple(paths)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_custom_train_and_test_files_print_the_same_keys(tmp_path, fmt) -> None:
    train, test = _write_split(tmp_path, fmt)
    done = CliRunner().invoke(cli, ["sizing", "evaluate", "--train", str(train), "--test", str(test),
                                    "--no-baselines", "--json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["protocol"] == "custom" and out["dataset"] == "custom"
    assert out["n_test"] == len(simulated().transactions) - int(len(simulated().transactions) * 0.8)
    for key in REC_KEYS:
        assert not math.isnan(out[key]), key


def test_a_bad_custom_file_gets_the_importers_row_and_column_report_and_exit_2(tmp_path) -> None:
    train, test = _write_split(tmp_path, "csv")
    text = test.read_text().splitlines()
    header = text[0].split(",")
    cells = text[3].split(",")
    cells[header.index("fit")] = "tiny"
    text[3] = ",".join(cells)
    test.write_text("\n".join(text) + "\n")
    done = CliRunner().invoke(cli, ["sizing", "evaluate", "--train", str(train), "--test", str(test)])
    assert done.exit_code == 2
    assert "fit" in done.output and "tiny" in done.output and "3" in done.output
    missing = tmp_path / "missing.csv"
    done = CliRunner().invoke(cli, ["sizing", "evaluate", "--train", str(train), "--test", str(missing)])
    assert done.exit_code == 2 and "missing.csv" in done.output
