"""/v1/analytics over real HTTP (TestClient) on SQLite and PostgreSQL, against analytics on the same rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api import analytics_views
from api.db.session import session_scope
from api.settings import Settings, get_settings
from api.store import data_revision, import_result, load_transactions
from sizing import analytics, analytics_duckdb, savings
from sizing.ingest import read_source
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
MODCLOTH = ROOT / "data" / "modcloth" / "modcloth_final_data_first100.json"

ORDERS = """order_id,shopper_id,item_id,size,ordered_at,brand,category
{rows}
"""


def _shop(tmp_path: Path, settings: Settings) -> None:
    """ModCloth's 100 rows plus a small shop with dates, returns, brands and size charts."""
    url = settings.sqlalchemy_url
    import_result(url, read_source("modcloth", MODCLOTH))
    rows = [f"g{i},u{i % 7},item{i % 3},{'SML'[i % 3]},2024-0{1 + i % 3}-10,acme,dress" for i in range(60)]
    (tmp_path / "o.csv").write_text(ORDERS.format(rows="\n".join(rows)))
    import_result(url, read_source("csv", tmp_path / "o.csv"))
    returns = "order_id,reason\n" + "\n".join(
        f"g{i},{'too_small' if i % 3 == 0 else 'style'}" for i in range(0, 60, 2)
    )
    (tmp_path / "r.csv").write_text(returns)
    import_result(url, read_source("csv", tmp_path / "r.csv", kind="returns"))
    charts = "item_id,brand,size,measurement,cm\n" + "".join(
        f"item0,,{size},bust_girth,{cm}\n" for size, cm in (("S", 88), ("M", 86), ("L", 96))
    )
    (tmp_path / "c.csv").write_text(charts)
    import_result(url, read_source("csv", tmp_path / "c.csv", kind="size_charts"))


def _frame(settings: Settings):
    with session_scope(settings.sqlalchemy_url) as s:
        return load_transactions(s)


