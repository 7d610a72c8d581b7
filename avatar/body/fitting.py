"""Fit a body model's shape parameters to measurement targets with torch autograd.

The problem is small (a dozen free parameters, a handful of measurements) and nearly linear, so a
box-constrained Levenberg–Marquardt step on autograd Jacobians converges in a few iterations,
far faster than first-order optimisers. Residuals are scaled by each measurement's tolerance:

* measurements the shopper gave must be met exactly (weight 30 per ISO tolerance, mass 1.5 %);
* completed girths only need to fall inside their predicted interval: a weak pull towards the
  predicted mean plus a penalty on leaving the interval (see :data:`SOFT_TARGETS`);
* a light prior pulls the free parameters towards the average body so the answer stays plausible;
* every step is clamped to the backend's plausible parameter box.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import get_args

import torch

from avatar.body import anthropometry
from avatar.body.anthropometry import BaryLoop
from avatar.body.measurements import ISO_TOLERANCE_MM
from avatar.body.models.base import BodyModel
from avatar.body.skeleton import NUM_JOINTS
from avatar.types import BodyParams, FitResult, MeasurementName, Sex

log = logging.getLogger(__name__)

FITTABLE: tuple[str, ...] = get_args(MeasurementName)


# Completed values that steer the fit. Completed lengths (inside leg, arm, shoulder) and the neck
# are reported but not fitted: their landmark definitions on a mesh differ from ANSUR's palpated
# ones by a centimetre or more, and pulling towards them would cost accuracy on what was given.
SOFT_TARGETS = ("bust_girth_cm", "underbust_girth_cm", "waist_girth_cm", "hip_girth_cm", "thigh_girth_cm")
MASS_TOLERANCE = 0.015


def _tolerance(name: str, value: float) -> float:
    """The acceptable error: the ISO tolerance (cm) for lengths, 1.5 % for mass.

    Mass is volume × an assumed density (real density varies by a few per cent with body fat), so
    where a body cannot meet everything, surface measurements win over mass.
    """
    if name == "body_mass_kg":
        return max(MASS_TOLERANCE * value, 0.1)
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
        interval_weight: extra cost of leaving the predicted interval, per half interval.
        given_weight: residual units per tolerance of a given measurement; large, so completed
            values and the prior give way whenever they conflict with what the shopper gave.
        tol: stop once every given measurement is within ``tol`` × its tolerance.
        threads: torch intra-op threads while fitting (``None`` leaves the setting alone). One by
            default: every tensor here is small (at most the ~14k-vertex mesh), so splitting ops
            across threads costs more in synchronisation than it gains; on shared cores a 2-thread
            fit was several times slower than a 1-thread one.
    """

    def __init__(
        self,
        body: BodyModel,
        *,
        max_iter: int = 8,
        prior_weight: float = 0.05,
        completed_weight: float = 0.1,
        interval_weight: float = 0.5,
        given_weight: float = 30.0,
        tol: float = 0.5,
        threads: int | None = 1,
    ) -> None:
        self.body = body
        self.max_iter = max_iter
        self.prior_weight = prior_weight
        self.completed_weight = completed_weight
        self.given_weight = given_weight
        self.interval_weight = interval_weight
        self.tol = tol
        if threads is not None and threads < 1:
            raise ValueError(f"threads: must be at least 1 (or None), got {threads}")
        self.threads = threads

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
        with _torch_threads(self.threads):
            return self._fit(loops, target, predicted, sex, age_years)

    def _fit(
        self,
        loops: Mapping[str, BaryLoop],
        target: Mapping[str, float],
        predicted: Mapping[str, tuple[float, float, float]] | None,
        sex: Sex,
        age_years: float | None,
    ) -> FitResult:
        start = time.perf_counter()
        reported = {k: v for k, v in (predicted or {}).items() if k not in target}
        unknown = [n for n in list(target) + list(reported) if n not in FITTABLE]
        if unknown:
            raise ValueError(f"target: cannot fit {unknown}; fittable measurements are {list(FITTABLE)}")
        predicted = {k: v for k, v in reported.items() if k in SOFT_TARGETS}
        body = self.body
        names = tuple(target) + tuple(predicted)
        base = body.default_shape(sex, age_years).double()
        lo, hi = (b.double() for b in body.shape_bounds())
        free = torch.tensor([body.shape_names.index(n) for n in body.free_parameters()])
        lo, hi, span = lo[free], hi[free], (hi - lo)[free]
        params = base[free].clone()
        local = [n for n in names if n != "body_mass_kg"]
        subset, sub_loops = _subset(body, loops)

        def evaluate(p: torch.Tensor) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
            """Measurements (M,) in ``names`` order, and a function giving d measurement / d
            parameter (M, P): the backward passes are most of a step's cost, and a rejected step
            (or the last one) never needs them.

            Backends whose mesh is linear in some coefficients (Anny) are differentiated in two
            stages: measurements w.r.t. the coefficients by autograd, and the coefficients w.r.t.
            the parameters by the backend (``coefficient_jacobian``: batched central differences
            where the mapping is multilinear, exact columns where it is linear).
            """
            shape = base.index_put((free,), p.detach())
            split = hasattr(body, "coefficient_jacobian")
            if split:
                coeffs, dc_dp = body.coefficient_jacobian(shape, free)  # type: ignore[attr-defined]
                wrt = coeffs[None].float().requires_grad_(True)

                def mesh(ids: torch.Tensor | None) -> torch.Tensor:
                    return body.vertices_from_coefficients(wrt, ids)  # type: ignore[attr-defined]

            else:
                wrt = p.detach().clone().requires_grad_(True)
                differentiable = base.index_put((free,), wrt)[None]

                def mesh(ids: torch.Tensor | None) -> torch.Tensor:
                    return body.measurement_vertices(differentiable, ids)

            outputs: dict[str, torch.Tensor] = {}
            if "body_mass_kg" in names:  # the whole mesh, differentiated on its own
                outputs["body_mass_kg"] = anthropometry.mass(mesh(None), body.faces)[0]
            if local:  # everything else lives on a few hundred vertices
                measured = anthropometry.measure(mesh(subset), body.faces, sub_loops, tuple(local))
                outputs.update({k: v[0] for k, v in measured.items()})

            def derivative() -> torch.Tensor:
                rows = []
                for i, name in enumerate(names):
                    (g,) = torch.autograd.grad(outputs[name], wrt, retain_graph=i < len(names) - 1)
                    rows.append(g.reshape(-1).double())
                dm = torch.stack(rows)
                return dm @ dc_dp if split else dm

            return torch.stack([outputs[n].detach().double() for n in names]), derivative

        target_values = torch.tensor(list(target.values()), dtype=torch.float64)
        given_scale = torch.tensor([_tolerance(n, t) for n, t in target.items()], dtype=torch.float64)

        k = len(target)

        def residuals(m: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
            """Scaled residuals: given (exact), completed (pull + hinge), prior."""
            r = [self.given_weight * (m[:k] - target_values) / given_scale]
            for j, (mean, low, high) in enumerate(predicted.values()):
                v, half = m[k + j], max((high - low) / 2.0, 1e-3)
                outside = float(v > high) - float(v < low)
                excess = abs(outside) * (v - (high if outside > 0 else low))
                r.append(
                    torch.stack([self.completed_weight * (v - mean), self.interval_weight * excess]) / half
                )
            r.append(self.prior_weight * (p - base[free]) / span)
            return torch.cat([x.reshape(-1) for x in r])

        def residual_jacobian(m: torch.Tensor, dm: torch.Tensor) -> torch.Tensor:
            """d residuals / d parameters, in the order of :func:`residuals`."""
            d = [torch.diag(self.given_weight / given_scale) @ dm[:k]] if k else []
            for j, (_, low, high) in enumerate(predicted.values()):
                v, dv, half = m[k + j], dm[k + j], max((high - low) / 2.0, 1e-3)
                outside = float(v > high) - float(v < low)
                d.append(
                    torch.stack([self.completed_weight * dv, self.interval_weight * abs(outside) * dv]) / half
                )
            d.append(torch.diag(self.prior_weight / span))
            return torch.cat(d)

        # Stop once every given value is within ``tol`` of its tolerance (mass: within 0.3 %).
        stop = torch.tensor(
            [0.003 * t if n == "body_mass_kg" else self.tol * _tolerance(n, t) for n, t in target.items()],
            dtype=torch.float64,
        )

        def given_ok(m: torch.Tensor) -> bool:
            return bool(((m[: len(target)] - target_values).abs() <= stop).all())

        m, derivative = evaluate(params)
        r, jac = residuals(m, params), residual_jacobian(m, derivative())
        damping, iterations, previous, rejected = 1e-3, 0, float("inf"), 0
        for iterations in range(1, self.max_iter + 1):  # noqa: B007 - reported below
            cost = float((r**2).sum())
            if given_ok(m) and previous - cost <= 0.1 * cost:  # given met and little progress left
                break
            jtj, jtr = jac.T @ jac, jac.T @ r
            step = torch.linalg.solve(jtj + damping * torch.diag(jtj.diagonal() + 1e-6), -jtr)
            candidate = torch.minimum(torch.maximum(params + step, lo), hi)
            m_new, derivative = evaluate(candidate)
            r_new = residuals(m_new, candidate)
            if float((r_new**2).sum()) < cost:
                params, m, r, damping = candidate, m_new, r_new, max(damping / 3.0, 1e-7)
                if iterations < self.max_iter:  # the last step's derivative would go unused
                    jac = residual_jacobian(m, derivative())
                previous = cost
            else:
                damping, rejected = damping * 10.0, rejected + 1
        shape = base.index_put((free,), params)
        with torch.no_grad():
            achieved = anthropometry.measure(body.measurement_vertices(shape[None]), body.faces, dict(loops))
        result = FitResult(
            params=BodyParams(
                backend=body.kind,
                shape={n: float(v) for n, v in zip(body.shape_names, shape.tolist(), strict=True)},
                pose=tuple((0.0, 0.0, 0.0) for _ in range(NUM_JOINTS)),
                sex=sex,
            ),
            target={k: float(v) for k, v in target.items()},
            predicted=dict(reported),
            achieved={k: float(v[0]) for k, v in achieved.items()},
            iterations=iterations,
            seconds=time.perf_counter() - start,
        )
        log.debug("fit in %d iterations (%d steps rejected), %.3f s", iterations, rejected, result.seconds)
        return result


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch intra-op threads, restoring the process setting afterwards."""
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


_SUBSETS: dict[tuple[str, str, str], tuple[torch.Tensor, dict[str, BaryLoop]]] = {}


def _subset(body: BodyModel, loops: Mapping[str, BaryLoop]) -> tuple[torch.Tensor, dict[str, BaryLoop]]:
    """The vertices the non-mass measurements need (loops, landmarks, top and sole candidates),
    and the loops re-indexed into that subset (memoised per body model and loop set)."""
    ids = torch.cat([loop.vertex_ids.reshape(-1) for loop in loops.values()]).numpy().tobytes()
    key = (body.kind, body.version, hashlib.sha1(ids).hexdigest())
    if key not in _SUBSETS:
        _SUBSETS[key] = _build_subset(body, loops)
    return _SUBSETS[key]


def _build_subset(body: BodyModel, loops: Mapping[str, BaryLoop]) -> tuple[torch.Tensor, dict[str, BaryLoop]]:
    with torch.no_grad():
        template = body.measurement_vertices(body.default_shape()[None].to(torch.float32))[0]
    up = template[:, 1]
    extremes = torch.nonzero((up > up.max() - 0.03) | (up < up.min() + 0.02))[:, 0]
    ids = torch.unique(torch.cat([extremes, *(loop.vertex_ids.reshape(-1) for loop in loops.values())]))
    position = torch.full((len(template),), -1, dtype=torch.long)
    position[ids] = torch.arange(len(ids))
    remapped = {
        name: BaryLoop(position[loop.vertex_ids], loop.weights, loop.closed) for name, loop in loops.items()
    }
    return ids, remapped
