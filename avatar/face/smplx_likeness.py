"""Head likeness for SMPL-X: fit expression and head-relevant betas to the photo's face landmarks.

The landmark map is not built per model file: every SMPL-X npz carries its own face-landmark
embedding (``lmk_faces_idx`` + ``lmk_bary_coords``: the 51 static iBUG-68 points 17–67 as triangles
and barycentric weights; ``dynamic_lmk_faces_idx`` + ``dynamic_lmk_bary_coords``: the 17 jaw-contour
points 0–16, one row per neck yaw). The fixed, versioned table
``avatar/face/data/mediapipe_to_ibug68_v1.json`` names the MediaPipe landmark for each iBUG point, so
any SMPL-X file (neutral, male, female, any release) is mapped the same way, through the same
``vertices2landmarks`` the ``smplx`` package uses.

The fit is the Anny one (:mod:`avatar.face.likeness`): a closed-form similarity alignment alternating with a
bounded ridge least-squares solve, here over
- the expression coefficients (face-only by construction of SMPL-X), which go into the body's shape
  vector and so into ``params.json`` and ``body.smpl``;
- the head-relevant betas: those whose effect on the landmarks is not just a similarity (which the
  alignment absorbs anyway). Betas are global, and the body's betas were fitted to the shopper's
  measurements; so the fitted beta *deltas* are applied to the head only (weighted by the skinning
  weights of the head, jaw and eye joints), as vertex offsets that leave the measured body unchanged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar.body import skeleton
from avatar.face.likeness import DEPTH_WEIGHT, Similarity, box_ridge, procrustes

log = logging.getLogger(__name__)

TABLE_PATH = Path(__file__).resolve().parent / "data" / "mediapipe_to_ibug68_v1.json"
STATIC_IBUG = tuple(range(17, 68))  # what lmk_faces_idx / lmk_bary_coords hold, in this order
CONTOUR_IBUG = tuple(range(0, 17))  # what each row of dynamic_lmk_* holds
FRONTAL_ROW = 0  # smplx's dynamic look-up row for a neck yaw of 0° (the photo is gated to be frontal)
HEAD_JOINTS = ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf")
RIDGE = 0.02  # as for Anny: weight of ||x||² against the landmark residual in IOD units
LIMIT = 2.0  # expressions are bounded at ±2 by the backend; head beta deltas get the same bound
MIN_RELEVANCE = 0.1  # a beta is head-relevant if its non-rigid landmark effect is ≥ 10 % of the largest
MAX_ITERATIONS = 50  # alignment ↔ solve rounds; the expression bumps and the alignment trade off slowly
TOLERANCE = 1e-5  # stop once a round changes the error by less than this (IOD units)


@dataclass(frozen=True)
class LandmarkEmbedding:
    """Face landmarks on the SMPL-X surface: iBUG-68 index, triangle index, barycentric weights."""

    ibug: np.ndarray  # (K,)
    faces_idx: np.ndarray  # (K,)
    bary: np.ndarray  # (K, 3)

    def points(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(K, 3) landmark positions on ``vertices`` (V, 3) — or (K, 3, C) for displacement fields
        ``vertices`` (V, 3, C) — by barycentric interpolation, as ``smplx.lbs.vertices2landmarks``."""
        corners = vertices[faces[self.faces_idx]]  # (K, 3 corners, 3[, C])
        weights = self.bary.reshape(self.bary.shape + (1,) * (corners.ndim - 2))
        return np.asarray((corners * weights).sum(axis=1))


@dataclass(frozen=True)
class SmplxLikeness:
    """The fitted head and how well its landmarks match the photo's.

    Errors are the mean landmark distance after similarity alignment divided by the photo's
    inter-ocular distance (as for Anny). ``expression`` maps ``expression_i`` to its value;
    ``head_betas`` maps ``beta_i`` to the delta applied to the head only; ``offsets`` (V, 3) metres
    are those deltas' rest-pose vertex offsets.
    """

    expression: dict[str, float]
    head_betas: dict[str, float]
    landmark_error_before: float
    landmark_error_after: float
    offsets: np.ndarray
    alignment: Similarity
    n_landmarks: int

    def summary(self) -> dict[str, object]:
        return {
            "landmark_error_before": round(self.landmark_error_before, 4),
            "landmark_error_after": round(self.landmark_error_after, 4),
            "n_landmarks": self.n_landmarks,
            "expression": {k: round(v, 3) for k, v in self.expression.items()},
            "head_betas": {k: round(v, 3) for k, v in self.head_betas.items()},
        }


@lru_cache(maxsize=2)
def load_ibug_table(path: Path = TABLE_PATH) -> dict[int, int]:
    """iBUG-68 index → MediaPipe landmark index, from the versioned table."""
    if not path.is_file():
        raise FileNotFoundError(f"iBUG-68 ↔ MediaPipe table not found at {path}")
    data = json.loads(path.read_text())
    table = {int(k): int(v) for k, v in data["ibug68_to_mediapipe"].items()}
    if sorted(table) != list(range(68)) or not all(0 <= v < 478 for v in table.values()):
        raise ValueError(
            f"{path}: ibug68_to_mediapipe must map each of 0..67 to a MediaPipe index in [0, 478)")
    return table


