"""Slow, literal references written straight from the paper's formulas (Section 1.3).

They form Sigma (d x d) and the projection ``I - Sigma v v' / N^2`` per neuron and
loop over examples: independent of the kernels (no shared code, no GEMM tricks).
For tests only.
"""

from __future__ import annotations

import math

import numpy as np


def relu(z: float) -> float:
    return z if z > 0.0 else 0.0


def relu_prime(z: float) -> float:
    """ReLU'(0) = 0, the library's documented Clarke-differential choice."""
    return 1.0 if z > 0.0 else 0.0


def stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mu and Sigma exactly as Section 1.3 defines them."""
    n = X.shape[0]
    mu = sum(X[i] for i in range(n)) / n
    sigma = sum(np.outer(X[i] - mu, X[i] - mu) for i in range(n)) / n
    return mu, sigma


def N(v: np.ndarray, sigma: np.ndarray, eps: float) -> float:
    return math.sqrt(float(v @ sigma @ v) + eps)


def f(a, c, V, X, x, eps):
    """f(x; W) = sum_j a_j relu(c_j <v_j / N(v_j), x - mu>)."""
    mu, sigma = stats(X)
    out = 0.0
    for j in range(len(a)):
        out += a[j] * relu(c[j] * float(V[j] @ (x - mu)) / N(V[j], sigma, eps))
    return out


def grad_f(a, c, V, X, x, eps):
    """(d_a f, d_c f, d_V f) at x, the three formulas printed in Section 1.3."""
    mu, sigma = stats(X)
    m, d = V.shape
    da = np.zeros(m)
    dc = np.zeros(m)
    dV = np.zeros((m, d))
    xb = x - mu
    for j in range(m):
        Nj = N(V[j], sigma, eps)
        h = float(V[j] @ xb) / Nj
        o = relu_prime(c[j] * h)
        da[j] = relu(c[j] * h)
        dc[j] = a[j] * o * h
        proj = np.eye(d) - np.outer(sigma @ V[j], V[j]) / Nj**2
        dV[j] = a[j] * c[j] * o / Nj * (proj @ xb)
    return da, dc, dV


def loss(z: float) -> float:
    return math.log1p(math.exp(-z)) if z > 0 else -z + math.log1p(math.exp(z))


def loss_prime(z: float) -> float:
    return -1.0 / (1.0 + math.exp(z)) if z < 0 else -math.exp(-z) / (1.0 + math.exp(-z))


def risk(a, c, V, X, y, eps):
    n = X.shape[0]
    return sum(loss(y[i] * f(a, c, V, X, X[i], eps)) for i in range(n)) / n


def risk_grad(a, c, V, X, y, eps):
    n = X.shape[0]
    m, d = V.shape
    ga, gc, gV = np.zeros(m), np.zeros(m), np.zeros((m, d))
    for i in range(n):
        p = y[i] * f(a, c, V, X, X[i], eps)
        da, dc, dV = grad_f(a, c, V, X, X[i], eps)
        w = loss_prime(p) * y[i] / n
        ga += w * da
        gc += w * dc
        gV += w * dV
    return ga, gc, gV


def batchnorm_forward(a, c, V, X, eps):
    """The usual batch-norm computation over the whole batch (biased variance)."""
    Z = X @ V.T  # preactivations, (n, m)
    mean = Z.mean(axis=0)
    var = ((Z - mean) ** 2).mean(axis=0)
    H = (Z - mean) / np.sqrt(var + eps)
    return np.maximum(c * H, 0.0) @ a
