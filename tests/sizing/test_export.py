"""The Parquet export: month partitions, chunked streaming, the same rows as the database, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from api.db.session import migrate, session_scope
from api.settings import Settings
from api.store import export_parquet, import_result, iter_transactions, load_transactions
from sizing import analytics, analytics_duckdb
from sizing.ingest import read_source

ROOT = Path(__file__).resolve().parents[2]


def _orders(tmp_path: Path, url: str, n: int = 45) -> None:
    rows = [f"o{i:03d},u{i % 4},item{i % 3},{'SML'[i % 3]},2024-{1 + i % 3:02d}-1{i % 9},acme,dress,"
            f"{'too_small' if i % 5 == 0 else ''}" for i in range(n)]  # fmt: skip
    rows.append("undated,u1,item1,M,,acme,dress,")
    header = "order_id,shopper_id,item_id,size,ordered_at,brand,category,return_reason\n"
    (tmp_path / "o.csv").write_text(header + "\n".join(rows) + "\n")
    import_result(url, read_source("csv", tmp_path / "o.csv"))


def test_export_streams_month_partitions_holding_the_stored_rows(database_url: str, tmp_path: Path) -> None:
    url = Settings(database_url=database_url).sqlalchemy_url
    _orders(tmp_path, url)
    with session_scope(url) as session:
        chunks = list(iter_transactions(session, chunk_rows=7))
        paths = export_parquet(session, tmp_path / "out", chunk_rows=7)
        stored = load_transactions(session)
    assert [len(c) for c in chunks] == [7] * 6 + [4], "read in chunks of chunk_rows"
    months = sorted(p.parent.name for p in (tmp_path / "out" / "orders").glob("*/*.parquet"))
    assert sorted(set(months)) == ["month=2024-01", "month=2024-02", "month=2024-03", "month=unknown"]
    assert len(months) > 4, "each chunk writes its own part per month"
    for path in paths:
        if path.parent.name.startswith("month="):
            month = path.parent.name.removeprefix("month=")
            part = pq.read_table(path).to_pandas()
            assert len(part) <= 7
            assert set(part["ordered_at"].dt.strftime("%Y-%m").fillna("unknown")) == {month}
    back = pd.read_parquet(tmp_path / "out" / "orders").drop(columns="month").sort_values("order_id")
    expected = stored.sort_values("order_id")
    for column in ("order_id", "item_id", "size", "return_reason", "ordered_at"):
        assert back[column].tolist() == expected[column].tolist(), column
    lines = analytics_duckdb.Lines.parquet(tmp_path / "out")
    assert analytics_duckdb.summary(lines) == analytics.summary(stored)


def test_missing_partition_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(analytics_duckdb.MissingData, match="no such folder"):
        analytics_duckdb.Lines.parquet(tmp_path / "nowhere")
    (tmp_path / "shop").mkdir()
    with pytest.raises(analytics_duckdb.MissingData, match="orders: missing"):
        analytics_duckdb.Lines.parquet(tmp_path / "shop")
    (tmp_path / "shop" / "orders" / "month=2024-01").mkdir(parents=True)
    with pytest.raises(analytics_duckdb.MissingData, match="no Parquet files"):
        analytics_duckdb.Lines.parquet(tmp_path / "shop")


def test_cli_export_writes_the_layout_and_refuses_a_used_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate(url)
    env = {**os.environ, "FITROOM_STATE_DIR": str(tmp_path / "state"), "FITROOM_DATABASE_URL": url}
    fitroom = [str(Path(sys.executable).with_name("fitroom"))]
    modcloth = ROOT / "data" / "modcloth" / "modcloth_final_data_first100.json"
    subprocess.run([*fitroom, "sizing", "import", "--format", "modcloth", str(modcloth)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    out = tmp_path / "export"
    done = subprocess.run([*fitroom, "sizing", "export", "--parquet", str(out), "--json"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["months"] >= 1 and (out / "size_charts.parquet").exists()
    assert len(pd.read_parquet(out / "orders")) == 100
    again = subprocess.run([*fitroom, "sizing", "export", "--parquet", str(out)], env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert again.returncode == 2 and "not empty" in again.stderr


def test_report_from_a_missing_parquet_folder_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["analytics", "report", "--out", str(tmp_path / "r"), "--from", "parquet",
                                  "--data", str(tmp_path / "nowhere")])  # fmt: skip
    assert missing.exit_code == 2 and "no such folder" in " ".join(missing.output.split())
    no_data = runner.invoke(app, ["analytics", "report", "--out", str(tmp_path / "r"), "--from", "parquet"])
    assert no_data.exit_code == 2 and "--data" in no_data.output
