"""Fit a body model's shape parameters to measurement targets with torch autograd.

The problem is small (a dozen free parameters, a handful of measurements) and nearly linear, so a
box-constrained Levenberg–Marquardt step on autograd Jacobians converges in a few iterations,
far faster than first-order optimisers. Residuals are scaled by each measurement's tolerance:

* measurements the shopper gave must be met exactly (scale = the ISO tolerance, mass 0.5 %);
* completed measurements only need to fall inside their predicted interval: a weak pull towards
  the predicted mean plus a strong penalty on leaving the interval;
* a light prior pulls the free parameters towards the average body so the answer stays plausible;
* every step is clamped to the backend's plausible parameter box.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import torch

from avatar import anthropometry
from avatar.anthropometry import BaryLoop
from avatar.bodymodels.base import BodyModel
from avatar.measurements import ISO_TOLERANCE_MM
from avatar.skeleton import NUM_JOINTS
from avatar.types import BodyParams, FitResult, Sex

log = logging.getLogger(__name__)

FITTABLE = (
    "stature_cm",
    "body_mass_kg",
    "bust_girth_cm",
    "underbust_girth_cm",
    "waist_girth_cm",
    "hip_girth_cm",
    "inside_leg_cm",
    "shoulder_width_cm",
    "arm_length_cm",
    "neck_girth_cm",
    "thigh_girth_cm",
)


def _scale(name: str, value: float) -> float:
    """One residual unit: the ISO tolerance (cm) for lengths, 0.5 % for mass."""
    if name == "body_mass_kg":
        return max(0.005 * value, 0.1)
    return ISO_TOLERANCE_MM[name] / 10.0


class BodyFitter:
    """Levenberg–Marquardt fit of ``body``'s free shape parameters (hyper-parameters only here).

    Args:
        body: a :class:`BodyModel`.
        max_iter: Levenberg–Marquardt iterations at most.
        prior_weight: pull of each free parameter towards its average value, in residual units per
            full parameter range.
        completed_weight: pull of a completed measurement towards its predicted mean, in residual
            units per half interval.
        tol: stop once every given measurement is within ``tol`` × its tolerance.
    """

    def __init__(
        self,
        body: BodyModel,
        *,
        max_iter: int = 12,
        prior_weight: float = 0.05,
        completed_weight: float = 0.3,
        tol: float = 0.25,
    ) -> None:
        self.body = body
        self.max_iter = max_iter
        self.prior_weight = prior_weight
        self.completed_weight = completed_weight
        self.tol = tol

    def fit(
        self,
        loops: Mapping[str, BaryLoop],
        target: Mapping[str, float],
        predicted: Mapping[str, tuple[float, float, float]] | None = None,
        *,
        sex: Sex = "unspecified",
        age_years: float | None = None,
    ) -> FitResult:
        """Fit one body. ``target`` and ``predicted`` (mean, lo, hi) are in cm / kg."""
        start = time.perf_counter()
        predicted = dict(predicted or {})
        unknown = [n for n in list(target) + list(predicted) if n not in FITTABLE]
        if unknown:
            raise ValueError(f"target: cannot fit {unknown}; fittable measurements are {list(FITTABLE)}")
        body = self.body
        names = tuple(target) + tuple(n for n in predicted if n not in target)
        base = body.default_shape(sex, age_years).double()
        lo, hi = (b.double() for b in body.shape_bounds())
        free = torch.tensor([body.shape_names.index(n) for n in body.free_parameters()])
        span = (hi - lo)[free]
        params = base[free].clone()

        def measure(p: torch.Tensor) -> dict[str, torch.Tensor]:
            shape = base.clone()
            shape[free] = p
            vertices = body.measurement_vertices(shape[None])
            faces = body.faces
            measured = anthropometry.measure(vertices, faces, dict(loops), names)
            return {k: v[0].double() for k, v in measured.items()}

        def residuals(m: dict[str, torch.Tensor], p: torch.Tensor) -> torch.Tensor:
            r = [(m[n] - t) / _scale(n, t) for n, t in target.items()]
            for n, (mean, low, high) in predicted.items():
                if n in target:
                    continue
                half = max((high - low) / 2.0, 1e-3)
                r.append(self.completed_weight * (m[n] - mean) / half)
                r.append(torch.relu(m[n] - high) / _scale(n, mean) + torch.relu(low - m[n]) / _scale(n, mean))
            r.extend(self.prior_weight * (p - base[free]) / span)
            return torch.stack(r)

        def evaluate(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Residuals at ``p`` and their Jacobian (one batched backward pass)."""
            p = p.clone().requires_grad_(True)
            r = residuals(measure(p), p)
            eye = torch.eye(len(r), dtype=r.dtype)
            (jac,) = torch.autograd.grad(r, p, grad_outputs=eye, is_grads_batched=True, allow_unused=True)
            return r.detach(), torch.nan_to_num(jac if jac is not None else torch.zeros(len(r), len(p)))

        damping = 1e-3
        r, jac = evaluate(params)
        iterations = 0
        for iterations in range(1, self.max_iter + 1):  # noqa: B007 - reported below
            if len(target) and bool((r[: len(target)].abs() <= self.tol).all()):
                break
            cost = float((r**2).sum())
            jtj, jtr = jac.T @ jac, jac.T @ r
            step = torch.linalg.solve(jtj + damping * torch.diag(jtj.diagonal() + 1e-6), -jtr)
            candidate = torch.minimum(torch.maximum(params + step, lo[free]), hi[free])
            r_new, jac_new = evaluate(candidate)
            if float((r_new**2).sum()) < cost:
                params, r, jac, damping = candidate, r_new, jac_new, max(damping / 3.0, 1e-7)
            else:
                damping *= 10.0
        with torch.no_grad():
            achieved_all = anthropometry.measure(
                self.body.measurement_vertices(self._shape(base, free, params)[None]), body.faces, dict(loops)
            )
        shape = self._shape(base, free, params)
        result = FitResult(
            params=BodyParams(
                backend=body.kind,
                shape={n: float(v) for n, v in zip(body.shape_names, shape.tolist(), strict=True)},
                pose=tuple((0.0, 0.0, 0.0) for _ in range(NUM_JOINTS)),
                sex=sex,
            ),
            target={k: float(v) for k, v in target.items()},
            predicted={k: v for k, v in predicted.items() if k not in target},
            achieved={k: float(v[0]) for k, v in achieved_all.items()},
            iterations=iterations,
            seconds=time.perf_counter() - start,
        )
        log.debug("fit in %d iterations, %.3f s", iterations, result.seconds)
        return result

    @staticmethod
    def _shape(base: torch.Tensor, free: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        shape = base.clone()
        shape[free] = params.detach()
        return shape
