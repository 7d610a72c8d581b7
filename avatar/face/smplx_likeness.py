"""Head likeness for SMPL-X: the Anny fit's stages, through SMPL-X's own head and blend shapes.

Every one of MediaPipe's 478 landmarks has a point on the file's own head (:mod:`avatar.face.smplx_landmarks`:
built on first use from renders of its neutral head, cached by the npz's content hash). The fit is
Anny's (:func:`avatar.face.likeness.fit_likeness`), with SMPL-X's blend shapes as the basis:

1. Pose: a 3D similarity from the inner-face landmarks (the jaw contour left out), before the shape.
2. Shape: one bounded ridge solve, alternated with the pose, over
   - the expression coefficients (face-only by construction of SMPL-X), which go into the body's shape
     vector and so into ``params.json`` and ``body.smpl``;
   - the head-relevant betas: those whose effect on the landmarks is not just a similarity (which the
     pose absorbs anyway). Betas are global, and the body's betas were fitted to the shopper's
     measurements; so the fitted beta *deltas* are applied to the head only (weighted by the skinning
     weights of the head, jaw and eye joints), as vertex offsets that leave the measured body unchanged.
3. Residual: the confined thin-plate-spline warp (:mod:`avatar.face.warp`): the face only, never the
   neck, the back of the head or the body; it joins the head-only offsets.
4. Score: every fifth landmark is held out of all of it and only scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar.face.correspondence import Correspondence, held_out
from avatar.face.likeness import (
    RIDGE,
    FaceBasis,
    LikenessResult,
    camera_to_model,
    fit_likeness,
    model_to_camera,
)
from avatar.face.smplx_landmarks import head_weights, smplx_correspondence

log = logging.getLogger(__name__)

LIMIT = 2.0  # expressions are bounded at ±2 by the backend; head beta deltas get the same bound
ROUNDS = 30  # pose ↔ shape rounds: a small basis, cheap rounds, and the pose and the expressions trade
# off slowly (at Anny's 6 rounds, a planted expression came back with 13 % of its effect left to the warp)
MIN_RELEVANCE = 0.1  # a beta is head-relevant if its non-rigid landmark effect is ≥ 10 % of the largest


@dataclass(frozen=True)
class SmplxLikeness:
    """The fitted head: ``expression`` maps ``expression_i`` to its value (it goes into the shape);
    ``head_betas`` maps ``beta_i`` to the delta applied to the head only; ``offsets`` (V, 3) metres,
    SMPL-X frame, are the rest-pose head-only offsets (those deltas plus the warp); ``fit`` has the
    landmark errors (fitted and held out, ÷ the photo's inter-ocular distance) and the alignment."""

    expression: dict[str, float]
    head_betas: dict[str, float]
    offsets: np.ndarray
    fit: LikenessResult


def nonrigid_effect(base: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """(C,) size of each landmark displacement field (K, 3, C) once the part an infinitesimal
    similarity (translation, rotation, scale) of ``base`` (K, 3) can explain is removed."""
    centred = base - base.mean(axis=0)
    k = len(base)
    generators = [np.tile(np.eye(3)[i], (k, 1)) for i in range(3)]
    generators.append(centred)
    generators += [np.cross(np.eye(3)[i], centred) for i in range(3)]
    g = np.stack([x.reshape(-1) for x in generators], axis=1)  # (3K, 7)
    flat = fields.reshape(3 * k, -1)
    residual = flat - g @ np.linalg.lstsq(g, flat, rcond=None)[0]
    return np.asarray(np.linalg.norm(residual, axis=0))


def fit_smplx_likeness(photo_landmarks: np.ndarray, rest_vertices: np.ndarray, faces: np.ndarray,
                       correspondence: Correspondence, beta_dirs: np.ndarray, expression_dirs: np.ndarray,
                       head: np.ndarray, ridge: float = RIDGE, limit: float = LIMIT) -> SmplxLikeness:
    """Fit expression coefficients, head-only beta deltas and the residual warp to the photo.

    ``photo_landmarks`` (478, 3) are :meth:`FaceAnalysis.normalized_landmarks` (unit inter-ocular
    distance, y up, z to the viewer: SMPL-X's frame); ``rest_vertices`` (V, 3) the shaped body with a
    neutral expression; ``beta_dirs`` (V, 3, B) and ``expression_dirs`` (V, 3, E) the model's blend
    shapes; ``head`` (V,) the weights that confine beta deltas to the head (:func:`head_weights`).
    """
    n_vertices = len(rest_vertices)
    for name, dirs in (("beta_dirs", beta_dirs), ("expression_dirs", expression_dirs)):
        if dirs.ndim != 3 or dirs.shape[:2] != (n_vertices, 3):
            raise ValueError(f"{name}: expected ({n_vertices}, 3, C), got {dirs.shape}")
    if head.shape != (n_vertices,):
        raise ValueError(f"head: expected ({n_vertices},), got {head.shape}")
    head_beta = beta_dirs.astype(np.float64) * head[:, None, None]
    fit = ~held_out()
    rest = rest_vertices.astype(np.float64)
    effect = nonrigid_effect(correspondence.points(rest, faces)[fit],
                             correspondence.points(head_beta, faces)[fit])
    relevant = np.flatnonzero((effect > 0) & (effect >= MIN_RELEVANCE * effect.max(initial=0.0)))
    names = [f"expression_{i}" for i in range(expression_dirs.shape[2])] + [f"beta_{i}" for i in relevant]
    dirs = np.concatenate([expression_dirs.astype(np.float64), head_beta[:, :, relevant]], axis=2)
    positive = camera_to_model(np.moveaxis(dirs, 2, 0))  # (P, V, 3) in the fit's frame
    basis = FaceBasis(names=names, labels=[[n] for n in names], positive=positive, negative=-positive)
    result = fit_likeness(photo_landmarks, camera_to_model(rest), faces, basis, correspondence,
                          ridge=ridge, limit=limit, confine=head, rounds=ROUNDS)
    beta_values = np.zeros(beta_dirs.shape[2])
    for i in relevant:
        beta_values[i] = result.local_changes[f"beta_{i}"]
    return SmplxLikeness(
        expression={n: result.local_changes[n] for n in names if n.startswith("expression_")},
        head_betas={f"beta_{i}": float(beta_values[i]) for i in relevant},
        offsets=np.asarray(head_beta @ beta_values + model_to_camera(result.warp)),
        fit=result,
    )


def fit_body_head(photo_landmarks: np.ndarray, body: Any, shape: torch.Tensor, npz: Path) -> SmplxLikeness:
    """Likeness for an ``SmplxBody`` loaded from ``npz`` with the fitted ``shape`` (1, P): betas kept,
    expression refitted. The file's landmark map is built on first use (a few seconds) and cached."""
    from smplx.lbs import blend_shapes

    model = body.model
    n_betas = int(model.num_betas)
    correspondence = smplx_correspondence(body, npz).correspondence
    with torch.no_grad():
        betas = shape[:, :n_betas].to(model.shapedirs.dtype)
        rest = (model.v_template + blend_shapes(betas, model.shapedirs))[0].double().numpy()
    return fit_smplx_likeness(
        photo_landmarks, rest, body.faces.numpy(), correspondence, model.shapedirs.double().numpy(),
        model.expr_dirs.double().numpy(), head_weights(model.lbs_weights.double().numpy()))


def with_expression(shape: torch.Tensor, shape_names: tuple[str, ...],
                    likeness: SmplxLikeness) -> torch.Tensor:
    """``shape`` (1, P) with its expression entries replaced by the fitted ones."""
    out = shape.clone()
    for name, value in likeness.expression.items():
        out[:, shape_names.index(name)] = value
    return out


def posed_head_change(body: Any, shape: torch.Tensor, pose: torch.Tensor,
                      likeness: SmplxLikeness) -> np.ndarray:
    """(V, 3) what the fitted expression and head-only beta deltas change on the body posed with
    ``shape`` (1, P) and ``pose`` (1, 55, 3), through SMPL-X's own blend shapes and skinning
    (``smplx.lbs.lbs``), so the change follows the head wherever the pose puts it."""
    from smplx.lbs import lbs

    model = body.model
    dtype = model.shapedirs.dtype
    dirs = torch.cat([model.shapedirs, model.expr_dirs], dim=-1)
    if shape.shape != (1, dirs.shape[-1]):
        raise ValueError(
            f"shape: expected (1, {dirs.shape[-1]}) betas + expression, got {tuple(shape.shape)}")
    full_pose = pose.to(dtype).reshape(1, -1)

    def run(coefficients: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
        vertices, _ = lbs(coefficients.to(dtype), full_pose, template, dirs, model.posedirs,
                          model.J_regressor, model.parents, model.lbs_weights, pose2rot=True)
        return vertices[0]

    with torch.no_grad():
        fitted = with_expression(shape, body.shape_names, likeness)
        offsets = torch.as_tensor(likeness.offsets, dtype=dtype)
        change = run(fitted, model.v_template + offsets) - run(shape, model.v_template)
    return np.asarray(change.double().numpy())
