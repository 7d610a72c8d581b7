"""Measurement completion: predict the body measurements a shopper did not give, with an interval.

The model is a mixture of Gaussians over ``log`` of every length and mass plus age, a few
components per sex. Conditioning a Gaussian mixture on whichever values are given is exact for ANY
subset, so one fitted model serves every combination of inputs without per-subset models. Log space
makes the spread proportional to size and turns the power laws between mass and girths into lines.

Two populations feed it, because neither alone describes shoppers:

- the *core* (stature, mass, waist, age) comes from a general-population sample (NHANES): a
  Gaussian mixture per sex, components chosen by BIC, so heavy and older bodies get their own
  waist-to-mass relation instead of a soldier's;
- every other girth and length comes from ANSUR II, as its Gaussian *conditioned on the core*:
  ``others = a + B·core + c·h² + s(h)·noise``, ``h`` the log BMI about ANSUR's mean. ANSUR's hip is
  thus predicted from the civilian waist the core implies, not from what a soldier of that stature
  and mass would have; ``c·h²`` bends the straight log-log lines for the heaviest and lightest
  bodies, and ``s(h) = exp(γ·h)`` widens or narrows the interval with BMI (heavy bodies vary more).
  BMI is known whenever completion runs (stature and mass are required), so every component stays
  an exact Gaussian for each body.

Without a general-population frame the core comes from ANSUR itself: one Gaussian per sex (the
ANSUR-only model, kept as a reference). When sex is not given, the components of both sexes are
mixed by their posterior given the measurements, with ``female_prior`` as the prior.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy.special import logsumexp, ndtr, ndtri
from sklearn.base import BaseEstimator
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted

from avatar.completion.ansur import MEASUREMENTS, UNMAPPED

FORMAT_VERSION = 3
REQUIRED = ("stature_cm", "body_mass_kg")
CORE = ("stature_cm", "body_mass_kg", "waist_girth_cm", "age_years")
SEXES = ("female", "male")
SEX_VALUES = (*SEXES, "unspecified")
# Ages are whole years and NHANES writes 80 for "80 and over"; spreading each over its real span
# keeps a mixture component from collapsing onto one age value.
TOP_CODED_AGE, TOP_CODED_SPAN = 80.0, 5.0
FITTED_OTHERS = ("a", "b", "c", "gamma", "r")  # what :func:`_fit_others` returns, in order


@dataclass(frozen=True)
class Prediction:
    """One completed measurement in cm: the conditional mean and a quantile interval (lo < mean < hi)."""

    mean: float
    lo: float
    hi: float


class CompletionModel(BaseEstimator):
    """Gaussian mixture over (log measurements, age); predicts any missing value from any given subset.

    Args:
        quantiles: the (lower, upper) quantiles reported as ``lo`` and ``hi``; (0.1, 0.9) is an 80 %
            interval.
        female_prior: prior probability of ``female`` when sex is not given. 0.5 rather than ANSUR's
            33 %, because the Army's sex ratio says nothing about shoppers.
        max_components: the most mixture components per sex tried for the general-population core.
        seed: seeds the mixture fit and the spreading of whole-year ages, so a fit is reproducible.
    """

    def __init__(
        self,
        *,
        quantiles: tuple[float, float] = (0.1, 0.9),
        female_prior: float = 0.5,
        max_components: int = 8,
        seed: int = 0,
    ) -> None:
        self.quantiles = quantiles
        self.female_prior = female_prior
        self.max_components = max_components
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(self, df: pd.DataFrame, population: pd.DataFrame | None = None) -> CompletionModel:
        """Fit on ``df`` (ANSUR-like: every girth) and, if given, the core from ``population``.

        Both frames are in vocabulary columns (cm, kg, years) with ``sex``; ``df`` needs stature,
        mass, waist and age, and every other vocabulary measurement in it becomes predictable;
        ``population`` needs the :data:`CORE` columns. Rows with missing values are dropped.
        """
        self._check_params()
        missing = [c for c in (*CORE, "sex") if c not in df.columns]
        if missing:
            raise ValueError(f"training frame lacks columns {missing}")
        names = [c for c in MEASUREMENTS if c in df.columns]
        variables = [*names, "age_years"]
        data = _clean(df, variables, "training frame")
        core_idx = [variables.index(c) for c in CORE]
        pop = None
        if population is not None:
            absent = [c for c in (*CORE, "sex") if c not in population.columns]
            if absent:
                raise ValueError(f"population frame lacks columns {absent}")
            pop = _clean(population, list(CORE), "population frame")
        rng = np.random.default_rng(self.seed)
        other_idx = [i for i in range(len(variables)) if i not in core_idx]
        comp_sex, log_weights, core_means, core_covs = [], [], [], []
        others: dict[str, list[np.ndarray]] = {k: [] for k in (*FITTED_OTHERS, "bmi")}
        for s, sex in enumerate(SEXES):
            part = data[data["sex"] == sex]
            if len(part) < 10 * len(variables):
                raise ValueError(f"need at least {10 * len(variables)} {sex} rows to fit, got {len(part)}")
            z = _transform(part[variables].to_numpy(float), n_logged=len(names))
            log_bmi = _log_bmi(part["stature_cm"].to_numpy(float), part["body_mass_kg"].to_numpy(float))
            center = float(log_bmi.mean())
            h = log_bmi - center
            for key, value in zip(
                FITTED_OTHERS, _fit_others(z[:, core_idx], z[:, other_idx], h), strict=True
            ):
                others[key].append(value)
            others["bmi"].append(np.array([center, h.min(), h.max()]))
            if pop is None:
                cores = [(0.0, z[:, core_idx].mean(axis=0), np.cov(z[:, core_idx], rowvar=False))]
            else:
                rows = pop[pop["sex"] == sex][list(CORE)].to_numpy(float)
                if len(rows) < 100:
                    raise ValueError(f"need at least 100 {sex} rows in the population frame, got {len(rows)}")
                cores = self._core_mixture(rows, rng)
            for log_w, core_mean, core_cov in cores:
                comp_sex.append(s)
                log_weights.append(log_w)
                core_means.append(core_mean)
                core_covs.append(core_cov)
        ages = (data if pop is None else pop)["age_years"]
        self.variables_ = variables
        self.n_logged_ = len(names)
        self.comp_sex_ = np.array(comp_sex, dtype=int)
        self.log_weights_ = np.array(log_weights)
        self.core_means_ = np.stack(core_means)
        self.core_covs_ = np.stack(core_covs)
        self.others_ = {key: np.stack(v) for key, v in others.items()}
        self.age_range_ = (float(ages.min()), float(ages.max()))
        self.n_train_ = int(len(data))
        self.n_population_ = 0 if pop is None else int(len(pop))
        return self

    def _check_params(self) -> None:
        lo_q, hi_q = self.quantiles
        if not 0.0 < lo_q < hi_q < 1.0:
            raise ValueError(f"quantiles must satisfy 0 < lo < hi < 1, got {self.quantiles}")
        if not 0.0 < self.female_prior < 1.0:
            raise ValueError(f"female_prior must be in (0, 1), got {self.female_prior}")
        if self.max_components < 1:
            raise ValueError(f"max_components must be >= 1, got {self.max_components}")

    def _core_mixture(
        self, rows: np.ndarray, rng: np.random.Generator
    ) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """(log weight, mean, cov) of the BIC-best Gaussian mixture over the transformed core rows."""
        age = rows[:, -1]
        span = np.where(age >= TOP_CODED_AGE, TOP_CODED_SPAN, 1.0)
        z = _transform(np.column_stack([rows[:, :-1], age + rng.uniform(0.0, 1.0, len(age)) * span]), 3)
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=self.seed).fit(z)
            for k in range(1, self.max_components + 1)
        ]
        best = min(fits, key=lambda g: g.bic(z))
        return [
            (float(np.log(w)), m, c)
            for w, m, c in zip(best.weights_, best.means_, best.covariances_, strict=True)
        ]

    @property
    def targets_(self) -> list[str]:
        """The measurements this model can complete (cm / kg)."""
        check_is_fitted(self, "core_means_")
        return list(self.variables_[: self.n_logged_])

    # ------------------------------------------------------------------ prediction
    def predict(self, given: Mapping[str, float | str | None]) -> dict[str, Prediction]:
        """Complete one body: every known measurement not in ``given``, with its interval.

        ``given`` holds vocabulary names (cm, kg), optionally ``sex`` (female / male / unspecified)
        and ``age_years``; a ``None`` value counts as not given. ``stature_cm`` and ``body_mass_kg``
        are required. Names the model cannot use (``underbust_girth_cm``, which ANSUR lacks) are
        accepted and ignored.
        """
        check_is_fitted(self, "core_means_")
        clean = self._validate(given)
        given_vars = [v for v in self.variables_ if v in clean]
        x = np.array([[float(clean[v]) for v in given_vars]])
        sex = np.array([_sex_code(clean.get("sex"))])
        targets, mean, lo, hi = self._complete(given_vars, x, sex)
        return {
            name: Prediction(float(mean[0, j]), float(lo[0, j]), float(hi[0, j]))
            for j, name in enumerate(targets)
        }

    def predict_frame(self, df: pd.DataFrame, given_cols: Sequence[str]) -> dict[str, pd.DataFrame]:
        """Batch completion: for each row of ``df``, condition on the columns ``given_cols``.

        Returns ``{target: DataFrame(mean, lo, hi)}`` indexed like ``df``, for each known measurement
        not in ``given_cols``. A ``sex`` that is absent, NaN or ``unspecified`` gives the mixture.
        """
        check_is_fitted(self, "core_means_")
        given_vars = [v for v in self.variables_ if v in given_cols]
        x = df[given_vars].to_numpy(float)
        if "sex" in given_cols:
            sex = np.array([_sex_code(None if pd.isna(v) else v) for v in df["sex"]], dtype=int)
        else:
            sex = np.full(len(df), -1)
        targets, mean, lo, hi = self._complete(given_vars, x, sex)
        return {
            name: pd.DataFrame({"mean": mean[:, j], "lo": lo[:, j], "hi": hi[:, j]}, index=df.index)
            for j, name in enumerate(targets)
        }

    def _complete(
        self, given_vars: list[str], x: np.ndarray, sex: np.ndarray
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Condition every component on ``x`` (N, G) and mix them by their posterior.

        ``sex`` (N,) is 0 female, 1 male, -1 unknown; a known sex keeps only its own components.
        Returns the target names and (N, T) arrays of mean, lo and hi in cm.
        """
        for req in REQUIRED:
            if req not in given_vars:
                raise ValueError(f"{req} must be given; it is required for completion")
        targets = [v for v in self.targets_ if v not in given_vars]
        slot = self._slots()
        gi = [slot[v] for v in given_vars]
        ti = [slot[v] for v in targets]
        x = x.copy()
        if "age_years" in given_vars:
            col = given_vars.index("age_years")
            x[:, col] = np.clip(x[:, col], *self.age_range_)  # the data say nothing outside it
        z = _transform(x, n_logged=sum(1 for v in given_vars if v != "age_years"))

        n_comp = len(self.comp_sex_)
        log_bmi = _log_bmi(x[:, given_vars.index("stature_cm")], x[:, given_vars.index("body_mass_kg")])
        mu = np.empty((n_comp, len(x), len(ti)))  # conditional mean in log space
        sd = np.empty((n_comp, len(x), len(ti)))  # conditional sd
        loglik = np.empty((n_comp, len(x)))
        sex_prior = np.log([self.female_prior, 1.0 - self.female_prior])
        for k in range(n_comp):
            m, c = self._joint(k, log_bmi)
            c_gg = c[:, gi][:, :, gi]
            c_gt = c[:, gi][:, :, ti]
            inv_gg = np.linalg.inv(c_gg)
            gain = inv_gg @ c_gt  # (N, given, targets)
            resid = z - m[:, gi]
            mu[k] = m[:, ti] + np.einsum("ngt,ng->nt", gain, resid)
            sd[k] = np.sqrt(
                np.diagonal(c[:, ti][:, :, ti], axis1=1, axis2=2) - np.einsum("ngt,ngt->nt", gain, c_gt)
            )
            _, logdet = np.linalg.slogdet(c_gg)
            maha = np.einsum("ng,ngh,nh->n", resid, inv_gg, resid)
            loglik[k] = -0.5 * (maha + logdet) + self.log_weights_[k] + sex_prior[self.comp_sex_[k]]
        known = sex >= 0
        other_sex = known[None, :] & (self.comp_sex_[:, None] != sex[None, :])
        loglik[other_sex] = -np.inf
        post = np.exp(loglik - logsumexp(loglik, axis=0))

        w = post[:, :, None]  # (C, N, 1)
        mean = (w * np.exp(mu + sd**2 / 2)).sum(axis=0)
        lo = np.exp(_mixture_quantile(w, mu, sd, self.quantiles[0]))
        hi = np.exp(_mixture_quantile(w, mu, sd, self.quantiles[1]))
        return targets, mean, lo, hi

    def _slots(self) -> dict[str, int]:
        """Where each variable sits in :meth:`_joint`'s arrays: the core first, then the others."""
        others = [v for v in self.variables_ if v not in CORE]
        return {v: i for i, v in enumerate((*CORE, *others))}

    def _joint(self, k: int, log_bmi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Component ``k``'s Gaussian for each body: means (N, V), covs (N, V, V), in :meth:`_slots` order.

        The core is the component's own; the others follow ``a + B·core + c·h²`` with noise
        ``s(h)·e``, ``e ~ N(0, R)``, so the covariance is ``[[S, S·Bᵀ], [B·S, B·S·Bᵀ + s·R·s]]``.
        """
        sex = self.comp_sex_[k]
        a, b, c, gamma, r = (self.others_[key][sex] for key in FITTED_OTHERS)
        center, h_lo, h_hi = self.others_["bmi"][sex]
        h = np.clip(log_bmi - center, h_lo, h_hi)  # ANSUR says nothing outside its BMI range
        core_mean, core_cov = self.core_means_[k], self.core_covs_[k]
        n, n_core, n_var = len(h), len(CORE), len(self.variables_)
        cross = b @ core_cov  # cov(others, core)
        scale = np.exp(gamma[None, :] * h[:, None])  # (N, O)
        mean = np.empty((n, n_var))
        mean[:, :n_core] = core_mean
        mean[:, n_core:] = a + b @ core_mean + c * (h**2)[:, None]
        cov = np.empty((n, n_var, n_var))
        cov[:, :n_core, :n_core] = core_cov
        cov[:, n_core:, :n_core] = cross
        cov[:, :n_core, n_core:] = cross.T
        cov[:, n_core:, n_core:] = cross @ b.T + scale[:, :, None] * r * scale[:, None, :]
        return mean, cov

    def _validate(self, given: Mapping[str, float | str | None]) -> dict[str, float | str]:
        """Reject what cannot be a body; keep only what the model uses."""
        known = {*self.variables_, "sex", *UNMAPPED}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"unknown measurement names {unknown}; expected some of {sorted(known)}")
        for req in REQUIRED:
            if given.get(req) is None:
                raise ValueError(f"{req} is required for completion")
        clean: dict[str, float | str] = {}
        for name, value in given.items():
            if value is None:
                continue  # not given
            if name == "sex":
                if value not in SEX_VALUES:
                    raise ValueError(f"sex must be one of {SEX_VALUES}, got {value!r}")
                clean[name] = value
                continue
            if name in UNMAPPED:
                continue
            if isinstance(value, str) or not math.isfinite(float(value)) or float(value) <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
            clean[name] = float(value)
        return clean

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        """Write the learned numbers (no pickled classes, so a refactor never breaks loading).

        The file is written under a temporary name and renamed into place, so another process
        reading ``path`` sees the old model or the new one, never half of one.
        """
        check_is_fitted(self, "core_means_")
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "variables": self.variables_,
            "n_logged": self.n_logged_,
            "comp_sex": self.comp_sex_,
            "log_weights": self.log_weights_,
            "core_means": self.core_means_,
            "core_covs": self.core_covs_,
            "others": self.others_,
            "age_range": self.age_range_,
            "n_train": self.n_train_,
            "n_population": self.n_population_,
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                joblib.dump(state, f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> CompletionModel:
        """Read a model written by :meth:`save`; a different format version is refused."""
        state = joblib.load(path)
        if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
            found = state.get("format_version") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{path}: format_version {found} != {FORMAT_VERSION}; retrain it")
        model = cls(**state["params"])
        model.variables_ = list(state["variables"])
        model.n_logged_ = int(state["n_logged"])
        model.comp_sex_ = np.asarray(state["comp_sex"], dtype=int)
        model.log_weights_ = np.asarray(state["log_weights"])
        model.core_means_ = np.asarray(state["core_means"])
        model.core_covs_ = np.asarray(state["core_covs"])
        model.others_ = {key: np.asarray(v) for key, v in state["others"].items()}
        model.age_range_ = tuple(state["age_range"])
        model.n_train_ = int(state["n_train"])
        model.n_population_ = int(state["n_population"])
        return model


def _clean(df: pd.DataFrame, variables: list[str], what: str) -> pd.DataFrame:
    """The rows of ``df`` with every variable and a known sex; lengths and mass must be > 0."""
    data = df[[*variables, "sex"]].dropna()
    if not set(data["sex"]) <= set(SEXES):
        raise ValueError(f"{what}: sex must be one of {SEXES}, got {sorted(set(data['sex']) - set(SEXES))}")
    logged = [v for v in variables if v != "age_years"]
    if (data[logged] <= 0).to_numpy().any():
        raise ValueError(f"{what}: measurements must all be > 0 (they are modelled in log space)")
    return data


def _fit_others(core: np.ndarray, other: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, ...]:
    """Least squares ``other = a + B·core + c·h² + s(h)·e``; returns (a, B, c, γ, R = cov(e)).

    γ is the slope of ``log e²`` on ``h``, halved: the residual spread grows as ``exp(γ·h)``.
    """
    design = np.column_stack([np.ones(len(h)), core, h**2])
    coef, *_ = np.linalg.lstsq(design, other, rcond=None)
    resid = other - design @ coef
    log_sq = np.log(resid**2 + 1e-12)
    gamma = ((h - h.mean()) @ (log_sq - log_sq.mean(axis=0))) / ((h - h.mean()) @ (h - h.mean())) / 2.0
    e = resid / np.exp(gamma[None, :] * h[:, None])
    return coef[0], coef[1:-1].T, coef[-1], gamma, np.cov(e, rowvar=False)


def _log_bmi(stature_cm: np.ndarray, mass_kg: np.ndarray) -> np.ndarray:
    return np.log(mass_kg) - 2.0 * np.log(stature_cm / 100.0)


def _sex_code(sex: object) -> int:
    """0 female, 1 male, -1 not known (absent or ``unspecified``)."""
    if sex is None or sex == "unspecified":
        return -1
    if sex not in SEXES:
        raise ValueError(f"sex must be one of {SEX_VALUES}, got {sex!r}")
    return SEXES.index(str(sex))


def _transform(x: np.ndarray, n_logged: int) -> np.ndarray:
    """Log of the first ``n_logged`` columns (lengths, mass); the rest (age) stay as they are."""
    z = np.asarray(x, dtype=float).copy()
    z[:, :n_logged] = np.log(z[:, :n_logged])
    return z


def _mixture_quantile(w: np.ndarray, mu: np.ndarray, sd: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of a Gaussian mixture, by bisection (exact for a single component).

    It lies between the smallest and largest of its weighted components' own q-quantiles, which
    brackets the search tightly. Shapes: w (C, N, 1), mu (C, N, T), sd (C, N, T). Returns (N, T).
    """
    own = mu + ndtri(q) * sd
    used = np.broadcast_to(w > 0, own.shape)
    lo = np.where(used, own, np.inf).min(axis=0)
    hi = np.where(used, own, -np.inf).max(axis=0)
    for _ in range(40):
        mid = (lo + hi) / 2
        below = (w * ndtr((mid - mu) / sd)).sum(axis=0) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2
