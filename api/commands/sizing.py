"""``fitroom sizing``: train, evaluate, recommend and check: the same library code as the HTTP API."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import sizing_service
from api.commands.sizing_import import import_cmd
from api.commands.sizing_simulate import simulate_cmd
from api.db.session import session_scope
from api.errors import ApiError
from api.messages import LANGS, language
from api.model_store import load_size_model, size_model_dir
from api.schemas.sizing import FitCheckRequest, SizeRecommendRequest
from api.settings import Settings, get_settings
from sizing.datasets import load_rtr
from sizing.evaluate import PROTOCOLS, custom_split, evaluate
from sizing.ingest import read_source
from sizing.model import SizeFitModel
from sizing.rec_metrics import REC_KEYS, TRUTH_KEYS
from sizing.simulate import SimConfig, simulate
from sizing.train import ARTIFACT, load, save_evaluation, train

log = logging.getLogger(__name__)
app = typer.Typer(no_args_is_help=True, help=__doc__)
app.command("import")(import_cmd)
app.command("simulate")(simulate_cmd)
console = Console(stderr=True)

DATASETS = ("rtr", "sim")
ENGINES = ("local", "dask")
EXIT_BAD_FILE = 2


@dataclass
class StageBars:
    """A rich progress bar per boosting stage, fed by ``SizeFitClassifier.fit(progress=...)``."""

    progress: Progress
    tasks: dict[str, TaskID]

    def __call__(self, stage: str, iteration: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(f"boosting: {stage}", total=total)
        self.progress.update(self.tasks[stage], completed=iteration, total=total)

    def finish(self) -> None:
        for task in self.tasks.values():
            done = self.progress.tasks[task].completed
            self.progress.update(task, total=done, completed=done)
        self.tasks.clear()


@contextmanager
def stage_bars() -> Iterator[StageBars]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        yield StageBars(progress, {})


def _load(dataset: str, limit: int | None, seed: int) -> Any:
    if dataset != "rtr":
        raise typer.BadParameter(f"--dataset must be 'rtr' here, got {dataset!r}")
    frame = load_rtr(get_settings().data_dir)
    if limit is not None:
        frame = frame.sample(n=min(limit, len(frame)), random_state=seed).reset_index(drop=True)
    return frame


@dataclass(frozen=True)
class EvalData:
    """What one evaluation runs on: labelled lines, optional charts, catalogue, truth and fixed split."""

    frame: pd.DataFrame
    charts: pd.DataFrame | None = None
    catalogue: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def _simulated(orders: int, seed: int) -> EvalData:
    sim = simulate(SimConfig(n_orders=orders, seed=seed), ansur_dir=get_settings().data_dir / "ansur2")
    labelled = sim.transactions[sim.transactions["fit"].notna()].reset_index(drop=True)
    return EvalData(labelled, sim.size_charts, sim.items, sim.truth)


def _orders_file(path: Path, flag: str) -> pd.DataFrame:
    """A canonical orders file with outcomes, through the generic importer; any problem exits 2."""
    fmt = "parquet" if path.name.lower().endswith((".parquet", ".pq")) else "csv"
    try:
        result = read_source(fmt, path, kind="orders")
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/red] {flag}: {exc}")
        raise typer.Exit(EXIT_BAD_FILE) from exc
    if not result.report.ok:
        console.print(result.report.table())
        console.print(f"[red]error:[/red] {flag} {path} has the problems above")
        raise typer.Exit(EXIT_BAD_FILE)
    labelled = result.frame[result.frame["fit"].notna()].reset_index(drop=True)
    if labelled.empty:
        console.print(f"[red]error:[/red] {flag} {path}: no row has a fit outcome (column fit)")
        raise typer.Exit(EXIT_BAD_FILE)
    return labelled


def _custom(train_file: Path, test_file: Path, seed: int) -> EvalData:
    train_part, test_part = _orders_file(train_file, "--train"), _orders_file(test_file, "--test")
    frame = pd.concat([train_part, test_part], ignore_index=True)
    return EvalData(frame, parts=custom_split(len(train_part), len(test_part), seed))


_ENGINE = typer.Option("local", help="local (one process) or dask (lightgbm.dask on a Dask cluster).")
_SCHEDULER = typer.Option(None, help="--engine dask: a running scheduler, tcp://HOST:PORT.")
_LOCAL_WORKERS = typer.Option(2, min=1, help="--engine dask without --scheduler: local worker processes.")
_DATA = typer.Option(None, help="Partitioned Parquet (orders/month=YYYY-MM/...) instead of --dataset.")


@contextmanager
def _engine(engine: str, scheduler: str | None, local_workers: int) -> Iterator[Any]:
    """None for the local engine, else a connected Dask client; bad input exits 2 with the reason."""
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be one of {list(ENGINES)}, got {engine!r}")
    if engine == "local":
        if scheduler is not None:
            raise typer.BadParameter("--scheduler needs --engine dask")
        yield None
        return
    from sizing.distributed.cluster import dask_client  # dask loads only when asked for

    try:
        with dask_client(scheduler, local_workers=local_workers) as client:
            yield client
    except (ConnectionError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_FILE) from exc


def _parquet_orders(data: Path) -> pd.DataFrame:
    from sizing.distributed.parquet import read_labelled

    return read_labelled(data).compute(scheduler="synchronous").reset_index(drop=True)


@app.command("train")
def train_cmd(
    dataset: str = typer.Option("rtr", help=f"One of {list(DATASETS)}."),
    limit: int | None = typer.Option(None, min=100, help="Train on a random sample of this many rows."),
    seed: int = typer.Option(0, help="Random seed (folds, bagging, validation split)."),
    engine: str = _ENGINE,
    scheduler: str | None = _SCHEDULER,
    local_workers: int = _LOCAL_WORKERS,
    data: Path | None = _DATA,
) -> None:
    """Train the serving model on all the data and write the artifact and its model card."""
    settings = get_settings()
    if engine == "dask" and data is None:
        raise typer.BadParameter("--engine dask trains from --data DIR (partitioned Parquet)")
    command = (
        "fitroom sizing train"
        + (f" --limit {limit}" if limit else "")
        + (f" --seed {seed}" if seed else "")
        + (f" --engine {engine} --data {data}" if data is not None else "")
    )
    name = data.name if data is not None else dataset
    if data is not None:
        from sizing.distributed.parquet import order_parts

        try:
            order_parts(data)  # before any worker starts
        except FileNotFoundError as exc:
            console.print(f"[red]error:[/red] --data: {exc}")
            raise typer.Exit(EXIT_BAD_FILE) from exc
    started = time.perf_counter()
    with _engine(engine, scheduler, local_workers) as client:
        if client is not None and data is not None:
            from sizing.distributed.train import train_on_parquet

            trained = train_on_parquet(
                client, data, size_model_dir(settings), dataset=name, command=command, seed=seed
            )
        else:
            frame = _parquet_orders(data) if data is not None else _load(dataset, limit, seed)
            with stage_bars() as bars:
                trained = train(
                    frame, size_model_dir(settings), dataset=name, command=command, seed=seed, progress=bars
                )
                bars.finish()
    elapsed = time.perf_counter() - started
    table = Table(title="size-fit model trained")
    table.add_column("what")
    table.add_column("value")
    info = trained.info
    for key, value in (
        ("version", trained.version),
        ("rows", f"{info['rows']:,}"),
        ("shoppers / items", f"{info['shoppers']:,} / {info['items']:,}"),
        ("features", str(len(info["features"]))),
        ("best iterations", ", ".join(f"{k} {v}" for k, v in info["best_iterations"].items())),
        ("artifact", str(trained.directory)),
        ("wall time", f"{elapsed:.1f} s"),
    ):
        table.add_row(key, value)
    console.print(table)


_TRAIN_FILE = typer.Option(None, "--train", help="Your own train orders with outcomes (CSV/Parquet).")
_TEST_FILE = typer.Option(None, "--test", help="Your own test orders with outcomes (CSV/Parquet).")


@app.command("evaluate")
def evaluate_cmd(
    dataset: str = typer.Option("rtr", help=f"One of {list(DATASETS)} (sim: a seeded simulated shop)."),
    protocol: str = typer.Option("misra2018", help=f"One of {list(PROTOCOLS)}."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the result as one JSON object on the last line."
    ),
    seed: int = typer.Option(0, help="Random seed of the split, the models and the simulator."),
    limit: int | None = typer.Option(None, min=500, help="Evaluate on a random sample of this many rows."),
    sim_orders: int = typer.Option(300_000, min=1000, help="Order lines to simulate (--dataset sim)."),
    train_file: Path | None = _TRAIN_FILE,
    test_file: Path | None = _TEST_FILE,
    baselines: bool = typer.Option(True, help="Also score the baselines."),
    save: bool = typer.Option(True, help="Keep a full-data result beside the model for its card."),
    layer: bool = typer.Option(True, help="The physical size layer (--no-layer measures what it adds)."),
    engine: str = _ENGINE,
    scheduler: str | None = _SCHEDULER,
    local_workers: int = _LOCAL_WORKERS,
) -> None:
    """Train from scratch on the protocol's train part; score on its test part, with baselines."""
    if protocol not in PROTOCOLS:
        raise typer.BadParameter(f"--protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    if (train_file is None) != (test_file is None):
        raise typer.BadParameter("give --train and --test together")
    if dataset not in DATASETS:
        raise typer.BadParameter(f"--dataset must be one of {list(DATASETS)}, got {dataset!r}")
    if train_file is not None and test_file is not None:
        data, dataset, protocol = _custom(train_file, test_file, seed), "custom", "custom"
    elif dataset == "sim":
        data = _simulated(sim_orders, seed)
    else:
        data = EvalData(_load(dataset, limit, seed))
    with _engine(engine, scheduler, local_workers) as client, stage_bars() as bars:

        def step(name: str) -> None:
            bars.finish()
            console.log(f"training {name}" if not name.startswith("recommendation") else name)

        fit_model = SizeFitModel.fit
        if client is not None:
            from sizing.distributed.train import dask_fitter

            fit_model = dask_fitter(client)
        result = evaluate(data.frame, protocol=protocol, dataset=dataset, seed=seed, baselines=baselines,
                          params={"layer": layer}, progress=bars, on_step=step, charts=data.charts,
                          catalogue=data.catalogue, truth=data.truth, parts=data.parts,
                          fit_model=fit_model)  # fmt: skip
        bars.finish()
    result["engine"] = engine
    if dataset == "sim":
        result["sim_orders"] = sim_orders
    _print_result(result)
    full = limit is None and baselines and layer and dataset != "custom" and engine == "local"
    if save and full:
        path = save_evaluation(size_model_dir(get_settings()), result)
        console.print(f"saved {path}")
    if as_json:
        typer.echo(json.dumps(result))


def _print_result(result: dict[str, Any]) -> None:
    table = Table(
        title=f"{result['protocol']} on {result['dataset']}: n_train {result['n_train']:,}, "
        f"n_test {result['n_test']:,}"
    )
    keys = ("auc_small", "auc_fit", "auc_large", "macro_auc", "accuracy", "ece")
    table.add_column("model")
    for k in keys:
        table.add_column(k, justify="right")
    table.add_row("size-fit model", *(f"{result[k]:.4f}" for k in keys))
    for name, m in result.get("baselines", {}).items():
        table.add_row(name, *(f"{m[k]:.4f}" for k in keys))
    console.print(table)
    rec = Table(title="recommendations and checks (test lines)")
    rec.add_column("metric")
    for name in ("size-fit model", *result["rec_baselines"]):
        rec.add_column(name, justify="right")
    for key in (*REC_KEYS, *(TRUTH_KEYS if "rec_top1" in result else ())):
        others = [m.get(key) for m in result["rec_baselines"].values()]
        rec.add_row(key, *(f"{v:.4f}" if isinstance(v, float) else "–" for v in (result.get(key), *others)))
    console.print(rec)


def _measurements(**given: Any) -> dict[str, Any] | None:
    kept = {k: v for k, v in given.items() if v is not None}
    return kept or None


def _serve(kind: str, payload: dict[str, Any], lang: str | None = None) -> dict[str, Any]:
    """Validate like the API, run the shared service, and turn every error into a clear exit."""
    settings = get_settings()
    try:
        loaded = load_size_model(settings)
        with session_scope(settings.sqlalchemy_url) as session:
            if kind == "recommend":
                request = SizeRecommendRequest(**payload)
                return sizing_service.recommend(session, loaded, request, language(request.lang)).model_dump()
            if lang is not None and lang not in LANGS:
                raise ApiError(422, "invalid_input", f"--lang {lang!r} must be one of {', '.join(LANGS)}")
            line = FitCheckRequest(**payload)
            return sizing_service.check(session, loaded, line, language(lang)).model_dump()
    except ValidationError as exc:
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "input"
            typer.echo(f"error: {field}: {e['msg']}", err=True)
        raise typer.Exit(2) from exc
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2 if exc.status == 422 else 1) from exc


