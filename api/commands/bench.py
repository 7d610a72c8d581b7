"""``fitroom bench``: benchmarks that print measured figures (scripts under ``bench/``, not timed tests)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import typer
from rich.console import Console

from api.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
BENCH_DIR = Path(__file__).resolve().parent.parent.parent / "bench"


def _script(name: str) -> ModuleType:
    """Load ``bench/<name>.py``; bench/ is a folder of scripts in the checkout, not an installed package."""
    path = BENCH_DIR / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"benchmark script not found: {path}")
    spec = importlib.util.spec_from_file_location(f"fitroom_bench_{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load benchmark script {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@app.command("sizing")
def sizing(
    train: bool = typer.Option(True, help="Measure training on all the data (else use the saved model)."),
    requests: int = typer.Option(400, min=20, help="Recommendations timed in process and over HTTP."),
    concurrency: int = typer.Option(4, min=1, help="Concurrent HTTP clients."),
    batch_rows: int = typer.Option(5000, min=100, help="Order lines in the in-process batch check."),
    seed: int = typer.Option(0, help="Seed for the sampled shoppers and items."),
) -> None:
    """Training wall time, recommendation p50/p99 in process and over HTTP, batch rows per second."""
    console = Console(stderr=True)
    bench = _script("sizing")
    result = bench.run(
        get_settings(),
        train_model=train,
        requests=requests,
        concurrency=concurrency,
        batch_rows=batch_rows,
        seed=seed,
        console=console,
    )
    bench.report(result, console)
    typer.echo(json.dumps(result))
