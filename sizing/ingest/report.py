"""What an import found wrong, row by row and column by column.

An import is all-or-nothing, so the person fixing a file needs EVERY problem at once, not the first
one: importers collect problems here instead of raising on the first bad value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from rich.table import Table

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem. ``row`` is the 1-based record number in the source file (``None``: the whole file).

    Errors reject the import; warnings (an implausible optional measurement set to missing, a
    duplicate row dropped, an ignored column) are kept for the record and do not.
    """

    row: int | None
    column: str
    message: str
    value: str | None = None
    severity: Severity = "error"


@dataclass
class ValidationReport:
    """Every problem found in one source file, plus how many records it held."""

    source: str
    n_rows: int = 0
    problems: list[Problem] = field(default_factory=list)

    def error(self, row: int | None, column: str, message: str, value: object = None) -> None:
        self.problems.append(Problem(row, column, message, _show(value), "error"))

    def warning(self, row: int | None, column: str, message: str, value: object = None) -> None:
        self.problems.append(Problem(row, column, message, _show(value), "warning"))

    def extend(self, other: ValidationReport) -> None:
        self.problems.extend(other.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import (warnings allowed)."""
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """All problems as a table (severity, row, column, value, message), errors first."""
        rows = [
            {"severity": p.severity, "row": p.row, "column": p.column, "value": p.value, "message": p.message}
            for p in sorted(self.problems, key=_order)
        ]
        return pd.DataFrame(rows, columns=["severity", "row", "column", "value", "message"])

    def summary(self) -> str:
        verdict = "OK" if self.ok else "REJECTED"
        return (
            f"{self.source}: {self.n_rows} rows, {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings — {verdict}"
        )

    def table(self, limit: int = 200) -> Table:
        """A rich table of the first ``limit`` problems (errors first); the title gives the totals."""
        t = Table(title=self.summary(), show_lines=False)
        for name in ("severity", "row", "column", "value", "message"):
            t.add_column(name, overflow="fold")
        for p in sorted(self.problems, key=_order)[:limit]:
            style = "red" if p.severity == "error" else "yellow"
            t.add_row(
                p.severity,
                "-" if p.row is None else str(p.row),
                p.column,
                p.value or "",
                p.message,
                style=style,
            )
        if len(self.problems) > limit:
            t.caption = f"… and {len(self.problems) - limit} more (see the full report with --report-csv)"
        return t

    def __str__(self) -> str:
        frame = self.to_frame()
        if frame.empty:
            return self.summary()
        return self.summary() + "\n" + frame.to_string(index=False)


def _order(p: Problem) -> tuple[int, int, str]:
    return (0 if p.severity == "error" else 1, -1 if p.row is None else p.row, p.column)


def _show(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


ImportKind = Literal["transactions", "returns", "reviews", "size_charts"]


@dataclass
class ImportResult:
    """What an importer hands to the store: one canonical frame of one kind, and its report.

    ``frame`` is only meaningful when ``report.ok``; the store refuses a result with errors.
    """

    kind: ImportKind
    frame: pd.DataFrame
    report: ValidationReport
