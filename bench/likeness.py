"""Landmark errors of the likeness fit on faces it was never tuned on: ``python -m bench.likeness``.

``--synthetic N`` (default 12): N synthetic people, each an Anny body with a random phenotype (sex, age,
weight, muscle, height, proportions) and random face local changes (uniform in ±0.6), rendered
frontally with the GL renderer as the "photo"; MediaPipe reads the render and the fit starts from the
neutral body's head, as for a real shopper. ``--photos DIR``: every photo in DIR through the real intake
(refused photos are listed with their code). Both report the fitted and held-out landmark errors before
and after the fit (÷ inter-ocular distance) and their medians; the identity measure with face
recognition is ``fitroom avatar likeness``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer

from avatar.face.likeness import LikenessResult

KEYS = ("landmark_error_before", "landmark_error_after", "landmark_error_heldout_before",
        "landmark_error_heldout")
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


def _row(name: str, result: LikenessResult) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, **{k: round(float(getattr(result, k)), 4) for k in KEYS}}
    row["reduction"] = round(1 - result.landmark_error_after / result.landmark_error_before, 3)
    return row


def synthetic(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Fit N random synthetic faces (see the module docstring)."""
    from avatar.body import skeleton
    from avatar.body.models import create
    from avatar.face.analysis import analyze_face
    from avatar.face.headview import render_head
    from avatar.face.likeness import (
        apply_changes,
        camera_to_model,
        face_basis,
        fit_anny_likeness,
        model_to_camera,
    )
    from avatar.face.lookalike import posed_offsets
    from avatar.face.quality import PhotoRejected
    from avatar.render.mesh import Appearance, PosedBody

    rng = np.random.default_rng(seed)
    body: Any = create("anny")
    model = body.model
    basis = face_basis(tuple(int(i) for i in model.base_mesh_vertex_indices.tolist()))
    neutral = body.default_shape("unspecified")[None]
    with torch.no_grad():
        neutral_rest = camera_to_model(body.measurement_vertices(neutral)[0].double().numpy())
    pose = skeleton.named_pose("a_pose")[None]
    n_ph = len(body.phenotype_names)
    rows = []
    for i in range(n):
        shape = neutral.clone()
        shape[0, :n_ph] = torch.as_tensor(rng.uniform(0.1, 0.9, n_ph), dtype=shape.dtype)
        changes = apply_changes(basis, rng.uniform(-0.6, 0.6, len(basis.names))).astype(np.float64)
        with torch.no_grad():
            out = body.forward(shape, pose)
            coefficients = model._get_phenotype_blendshape_coefficients(
                shape[:, :n_ph].to(body.dtype), shape[:, n_ph:].to(body.dtype),
                shape.new_zeros(1, 0).to(body.dtype))
        posed = PosedBody.from_output(out)
        moved = posed_offsets(model, body.bridge.to_anny(pose.to(body.dtype)), coefficients, changes)
        person = PosedBody(vertices=posed.vertices + model_to_camera(moved),
                           faces=posed.faces, joints=posed.joints, part_labels=posed.part_labels)
        render = np.ascontiguousarray(render_head(person, Appearance(), 0.0).buffers.color)
        try:
            face = analyze_face(render)
        except PhotoRejected as exc:
            rows.append({"name": f"synthetic_{i}", "error": exc.code})
            continue
        result = fit_anny_likeness(face.normalized_landmarks(), model, neutral_rest)
        rows.append(_row(f"synthetic_{i}", result))
    return rows


def photos(folder: Path) -> list[dict[str, Any]]:
    """Fit every photo in ``folder`` onto the neutral body's head."""
    from avatar.face.likeness import default_anny, fit_anny_likeness
    from avatar.face.lookalike import analyze_photo
    from avatar.face.quality import PhotoRejected

    model: Any = default_anny()
    with torch.no_grad():
        rest = model()["rest_vertices"][0].double().numpy()
    rows = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES):
        try:
            photo = analyze_photo(path.read_bytes())
        except PhotoRejected as exc:
            rows.append({"name": path.name, "error": exc.code})
            continue
        rows.append(_row(path.name, fit_anny_likeness(photo.face.normalized_landmarks(), model, rest)))
    return rows


def report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows with the median of each figure and how many meet the issue's targets."""
    done = [r for r in rows if "error" not in r]
    median = ({k: round(statistics.median(r[k] for r in done), 4) for k in (*KEYS, "reduction")}
              if done else {})
    meets = sum(1 for r in done if r["landmark_error_after"] <= 0.05 and r["landmark_error_heldout"] <= 0.07
                and r["reduction"] >= 0.5)
    return {"rows": rows, "median": median, "meet_all_targets": f"{meets}/{len(done)}"}


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.likeness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=0, help="fit N random synthetic faces")
    parser.add_argument("--photos", type=Path, help="fit every photo in this folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.photos is None and args.synthetic == 0:
        args.synthetic = 12
    rows = photos(args.photos) if args.photos is not None else []
    rows += synthetic(args.synthetic, args.seed) if args.synthetic else []
    typer.echo(json.dumps(report(rows)))


if __name__ == "__main__":
    _main()