def landmark_embedding(lmk_faces_idx: np.ndarray, lmk_bary_coords: np.ndarray,
                       dynamic_faces_idx: np.ndarray | None = None,
                       dynamic_bary_coords: np.ndarray | None = None, n_faces: int | None = None,
                       ) -> LandmarkEmbedding:
    """The embedding from SMPL-X's own arrays; the jaw contour (frontal row) is added when given."""
    faces_idx = np.asarray(lmk_faces_idx, dtype=np.int64).reshape(-1)
    bary = np.asarray(lmk_bary_coords, dtype=np.float64)
    if faces_idx.shape != (len(STATIC_IBUG),) or bary.shape != (len(STATIC_IBUG), 3):
        raise ValueError(f"lmk_faces_idx / lmk_bary_coords: expected ({len(STATIC_IBUG)},) and "
                         f"({len(STATIC_IBUG)}, 3) (iBUG points 17-67), "
                         f"got {faces_idx.shape} and {bary.shape}")
    ibug = np.array(STATIC_IBUG)
    if dynamic_faces_idx is not None and dynamic_bary_coords is not None:
        dyn_f = np.asarray(dynamic_faces_idx, dtype=np.int64)
        dyn_b = np.asarray(dynamic_bary_coords, dtype=np.float64)
        if dyn_f.ndim != 2 or dyn_f.shape[1] != len(CONTOUR_IBUG) or dyn_b.shape != dyn_f.shape + (3,):
            raise ValueError(f"dynamic_lmk_faces_idx / dynamic_lmk_bary_coords: expected (R, 17) and "
                             f"(R, 17, 3) (iBUG points 0-16 per neck yaw), "
                             f"got {dyn_f.shape} and {dyn_b.shape}")
        faces_idx = np.concatenate([dyn_f[FRONTAL_ROW], faces_idx])
        bary = np.concatenate([dyn_b[FRONTAL_ROW], bary])
        ibug = np.concatenate([np.array(CONTOUR_IBUG), ibug])
    if n_faces is not None and (faces_idx.min() < 0 or faces_idx.max() >= n_faces):
        raise ValueError(f"lmk_faces_idx: triangle indices must be in [0, {n_faces}), "
                         f"got [{faces_idx.min()}, {faces_idx.max()}]")
    return LandmarkEmbedding(ibug=ibug, faces_idx=faces_idx, bary=bary)


@lru_cache(maxsize=4)
def embedding_from_file(path: Path) -> LandmarkEmbedding:
    """Read the embedding from an SMPL-X npz (only the landmark arrays are loaded)."""
    with np.load(path, allow_pickle=True) as data:
        for key in ("lmk_faces_idx", "lmk_bary_coords"):
            if key not in data.files:
                raise ValueError(f"{path}: {key} is missing; is this an SMPL-X npz?")
        dynamic = "dynamic_lmk_faces_idx" in data.files and "dynamic_lmk_bary_coords" in data.files
        n_faces = len(data["f"]) if "f" in data.files else None
        return landmark_embedding(
            data["lmk_faces_idx"], data["lmk_bary_coords"],
            data["dynamic_lmk_faces_idx"] if dynamic else None,
            data["dynamic_lmk_bary_coords"] if dynamic else None, n_faces)


def head_weights(lbs_weights: np.ndarray) -> np.ndarray:
    """(V,) how much each vertex follows the head, jaw and eye joints: 1 on the head, fading over the
    neck with SMPL-X's own skinning weights."""
    joints = [skeleton.SMPLX_JOINT_NAMES.index(n) for n in HEAD_JOINTS]
    return np.clip(np.asarray(lbs_weights, dtype=np.float64)[:, joints].sum(axis=1), 0.0, 1.0)


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


def _error(model: np.ndarray, photo: np.ndarray) -> tuple[float, Similarity]:
    sim = procrustes(model, photo)
    return float(np.linalg.norm(sim.apply(model) - photo, axis=1).mean()), sim


