"""The returns team's report: analytics tables as CSV and Parquet, PNG plots, and one HTML page.

The HTML embeds its plots (base64) so it can be mailed or attached to a ticket as a single file.
Plots use the Agg backend: no display is needed.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sizing import analytics, analytics_duckdb  # noqa: E402
from sizing.analytics_duckdb import Lines  # noqa: E402
from sizing.intervals import wilson  # noqa: E402

log = logging.getLogger(__name__)

SMALL_COLOUR, LARGE_COLOUR, ALL_COLOUR = "#d95f02", "#1b9e77", "#555555"
#: items need this many orders before they are tested for running small/large (precision/recall target)
RUNNING_MIN_ORDERS: Final = 50
BASIS_TEXT = {
    "returns": "fit returns = returns with reason too_small or too_large, over all order lines",
    "fit_feedback": "no returns recorded: fit feedback 'small' / 'large' stands in for fit returns, "
    "over order lines with fit feedback",
}


@dataclass
class AnalyticsTables:
    """Every analytics table of one data set (see :mod:`sizing.analytics` for the columns)."""

    summary: dict[str, object]
    by: dict[str, pd.DataFrame]
    running_small: pd.DataFrame
    running_large: pd.DataFrame
    trend: pd.DataFrame
    size_offset: pd.DataFrame
    size_chart_issues: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(init=False)

    def __post_init__(self) -> None:
        self.tables = {
            **{f"fit_returns_by_{k}": v for k, v in self.by.items()},
            "items_running_small": self.running_small,
            "items_running_large": self.running_large,
            "monthly_trend": self.trend,
            "fit_returns_by_size_offset": self.size_offset,
            "size_chart_issues": self.size_chart_issues,
        }


def compute(
    lines: pd.DataFrame | Lines, charts: pd.DataFrame | None = None, *, min_orders: int = 20
) -> AnalyticsTables:
    """All analytics of the order lines (and size charts, when there are any): DuckDB over
    :class:`~sizing.analytics_duckdb.Lines`, or the pandas reference over an in-memory frame."""
    engine: Any = analytics_duckdb if isinstance(lines, Lines) else analytics
    summary = engine.summary(lines)
    if not summary["order_lines"]:
        raise ValueError("there are no order lines: import orders first")
    running = engine.items_running(lines, min_orders=max(min_orders, RUNNING_MIN_ORDERS))
    return AnalyticsTables(
        summary=summary,
        by={by: engine.rates_by(lines, by, min_orders=1) for by in ("item", "brand", "category", "size")},
        running_small=running["small"],
        running_large=running["large"],
        trend=engine.monthly_trend(lines),
        size_offset=engine.rates_by_size_offset(lines),
        size_chart_issues=analytics.size_chart_issues(
            charts if charts is not None else pd.DataFrame(), item_brands=engine.item_brands(lines)
        ),
    )


def write_report(
    tables: AnalyticsTables, out_dir: Path, *, min_orders: int = 20, savings: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write ``<table>.csv`` and ``<table>.parquet`` for every table, the PNG plots and ``report.html``;
    with ``savings`` (the stored decision of ``fitroom analytics savings``) its curve and plot too."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, table in tables.tables.items():
        table.to_csv(out_dir / f"{name}.csv", index=False)
        table.to_parquet(out_dir / f"{name}.parquet", index=False)
        written[f"{name}.csv"] = out_dir / f"{name}.csv"
        written[f"{name}.parquet"] = out_dir / f"{name}.parquet"
    figures = plots(tables, min_orders=min_orders)
    if savings is not None:
        figures["savings"] = savings_figure(savings, str(savings.get("currency", "")))
        curve = pd.DataFrame(savings["curve"])
        curve.to_csv(out_dir / "savings.csv", index=False)
        written["savings.csv"] = out_dir / "savings.csv"
    for name, fig in figures.items():
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written[path.name] = path
    html_path = out_dir / "report.html"
    pngs = {k: v for k, v in written.items() if k.endswith(".png")}
    html_path.write_text(render_html(tables, pngs, savings=savings))
    written["report.html"] = html_path
    log.info("analytics report: %d files in %s", len(written), out_dir)
    return written


def plots(tables: AnalyticsTables, *, min_orders: int = 20, top: int = 15) -> dict[str, Figure]:
    """The report's figures, by file stem."""
    basis = str(tables.summary["basis"])
    figs = {
        "rate_by_category": _rate_bars(tables.by["category"], "category", min_orders, top, basis),
        "rate_by_size": _size_lines(tables.by["size"], min_orders, basis),
        "items_running": _running(tables.running_small, tables.running_large, top, basis),
    }
    if not tables.trend.empty:
        figs["monthly_trend"] = _trend(tables.trend, min_orders, basis)
    if not tables.size_offset.empty:
        figs["rate_by_size_offset"] = _offset_lines(tables.size_offset, min_orders, basis)
    brands = tables.by["brand"]
    if (brands["brand"] != analytics.UNKNOWN).any():
        figs["rate_by_brand"] = _rate_bars(brands, "brand", min_orders, top, basis)
    return figs


