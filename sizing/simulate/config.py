"""The simulator's knobs and its output."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

MAX_ORDERS = 10_000_000_000


@dataclass(frozen=True)
class SimConfig:
    """A simulated shop. Population sizes default to values that scale with ``n_orders`` (``None``).

    Shares are probabilities: ``aware_share`` of shoppers know an item runs small or large and size
    for it, ``vanity_aware_share`` know a brand's vanity sizing, ``bracket_share`` of order lines
    come with a second, adjacent size, ``review_share`` of lines get a review with fit feedback.
    """

    n_orders: int = 100_000
    seed: int = 0
    n_shoppers: int | None = None
    n_items: int | None = None
    n_brands: int | None = None
    female_share: float = 0.8
    mis_charted_share: float = 0.15
    chart_share: float = 0.7
    aware_share: float = 0.7
    vanity_aware_share: float = 0.5
    bracket_share: float = 0.08
    review_share: float = 0.6
    start: str = "2024-01-01"
    days: int = 730

    def __post_init__(self) -> None:
        if not 1 <= self.n_orders <= MAX_ORDERS:
            raise ValueError(f"n_orders is {self.n_orders}; must be between 1 and {MAX_ORDERS:,}")
        if self.days < 1:
            raise ValueError(f"days is {self.days}; must be at least 1")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_share") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} is {value}; must be between 0 and 1")
            if f.name.startswith("n_") and value is not None and value < 2:
                raise ValueError(f"{f.name} is {value}; must be at least 2")
        pd.Timestamp(self.start)  # a bad date raises here, naming itself

    @property
    def shoppers(self) -> int:
        return self.n_shoppers or int(min(max(self.n_orders // 5, 200), 1_000_000))

    @property
    def items(self) -> int:
        return self.n_items or int(min(max(self.n_orders // 50, 40), 20_000))

    @property
    def brands(self) -> int:
        return self.n_brands or int(min(max(self.items // 25, 6), 300))


@dataclass(frozen=True)
class Simulated:
    """One simulated shop's logs and their truth.

    - ``transactions``: the canonical frame (``sizing.schema.TRANSACTION_COLUMNS``), outcomes filled where
      known (``fit`` from a review or a size return, ``return_reason``, ``rating``, ``review_text``);
    - ``size_charts``: item_id, brand, size, measurement, cm, for the items that publish one;
    - ``truth``: per order line, order_id, best_size, best_size_num, ordered_fits, true_fit
      (the most likely outcome of the ordered size) and p_fit (its probability of fitting);
    - ``items``: item_id, brand, category, scale, system, sizes (``|``-joined), true_offset_steps
      (negative: runs small), mis_charted, has_chart;
    - ``returns`` / ``reviews``: the tables the generic importers read.
    """

    transactions: pd.DataFrame
    size_charts: pd.DataFrame
    truth: pd.DataFrame
    items: pd.DataFrame
    returns: pd.DataFrame
    reviews: pd.DataFrame
