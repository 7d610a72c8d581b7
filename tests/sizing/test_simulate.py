"""The shop simulator: seeded, consistent with its own truth, and readable by the real importers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from api.cli import app
from api.db.session import session_scope
from api.settings import Settings, get_settings
from api.store import load_transactions
from sizing.ingest import read_source
from sizing.scales import normalize_many
from sizing.schema import TRANSACTION_COLUMNS
from sizing.simulate import SimConfig, Simulated, simulate, stream, write
from sizing.simulate.fit import NOISE, PREFERENCE_EASE_CM
from sizing.simulate.run import _population

ANSUR = Path(__file__).resolve().parents[2] / "data" / "ansur2"
CONFIG = SimConfig(n_orders=20_000, seed=7)


@pytest.fixture(scope="module")
def sim() -> Simulated:
    return simulate(CONFIG, ansur_dir=ANSUR)


def _ids(column: pd.Series) -> np.ndarray:
    return column.str.rsplit("-", n=1).str[-1].str.lstrip("si").astype(int).to_numpy()


def test_same_seed_same_shop_other_seed_other_shop(sim: Simulated) -> None:
    again = simulate(CONFIG, ansur_dir=ANSUR)
    for name in ("transactions", "size_charts", "truth", "items", "returns", "reviews"):
        pd.testing.assert_frame_equal(getattr(sim, name), getattr(again, name))
    other = simulate(SimConfig(n_orders=20_000, seed=8), ansur_dir=ANSUR)
    assert not other.transactions["size"].equals(sim.transactions["size"])
    assert not other.size_charts["cm"].equals(sim.size_charts["cm"])


def test_transactions_are_canonical_and_labels_sit_on_their_scales(sim: Simulated) -> None:
    tx = sim.transactions
    assert list(tx.columns) == list(TRANSACTION_COLUMNS) and len(tx) == CONFIG.n_orders
    assert tx["order_id"].is_unique and tx["ordered_at"].is_monotonic_increasing
    assert (tx["ordered_at"].max() - tx["ordered_at"].min()).days > 700
    values, _ = normalize_many(tx["size"], tx["category"])
    np.testing.assert_array_equal(values, tx["size_num"].to_numpy())
    assert set(tx["fit"].dropna()) == {"small", "fit", "large"}
    # the shop is plausible: most lines fit, a minority goes back for size, men and women both buy
    assert 0.6 < (sim.truth["true_fit"] == "fit").mean() < 0.85
    assert 0.2 < tx["return_reason"].isin(["too_small", "too_large"]).mean() < 0.45
    assert tx["category"].str.startswith("men's").mean() > 0.1
    systems = set(sim.items["system"])
    assert {"us", "letter", "eu", "cn", "waist_men", "letter_men"} <= systems


def test_truth_follows_the_ease_rule_and_the_best_size_maximises_p_fit(sim: Simulated) -> None:
    catalogue, shoppers = _population(CONFIG, ANSUR)
    rows = sim.transactions.sample(2_000, random_state=0)
    truth = sim.truth.set_index("order_id").loc[rows["order_id"]]
    item, shopper = _ids(rows["item_id"]), _ids(rows["shopper_id"])
    body = shoppers.bodies.girths[shopper]
    pref = PREFERENCE_EASE_CM[shoppers.preference[shopper]]
    tol = catalogue.tol_cm[item]

    def p_fit(garment: np.ndarray) -> np.ndarray:  # the rule as docs state it, written out again
        z = (garment - body[:, None, :] - pref[:, None, None]) / tol[:, None, :]
        tight = np.nanmin(np.where(np.isnan(z), np.inf, z), axis=-1)
        loose = np.nanmax(np.where(np.isnan(z), -np.inf, z), axis=-1)
        small = norm.cdf((-1 - tight) / NOISE)
        large = (1 - small) * norm.cdf((loose - 1) / NOISE)
        return 1 - small - large

    every = p_fit(catalogue.true_cm[item])
    every = np.where(np.isnan(catalogue.values[item]), -1.0, every)
    labels = catalogue.labels[item]
    ordered = np.array([list(row).index(s) for row, s in zip(labels, rows["size"], strict=True)])
    np.testing.assert_allclose(every[np.arange(len(rows)), ordered], truth["p_fit"], rtol=1e-9)
    best = labels[np.arange(len(rows)), every.argmax(axis=1)]
    assert (best == truth["best_size"].to_numpy()).all()
    assert (every.max(axis=1) >= truth["p_fit"].to_numpy() - 1e-12).all()
    assert ((truth["true_fit"] == "fit") == truth["ordered_fits"]).all()


def test_charts_are_honest_except_for_mis_charted_items(sim: Simulated) -> None:
    catalogue, _ = _population(CONFIG, ANSUR)
    items = sim.items.set_index("item_id")
    charted = sim.size_charts[sim.size_charts["measurement"] != "inside_leg"]
    sold = items.index.isin(sim.transactions["item_id"])
    assert set(charted["item_id"]) == set(items.index[items["has_chart"] & sold])
    honest = ~items["mis_charted"].to_numpy()
    np.testing.assert_allclose(catalogue.true_cm[honest], catalogue.chart_cm[honest])
    mis = np.flatnonzero(~honest)
    shift = np.nanmean(catalogue.true_cm[mis] - catalogue.chart_cm[mis], axis=(1, 2))
    assert (np.sign(shift) == np.sign(items["true_offset_steps"].to_numpy()[mis])).all()


def test_mis_charted_items_run_small_or_large_in_the_outcomes(sim: Simulated) -> None:
    offset = sim.items.set_index("item_id")["true_offset_steps"]
    lines = sim.transactions.assign(offset=sim.transactions["item_id"].map(offset))
    lines = lines[lines["fit"].notna()]
    rate = {
        kind: lines.loc[mask, "fit"].value_counts(normalize=True)
        for kind, mask in (
            ("small", lines["offset"] < 0),
            ("true", lines["offset"] == 0),
            ("large", lines["offset"] > 0),
        )
    }
    assert rate["small"]["small"] > rate["true"]["small"] + 0.05
    assert rate["large"]["large"] > rate["true"]["large"] + 0.05
    # and shoppers who know it size up for items that run small: ordered sizes sit above the best size less
    truth = sim.truth.set_index("order_id")
    gap = lines["size_num"] - lines["order_id"].map(truth["best_size_num"])
    assert gap[lines["offset"] < 0].mean() < gap[lines["offset"] == 0].mean()


def test_bracketed_pairs_keep_one_size(sim: Simulated) -> None:
    tx = sim.transactions
    pairs = tx[tx.duplicated(["shopper_id", "item_id", "ordered_at"], keep=False)]
    assert len(pairs) > 0.05 * len(tx)
    returned = pairs.groupby(["shopper_id", "item_id", "ordered_at"])["return_reason"].count()
    assert (returned >= 1).all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_tables_import_through_the_generic_importers(
    sim: Simulated, tmp_path: Path, fmt: str
) -> None:
    small = Simulated(
        transactions=sim.transactions.head(500),
        size_charts=sim.size_charts,
        truth=sim.truth.head(500),
        items=sim.items,
        returns=sim.returns[sim.returns["order_id"].isin(sim.transactions["order_id"].head(500))],
        reviews=sim.reviews[sim.reviews["order_id"].isin(sim.transactions["order_id"].head(500))],
    )
    paths = {p.stem: p for p in write(small, tmp_path, fmt)}  # type: ignore[arg-type]
    assert set(paths) == {"orders", "returns", "reviews", "size_charts", "truth", "items"}
    for kind in ("orders", "returns", "reviews", "size_charts"):
        result = read_source(fmt, paths[kind], kind=kind, source="sim")
        assert result.report.ok and not result.report.problems, str(result.report)
        assert len(result.frame) == len(getattr(small, {"orders": "transactions"}.get(kind, kind)))
    orders = read_source(fmt, paths["orders"], kind="orders").frame.reset_index(drop=True)
    for col in ("order_id", "size", "size_num", "fit", "return_reason", "stature_cm", "ordered_at"):
        pd.testing.assert_series_equal(
            orders[col], small.transactions[col].reset_index(drop=True), check_dtype=False
        )


def test_cli_simulates_then_imports_every_table(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITROOM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        args = ["sizing", "simulate", "--orders", "400", "--seed", "3", "--out", str(tmp_path)]
        run = runner.invoke(app, [*args, "--format", "csv", "--json"])
        assert run.exit_code == 0, run.output
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        assert summary["orders"] == 400 and summary["files"] == 6 and not summary["streamed"]
        for kind in ("orders", "returns", "reviews", "size_charts"):
            done = runner.invoke(app, ["sizing", "import", "--format", "csv", "--kind", kind,
                                       "--source", "sim", str(tmp_path / f"{kind}.csv")])  # fmt: skip
            assert done.exit_code == 0, done.output
        url = Settings.model_validate({"database_url": database_url}).sqlalchemy_url
        with session_scope(url) as session:
            stored = load_transactions(session, source="sim").set_index("order_id")
        written = pd.read_csv(tmp_path / "orders.csv").set_index("order_id")
        assert len(stored) == 400
        stored = stored.loc[written.index]
        assert (stored["size"] == written["size"].astype(str)).all()
        np.testing.assert_allclose(stored["size_num"], written["size_num"])
        assert stored["fit"].fillna("-").tolist() == written["fit"].fillna("-").tolist()
        assert stored["return_reason"].fillna("-").tolist() == written["return_reason"].fillna("-").tolist()
        bad = runner.invoke(app, ["sizing", "simulate", "--orders", "10", "--out", str(tmp_path / "x"),
                                  "--format", "csv", "--stream"])  # fmt: skip
        assert bad.exit_code == 2 and "--format" in bad.output
    finally:
        get_settings.cache_clear()


def test_stream_writes_month_partitions_that_match_the_in_memory_run(tmp_path: Path) -> None:
    config = SimConfig(n_orders=3_000, seed=11)
    seen: list[tuple[int, int]] = []
    paths = stream(
        config,
        tmp_path / "chunked",
        ansur_dir=ANSUR,
        chunk_orders=1_000,
        on_chunk=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(1_000, 3_000), (2_000, 3_000), (3_000, 3_000)]
    orders = pd.read_parquet(tmp_path / "chunked" / "orders")
    assert len(orders) == 3_000 and orders["order_id"].is_unique
    months = sorted({p.parent.name for p in paths if p.parent.parent.name == "orders"})
    assert months[0] == "month=2024-01" and len(months) == 24
    assert (orders["month"].astype(str) == orders["ordered_at"].dt.strftime("%Y-%m")).all()
    truth = pd.read_parquet(tmp_path / "chunked" / "truth")
    assert set(truth["order_id"]) == set(orders["order_id"])
    stream(config, tmp_path / "whole", ansur_dir=ANSUR, chunk_orders=3_000)
    whole = (
        pd.read_parquet(tmp_path / "whole" / "orders")
        .drop(columns="month")
        .sort_values("ordered_at", kind="stable")
    )
    memory = simulate(config, ansur_dir=ANSUR).transactions
    pd.testing.assert_frame_equal(
        whole.reset_index(drop=True), memory.reset_index(drop=True), check_dtype=False
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"n_orders": 0}, "n_orders"), ({"bracket_share": 1.5}, "bracket_share"), ({"n_items": 1}, "n_items"),
     ({"days": 0}, "days")],
)  # fmt: skip
def test_bad_config_names_the_field_and_limit(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SimConfig(**kwargs)