def _rate_bars(table: pd.DataFrame, key: str, min_orders: int, top: int, basis: str) -> Figure:
    """Small and large shares per group, stacked, with the Wilson interval of their sum."""
    t = table[table["orders"] >= min_orders].head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.38 * max(len(t), 4) + 1.6))
    labels = [f"{k} (n={n:,})" for k, n in zip(t[key], t["orders"], strict=True)]
    ax.barh(labels, t["small_rate"] * 100, color=SMALL_COLOUR, label="too small")
    ax.barh(labels, t["large_rate"] * 100, left=t["small_rate"] * 100, color=LARGE_COLOUR, label="too large")
    err = [((t["rate"] - t["ci_low"]) * 100).clip(lower=0), ((t["ci_high"] - t["rate"]) * 100).clip(lower=0)]
    ax.errorbar(
        t["rate"] * 100, labels, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1, label="95% CI"
    )
    ax.set_xlabel("fit-return rate (%)")
    ax.set_title(f"Fit-return rate by {key} ({top} with most orders)\n{_basis_short(basis)}", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _size_lines(table: pd.DataFrame, min_orders: int, basis: str) -> Figure:
    t = table[(table["orders"] >= min_orders) & table["size_num"].notna()].sort_values("size_num")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(t["size_num"], t["small_rate"] * 100, "o-", color=SMALL_COLOUR, label="too small")
    ax.plot(t["size_num"], t["large_rate"] * 100, "s-", color=LARGE_COLOUR, label="too large")
    ax.fill_between(t["size_num"], t["ci_low"] * 100, t["ci_high"] * 100, color=ALL_COLOUR, alpha=0.15,
                    label="fit returns, 95% CI")  # fmt: skip
    ax.plot(t["size_num"], t["rate"] * 100, "-", color=ALL_COLOUR, lw=1, label="fit returns")
    ax.set_xlabel(f"size (sizes with at least {min_orders} orders)")
    ax.set_ylabel("share of orders (%)")
    ax.set_title(f"Too small / too large by size\n{_basis_short(basis)}", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _offset_lines(table: pd.DataFrame, min_orders: int, basis: str) -> Figure:
    """Too small / too large against the step from the shopper's usual size: does sizing up help?"""
    t = table[table["orders"] >= min_orders]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for column, colour, marker, label in (("small", SMALL_COLOUR, "o-", "too small"),
                                          ("large", LARGE_COLOUR, "s-", "too large")):  # fmt: skip
        low, high = wilson(t[column], t["orders"])
        ax.plot(t["offset"], t[f"{column}_rate"] * 100, marker, color=colour, label=label)
        ax.fill_between(t["offset"], low * 100, high * 100, color=colour, alpha=0.15)
    ax.axvline(0, color="black", lw=1, ls="--")
    ax.set_xlabel("ordered size minus the shopper's usual (median) size; ends include everything beyond")
    ax.set_ylabel("share of orders (%), 95% CI")
    title = f"Sizing up or down: outcome by step from the usual size\n{_basis_short(basis)}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _running(small: pd.DataFrame, large: pd.DataFrame, top: int, basis: str) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.36 * max(min(top, max(len(small), len(large))), 4) + 1.8))
    for ax, table, colour, word in (
        (axes[0], small, SMALL_COLOUR, "small"),
        (axes[1], large, LARGE_COLOUR, "large"),
    ):
        t = table.head(top).iloc[::-1]
        if t.empty:
            ax.text(0.5, 0.5, f"no item runs {word}", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        labels = [
            f"{i} {c or ''} (n={n})" for i, c, n in zip(t["item_id"], t["category"], t["orders"], strict=True)
        ]
        err = [
            ((t["share"] - t["ci_low"]) * 100).clip(lower=0),
            ((t["ci_high"] - t["share"]) * 100).clip(lower=0),
        ]
        ax.barh(labels, t["share"] * 100, color=colour, xerr=err, capsize=3, error_kw={"lw": 1})
        ax.axvline(t["baseline"].iloc[0] * 100, color="black", ls="--", lw=1, label="all items")
        ax.set_xlabel(f"'too {word}' share (%), 95% CI")
        ax.set_title(f"Items that run {word} ({len(table)} flagged; top {min(top, len(table))})", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(_basis_short(basis), fontsize=9)
    fig.tight_layout()
    return fig


def _trend(table: pd.DataFrame, min_orders: int, basis: str) -> Figure:
    trend = table[table["orders"] >= min_orders]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    volume = ax.twinx()
    volume.bar(trend["month"], trend["orders"], width=25, color="#cccccc", label="orders")
    volume.set_ylabel("orders per month", color="#888888")
    ax.set_zorder(volume.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(trend["month"], trend["small_rate"] * 100, color=SMALL_COLOUR, label="too small")
    ax.plot(trend["month"], trend["large_rate"] * 100, color=LARGE_COLOUR, label="too large")
    ax.fill_between(trend["month"], trend["ci_low"] * 100, trend["ci_high"] * 100,
                    color=ALL_COLOUR, alpha=0.15, label="fit returns, 95% CI")  # fmt: skip
    ax.plot(trend["month"], trend["rate"] * 100, color=ALL_COLOUR, lw=1, label="fit returns")
    ax.set_ylabel("share of orders (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(
        f"Monthly trend (months with at least {min_orders} orders)\n{_basis_short(basis)}", fontsize=10
    )
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def savings_figure(decision: dict[str, Any], currency: str = "") -> Figure:
    """Net saving and flagged share against the flag threshold, with the chosen operating point."""
    curve = pd.DataFrame(decision["curve"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    share = ax.twinx()
    share.plot(curve["threshold"], curve["flagged_share"] * 100, color="#999999", ls="--", label="flagged")
    share.set_ylabel("order lines flagged (%)", color="#777777")
    ax.set_zorder(share.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(curve["threshold"], curve["net_saving"], color=LARGE_COLOUR, label="net saving")
    ax.axhline(0, color="black", lw=0.8)
    t, saving = decision["threshold"], decision["net_saving"]
    ax.plot([t], [saving], "o", color=SMALL_COLOUR, ms=9, label=f"chosen: flag at risk >= {t:.2f}")
    ax.set_xlabel("flag threshold on max(P(too small), P(too large))")
    ax.set_ylabel(f"net saving per 1,000 order lines {currency}".strip())
    ax.set_title(
        f"Nudging shoppers about size: return {decision['return_cost']:g}, nudge {decision['nudge_cost']:g} "
        f"{currency}".strip(),
        fontsize=10,
    )
    handles = ax.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _basis_short(basis: str) -> str:
    return (
        "basis: returns (too_small / too_large)"
        if basis == "returns"
        else "basis: fit feedback (small / large)"
    )


def render_html(
    tables: AnalyticsTables, pngs: dict[str, Path], *, rows: int = 20, savings: dict[str, Any] | None = None
) -> str:
    """One self-contained page: headline numbers, the basis, every plot, and the top of every table."""
    s = tables.summary
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>fitroom fit-return report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;font-size:12px;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}"
        "img{max-width:100%;border:1px solid #eee;margin:0.5em 0}</style></head><body>",
        "<h1>Fit-return report</h1>",
        f"<p><b>Basis:</b> {html.escape(BASIS_TEXT[str(s['basis'])])}.</p>",
        _summary_table(s),
    ]
    if savings is not None:
        parts.append(
            "<h2>Size nudges: the cost decision</h2><p>"
            + html.escape(
                f"Flag order lines at risk >= {savings['threshold']:.2f}: {savings['flagged_share']:.1%} of "
                f"lines flagged; per 1,000 order lines {savings['returns_avoided']:.1f} fit returns avoided, "
                f"{savings['good_orders_disturbed']:.1f} good orders disturbed, net saving "
                f"{savings['net_saving']:,.0f} {savings.get('currency', '')} "
                f"(return {savings['return_cost']:g}, nudge {savings['nudge_cost']:g}; "
                f"{savings.get('switch_share', '?')} of nudged shoppers change size, "
                f"{savings.get('harm_share', '?')} of changed good orders come back)."
            )
            + "</p>"
        )
    for name, path in sorted(pngs.items()):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f"<h2>{html.escape(path.stem.replace('_', ' '))}</h2>")
        parts.append(f"<img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    for name, table in tables.tables.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))} ({len(table):,} rows; first {rows})</h2>")
        parts.append(table.head(rows).to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary_table(s: dict[str, object]) -> str:
    def fmt(v: object) -> str:
        return f"{v:.1%}" if isinstance(v, float) else html.escape(f"{v:,}" if isinstance(v, int) else str(v))

    body = "".join(
        f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{fmt(v)}</td></tr>" for k, v in s.items()
    )
    return f"<table>{body}</table>"
