"""``fitroom analytics``: the returns team's fit-return report and the size-nudge cost decision."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.db.session import session_scope
from api.settings import get_settings
from api.store import analytics_snapshot
from sizing import analytics_duckdb, savings
from sizing.analytics_report import compute, savings_figure, write_report
from sizing.datasets import load_rtr

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console(stderr=True)


class From(StrEnum):
    db = "db"
    rtr = "rtr"
    parquet = "parquet"


@app.command("report")
def report_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the CSV/Parquet tables, PNG plots and report.html.")
    ],
    source: Annotated[
        From,
        typer.Option("--from", help="db: the configured database; rtr: the shipped data; parquet: --data."),
    ] = From.db,
    data: Annotated[
        Path | None, typer.Option("--data", help="Parquet folder (orders/month=…) for --from parquet.")
    ] = None,
    min_orders: Annotated[int, typer.Option(min=1, help="Smallest group shown in plots and flagged.")] = 20,
) -> None:
    """Write fit-return rates by item/brand/category/size, items running small/large, size-chart issues,
    the monthly trend and (once `fitroom analytics savings` has run) the nudge decision as tables, plots
    and one self-contained HTML page. DuckDB computes everything over Parquet."""
    settings = get_settings()
    with console.status("reading order lines …"):
        try:
            if source is From.rtr:
                lines, charts = analytics_duckdb.Lines.frame(load_rtr(settings.data_dir)), None
            else:
                if source is From.db:
                    with session_scope(settings.sqlalchemy_url) as session:
                        data = analytics_snapshot(session, settings.state_dir / "analytics")
                elif data is None:
                    raise typer.BadParameter("--from parquet needs --data DIR", param_hint="--data")
                lines, charts = analytics_duckdb.Lines.parquet(data), analytics_duckdb.size_charts(data)
        except analytics_duckdb.MissingData as exc:
            console.print(f"[red]--data[/red]: {exc}")
            raise typer.Exit(2) from exc
    if not analytics_duckdb.summary(lines)["order_lines"]:
        console.print("[red]no order lines[/red]: import some first with `fitroom sizing import`")
        raise typer.Exit(2)
    with console.status("computing analytics …"):
        tables = compute(lines, charts, min_orders=min_orders)
    with console.status("writing tables, plots and report.html …"):
        decision = savings.read_decision(settings.models_dir)
        written = write_report(tables, out, min_orders=min_orders, savings=decision)
    s = tables.summary
    table = Table(title=f"fit-return report ({s['basis']} basis)")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in ("order_lines", "shoppers", "items", "fit_return_rate", "small_rate", "large_rate"):
        value = s[key]
        table.add_row(key, f"{value:.1%}" if isinstance(value, float) else f"{value:,}")
    table.add_row(
        "items running small / large", f"{len(tables.running_small):,} / {len(tables.running_large):,}"
    )
    table.add_row("size-chart issues", f"{len(tables.size_chart_issues):,}")
    console.print(table)
    typer.echo(f"wrote {len(written)} files to {out}; open {written['report.html']}")


class Dataset(StrEnum):
    sim = "sim"
    rtr = "rtr"


@app.command("savings")
def savings_cmd(
    return_cost: Annotated[float, typer.Option(min=0, help="Cost of processing one return.")] = 25.0,
    nudge_cost: Annotated[float, typer.Option(min=0, help="Cost of one nudge (friction, lost sales).")] = 1.0,
    currency: Annotated[str, typer.Option(max=8, help="Currency of the costs (display only).")] = "CNY",
    switch_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of nudged shoppers who change size.")
    ] = 0.5,
    harm_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of changed good orders that come back as fit returns.")
    ] = 0.5,
    dataset: Annotated[
        Dataset, typer.Option(help="sim: a seeded simulated shop (truth known); rtr: the shipped data.")
    ] = Dataset.sim,
    sim_orders: Annotated[
        int, typer.Option(min=5000, help="Order lines to simulate (--dataset sim).")
    ] = 40_000,
    seed: Annotated[int, typer.Option(help="Simulation and split seed.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder for savings.csv and savings.png.")] = None,
    write: Annotated[
        bool, typer.Option(help="Write the chosen threshold to the models folder (the service reads it).")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the decision as one JSON line last.")
    ] = False,
) -> None:
    """For each flag threshold on the size model's held-out risk: the share of order lines flagged, fit
    returns avoided, good orders disturbed and the net saving; picks the best threshold and (by default)
    writes it where the service reads it (FITROOM_FLAG_THRESHOLD overrides it)."""
    settings = get_settings()
    costs = savings.Costs(return_cost, nudge_cost, switch_share, harm_share)
    with console.status("training the size model on the train part and scoring the test part …"):
        if dataset is Dataset.sim:
            from sizing.simulate.config import SimConfig
            from sizing.simulate.run import simulate

            sim = simulate(SimConfig(n_orders=sim_orders, seed=seed), ansur_dir=settings.data_dir / "ansur2")
            data = savings.held_out(sim.transactions, truth=sim.truth, seed=seed)
        else:
            data = savings.held_out(load_rtr(settings.data_dir), seed=seed)
    table = savings.curve(data.risk, data.fit_return, costs)
    decision = savings.decision(table, costs)
    view = Table(title=f"size nudges on {len(data.risk):,} held-out order lines ({data.basis} basis)")
    for column in ("threshold", "flagged", "returns avoided /1000", "good disturbed /1000", "net /1000"):
        view.add_column(column, justify="right")
    for row in table.iloc[::5].itertuples():
        view.add_row(f"{row.threshold:.2f}", f"{row.flagged_share:.1%}", f"{row.returns_avoided:.1f}",
                     f"{row.good_orders_disturbed:.1f}", f"{row.net_saving:,.0f} {currency}")  # fmt: skip
    console.print(view)
    console.print(
        f"chosen threshold {decision['threshold']:.2f}: net saving {decision['net_saving']:,.0f} {currency} "
        "per 1,000 order lines"
    )
    if data.truly_wrong is not None:
        check = savings.truth_check(data, float(decision["threshold"]))  # type: ignore[arg-type]
        console.print(
            "simulator truth at that threshold: " + ", ".join(f"{k} {v:.3f}" for k, v in check.items())
        )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "savings.csv", index=False)
        savings_figure(decision, currency).savefig(out / "savings.png", dpi=110)
        console.print(f"wrote {out / 'savings.csv'} and {out / 'savings.png'}")
    if write:
        stored = {**decision, "currency": currency}
        path = savings.write_threshold(
            settings.models_dir, stored, costs, source=f"{dataset.value}:seed={seed}"
        )
        console.print(f"the service now flags at {decision['threshold']:.2f} ({path})")
    if as_json:
        typer.echo(json.dumps(decision))
