"""``fitroom avatar``: create an avatar from body parameters, evaluate accuracy on real people."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TypeVar, get_args

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.commands.bundle import bundle as bundle_command
from api.commands.likeness import likeness as likeness_command
from avatar.body.measurements import MeasurementError, parse_measurements
from avatar.types import Backend, LengthUnit, MassUnit, MeasurementRecord, PoseName

log = logging.getLogger(__name__)
app = typer.Typer(no_args_is_help=True, help=__doc__)
app.command("bundle")(bundle_command)
app.command("likeness")(likeness_command)
console = Console(stderr=True)

_LENGTH = "Length in --length-unit (cm unless stated)."
BACKENDS: tuple[Backend, ...] = get_args(Backend)
POSES: tuple[PoseName, ...] = get_args(PoseName)
LENGTH_UNITS: tuple[LengthUnit, ...] = get_args(LengthUnit)
MASS_UNITS: tuple[MassUnit, ...] = get_args(MassUnit)
T = TypeVar("T", bound=str)


def _choice(value: str, allowed: tuple[T, ...], option: str) -> T:
    """``value`` as one of the ``allowed`` literals, else a usage error naming the option."""
    for choice in allowed:
        if value == choice:
            return choice
    raise typer.BadParameter(f"must be one of {', '.join(allowed)}, got {value!r}", param_hint=option)


@app.command()
def create(
    stature_cm: float = typer.Option(..., help="Stature, in --length-unit."),
    body_mass_kg: float = typer.Option(..., help="Body mass, in --mass-unit."),
    sex: str = typer.Option("unspecified", help="female, male or unspecified."),
    age_years: float | None = typer.Option(None, help="Age in years."),
    bust_girth_cm: float | None = typer.Option(None, help=_LENGTH),
    underbust_girth_cm: float | None = typer.Option(None, help=_LENGTH),
    waist_girth_cm: float | None = typer.Option(None, help=_LENGTH),
    hip_girth_cm: float | None = typer.Option(None, help=_LENGTH),
    inside_leg_cm: float | None = typer.Option(None, help=_LENGTH),
    shoulder_width_cm: float | None = typer.Option(None, help=_LENGTH),
    arm_length_cm: float | None = typer.Option(None, help=_LENGTH),
    neck_girth_cm: float | None = typer.Option(None, help=_LENGTH),
    thigh_girth_cm: float | None = typer.Option(None, help=_LENGTH),
    length_unit: str = typer.Option("cm", help="Unit of every length option: cm or in."),
    mass_unit: str = typer.Option("kg", help="Unit of --body-mass-kg: kg or lb."),
    backend: str = typer.Option("anny", help="anny (default) or smplx (needs FITROOM_SMPLX_DIR)."),
    pose: str = typer.Option("a_pose", help="a_pose, t_pose or neutral."),
    out: str = typer.Option(..., help="Output folder (created)."),
    photo: str | None = typer.Option(None, help="Face photo (JPEG, PNG, WebP, HEIC) for a look-alike head."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Fit a body to the measurements (completing missing ones); write mesh.glb, mesh.obj, params.json."""
    from avatar.create import create_avatar

    given = {
        "stature_cm": stature_cm,
        "body_mass_kg": body_mass_kg,
        "bust_girth_cm": bust_girth_cm,
        "underbust_girth_cm": underbust_girth_cm,
        "waist_girth_cm": waist_girth_cm,
        "hip_girth_cm": hip_girth_cm,
        "inside_leg_cm": inside_leg_cm,
        "shoulder_width_cm": shoulder_width_cm,
        "arm_length_cm": arm_length_cm,
        "neck_girth_cm": neck_girth_cm,
        "thigh_girth_cm": thigh_girth_cm,
    }
    backend_name = _choice(backend, BACKENDS, "--backend")
    pose_name = _choice(pose, POSES, "--pose")
    try:
        measurements = parse_measurements(
            given,
            sex=sex,
            age_years=age_years,
            length_unit=_choice(length_unit, LENGTH_UNITS, "--length-unit"),
            mass_unit=_choice(mass_unit, MASS_UNITS, "--mass-unit"),
        )
    except MeasurementError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"--{exc.field.replace('_', '-')}") from exc
    face = None
    if photo is not None:
        from avatar.create import FaceInput
        from avatar.face.lookalike import analyze_photo
        from avatar.face.quality import PhotoRejected

        try:
            face = FaceInput(photo=analyze_photo(Path(photo).read_bytes()))
        except PhotoRejected as exc:
            console.print(f"[red]{exc.code}:[/red] {exc.message}")
            if as_json:
                typer.echo(json.dumps(exc.body()))
            raise typer.Exit(2) from exc
    try:
        summary = create_avatar(measurements, Path(out), backend=backend_name, pose=pose_name, face=face)
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for name, raw in summary["measurements"].items():
        record = MeasurementRecord.from_dict(raw)
        if record.target is not None:
            kind, shown = "given", f"{record.target:.1f}"
        elif record.predicted is not None:
            p = record.predicted
            kind, shown = "completed", f"{p.mean:.1f} [{p.lo:.1f}, {p.hi:.1f}]"
        else:
            kind, shown = "measured", "-"
        typer.echo(f"{name:22s} {kind:9s} {shown:>20} → {record.achieved}")
    typer.echo(f"written to {out}")


@app.command()
def evaluate(
    csv: str | None = typer.Option(None, help="CSV with vocabulary columns (cm, kg), sex, age_years."),
    given: str | None = typer.Option(
        None, help="Comma-separated given columns (default stature, mass, bust, waist, hip, sex, age)."
    ),
    limit: int | None = typer.Option(None, min=1, help="Evaluate at most N subjects."),
    ansur: bool = typer.Option(False, "--ansur", help="Use held-out ANSUR II subjects (women and men)."),
    backend: str = typer.Option("anny", help="Body model to fit."),
    definitions: bool = typer.Option(
        False, "--definitions",
        help="Also fit each subject on stature, mass and girths only and compare the mesh's inside leg, "
        "shoulder width and arm length with the measured ones (a check of the length definitions).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON line (last line)."),
) -> None:
    """Fit bodies to real people and report fitting and completion accuracy plus seconds per avatar."""
    from avatar.evaluate import DEFAULT_GIVEN, ansur_heldout, evaluate, evaluate_definitions, read_csv

    if (csv is None) == (not ansur):
        raise typer.BadParameter("give exactly one of --csv PATH or --ansur", param_hint="--csv")
    try:
        df = ansur_heldout(limit) if ansur else read_csv(Path(str(csv)))
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--csv") from exc
    if limit is not None:
        df = df.iloc[:limit]
    cols = tuple(c.strip() for c in given.split(",")) if given else DEFAULT_GIVEN
    with Progress(
        TextColumn("fitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("fit", total=len(df))
        try:
            chosen = _choice(backend, BACKENDS, "--backend")
            report: dict[str, Any] = evaluate(
                df, cols, chosen, lambda done, _: bar.update(task, completed=done)
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--given") from exc
    if definitions:
        report["definitions"] = evaluate_definitions(df, chosen)
    if as_json:
        typer.echo(json.dumps(report))
    else:
        typer.echo(json.dumps(report, indent=2))