_STATURE = typer.Option(None, help="Height in cm (120–220).")
_MASS = typer.Option(None, help="Weight in kg (30–250).")
_BUST = typer.Option(None, help="Bust girth in cm (60–180).")
_AGE = typer.Option(None, help="Age in years (13–100).")
_BAND = typer.Option(None, help="US bra band (26–50).")
_CUP = typer.Option(None, help="US bra cup letter.")
_BODY = typer.Option(None, help="Body type, e.g. hourglass.")
_LANG = typer.Option(None, help="Language of the explanation: en (default) or zh-CN.")


@app.command("recommend")
def recommend_cmd(
    item_id: str = typer.Option(..., help="Item id, e.g. rtr:2260466."),
    shopper_id: str | None = typer.Option(None, help="Known shopper id, e.g. rtr:420272."),
    avatar_id: str | None = typer.Option(None, help="An avatar in the store: its measurements."),
    stature_cm: float | None = _STATURE,
    body_mass_kg: float | None = _MASS,
    bust_girth_cm: float | None = _BUST,
    age_years: float | None = _AGE,
    bra_band: float | None = _BAND,
    cup: str | None = _CUP,
    body_type: str | None = _BODY,
    known_brand: str | None = typer.Option(None, help="A brand she knows, e.g. Acme (with --known-size)."),
    known_size: str | None = typer.Option(None, help="Her usual size in that brand, e.g. 8, M or EU 38."),
    lang: str | None = _LANG,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Which size of an item should this shopper order? P(small/fit/large) for each size."""
    body = _measurements(stature_cm=stature_cm, body_mass_kg=body_mass_kg, bust_girth_cm=bust_girth_cm,
                         age_years=age_years, bra_band=bra_band, cup=cup, body_type=body_type)  # fmt: skip
    request: dict[str, Any] = {"item_id": item_id, "shopper_id": shopper_id, "avatar_id": avatar_id,
                               "measurements": body, "lang": lang}  # fmt: skip
    if known_brand is not None or known_size is not None:
        request["known_size"] = {"brand": known_brand or "", "size": known_size or ""}
    out = _serve("recommend", request)
    if as_json:
        typer.echo(json.dumps(out))
        return
    table = Table(
        title=f"{item_id}: recommended size {out['recommended_size']} (p_fit {out['confidence']:.2f})"
    )
    for col in ("size", "p_small", "p_fit", "p_large"):
        table.add_column(col, justify="right")
    for s in out["sizes"]:
        table.add_row(s["size"], f"{s['p_small']:.3f}", f"{s['p_fit']:.3f}", f"{s['p_large']:.3f}")
    Console().print(table)
    for line in out["explanation"]:
        typer.echo(f"- {line}")


@app.command("check")
def check_cmd(
    item_id: str = typer.Option(..., help="Item id."),
    size: str = typer.Option(..., help="Ordered size label."),
    shopper_id: str | None = typer.Option(None, help="Known shopper id."),
    avatar_id: str | None = typer.Option(None, help="An avatar in the store: its measurements."),
    stature_cm: float | None = _STATURE,
    body_mass_kg: float | None = _MASS,
    bust_girth_cm: float | None = _BUST,
    age_years: float | None = _AGE,
    bra_band: float | None = _BAND,
    cup: str | None = _CUP,
    body_type: str | None = _BODY,
    lang: str | None = _LANG,
) -> None:
    """Flag an order line whose size is likely wrong, with the probabilities and a suggested size (JSON)."""
    body = _measurements(stature_cm=stature_cm, body_mass_kg=body_mass_kg, bust_girth_cm=bust_girth_cm,
                         age_years=age_years, bra_band=bra_band, cup=cup, body_type=body_type)  # fmt: skip
    request = {"item_id": item_id, "shopper_id": shopper_id, "avatar_id": avatar_id, "size": size,
               "measurements": body}  # fmt: skip
    out = _serve("check", request, lang)
    typer.echo(json.dumps(out))


def ensure_default_model(settings: Settings) -> None:
    """Bootstrap step: train the default model on all RTR data when its artifact is missing, or is one
    this code cannot serve (e.g. from before the size layer)."""
    directory = size_model_dir(settings)
    if (directory / ARTIFACT).is_file():
        try:
            load(directory)
        except (ValueError, AttributeError, ModuleNotFoundError) as exc:
            console.print(f"size model at {directory / ARTIFACT} is stale ({exc}); retraining")
        else:
            console.print(f"size model present: {directory / ARTIFACT}")
            return
    console.print("training the default size model on all RentTheRunway data (first time, a few minutes)")
    frame = load_rtr(settings.data_dir)
    with stage_bars() as bars:
        trained = train(frame, directory, dataset="rtr", progress=bars)
        bars.finish()
    console.print(f"size model {trained.version} saved in {directory}")
