"""Response shapes of ``/v1/analytics``: every rate comes with its Wilson 95 % interval and its basis."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Basis = Literal["returns", "fit_feedback"]
BASIS_HELP = (
    "returns: share of order lines returned as too_small/too_large; fit_feedback: no returns recorded, "
    "share of order lines with fit feedback small/large"
)


class AnalyticsSummary(BaseModel):
    basis: Basis = Field(description=BASIS_HELP)
    order_lines: int
    counted: int = Field(description="order lines the rates are computed over")
    shoppers: int
    items: int
    fit_returns: int
    fit_return_rate: float | None
    small_rate: float | None
    large_rate: float | None
    first_order: str | None
    last_order: str | None


class FitReturnCounts(BaseModel):
    """Fit-return counts and rates (Wilson 95 % interval) of one group of order lines."""

    orders: int
    small: int
    large: int
    fit_returns: int
    rate: float
    ci_low: float
    ci_high: float
    small_rate: float
    large_rate: float


class RateRow(FitReturnCounts):
    key: str = Field(description="item id, brand, category or size label; '(unknown)' when missing")
    size_num: float | None = None


class RatesPublic(BaseModel):
    by: Literal["item", "brand", "category", "size"]
    basis: Basis = Field(description=BASIS_HELP)
    min_orders: int
    count: int = Field(description="groups with at least min_orders orders (data holds the first `limit`)")
    data: list[RateRow]


class RunningItem(BaseModel):
    item_id: str
    category: str | None
    brand: str | None
    orders: int
    small: int
    large: int
    share: float = Field(description="share of this item's orders that were too small (or too large)")
    ci_low: float
    ci_high: float
    baseline: float = Field(description="the same share over all items")
    excess: float
    shift: float = Field(
        description="steps this item's shoppers move from their usual size, plus one per too-small and "
        "minus one per too-large outcome, against the brand's typical item (positive: runs small)"
    )
    z: float = Field(description="the shift's z-score against the empirical null of all tested items")
    q_value: float = Field(description="Benjamini-Hochberg q-value; flagged items have q <= 0.05")


class RunningPublic(BaseModel):
    direction: Literal["small", "large"]
    basis: Basis = Field(description=BASIS_HELP)
    min_orders: int
    count: int
    data: list[RunningItem]


class TrendRow(FitReturnCounts):
    month: date


class TrendPublic(BaseModel):
    basis: Basis = Field(description=BASIS_HELP)
    data: list[TrendRow]


class SizeOffsetRow(FitReturnCounts):
    offset: int = Field(
        description="ordered size minus the shopper's usual (median) size; the end rows fold the rest"
    )


class SizeOffsetPublic(BaseModel):
    basis: Basis = Field(description=BASIS_HELP)
    min_history: int = Field(description="only shoppers with at least this many sized orders")
    data: list[SizeOffsetRow]


class SizeChartIssue(BaseModel):
    scope: Literal["item", "brand"]
    item_id: str | None
    brand: str | None
    measurement: str
    size: str
    cm: float
    issue: str


class SizeChartIssuesPublic(BaseModel):
    count: int
    data: list[SizeChartIssue]


class SavingsPoint(BaseModel):
    """One flag threshold of the size-nudge decision; counts and money per 1,000 order lines."""

    threshold: float
    flagged_share: float = Field(description="share of order lines flagged")
    returns_avoided: float = Field(description="fit returns avoided per 1,000 order lines")
    good_orders_disturbed: float = Field(description="flagged lines that would have been kept, per 1,000")
    net_saving: float = Field(description="money saved per 1,000 order lines, after nudge costs and harm")


class SavingsPublic(SavingsPoint):
    """The last ``fitroom analytics savings`` decision: the chosen threshold, its costs and the curve."""

    return_cost: float
    nudge_cost: float
    currency: str = ""
    switch_share: float = Field(description="assumed share of nudged shoppers who change size")
    harm_share: float = Field(description="assumed share of changed good orders that come back")
    source: str = Field(description="the data the held-out risk came from")
    curve: list[SavingsPoint]
