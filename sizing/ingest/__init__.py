"""Importers: source files → canonical frames plus a report of every problem (pure; no database).

``read_source`` is the one entry point the CLI, the bootstrap and the tests use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from sizing.ingest.modcloth import read_modcloth
from sizing.ingest.report import ImportKind, ImportResult, Problem, ValidationReport
from sizing.ingest.rtr import read_rtr
from sizing.ingest.tabular import COLUMNS, KINDS, read_table
from sizing.ingest.validate import Implausible

Format = Literal["rtr", "modcloth", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("rtr", "modcloth", "csv", "parquet")


def read_source(
    fmt: str,
    path: Path,
    *,
    kind: str = "orders",
    source: str = "generic",
    implausible: Implausible | None = None,
) -> ImportResult:
    """Read one file of a known format. ``kind`` and ``source`` apply to the generic csv/parquet formats.

    Implausible body measurements are dropped with a warning for the public datasets (which carry
    self-reported typos) and rejected for generic files unless ``implausible="drop"``.
    """
    path = Path(path)
    if fmt == "rtr":
        return read_rtr(path, implausible=implausible or "drop")
    if fmt == "modcloth":
        return read_modcloth(path, implausible=implausible or "drop")
    if fmt in ("csv", "parquet"):
        suffix_ok = path.name.lower().endswith((".csv", ".csv.gz") if fmt == "csv" else (".parquet", ".pq"))
        if not suffix_ok:
            raise ValueError(f"--format {fmt} needs a file ending in .{fmt}; got {path.name}")
        return read_table(path, kind, source=source, implausible=implausible or "error")
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


__all__ = [
    "COLUMNS",
    "FORMATS",
    "KINDS",
    "Format",
    "ImportKind",
    "ImportResult",
    "Problem",
    "ValidationReport",
    "read_modcloth",
    "read_rtr",
    "read_source",
    "read_table",
]
