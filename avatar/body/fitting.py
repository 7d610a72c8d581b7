"""Fit a body model's shape parameters to measurement targets with torch autograd.

The problem is small (a dozen free parameters, a handful of measurements) and nearly linear, so a
box-constrained Levenberg–Marquardt step on autograd Jacobians converges in a few iterations,
far faster than first-order optimisers. Residuals are scaled by each measurement's tolerance:

* measurements the shopper gave must be met within their ISO tolerance (weight 30 per tolerance;
  mass 1.5 %);
* every completed measurement (girths, lengths and widths alike) must fall inside its predicted
  80 % interval: a weak pull towards the predicted mean, plus a steep hinge once it leaves the
  interval, as steep as a given value's, so that no measurement is pushed out of its interval to
  satisfy another;
* a light prior pulls the free parameters towards the average body so the answer stays plausible;
* every step is clamped to the backend's plausible parameter box.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import get_args

import torch

from avatar.body import anthropometry
from avatar.body.anthropometry import BaryLoop
from avatar.body.measurements import ISO_TOLERANCE_MM
from avatar.body.models.base import BodyModel, LinearInCoefficients
from avatar.body.skeleton import NUM_JOINTS
from avatar.types import BodyParams, FitResult, Interval, MeasurementName, Sex

log = logging.getLogger(__name__)

FITTABLE: tuple[str, ...] = get_args(MeasurementName)


MASS_TOLERANCE = 0.015


def _tolerance(name: str, value: float) -> float:
    """The acceptable error: the ISO tolerance (cm) for lengths, 1.5 % for mass.

    Mass is volume × an assumed density (real density varies by a few per cent with body fat), so
    where a body cannot meet everything, surface measurements win over mass.
    """
    if name == "body_mass_kg":
        return max(MASS_TOLERANCE * value, 0.1)
    return ISO_TOLERANCE_MM[name] / 10.0


@dataclass(frozen=True)
class Evaluation:
    """Residuals at one point, and their Jacobian on demand (backward passes are most of a step's
    cost, and a rejected step never needs them); ``converged`` says the caller's goal is met."""

    residuals: torch.Tensor
    jacobian: Callable[[], torch.Tensor]
    converged: bool


@dataclass(frozen=True)
class Solution:
    """Where :func:`levenberg_marquardt` stopped."""

    x: torch.Tensor
    residuals: torch.Tensor
    iterations: int
    rejected: int


def levenberg_marquardt(
    evaluate: Callable[[torch.Tensor], Evaluation],
    x0: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    *,
    max_iter: int = 8,
    damping: float = 1e-3,
) -> Solution:
    """Box-constrained Levenberg–Marquardt on a residual function, minimising ``‖r(x)‖²``.

    Each step solves ``(JᵀJ + λ diag(JᵀJ)) δ = −Jᵀr`` over the parameters not held at a bound by
    the descent direction, and clamps ``x + δ`` to ``[lo, hi]``; an
    accepted step lowers λ threefold, a rejected one raises it tenfold. It stops after
    ``max_iter`` steps, or as soon as the evaluation says ``converged`` (the caller's goal is met).
    """
    x = torch.minimum(torch.maximum(x0, lo), hi)
    current = evaluate(x)
    r, jac = current.residuals, current.jacobian()
    rejected, iterations = 0, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported below
        cost = float((r**2).sum())
        if current.converged:
            break
        jtj, jtr = jac.T @ jac, jac.T @ r
        # Parameters held at a bound by the descent direction sit out the step, so the others are
        # solved for as if those were fixed (clamping a full step instead distorts it).
        held = ((x <= lo) & (jtr > 0)) | ((x >= hi) & (jtr < 0))
        step = torch.zeros_like(x)
        moving = ~held
        sub = jtj[moving][:, moving]
        step[moving] = torch.linalg.solve(sub + damping * torch.diag(sub.diagonal() + 1e-6), -jtr[moving])
        candidate = torch.minimum(torch.maximum(x + step, lo), hi)
        trial = evaluate(candidate)
        if float((trial.residuals**2).sum()) < cost:
            x, current, r, damping = candidate, trial, trial.residuals, max(damping / 3.0, 1e-7)
            if iterations < max_iter:  # the last step's Jacobian would go unused
                jac = current.jacobian()
        else:
            damping, rejected = damping * 10.0, rejected + 1
    return Solution(x=x, residuals=r, iterations=iterations, rejected=rejected)


@dataclass(frozen=True)
class Weights:
    """How strongly each kind of residual counts (residual units; see the module docstring).

    Attributes:
        given: per tolerance of a given measurement; large, so everything else gives way to it.
        completed: pull of a completed measurement towards its predicted mean, per half interval.
        interval: cost of leaving the predicted interval, per half interval outside it.
        prior: pull of each free parameter towards its average value, per full parameter range.
        margin: share of the half interval at each end that already counts as outside, so that a
            value held at the hinge still lies inside the interval.
    """

    given: float = 30.0
    completed: float = 0.1
    interval: float = 30.0
    prior: float = 0.05
    margin: float = 0.2


