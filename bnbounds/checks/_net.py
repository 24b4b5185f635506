"""Network quantities in a precision backend, and the Gamma-ball samples (private).

Contractions of per-example gradients with a direction are GEMMs over all i at once:
with ``Z = Xbar V^T`` (n x m), ``h = c Z / N`` and ``o = 1[h > 0]``,

* ``<A, d_a p_i> = y_i sum_j A_j relu(h_ij)``,
* ``<C, d_c p_i> = y_i sum_j C_j a_j o_ij Z_ij / N_j``,
* ``<D, d_V p_i> = y_i sum_j (a_j c_j o_ij / N_j)
  (<d_j, xbar_i> - <d_j, Sigma v_j> Z_ij / N_j^2)``

(Section 1.3's partial derivatives; no n x m x d array).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _build as b
from ._common import Sample, Stats, normalizers_of, pos, relu


@dataclass
class Net:
    a: np.ndarray
    c: np.ndarray
    V: np.ndarray
    N: np.ndarray
    Z: np.ndarray  # Xbar V^T, (n, m)
    H: np.ndarray  # c Z / N
    O: np.ndarray  # 1[H > 0]
    SV: np.ndarray  # rows Sigma v_j

    @classmethod
    def of(cls, st: Stats, a: Any, c: Any, V: Any, eps: Any, xp: Any) -> Net:
        a, c, V = xp.arr(a), xp.arr(c), xp.arr(V)
        Z = st.Xbar @ V.T
        N = normalizers_of(Z, st.n, eps, xp)
        H = Z * (c / N)[None, :]
        O = pos(
            np.asarray([[float(t) for t in row] for row in H])
            if H.dtype == object
            else H
        )
        SV = (Z.T @ st.Xbar) / st.n
        return cls(a, c, V, N, Z, H, O, SV)

    def p(self, y: np.ndarray) -> np.ndarray:
        return y * (relu(self.H) @ self.a)

    def dot_a(self, A: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y * (relu(self.H) @ A)

    def dot_c(self, C: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y * ((self.O * (self.Z / self.N[None, :])) @ (C * self.a))

    def dot_V(self, D: np.ndarray, st: Stats, y: np.ndarray) -> np.ndarray:
        w = self.O * (self.a * self.c / self.N)[None, :]  # (n, m)
        DX = st.Xbar @ D.T  # <d_j, xbar_i>
        ds = np.sum(D * self.SV, axis=1)  # <d_j, Sigma v_j>
        inner = DX - self.Z * (ds / (self.N * self.N))[None, :]
        return y * np.sum(w * inner, axis=1)


def sample_gamma(
    rng: np.random.Generator,
    claim: str,
    *,
    n: int | None = None,
    d: int | None = None,
    m: int | None = None,
    kind: str | None = None,
    eps: float | None = None,
    delta: float | None = None,
    r_frac: float | None = None,
    k_prime: int = 4,
    frac_U: float | None = None,
    frac_V: float | None = None,
) -> Sample:
    """W at the paper's initialisation and ``k_prime`` points W' of Gamma.

    Gamma = {||U' - U|| < R, ||V' - V|| < R_V = 1/(2 eps_N)} with
    ``R = r_frac * gamma^(1/3) m^(1/6) / (27 eps_N)`` (the registry's ``R_MAX``).
    ``eps_N = max(1, max_j 1/N_j)`` (the proofs take eps_N >= 1). The margin: the
    reference direction of Assumption 1.2 is ``vec U = (vec a, 0)``, ``vec V = V_0``
    (so Delta_V = 0), with ``vec a`` the normalised mean of ``y_i relu(V_0 xbar_i)``,
    and ``gamma = min_i y_i <vec a, relu(V_0 xbar_i)> / sqrt(m)`` (eq. (28): the
    features at ``bar W^a = (bar a, N(vec V) . C, vec V)`` are ``relu(<v_j, xbar_i>)``).
    The first W' is W itself.
    """
    from ..constants import lemmas
    from ..constants._numeric import evaluate_float

    m = int(m if m is not None else rng.integers(2, 33))
    delta = float(rng.choice([0.01, 0.05, 0.1])) if delta is None else float(delta)
    if d is None:  # the smallest d with m <= delta e^{d/8} (D.3, E.1; D.2 needs d/2)
        d = int(np.ceil(8.0 * np.log(m / delta))) + 1
    X, y = b.make_X(rng, kind=kind or "separable", n=n if n is not None else 8, d=d)
    d_ = X.shape[1]
    net = b.make_net(rng, m, d_)
    st = b.stats(X)  # centred once for the whole sample
    eps = b.valid_eps(rng, X, net["V"], 0.0 if eps is None else eps, st)
    N = b.normalizers(X, net["V"], eps, st)
    eps_N = max(1.0, float(np.max(1.0 / N)) * b.ROUND_UP)
    Phi = np.maximum(st.Xbar @ net["V"].T, 0.0) * y[:, None]  # y_i relu(<v_j, xbar_i>)
    va = Phi.mean(axis=0)
    nv = float(np.linalg.norm(va))
    va = va / nv if nv > 0 else np.zeros(m)
    gamma_raw = float(np.min(Phi @ va)) / np.sqrt(m)
    gamma = gamma_raw if gamma_raw > 0 else 1e-12
    r_frac = float(b._pick(rng, (b.EDGE, rng.random()))) if r_frac is None else r_frac
    R = r_frac * evaluate_float(lemmas.R_MAX, {"gamma": gamma, "m": m, "eps_N": eps_N})
    beta_V = evaluate_float(lemmas.R_V, {"eps_N": eps_N})  # R_V = beta_V = 1/(2 eps_N)
    A2, C2, V2 = [net["a"]], [net["c"]], [net["V"]]
    for _ in range(max(0, k_prime - 1)):
        fu = float(rng.random() ** 0.5) if frac_U is None else frac_U
        fv = float(rng.random() ** 0.5) if frac_V is None else frac_V
        du = b.unit(rng, 2 * m) * fu * R * b.EDGE
        A2.append(net["a"] + du[:m])
        C2.append(net["c"] + du[m:])
        V2.append(net["V"] + b.unit(rng, net["V"].shape) * fv * beta_V * b.EDGE)
    return Sample(
        claim,
        {
            "X": X,
            "y": y,
            "a": net["a"],
            "c": net["c"],
            "V": net["V"],
            "va": va,
            "a2": np.array(A2),
            "c2": np.array(C2),
            "V2": np.array(V2),
        },
        {
            "eps": eps,
            "eps_N": eps_N,
            "gamma": gamma,
            "gamma_raw": gamma_raw,
            "delta": delta,
            "R": R,
        },
    ).primed(st)


def gamma_inputs(s: Sample, st: Stats, N: np.ndarray, xp: Any, k: int) -> dict:
    """Registry inputs common to D.2, D.3, E.1, F.3 for the k-th W' of the sample."""
    a, c, V = xp.arr(s["a"]), xp.arr(s["c"]), xp.arr(s["V"])
    a2, c2, V2 = xp.arr(s["a2"][k]), xp.arr(s["c2"][k]), xp.arr(s["V2"][k])
    dU = xp.sqrt(np.sum((a2 - a) ** 2) + np.sum((c2 - c) ** 2))
    dV = xp.sqrt(np.sum((V2 - V) ** 2))
    m, d = V.shape
    return {
        "gamma": xp.num(s["gamma"]),
        "m": m,
        "d": d,
        "n": st.n,
        "R": xp.num(s["R"]),
        "dist_U": dU,
        "dist_V": dV,
        "eps_N": xp.num(s["eps_N"]),
        "delta": xp.num(s["delta"]),
        "Delta_V": 0,
        "inv_N_max": np.max(1 / N),
        "xbar_max": st.xbar_max(xp),
    }


def gamma_positive(s: Sample) -> tuple[tuple[str, bool], ...]:
    """Assumption 1.2's ``gamma > 0`` for the sample's reference direction."""
    return (("gamma > 0 (Assumption 1.2, eq. (28))", bool(s["gamma_raw"] > 0)),)


def gamma_knobs(draw: Any, st: Any) -> dict:
    """Hypothesis knobs of a Gamma-ball sample (Lemmas D.2, D.3, E.1, F.3)."""
    return {
        "m": draw(st.integers(2, 16)),
        "r_frac": draw(st.sampled_from([b.EDGE]) | st.floats(0.01, b.EDGE)),
    }