def fit_smplx_likeness(photo_landmarks: np.ndarray, rest_vertices: np.ndarray, faces: np.ndarray,
                       embedding: LandmarkEmbedding, beta_dirs: np.ndarray, expression_dirs: np.ndarray,
                       head: np.ndarray, ridge: float = RIDGE) -> SmplxLikeness:
    """Fit expression coefficients and head-only beta deltas so the head's landmarks match the photo's.

    ``photo_landmarks`` (478, 3) are :meth:`FaceAnalysis.normalized_landmarks` (unit inter-ocular
    distance, y up, z to the viewer: SMPL-X's frame); ``rest_vertices`` (V, 3) the shaped body with a
    neutral expression; ``beta_dirs`` (V, 3, B) and ``expression_dirs`` (V, 3, E) the model's blend
    shapes; ``head`` (V,) the weights that confine beta deltas to the head (:func:`head_weights`).
    """
    n_vertices = len(rest_vertices)
    if photo_landmarks.shape != (478, 3):
        raise ValueError(
            f"photo_landmarks: expected (478, 3) MediaPipe landmarks, got {photo_landmarks.shape}")
    for name, dirs in (("beta_dirs", beta_dirs), ("expression_dirs", expression_dirs)):
        if dirs.ndim != 3 or dirs.shape[:2] != (n_vertices, 3):
            raise ValueError(f"{name}: expected ({n_vertices}, 3, C), got {dirs.shape}")
    if head.shape != (n_vertices,):
        raise ValueError(f"head: expected ({n_vertices},), got {head.shape}")
    table = load_ibug_table()
    photo = photo_landmarks[[table[int(i)] for i in embedding.ibug]].astype(np.float64)
    base = embedding.points(rest_vertices.astype(np.float64), faces)
    head_beta = beta_dirs.astype(np.float64) * head[:, None, None]
    beta_at = embedding.points(head_beta, faces)  # (K, 3, B)
    expr_at = embedding.points(expression_dirs.astype(np.float64), faces)  # (K, 3, E)

    effect = nonrigid_effect(base, beta_at)
    relevant = np.flatnonzero((effect > 0) & (effect >= MIN_RELEVANCE * effect.max(initial=0.0)))
    dirs = np.concatenate([expr_at, beta_at[:, :, relevant]], axis=2)  # (K, 3, P)
    n_expr, n_params = expr_at.shape[2], dirs.shape[2]
    flat_weight = np.tile([1.0, 1.0, DEPTH_WEIGHT], len(base))

    before, sim = _error(base, photo)
    split = np.concatenate([dirs, -dirs], axis=2).reshape(-1, 2 * n_params) * flat_weight[:, None]
    values = np.zeros(n_params)
    after = before
    for _ in range(MAX_ITERATIONS):
        # The photo's landmarks brought into the model's frame are what the blend shapes must reach.
        goal = ((photo - sim.translation) @ sim.rotation) / sim.scale
        b = (goal - base).reshape(-1) * flat_weight * sim.scale
        both = box_ridge(split * sim.scale, b, ridge, LIMIT)
        values = both[:n_params] - both[n_params:]
        error, sim = _error(base + dirs @ values, photo)
        converged = abs(after - error) < TOLERANCE
        after = error
        if converged:
            break
    if after > before:  # never return a head that matches worse than the body's own
        values = np.zeros(n_params)
        after, sim = _error(base, photo)
    beta_values = np.zeros(beta_dirs.shape[2])
    beta_values[relevant] = values[n_expr:]
    return SmplxLikeness(
        expression={f"expression_{i}": float(v) for i, v in enumerate(values[:n_expr])},
        head_betas={f"beta_{i}": float(beta_values[i]) for i in relevant},
        landmark_error_before=before,
        landmark_error_after=after,
        offsets=np.asarray(head_beta @ beta_values),
        alignment=sim,
        n_landmarks=len(base),
    )


def body_embedding(body: Any, model_path: Path | None = None) -> LandmarkEmbedding:
    """The landmark embedding of a loaded :class:`SmplxBody`: the static points from the buffers
    ``smplx.SMPLX`` registers, the jaw contour from the model's buffers or else from its npz file."""
    model = body.model
    n_faces = len(body.faces)
    if getattr(model, "use_face_contour", False):
        return landmark_embedding(model.lmk_faces_idx.numpy(), model.lmk_bary_coords.double().numpy(),
                                  model.dynamic_lmk_faces_idx.numpy(),
                                  model.dynamic_lmk_bary_coords.double().numpy(), n_faces)
    if model_path is not None:
        return embedding_from_file(Path(model_path))
    log.info("SMPL-X likeness without the jaw contour: no dynamic landmarks loaded")
    return landmark_embedding(model.lmk_faces_idx.numpy(), model.lmk_bary_coords.double().numpy(),
                              n_faces=n_faces)


def fit_body_head(photo_landmarks: np.ndarray, body: Any, shape: torch.Tensor,
                  model_path: Path | None = None) -> SmplxLikeness:
    """Likeness for an ``SmplxBody`` with the fitted ``shape`` (1, P): betas kept, expression refitted."""
    from smplx.lbs import blend_shapes

    model = body.model
    n_betas = int(model.num_betas)
    with torch.no_grad():
        betas = shape[:, :n_betas].to(model.shapedirs.dtype)
        rest = (model.v_template + blend_shapes(betas, model.shapedirs))[0].double().numpy()
    return fit_smplx_likeness(
        photo_landmarks, rest, body.faces.numpy(), body_embedding(body, model_path),
        model.shapedirs.double().numpy(), model.expr_dirs.double().numpy(),
        head_weights(model.lbs_weights.double().numpy()))


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
