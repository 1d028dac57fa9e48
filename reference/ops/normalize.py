"""Row normalisation x -> x / sum(x) and the dense Hessian pieces it contributes to cond quantities."""
from __future__ import annotations

import numpy as np

from reference.ext import NAN, X, full, xsum
from reference.ops.common import fvals


def normalize_rows(rows: np.ndarray):
    """(x_hat, Z, bad): x_hat = x / Z with Z = sum(x) per row; bad rows (a non-finite entry, or Z = 0: the
    normalisation is inf/inf or 0/0) are NaN throughout (docs/special-values.md)."""
    f = fvals(rows)
    R, C = f.shape
    bad = ~np.isfinite(f).all(axis=1)
    Z = xsum(rows, axis=1) if C else full((R,), 0)
    for r in range(R):
        if Z[r].is_zero():
            bad[r] = True
    safe_Z = np.where(bad, full((R,), 1), Z)
    x_hat = rows / safe_Z[:, None] if C else rows
    x_hat = np.where(bad[:, None], full((R, C), X(NAN)), x_hat) if C else x_hat
    Z = np.where(bad, full((R,), X(NAN)), Z)
    return x_hat, Z, bad


def jacobian_scaled(x_hat: np.ndarray) -> np.ndarray:
    """(R, C, C) float: Z * d x_hat_i / d x_j = delta_ij - x_hat_i, indexed [r, i, j]."""
    R, C = x_hat.shape
    return np.eye(C)[None, :, :] - x_hat[:, :, None]


def contraction(u: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """(R, C, C) float: Z**2 * sum_i u_i d^2 x_hat_i / dx_j dx_k = -u_j - u_k + 2 sum_i u_i x_hat_i."""
    U = np.sum(u * x_hat, axis=1)
    return -u[:, :, None] - u[:, None, :] + 2 * U[:, None, None]