@dataclass(frozen=True)
class Targets:
    """What one fit aims at, as tensors in one fixed order: the ``given`` names first, then the
    completed ones in ``soft``."""

    given: tuple[str, ...]
    values: torch.Tensor  # (G,) given values
    scale: torch.Tensor  # (G,) their tolerance
    soft: tuple[str, ...]
    intervals: torch.Tensor  # (S, 3) completed mean, lo, hi

    @classmethod
    def build(
        cls, target: Mapping[str, float], predicted: Mapping[str, tuple[float, float, float]]
    ) -> Targets:
        given = tuple(target)
        soft = tuple(n for n in predicted if n not in target)
        return cls(
            given=given,
            values=torch.tensor([float(target[n]) for n in given], dtype=torch.float64),
            scale=torch.tensor([_tolerance(n, float(target[n])) for n in given], dtype=torch.float64),
            soft=soft,
            intervals=torch.tensor([predicted[n] for n in soft], dtype=torch.float64).reshape(-1, 3),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return self.given + self.soft

    def met(self, m: torch.Tensor, tol: float, margin: float) -> bool:
        """Every given value within ``tol`` × its tolerance (mass: within 0.3 %) and every completed
        one inside its interval by ``margin`` × its half width: the fit's goal, so it may stop."""
        k = len(self.given)
        stop = torch.where(
            torch.tensor([n == "body_mass_kg" for n in self.given], dtype=torch.bool),
            0.003 * self.values,
            tol * self.scale,
        )
        mean, low, high = self.intervals.unbind(-1)
        low, high = low + margin * (mean - low), high - margin * (high - mean)
        return bool(((m[:k] - self.values).abs() <= stop).all() and ((m[k:] >= low) & (m[k:] <= high)).all())


def _hinge(targets: Targets, weights: Weights) -> tuple[torch.Tensor, ...]:
    """Completed means, the hinge's ends (the interval less its margin) and the half intervals."""
    mean, low, high = targets.intervals.unbind(-1)
    half = ((high - low) / 2.0).clamp_min(1e-3)
    return mean, low + weights.margin * half, high - weights.margin * half, half


def residuals(
    targets: Targets,
    weights: Weights,
    m: torch.Tensor,
    p: torch.Tensor,
    prior: torch.Tensor,
    span: torch.Tensor,
) -> torch.Tensor:
    """Scaled residuals of measurements ``m`` (in ``targets.names`` order) and parameters ``p``:
    given (exact), completed (pull to the mean + hinge outside the interval), prior."""
    k = len(targets.given)
    mean, low, high, half = _hinge(targets, weights)
    v = m[k:]
    excess = (v - high).clamp_min(0.0) - (low - v).clamp_min(0.0)
    return torch.cat(
        [
            weights.given * (m[:k] - targets.values) / targets.scale,
            torch.stack([weights.completed * (v - mean), weights.interval * excess], 1).reshape(-1)
            / half.repeat_interleave(2),
            weights.prior * (p - prior) / span,
        ]
    )


def residual_jacobian(
    targets: Targets, weights: Weights, m: torch.Tensor, dm: torch.Tensor, span: torch.Tensor
) -> torch.Tensor:
    """d :func:`residuals` / d parameters, given the measurements' Jacobian ``dm`` (M, P)."""
    k = len(targets.given)
    _, low, high, half = _hinge(targets, weights)
    v = m[k:]
    outside = ((v > high) | (v < low)).double()
    soft = torch.stack([weights.completed * dm[k:], weights.interval * outside[:, None] * dm[k:]], 1)
    return torch.cat(
        [
            (weights.given / targets.scale)[:, None] * dm[:k],
            (soft / half[:, None, None]).reshape(-1, dm.shape[1]),
            torch.diag(weights.prior / span),
        ]
    )


class MeshMeasurer:
    """Measurements of ``body`` as a function of its free shape parameters, with their Jacobian.

    Backends whose mesh is linear in blendshape coefficients (:class:`LinearInCoefficients`) are
    differentiated in two stages: measurements w.r.t. the coefficients by autograd, coefficients
    w.r.t. the parameters by the backend. Everything but mass is measured on the few hundred
    vertices the loops and landmarks use.
    """

    def __init__(self, body: BodyModel, loops: Mapping[str, BaryLoop], names: tuple[str, ...],
                 base: torch.Tensor, free: torch.Tensor) -> None:
        self.body, self.names, self.base, self.free = body, names, base, free
        self.local = tuple(n for n in names if n != "body_mass_kg")
        self.subset, self.loops = _subset(body, loops)

    def __call__(self, p: torch.Tensor) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
        """(M,) measurements at free parameters ``p``, and a function giving d m / d p (M, P)."""
        body, shape = self.body, self.base.index_put((self.free,), p.detach())
        dc_dp: torch.Tensor | None = None
        if isinstance(body, LinearInCoefficients):
            coeffs, dc_dp = body.coefficient_jacobian(shape, self.free)
            wrt = coeffs[None].float().requires_grad_(True)
            linear = body

            def mesh(ids: torch.Tensor | None) -> torch.Tensor:
                return linear.vertices_from_coefficients(wrt, ids)

        else:
            wrt = p.detach().clone().requires_grad_(True)
            differentiable = self.base.index_put((self.free,), wrt)[None]

            def mesh(ids: torch.Tensor | None) -> torch.Tensor:
                return body.measurement_vertices(differentiable, ids)

        outputs: dict[str, torch.Tensor] = {}
        if "body_mass_kg" in self.names:  # the whole mesh, differentiated on its own
            outputs["body_mass_kg"] = anthropometry.mass(mesh(None), body.faces)[0]
        if self.local:
            measured = anthropometry.measure(mesh(self.subset), body.faces, self.loops, self.local)
            outputs.update({k: v[0] for k, v in measured.items()})

        def derivative() -> torch.Tensor:
            rows = []
            for i, name in enumerate(self.names):
                (g,) = torch.autograd.grad(outputs[name], wrt, retain_graph=i < len(self.names) - 1)
                rows.append(g.reshape(-1).double())
            dm = torch.stack(rows)
            return dm if dc_dp is None else dm @ dc_dp

        return torch.stack([outputs[n].detach().double() for n in self.names]), derivative


class BodyFitter:
    """Fit ``body``'s free shape parameters to given and completed measurements.

    Args:
        body: a :class:`BodyModel`.
        max_iter: Levenberg–Marquardt iterations at most.
        weights: the residual weights (:class:`Weights`).
        tol: stop once every given measurement is within ``tol`` × its tolerance and every completed
            one inside its interval.
        threads: torch intra-op threads while fitting (``None`` leaves the setting alone). One by
            default: every tensor here is small (at most the ~14k-vertex mesh), so splitting ops
            across threads costs more in synchronisation than it gains; on shared cores a 2-thread
            fit was several times slower than a 1-thread one.
    """

    def __init__(
        self,
        body: BodyModel,
        *,
        max_iter: int = 20,
        weights: Weights = Weights(),
        tol: float = 0.5,
        threads: int | None = 1,
    ) -> None:
        if threads is not None and threads < 1:
            raise ValueError(f"threads: must be at least 1 (or None), got {threads}")
        self.body, self.max_iter, self.weights, self.tol, self.threads = body, max_iter, weights, tol, threads

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
            return self._fit(loops, target, predicted or {}, sex, age_years)

    def _fit(
        self,
        loops: Mapping[str, BaryLoop],
        target: Mapping[str, float],
        predicted: Mapping[str, tuple[float, float, float]],
        sex: Sex,
        age_years: float | None,
    ) -> FitResult:
        start = time.perf_counter()
        reported = {k: v for k, v in predicted.items() if k not in target}
        unknown = [n for n in list(target) + list(reported) if n not in FITTABLE]
        if unknown:
            raise ValueError(f"target: cannot fit {unknown}; fittable measurements are {list(FITTABLE)}")
        body = self.body
        targets = Targets.build(target, reported)
        base = body.default_shape(sex, age_years).double()
        lo, hi = (b.double() for b in body.shape_bounds())
        free = torch.tensor([body.shape_names.index(n) for n in body.free_parameters()])
        prior, span = base[free], (hi - lo)[free]
        measurer = MeshMeasurer(body, loops, targets.names, base, free)
        weights, tol = self.weights, self.tol

        def evaluate(p: torch.Tensor) -> Evaluation:
            m, derivative = measurer(p)
            return Evaluation(
                residuals(targets, weights, m, p, prior, span),
                lambda: residual_jacobian(targets, weights, m, derivative(), span),
                targets.met(m, tol, weights.margin / 2.0),
            )

        solution = levenberg_marquardt(evaluate, prior.clone(), lo[free], hi[free], max_iter=self.max_iter)
        shape = base.index_put((free,), solution.x)
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
            predicted={k: Interval(*v) for k, v in reported.items()},
            achieved={k: float(v[0]) for k, v in achieved.items()},
            iterations=solution.iterations,
            seconds=time.perf_counter() - start,
        )
        log.debug("fit in %d iterations (%d steps rejected), %.3f s", solution.iterations, solution.rejected,
                  result.seconds)
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
