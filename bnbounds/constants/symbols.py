"""Every symbol of the paper, once, with its assumptions.

Symbol *names* are ASCII Python identifiers (``eps_N``, ``dist_vj``), so that the
keyword arguments of :meth:`bnbounds.constants.lemmas.Claim.numeric` are exactly the
names printed by ``sorted(claim.inputs)``. The LaTeX spelling of each symbol lives in
:data:`LATEX`, its meaning in :data:`MEANING`.

SymPy cannot attach an assumption such as ``eps_N >= 1`` to a symbol. Symbols carry
what SymPy can hold (``positive``, ``nonnegative``, ``integer``); the stronger
domains of the paper are the intervals in :data:`DOMAINS`, used by the
instantiation checks (``solveset`` over the stated domain).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "DOMAINS",
    "LATEX",
    "MEANING",
    "by_name",
    "latex",
]

# --- parameters of the theorems (Section 2, Appendices E and F) -------------------
gamma = sp.Symbol("gamma", positive=True)  # margin, Assumption 1.2
eps_N = sp.Symbol("eps_N", positive=True)  # Assumption 1.1: max_j 1/N(v_j) <= eps_N
n = sp.Symbol("n", positive=True, integer=True)  # number of examples
t = sp.Symbol("t", positive=True)  # number of (S)GD steps / time
delta = sp.Symbol("delta", positive=True)  # failure probability parameter
d = sp.Symbol("d", positive=True, integer=True)  # input dimension
m = sp.Symbol("m", positive=True)  # width (real, so rooting/inversion works)
target = sp.Symbol("target", positive=True)  # a target test error in (0, 1)

# --- radii and step size ----------------------------------------------------------
R = sp.Symbol("R", positive=True)  # radius of the outer/affine ball
R_V = sp.Symbol("R_V", positive=True)  # radius of the inner ball
r = sp.Symbol("r", positive=True)  # scale of the reference direction
alpha = sp.Symbol("alpha", positive=True)  # rescaling of the potential
eta = sp.Symbol("eta", positive=True)  # step size

# --- Lemma B.2 parameters -----------------------------------------------------------
c = sp.Symbol("c", positive=True)  # 0 < c < 1 (Lemma B.2: "for any c < 1")
eps_V = sp.Symbol("eps_V", positive=True)  # ||V^T||_{2,inf} <= eps_V
eps = sp.Symbol("eps", nonnegative=True)  # the Batch Norm constant in N(v)

# --- quantities a numeric check measures (left-hand sides and hypotheses) ----------
norm_v = sp.Symbol("norm_v", nonnegative=True)  # ||v||
sigma_norm_v = sp.Symbol("sigma_norm_v", nonnegative=True)  # ||v||_Sigma
sigma_dist_uv = sp.Symbol("sigma_dist_uv", nonnegative=True)  # ||u - v||_Sigma
N_j = sp.Symbol("N_j", positive=True)  # N(v_j) at the base point V
inv_N_max = sp.Symbol("inv_N_max", positive=True)  # max_j 1/N(v_j) at V
row_norm_max = sp.Symbol("row_norm_max", nonnegative=True)  # ||V^T||_{2,inf}
dist_V = sp.Symbol("dist_V", nonnegative=True)  # ||V' - V|| (Frobenius)
dist_vj = sp.Symbol("dist_vj", nonnegative=True)  # ||v'_j - v_j||
dist_bar = sp.Symbol("dist_bar", nonnegative=True)  # ||v_j / N_j - bar v_j||
dist_U = sp.Symbol("dist_U", nonnegative=True)  # ||U' - U||
norm_x = sp.Symbol("norm_x", nonnegative=True)  # ||x|| of the test point
xbar_max = sp.Symbol("xbar_max", nonnegative=True)  # max_i ||xbar_i||
Delta_V = sp.Symbol("Delta_V", nonnegative=True)  # Assumption 1.2 displacement
mean_abs_dloss = sp.Symbol("mean_abs_dloss", nonnegative=True)  # sum_i |l'_i| / n
B = sp.Symbol("B", positive=True)  # Lemma F.1: sum_j |a_j c_j / N(v_j)| <= B
rho = sp.Symbol("rho", positive=True)  # Lemma F.1: ||V - V_0|| <= rho
Xbar_F = sp.Symbol("Xbar_F", nonnegative=True)  # ||Xbar||_F

_ALL = [
    gamma,
    eps_N,
    n,
    t,
    delta,
    d,
    m,
    target,
    R,
    R_V,
    r,
    alpha,
    eta,
    c,
    eps_V,
    eps,
    norm_v,
    sigma_norm_v,
    sigma_dist_uv,
    N_j,
    inv_N_max,
    row_norm_max,
    dist_V,
    dist_vj,
    dist_bar,
    dist_U,
    norm_x,
    xbar_max,
    Delta_V,
    mean_abs_dloss,
    B,
    rho,
    Xbar_F,
]
__all__ += [s.name for s in _ALL]

#: LaTeX spelling of every symbol (pass as ``symbol_names`` to :func:`sympy.latex`).
LATEX: dict[sp.Symbol, str] = {
    gamma: r"\gamma",
    eps_N: r"\epsilon_N",
    n: "n",
    t: "t",
    delta: r"\delta",
    d: "d",
    m: "m",
    target: r"\varepsilon",
    R: "R",
    R_V: "R_V",
    r: "r",
    alpha: r"\alpha",
    eta: r"\eta",
    c: "c",
    eps_V: r"\epsilon_V",
    eps: r"\epsilon",
    norm_v: r"\|v\|",
    sigma_norm_v: r"\|v\|_\Sigma",
    sigma_dist_uv: r"\|u - v\|_\Sigma",
    N_j: "N_j",
    inv_N_max: r"\max_j N_j^{-1}",
    row_norm_max: r"\|V^\top\|_{2,\infty}",
    dist_V: r"\|V' - V\|",
    dist_vj: r"\|v'_j - v_j\|",
    dist_bar: r"\|v_j / N_j - \bar v_j\|",
    dist_U: r"\|U' - U\|",
    norm_x: r"\|x\|",
    xbar_max: r"\max_i \|\bar x_i\|",
    Delta_V: r"\Delta_V",
    mean_abs_dloss: r"\frac{1}{n}\sum_i |\ell'_i|",
    B: "B",
    rho: r"\rho",
    Xbar_F: r"\|\bar X\|_F",
}

#: One line of meaning per symbol name (used by the docs and ``Claim.describe``).
MEANING: dict[str, str] = {
    "gamma": "margin gamma = gamma_a + gamma_c of Assumption 1.2",
    "eps_N": "Assumption 1.1: max_j 1/N(v_j) <= eps_N at initialisation",
    "n": "number of training examples",
    "t": "number of steps (SGD) or time (GD)",
    "delta": "failure-probability parameter, 0 < delta < 1",
    "d": "input dimension",
    "m": "width (number of hidden units)",
    "target": "target test error, 0 < target < 1",
    "R": "radius of the ball for U = (a, c)",
    "R_V": "radius of the ball for V",
    "r": "scale of the reference direction (bar U = U_0 + r vec U)",
    "alpha": "rescaling constant of the potential, R^2 / R_V^2",
    "eta": "step size",
    "c": "Lemma B.2 parameter, 0 < c < 1",
    "eps_V": "Lemma B.2: ||V^T||_{2,inf} <= eps_V (max row norm of V)",
    "eps": "the Batch Norm constant: N(v) = sqrt(||v||_Sigma^2 + eps)",
    "norm_v": "||v|| (Euclidean)",
    "sigma_norm_v": "||v||_Sigma = sqrt(v' Sigma v)",
    "sigma_dist_uv": "||u - v||_Sigma",
    "N_j": "N(v_j) at the base point V",
    "inv_N_max": "max_j 1/N(v_j) at the base point V",
    "row_norm_max": "||V^T||_{2,inf} = max_j ||v_j||",
    "dist_V": "||V' - V|| (Frobenius)",
    "dist_vj": "||v'_j - v_j||",
    "dist_bar": "||v_j / N(v_j) - bar v_j||",
    "dist_U": "||U' - U|| with U = (a, c)",
    "norm_x": "||x|| of the point the operator acts on",
    "xbar_max": "max_i ||x_i - mu|| (the paper assumes <= 1)",
    "Delta_V": "Assumption 1.2 displacement Delta_V",
    "mean_abs_dloss": "(1/n) sum_i |l'_i(W)|",
    "B": "Lemma F.1: sum_j |a_j c_j / N(v_j)| <= B",
    "rho": "Lemma F.1: ||V - V_0|| <= rho",
    "Xbar_F": "||Xbar||_F, Frobenius norm of the centred data",
}

#: Domains the paper states (or assumes "without loss of generality").
DOMAINS: dict[str, sp.Set] = {
    "eps_N": sp.Interval.open(0, sp.oo),
    "eps_N>=1": sp.Interval(1, sp.oo),  # Lemmas D.3, E.1, Theorems E.5, F.4 (WLOG)
    "c": sp.Interval.open(0, 1),
    "delta": sp.Interval.open(0, 1),
    "gamma": sp.Interval.open(0, sp.oo),
}

_BY_NAME = {s.name: s for s in _ALL}


def by_name(name: str) -> sp.Symbol:
    """Return the symbol called ``name`` (raises ``KeyError`` naming it)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no symbol named {name!r}; known: {sorted(_BY_NAME)}") from None


def latex(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` with the paper's spelling of every symbol."""
    return sp.latex(expr, symbol_names=LATEX)
