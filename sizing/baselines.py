"""Baselines the size-fit model is scored against, side by side, under the same protocol.

- :class:`ClassPrior`: the training class frequencies for every row (AUC 0.5 by construction).
- :class:`LatentSizeLR`: Sembium et al. (2017) latent "true size" model with the logistic (ordinal)
  loss: the 1-LV-LR baseline of Misra, Wan & McAuley (RecSys 2018).
- LightGBM without shopper or item history is :class:`sizing.model.SizeFitClassifier` with
  ``history=False``; the evaluation builds it there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from sizing.features import FIT_SIGN, _labels
from sizing.schema import FIT_LABELS

log = logging.getLogger(__name__)


class ClassPrior:
    """Predicts the training class frequencies for every row."""

    def fit(self, X: pd.DataFrame, y: Sequence[str] | np.ndarray | pd.Series) -> ClassPrior:
        labels = _labels(y)
        self.classes_ = np.array(FIT_LABELS, dtype=object)
        self.prior_ = np.array([np.mean(labels == c) for c in FIT_LABELS])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile(self.prior_, (len(X), 1))


class LatentSizeLR:
    """1-LV-LR: each shopper c has a true size s_c, each (item, size) product p a true size t_p.

    With δ = s_c − t_p (in size units) and thresholds b1 < b2 (ordinal logistic):
    P(large) = σ(b1 − δ), P(fit) = σ(b2 − δ) − σ(b1 − δ), P(small) = 1 − σ(b2 − δ).
    The scale is fixed (w = 1): with a free w the shopper offsets escape their L2 penalty and the
    model memorises one-order shoppers.
    True sizes start at zero and are learned from the fit feedback alone (L2-penalised, L-BFGS), as
    in the paper; an unseen shopper or product keeps the prior true size 0.
    """

    def __init__(self, *, l2: float = 1.0, max_iter: int = 300) -> None:
        self.l2 = l2
        self.max_iter = max_iter

    @staticmethod
    def _product(X: pd.DataFrame) -> np.ndarray:
        return (X["item_id"].astype(str) + "|" + X["size"].astype(str)).to_numpy()

    def fit(self, X: pd.DataFrame, y: Sequence[str] | np.ndarray | pd.Series) -> LatentSizeLR:
        labels = _labels(y)
        X = X.reset_index(drop=True)
        shoppers = pd.Index(X["shopper_id"].astype(str).unique())
        products = pd.Index(pd.unique(self._product(X)))
        ci = shoppers.get_indexer(X["shopper_id"].astype(str))
        pi = products.get_indexer(self._product(X))
        nc, npr = len(shoppers), len(products)
        code = np.array([FIT_SIGN[v] for v in labels])  # +1 small, 0 fit, -1 large

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            u, v = theta[:nc], theta[nc : nc + npr]
            b1, gamma = theta[nc + npr :]
            w, gap = 1.0, np.exp(gamma)
            delta = u[ci] - v[pi]
            z1, z2 = b1 - w * delta, b1 + gap - w * delta
            s1, s2 = expit(z1), expit(z2)
            p_fit = np.clip(s2 - s1, 1e-12, None)
            log_small = np.log(np.clip(1 - s2, 1e-12, None))
            logp = np.where(
                code < 0, np.log(np.clip(s1, 1e-12, None)), np.where(code > 0, log_small, np.log(p_fit))
            )
            g1 = np.where(code < 0, 1 - s1, np.where(code > 0, 0.0, -s1 * (1 - s1) / p_fit))
            g2 = np.where(code < 0, 0.0, np.where(code > 0, -s2, s2 * (1 - s2) / p_fit))
            d_delta = w * (g1 + g2)  # gradient of −log P with respect to delta
            grad = np.empty_like(theta)
            grad[:nc] = np.bincount(ci, d_delta, nc) + 2 * self.l2 * u
            grad[nc : nc + npr] = -np.bincount(pi, d_delta, npr) + 2 * self.l2 * v
            grad[nc + npr] = -(g1 + g2).sum()
            grad[nc + npr + 1] = -g2.sum() * gap
            value = -logp.sum() + self.l2 * (u @ u + v @ v)
            return float(value), grad

        theta0 = np.zeros(nc + npr + 2)
        theta0[nc + npr] = -4.0
        theta0[nc + npr + 1] = np.log(8.0)
        result = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter})
        log.info("1-LV-LR: %d iterations, loss %.1f", result.nit, result.fun)
        theta = result.x
        self.shoppers_, self.products_ = shoppers, products
        self.u_, self.v_ = theta[:nc], theta[nc : nc + npr]
        self.b1_, self.gap_, self.w_ = theta[nc + npr], np.exp(theta[nc + npr + 1]), 1.0
        self.classes_ = np.array(FIT_LABELS, dtype=object)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        ci = self.shoppers_.get_indexer(X["shopper_id"].astype(str))
        pi = self.products_.get_indexer(self._product(X))
        t = np.where(pi >= 0, self.v_[np.maximum(pi, 0)], 0.0)
        s = np.where(ci >= 0, self.u_[np.maximum(ci, 0)], 0.0)
        delta = s - t
        s1 = expit(self.b1_ - self.w_ * delta)
        s2 = expit(self.b1_ + self.gap_ - self.w_ * delta)
        proba = np.clip(np.column_stack([1 - s2, s2 - s1, s1]), 1e-9, None)
        return proba / proba.sum(axis=1, keepdims=True)
