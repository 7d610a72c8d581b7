"""The physical size layer: latent true sizes whose gap sets P(small / fit / large) with a floored slope.

Why a structural layer: in historic fit feedback the size barely moves the outcome in the physical
direction, because shoppers size up for items they expect to run small. A model that learns the size
effect from that data stays flat (see docs/sizing.md). Here the size effect is part of the model's form:

- every shopper has a latent size per size scale, ``s = body(x) + u``: a ridge regression from the body
  (so a new visitor with only height and weight gets one) plus her own offset ``u``, learned from her fit
  feedback and shrunk to 0. ``u`` is her *fit preference*: a shopper who keeps sizes above what her
  measurements suggest likes roomier fits;
- every item has an offset ``o`` in size steps ("runs one size small" is ``o = +1``), shrunk to 0, and an
  item-size's latent size is its position on the scale minus ``o``;
- when the row has a size chart and the shopper's measurements, the item-size's latent gap comes from the
  ease instead: ``min over key measurements of (chart − body − tolerance) / grade`` in steps, still
  corrected by ``o`` (a mis-charted item) and ``u`` (preference);
- with the gap ``g`` (item-size latent − shopper latent, in steps, positive = roomier), the two stages of
  the continuation-ratio form used by :mod:`sizing.model` are
  ``a = θs − ks·g`` (logit of P(small)) and ``b = θl + kl·g`` (logit of P(large | not small)),
  with slopes ``ks, kl >= K_MIN`` (box constraints of the optimiser): the data can steepen them but
  never flatten them below ``K_MIN``.

Everything is fitted jointly by L-BFGS on the penalised likelihood; outcome columns are read only as
training labels.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from sizing.features import CHART_MEASUREMENTS
from sizing.scales import category_scale
from sizing.schema import SHOPPER_NUMERIC

log = logging.getLogger(__name__)

#: the floor of both slopes, in logits per size step (sizing.scales: one size step is 1.0 on every scale)
K_MIN: Final = 0.8
#: the ease (garment − body, cm) a regular fit wants, per category family and measurement; the learned
#: thresholds absorb a common shift, so these set only how measurements compare within a family
EASE_TOLERANCE_CM: Final[dict[str, dict[str, float]]] = {
    "dress": {"bust_girth": 5.0, "waist_girth": 4.0, "hip_girth": 5.0},
    "top": {"bust_girth": 8.0, "waist_girth": 8.0, "hip_girth": 8.0},
    "bottom": {"bust_girth": 0.0, "waist_girth": 2.0, "hip_girth": 4.0},
    "bra": {"bust_girth": 0.0, "waist_girth": 0.0, "hip_girth": 0.0},
}
#: which measurements bind, per family (a skirt's bust ease is meaningless)
KEY_MEASUREMENTS: Final[dict[str, tuple[str, ...]]] = {
    "dress": ("bust_girth", "waist_girth", "hip_girth"),
    "top": ("bust_girth", "waist_girth"),
    "bottom": ("waist_girth", "hip_girth"),
    "bra": ("bust_girth",),
}
DEFAULT_GRADE_CM: Final = 5.0
#: L2 penalties (pseudo-observations) on shopper offsets, item offsets, category thresholds, body slopes
L2_SHOPPER: Final = 1.0
L2_ITEM: Final = 2.0
L2_CATEGORY: Final = 5.0
L2_BODY: Final = 1.0
Cols = Mapping[str, Sequence[object] | np.ndarray]
#: |u| at or beyond this many steps is a tight or loose preference in words
PREFERENCE_STEPS: Final = 0.5
BODY_TEXT: Final = ("body_type",)


def chart_column(measurement: str) -> str:
    """The per-row column holding the garment's chart value (cm) at the row's size."""
    return f"chart_{measurement}_cm"


def family(scale: object) -> str:
    """The ease-tolerance family of a scale name (unknown scales behave like dresses)."""
    text = str(scale) if scale is not None else ""
    return text if text in EASE_TOLERANCE_CM else "dress"


@dataclass(frozen=True)
class LayerParts:
    """Per row: the pieces of the gap, for explanations (steps unless named cm)."""

    gap: np.ndarray  # item-size latent − shopper latent; > 0 roomier
    shopper_size: np.ndarray  # the size she is most likely to keep on a true-to-size item (NaN on chart rows)
    body_size: np.ndarray  # the same from her measurements alone
    preference: np.ndarray  # u: her offset from what her measurements suggest (steps), 0 if unknown
    known_shopper: np.ndarray  # bool: u was learned from her own feedback
    item_offset: np.ndarray  # o: > 0 runs small (steps)
    chart_gap: np.ndarray  # steps from the chart's ease (NaN without chart or body)
    chart_measurement: np.ndarray  # object: the binding measurement, or None
    chart_ease_cm: np.ndarray  # chart − body at the binding measurement (cm)
    a: np.ndarray  # logit P(small)
    b: np.ndarray  # logit P(large | not small)


def _text(cols: Cols, name: str, n: int) -> np.ndarray:
    values = cols.get(name)
    return np.full(n, None, dtype=object) if values is None else np.asarray(values, dtype=object)


def _float(cols: Cols, name: str, n: int) -> np.ndarray:
    values = cols.get(name)
    return np.full(n, np.nan) if values is None else np.asarray(values, dtype=float)


def _keys(*parts: np.ndarray) -> np.ndarray:
    """Row keys joining several text columns ("a|b"); None when any part is missing."""
    out = np.empty(len(parts[0]), dtype=object)
    for i, values in enumerate(zip(*parts, strict=True)):
        out[i] = None if any(v is None for v in values) else "|".join(str(v) for v in values)
    return out


def _index(index: dict[str, int], keys: np.ndarray) -> np.ndarray:
    return np.fromiter((index.get(k, -1) if k is not None else -1 for k in keys), np.int64, len(keys))


class SizeLayer:
    """Latent sizes, item offsets and fit preferences (see the module docstring); ``fit`` then ``parts``."""

    def __init__(self, *, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    # ------------------------------------------------------------------ design
    def _scales(self, cols: Cols, n: int) -> np.ndarray:
        """Each row's size scale: the ``size_scale`` column where given, else its category's family."""
        given = _text(cols, "size_scale", n)
        cats = _text(cols, "category", n)
        memo: dict[object, str] = {}
        out = np.empty(n, dtype=object)
        for i, (s, c) in enumerate(zip(given, cats, strict=True)):
            if s is None:
                s = memo.get(c)
                if s is None:
                    s = memo[c] = category_scale(c)
            out[i] = s
        return out

    def _body(self, cols: Cols, n: int) -> np.ndarray:
        """Standardised measurements (missing → mean, with an indicator), body type one-hot, intercept."""
        parts = []
        for j, name in enumerate(SHOPPER_NUMERIC):
            v = _float(cols, name, n)
            miss = np.isnan(v)
            parts += [np.where(miss, 0.0, (v - self.body_mean_[j]) / self.body_std_[j]), miss.astype(float)]
        types = _text(cols, "body_type", n)
        parts += [(types == t).astype(float) for t in self.body_types_]
        parts.append(np.ones(n))
        return np.column_stack(parts)

    def _chart(self, cols: Cols, scales: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
        """Chart gap (steps), its binding measurement and ease (cm) per row; NaN/None without a chart."""
        gaps = np.full((n, len(CHART_MEASUREMENTS)), np.nan)
        eases = np.full((n, len(CHART_MEASUREMENTS)), np.nan)
        fams = np.array([family(s) for s in scales], dtype=object)
        for j, m in enumerate(CHART_MEASUREMENTS):
            ease = _float(cols, chart_column(m), n) - _float(cols, f"{m}_cm", n)
            tol = np.array([EASE_TOLERANCE_CM[f][m] for f in fams])
            key = np.array([m in KEY_MEASUREMENTS[f] for f in fams])
            eases[:, j] = np.where(key, ease, np.nan)
            gaps[:, j] = np.where(key, (ease - tol) / self.grade_cm_[m], np.nan)
        has = ~np.isnan(gaps).all(axis=1)
        binding = np.where(has[:, None], np.nan_to_num(gaps, nan=np.inf), 0.0).argmin(axis=1)
        rows = np.arange(n)
        gap = np.where(has, gaps[rows, binding], np.nan)
        which = np.array([CHART_MEASUREMENTS[k] if h else None for k, h in zip(binding, has, strict=True)],
                         dtype=object)  # fmt: skip
        return gap, which, np.where(has, eases[rows, binding], np.nan)

    def _grades(self, cols: Cols, n: int) -> dict[str, float]:
        """cm per size step of each measurement: the median within-item chart slope, else a default."""
        steps = _float(cols, "size_num", n)
        items = _text(cols, "item_id", n)
        grades = {}
        for m in CHART_MEASUREMENTS:
            cm = _float(cols, chart_column(m), n)
            ok = ~np.isnan(cm) & ~np.isnan(steps)
            frame = pd.DataFrame({"i": items[ok], "z": steps[ok], "cm": cm[ok]}).drop_duplicates(["i", "z"])
            slopes = []
            for _, g in frame.groupby("i", sort=False):
                if g["z"].nunique() >= 2:
                    slopes.append(np.polyfit(g["z"], g["cm"], 1)[0])
            positive = [s for s in slopes if s > 0]
            grades[m] = float(np.median(positive)) if positive else DEFAULT_GRADE_CM
        return grades

    # ------------------------------------------------------------------ fit
    def fit(self, cols: Cols, labels: np.ndarray) -> SizeLayer:
        """Fit on labelled rows (columns as :func:`sizing.features.as_columns` gives them)."""
        n = len(labels)
        numeric = np.column_stack([_float(cols, c, n) for c in SHOPPER_NUMERIC])
        with warnings.catch_warnings():  # a measurement nobody gave (all NaN) becomes 0 / 1 below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(numeric, axis=0), np.nanstd(numeric, axis=0)
        self.body_mean_ = np.nan_to_num(mean)
        self.body_std_ = np.where(np.nan_to_num(std) > 0, np.nan_to_num(std), 1.0)
        types = pd.Series(_text(cols, "body_type", n)).dropna().astype(str)
        self.body_types_ = sorted(types.unique())
        self.grade_cm_ = self._grades(cols, n)

        scales = self._scales(cols, n)
        self.scales_ = {s: i for i, s in enumerate(sorted(set(scales)))}
        shoppers = _text(cols, "shopper_id", n)  # one preference per shopper, across her scales
        self.shoppers_ = {k: i for i, k in enumerate(pd.unique(shoppers[shoppers != None]))}  # noqa: E711
        items = _text(cols, "item_id", n)
        self.items_ = {k: i for i, k in enumerate(pd.unique(items[items != None]))}  # noqa: E711
        cats = _text(cols, "category", n)
        self.categories_ = {k: i for i, k in enumerate(pd.unique(cats[cats != None]))}  # noqa: E711

        X = self._body(cols, n)
        z = _float(cols, "size_num", n)
        chart_gap = self._chart(cols, scales, n)[0]
        has_chart = ~np.isnan(chart_gap)
        z = np.where(np.isnan(z) & ~has_chart, 0.0, z)
        si, ci = _index(self.shoppers_, shoppers), _index(self.categories_, cats)
        ii, ki = _index(self.items_, items), np.array([self.scales_[s] for s in scales])
        small, large = labels == "small", labels == "large"
        ns, ni, nc, nk, d = (
            len(self.shoppers_),
            len(self.items_),
            len(self.categories_),
            len(self.scales_),
            X.shape[1],
        )
        # parameter vector: u | o | β (nk × d) | θc_s, θc_l (nc each) | θs, θl, ks, kl
        at = np.cumsum([0, ns, ni, nk * d, nc, nc, 4])
        has_s, has_i, has_c = si >= 0, ii >= 0, ci >= 0
        si0, ii0, ci0 = np.maximum(si, 0), np.maximum(ii, 0), np.maximum(ci, 0)
        body_rows = ~has_chart
        scale_rows = [(X[rows], rows) for rows in (np.flatnonzero(body_rows & (ki == k)) for k in range(nk))]

        def unpack(theta: np.ndarray) -> tuple[np.ndarray, ...]:
            u, o = theta[at[0] : at[1]], theta[at[1] : at[2]]
            beta = theta[at[2] : at[3]].reshape(nk, d)
            tcs, tcl = theta[at[3] : at[4]], theta[at[4] : at[5]]
            return u, o, beta, tcs, tcl, theta[at[5] :]

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            u, o, beta, tcs, tcl, (ts, tl, k_s, k_l) = unpack(theta)
            body = np.einsum("nd,nd->n", X, beta[ki])
            g = np.where(has_chart, np.nan_to_num(chart_gap), z - body)
            g = g - np.where(has_i, o[ii0], 0.0) - np.where(has_s, u[si0], 0.0)
            a = ts + np.where(has_c, tcs[ci0], 0.0) - k_s * g
            b = tl + np.where(has_c, tcl[ci0], 0.0) + k_l * g
            sa, sb = expit(a), expit(b)
            nll = -np.where(small, log_expit(a), log_expit(-a) + np.where(large, log_expit(b), log_expit(-b)))
            da = np.where(small, sa - 1.0, sa)
            db = np.where(small, 0.0, np.where(large, sb - 1.0, sb))
            dg = -k_s * da + k_l * db
            grad = np.zeros_like(theta)
            grad[at[0] : at[1]] = -np.bincount(si0[has_s], dg[has_s], ns) + 2 * L2_SHOPPER * u
            grad[at[1] : at[2]] = -np.bincount(ii0[has_i], dg[has_i], ni) + 2 * L2_ITEM * o
            gb = np.stack([-(Xk.T @ dg[rows]) for Xk, rows in scale_rows])
            reg = beta.copy()
            reg[:, -1] = 0.0  # the intercept (where sizes sit on the scale) is not shrunk
            grad[at[2] : at[3]] = (gb + 2 * L2_BODY * reg).ravel()
            grad[at[3] : at[4]] = np.bincount(ci0[has_c], da[has_c], nc) + 2 * L2_CATEGORY * tcs
            grad[at[4] : at[5]] = np.bincount(ci0[has_c], db[has_c], nc) + 2 * L2_CATEGORY * tcl
            grad[at[5] :] = [da.sum(), db.sum(), (-g * da).sum(), (g * db).sum()]
            penalty = L2_SHOPPER * u @ u + L2_ITEM * o @ o + L2_BODY * (reg * reg).sum()
            penalty += L2_CATEGORY * (tcs @ tcs + tcl @ tcl)
            return float(nll.sum() + penalty), grad

        theta0 = np.zeros(at[-1])
        beta0 = np.zeros((nk, d))
        for s, k in self.scales_.items():
            rows = (scales == s) & body_rows
            beta0[k, -1] = float(np.median(z[rows])) if rows.any() else 0.0
        theta0[at[2] : at[3]] = beta0.ravel()
        theta0[at[5] :] = [-2.0, -2.0, 1.0, 1.0]
        bounds = [(None, None)] * (at[-1] - 2) + [(K_MIN, None), (K_MIN, None)]
        result = minimize(
            loss,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": self.max_iter, "maxcor": 5},
        )
        self.n_iter_ = int(result.nit)
        log.info("size layer: %d iterations, loss %.1f (%s)", result.nit, result.fun, result.message)
        u, o, beta, tcs, tcl, tail = unpack(result.x)
        self.u_, self.o_, self.beta_ = u.copy(), o.copy(), beta.copy()
        self.theta_cat_ = np.column_stack([tcs, tcl])
        self.theta_ = (float(tail[0]), float(tail[1]))
        self.slopes_ = (float(tail[2]), float(tail[3]))
        grid = np.linspace(-12.0, 12.0, 2401)
        ps, pl = (
            expit(self.theta_[0] - self.slopes_[0] * grid),
            expit(self.theta_[1] + self.slopes_[1] * grid),
        )
        # the gap at which P(fit) peaks: the thresholds and the latent sizes trade off, so "her size" is
        # her latent size plus this, the garment position she is most likely to keep
        self.center_ = float(grid[np.argmax((1 - ps) * (1 - pl))])
        # usual size per shopper and scale: the median ordered size (what the baseline and the words use)
        frame = pd.DataFrame({"k": _keys(shoppers, scales), "z": _float(cols, "size_num", n)}).dropna()
        self.usual_ = frame.groupby("k")["z"].median().to_dict()
        return self

    # ------------------------------------------------------------------ use
    def parts(self, cols: Cols) -> LayerParts:
        """The gap, its pieces and both stage logits for each row."""
        n = len(cols["size_num"])
        scales = self._scales(cols, n)
        ki = np.array([self.scales_.get(s, -1) for s in scales])
        beta = np.where((ki >= 0)[:, None], self.beta_[np.maximum(ki, 0)], self.beta_.mean(axis=0))
        body = np.einsum("nd,nd->n", self._body(cols, n), beta)
        si = _index(self.shoppers_, _text(cols, "shopper_id", n))
        ii = _index(self.items_, _text(cols, "item_id", n))
        ci = _index(self.categories_, _text(cols, "category", n))
        u = np.where(si >= 0, self.u_[np.maximum(si, 0)], 0.0)
        o = np.where(ii >= 0, self.o_[np.maximum(ii, 0)], 0.0)
        chart_gap, binding, ease = self._chart(cols, scales, n)
        z = _float(cols, "size_num", n)
        g = np.where(np.isnan(chart_gap), z - body, chart_gap) - o - u
        tc = np.where((ci >= 0)[:, None], self.theta_cat_[np.maximum(ci, 0)], 0.0)
        a = self.theta_[0] + tc[:, 0] - self.slopes_[0] * g
        b = self.theta_[1] + tc[:, 1] + self.slopes_[1] * g
        return LayerParts(
            gap=g,
            shopper_size=np.where(np.isnan(chart_gap), body + u + self.center_, np.nan),
            body_size=body + self.center_,
            preference=u,
            known_shopper=si >= 0,
            item_offset=o,
            chart_gap=chart_gap,
            chart_measurement=binding,
            chart_ease_cm=ease,
            a=a,
            b=b,
        )

    def usual_size(self, shopper_id: str | None, scale: str | None) -> float | None:
        """The shopper's median ordered size on this scale in the training data, or None."""
        if shopper_id is None:
            return None
        value = self.usual_.get(f"{shopper_id}|{scale if scale is not None else 'dress'}")
        return None if value is None else float(value)

    def proba(self, cols: Cols) -> np.ndarray:
        """(n, 3) small / fit / large from the layer alone."""
        p = self.parts(cols)
        ps, pl = expit(p.a), expit(p.b)
        return np.column_stack([ps, (1 - ps) * (1 - pl), (1 - ps) * pl])


def preference_word(steps: float) -> str:
    """tight / regular / loose, from her offset against what her measurements suggest."""
    if steps >= PREFERENCE_STEPS:
        return "loose"
    if steps <= -PREFERENCE_STEPS:
        return "tight"
    return "regular"