def test_summary_and_rates_match_the_library_on_the_stored_rows(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    _shop(tmp_path, settings)
    frame = _frame(settings)
    r = client.get("/v1/analytics/summary")
    assert r.status_code == 200
    expected = analytics.summary(frame)
    assert r.json() == pytest.approx(expected)
    assert r.json()["basis"] == "returns"
    for by in ("item", "brand", "category", "size"):
        r = client.get("/v1/analytics/fit-returns", params={"by": by, "limit": 500})
        assert r.status_code == 200, r.text
        body = r.json()
        table = analytics.rates_by(frame, by)
        assert body["count"] == len(table)
        assert [row["key"] for row in body["data"]] == [str(k) for k in table[analytics.GROUP_COLUMNS[by]]]
        assert [row["fit_returns"] for row in body["data"]] == table["fit_returns"].tolist()


def test_trend_running_and_size_chart_issues(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    _shop(tmp_path, settings)
    frame = _frame(settings)
    trend = client.get("/v1/analytics/trend").json()
    assert [row["orders"] for row in trend["data"]] == analytics.monthly_trend(frame)["orders"].tolist()
    running = client.get("/v1/analytics/running", params={"direction": "small", "min_orders": 5}).json()
    expected = analytics.items_running(frame, min_orders=5)["small"]
    assert [row["item_id"] for row in running["data"]] == expected["item_id"].tolist()
    issues = client.get("/v1/analytics/size-chart-issues").json()
    assert [(i["item_id"], i["size"]) for i in issues["data"]] == [("item0", "M")]
    sized = "order_id,shopper_id,item_id,size,size_num\n" + "".join(
        f"n{i},v{i % 3},item5,{8 + 2 * (i % 4)},{8 + 2 * (i % 4)}\n" for i in range(12)
    )
    (tmp_path / "sized.csv").write_text(sized)
    import_result(settings.sqlalchemy_url, read_source("csv", tmp_path / "sized.csv"))
    offsets = client.get("/v1/analytics/size-offset", params={"min_history": 2}).json()
    expected = analytics.rates_by_size_offset(_frame(settings), min_history=2)
    assert offsets["data"] and [(r["offset"], r["orders"], r["small"]) for r in offsets["data"]] == list(
        zip(expected["offset"], expected["orders"], expected["small"], strict=True)
    )


def test_report_html_embeds_plots_and_follows_new_imports(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    assert client.get("/v1/analytics/report.html").status_code == 404
    empty = client.get("/v1/analytics/summary").json()
    assert empty["order_lines"] == 0 and empty["fit_return_rate"] is None
    _shop(tmp_path, settings)
    r = client.get("/v1/analytics/report.html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.count("data:image/png;base64,") >= 3
    before = client.get("/v1/analytics/summary").json()["order_lines"]
    (tmp_path / "more.csv").write_text("order_id,shopper_id,item_id,size\nz1,u1,item9,M\n")
    import_result(settings.sqlalchemy_url, read_source("csv", tmp_path / "more.csv"))
    assert client.get("/v1/analytics/summary").json()["order_lines"] == before + 1


def test_an_import_that_changes_one_fit_label_changes_the_answers(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """The stale-cache bug: row counts and sums stay the same, the revision does not."""
    _shop(tmp_path, settings)
    (tmp_path / "fb.csv").write_text("order_id,fit\ng1,fit\n")
    import_result(settings.sqlalchemy_url, read_source("csv", tmp_path / "fb.csv", kind="reviews"))
    query = {"by": "item", "limit": 500}
    before = client.get("/v1/analytics/fit-returns", params=query).json()
    item = next(r for r in before["data"] if r["key"] == "item1")
    (tmp_path / "fb.csv").write_text("order_id,fit\ng1,large\n")
    import_result(settings.sqlalchemy_url, read_source("csv", tmp_path / "fb.csv", kind="reviews"))
    (tmp_path / "rr.csv").write_text("order_id,reason\ng1,too_large\n")
    import_result(settings.sqlalchemy_url, read_source("csv", tmp_path / "rr.csv", kind="returns"))
    after = client.get("/v1/analytics/fit-returns", params=query).json()
    changed = next(r for r in after["data"] if r["key"] == "item1")
    assert changed["large"] == item["large"] + 1 and changed["orders"] == item["orders"]
    summary = client.get("/v1/analytics/summary").json()
    assert summary == pytest.approx(analytics.summary(_frame(settings)))
    snapshots = [p for p in (settings.state_dir / "analytics").iterdir() if not p.name.startswith(".")]
    assert len(snapshots) == 1, "old revisions are removed, not kept per import"


def test_an_import_prepares_the_snapshot_the_dashboard_reads(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """``fitroom sizing import`` exports the new revision's snapshot, with its DuckDB file, before any
    request asks; a snapshot from before the database file gets one on its next use."""
    (tmp_path / "o.csv").write_text(ORDERS.format(rows="o1,u1,i1,M,2024-01-10,acme,dress"))
    run_cli(settings, "sizing", "import", str(tmp_path / "o.csv"), "--format", "csv")
    with session_scope(settings.sqlalchemy_url) as session:
        folder = settings.state_dir / "analytics" / data_revision(session)
    database = folder / analytics_duckdb.DATABASE
    assert database.is_file(), "the import did not prepare the analytics snapshot"
    stored = sorted((folder / analytics_views.VIEWS).glob("*.json"))
    assert len(stored) == len(analytics_views.DASHBOARD_DEFAULTS)
    query = {"by": "category", "min_orders": 20, "limit": 200}  # one of the dashboard's defaults
    served = [client.get(f"/v1/analytics/{path}", params=q).json() for path, q in _view_queries(query)]
    shutil.rmtree(folder / analytics_views.VIEWS)
    database.unlink()
    analytics_views._memory.clear()  # this process's answers too: everything computed afresh
    fresh = [client.get(f"/v1/analytics/{path}", params=q).json() for path, q in _view_queries(query)]
    assert served == fresh
    assert database.is_file(), "a snapshot from before the database file gets one"


def _view_queries(rates: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    return [("summary", {}), ("trend", {}), ("fit-returns", rates), ("size-offset", {}),
            ("running", {"direction": "small", "min_orders": 20, "limit": 100}),
            ("size-chart-issues", {})]  # fmt: skip


def test_savings_serves_the_stored_decision(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"models_dir": tmp_path / "models"})
    client.app.dependency_overrides[get_settings] = lambda: local  # type: ignore[attr-defined]
    r = client.get("/v1/analytics/savings")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_data"
    costs = savings.Costs(return_cost=25.0, nudge_cost=1.0)
    risk, returned = np.array([0.9, 0.7, 0.5, 0.2]), np.array([True, False, True, False])
    decision = savings.decision(savings.curve(risk, returned, costs), costs)
    savings.write_threshold(local.models_dir, {**decision, "currency": "CNY"}, costs, source="test")
    body = client.get("/v1/analytics/savings").json()
    assert body["threshold"] == decision["threshold"] and body["currency"] == "CNY"
    assert len(body["curve"]) == len(savings.THRESHOLDS) and body["switch_share"] == 0.5


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/analytics/fit-returns", {"by": "colour"}, "by"),
        ("/v1/analytics/fit-returns", {"min_orders": 0}, "min_orders"),
        ("/v1/analytics/fit-returns", {"limit": "many"}, "limit"),
        ("/v1/analytics/running", {}, "direction"),
        ("/v1/analytics/running", {"direction": "tight"}, "direction"),
        ("/v1/analytics/size-offset", {"min_history": 1}, "min_history"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(
    client: TestClient, path: str, params: dict, field: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["error"]["details"]["errors"]] == [field]
