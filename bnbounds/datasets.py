"""Data sets: the paper's dyadic set (Definition 1.1), seeded synthetic sets, real sets.

Every generator takes ``rng=`` (a Generator, an int seed, or None) and is
reproducible from a seed. Synthetic sets come out scaled so that
``max_i ||xbar_i|| = 1`` (the paper's assumption), unless ``scale=False``.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ._validation import BNBoundsValueError, as_rng, check_int
from .data import Dataset

__all__ = [
    "cifar_like",
    "dyadic",
    "features_of_different_scales",
    "linearly_separable",
    "load_digits_pair",
    "load_file",
    "rank_deficient",
    "xor",
]


def _check_dim(d: Any, name: str = "d", minimum: int = 1) -> int:
    return check_int(d, name, minimum=minimum)


def dyadic(d: int) -> Dataset:
    """The dyadic data set of Definition 1.1 (2d points in R^d), exactly as printed.

    .. math::

        (x_j, y_j) = (2^{-j} e_j, +1), \\quad j = 1..d; \\qquad
        (x_{j}, y_{j}) = (-2^{-j+d} e_{j-d}, -1), \\quad j = d+1..2d.

    So point j and point j + d sit at +-2^{-j} e_j. The points are exact powers of
    two (exact in float64 for d <= 1000); mu = 0 by symmetry, so xbar_i = x_i and
    max ||xbar_i|| = 1/2: the paper's assumption holds without scaling.
    """
    d = _check_dim(d)
    if d > 1000:
        raise BNBoundsValueError(
            f"d is {d}; 2^-d underflows float64 for d > 1074, and d <= 1000 is "
            "supported"
        )
    X = np.zeros((2 * d, d))
    for j in range(1, d + 1):
        X[j - 1, j - 1] = 2.0 ** (-j)
        X[d + j - 1, j - 1] = -(2.0 ** (-(d + j) + d))
    y = np.concatenate([np.ones(d), -np.ones(d)])
    return Dataset(X, y)


def _finish(X: np.ndarray, y: np.ndarray, scale: bool) -> Dataset:
    data = Dataset(X, y)
    return data.scaled() if scale else data


def linearly_separable(
    n: int, d: int, *, margin: float = 0.1, rng: Any = None, scale: bool = True
) -> Dataset:
    """Gaussian points labelled by a random hyperplane, with a gap ``margin``.

    Points are drawn from N(0, I_d / d) and those within ``margin`` (in units of the
    data's norm scale) of the hyperplane are pushed out, so the set is linearly
    separable with a positive margin before scaling.
    """
    n = _check_dim(n, "n", 2)
    d = _check_dim(d)
    if not margin >= 0:
        raise BNBoundsValueError(f"margin is {margin!r}; expected >= 0")
    gen = as_rng(rng)
    w = gen.standard_normal(d)
    w /= np.linalg.norm(w)
    X = gen.standard_normal((n, d)) / np.sqrt(d)
    s = X @ w
    y = np.where(s >= 0, 1.0, -1.0)
    X += np.outer(y * margin, w)
    if np.all(y == y[0]):  # one class only: reflect point 0 across the hyperplane
        y[0] = -y[0]
        X[0] -= 2.0 * (X[0] @ w) * w
    return _finish(X, y, scale)


def xor(
    n: int, d: int = 2, *, noise: float = 0.05, rng: Any = None, scale: bool = True
) -> Dataset:
    """An XOR-like set: label = sign(x_1 x_2), separable only nonlinearly.

    Points are the four corners (+-1, +-1) in the first two coordinates plus
    Gaussian noise of standard deviation ``noise`` (the remaining d - 2 coordinates
    are noise only). The labels are balanced (n // 4 points per corner and the rest
    spread round-robin).
    """
    n = _check_dim(n, "n", 4)
    d = _check_dim(d, "d", 2)
    gen = as_rng(rng)
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    idx = np.arange(n) % 4
    gen.shuffle(idx)
    X = noise * gen.standard_normal((n, d))
    X[:, :2] += corners[idx]
    y = np.where(idx < 2, 1.0, -1.0)
    return _finish(X, y, scale)


def rank_deficient(
    n: int, d: int, *, rank: int | None = None, rng: Any = None, scale: bool = True
) -> Dataset:
    """Points on a random ``rank``-dimensional subspace of R^d (default n - 1 < d).

    Labels come from a random direction inside the subspace, so the set is linearly
    separable. With n < d the centred data always have rank <= n - 1 < d.
    """
    n = _check_dim(n, "n", 2)
    d = _check_dim(d)
    r = min(n - 1, d) if rank is None else _check_dim(rank, "rank")
    if r > d:
        raise BNBoundsValueError(f"rank is {r}; expected <= d = {d}")
    gen = as_rng(rng)
    Q, _ = np.linalg.qr(gen.standard_normal((d, r)))
    C = gen.standard_normal((n, r))
    X = C @ Q.T
    w = gen.standard_normal(r)
    y = np.where(C @ w >= 0, 1.0, -1.0)
    if np.all(y == y[0]):
        y[0] = -y[0]
    return _finish(X, y, scale)


def features_of_different_scales(
    n: int, d: int, *, spread: float = 1e6, rng: Any = None, scale: bool = True
) -> Dataset:
    """Features whose scales range geometrically over ``spread`` (the dyadic idea).

    Feature k is multiplied by ``spread ** (-k / (d - 1))``; labels come from the
    sign of a random combination of the *standardised* features, so the smallest
    features matter as much as the largest: Batch Norm's normaliser undoes the scale,
    a plain linear predictor does not.
    """
    n = _check_dim(n, "n", 2)
    d = _check_dim(d)
    if not spread >= 1:
        raise BNBoundsValueError(f"spread is {spread!r}; expected >= 1")
    gen = as_rng(rng)
    Z = gen.standard_normal((n, d))
    w = gen.standard_normal(d)
    y = np.where(Z @ w >= 0, 1.0, -1.0)
    if np.all(y == y[0]):
        y[0] = -y[0]
    scales = spread ** (-np.arange(d) / max(d - 1, 1))
    return _finish(Z * scales, y, scale)


def load_digits_pair(pos: int = 0, neg: int = 1, *, scale: bool = True) -> Dataset:
    """Two classes of the 8x8 handwritten digits (a real data set, no download).

    ``pos`` gets label +1 and ``neg`` label -1; pixels as floats (d = 64). The
    1797 digits are bundled with bnbounds (``bnbounds/data_files/digits.npz``,
    45 kB): the copy of the UCI "Optical Recognition of Handwritten Digits" test
    set (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0) that scikit-learn ships as
    ``sklearn.datasets.load_digits``, in the same order, so no optional package
    is needed.
    """
    if (
        not all(isinstance(v, (int, np.integer)) for v in (pos, neg))
        or pos == neg
        or not (0 <= pos <= 9 and 0 <= neg <= 9)
    ):
        raise BNBoundsValueError(
            f"pos = {pos!r}, neg = {neg!r}; expected two different digits in 0..9"
        )
    data, target = _bundled_digits()
    keep = (target == pos) | (target == neg)
    X = data[keep].astype(np.float64)
    y = np.where(target[keep] == pos, 1.0, -1.0)
    return _finish(X, y, scale)


def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """(data (1797, 64) uint8 in 0..16, target (1797,) uint8) from the package."""
    from importlib import resources

    from ._io import read_npz

    ref = resources.files(__package__).joinpath("data_files", "digits.npz")
    with resources.as_file(ref) as path:
        z = read_npz(path, required=("data", "target"), what="bundled digits")
    return z["data"], z["target"]


def load_file(path: str | os.PathLike) -> Dataset:
    """A data set from a ``.npz`` (arrays ``X`` (n, d) and ``y`` (n,)) or a ``.csv``.

    A CSV has one example per row, the label ``y`` (+1 or -1) in the last column
    and the features before it, comma separated; a header row (any first row that
    is not all numbers) is detected and skipped. Nothing is unpickled.

    Raises
    ------
    bnbounds._io.FileFormatError
        Naming the file: missing, empty, corrupt, wrong arrays, wrong shapes, a bad
        field (with its line), labels other than +-1.
    """
    from ._io import FileFormatError, read_csv, read_npz

    name = os.fspath(path)
    if name.endswith(".npz"):
        z = read_npz(path, required=("X", "y"), what="data file")
        X, y = z["X"], z["y"]
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise FileFormatError(
                f"data file {name!r}: X has shape {X.shape} and y {y.shape}; "
                "expected (n, d) and (n,)"
            )
    elif name.endswith(".csv"):
        arr, _header = read_csv(path, what="data file")
        if arr.shape[1] < 2:
            raise FileFormatError(
                f"data file {name!r} has {arr.shape[1]} column(s); expected the "
                "features and then the label y (+1/-1) in the last column"
            )
        X, y = arr[:, :-1], arr[:, -1]
    else:
        raise FileFormatError(f"data file {name!r}: expected a .npz or .csv file")
    try:
        return Dataset(X, y)
    except ValueError as exc:
        raise FileFormatError(f"data file {name!r}: {exc}") from None


def _smooth_fields(gen: np.random.Generator, k: int, side: int, slope: float):
    """k random fields on a side x side grid with power spectrum ~ 1 / (1 + f/f0)^slope,
    scaled to unit standard deviation (natural images: slope ~ 2, Field 1987)."""
    fy = np.fft.fftfreq(side)[:, None]
    fx = np.fft.rfftfreq(side)[None, :]
    amp = 1.0 / (1.0 + np.sqrt(fx * fx + fy * fy) * side / 2.0) ** (slope / 2.0)
    spec = (
        gen.standard_normal((k, side, fx.shape[1]))
        + 1j * gen.standard_normal((k, side, fx.shape[1]))
    ) * amp
    out = np.fft.irfft2(spec, s=(side, side), axes=(1, 2))
    out -= out.mean(axis=(1, 2), keepdims=True)
    out /= out.std(axis=(1, 2), keepdims=True) + 1e-300
    return out


def cifar_like(
    n: int = 1000,
    d: int = 3072,
    *,
    rng: Any = None,
    signal: float = 0.05,
    scale: bool = True,
) -> Dataset:
    """A synthetic stand-in for CIFAR-10 cats vs dogs (Appendix A.2), same shape.

    Each point is a ``side x side`` RGB image (``d = 3 side^2``, channel-major like the
    CIFAR batches) built from smooth random fields with a natural-image spectrum
    (power ~ 1/f^2): a luminance field shared by the three channels (so channels are
    strongly correlated, as in photographs), a weaker per-channel chroma field, a
    random brightness and contrast per image, and a class template ``+- signal`` of
    the same spectrum (the two classes differ in the mean image, weakly: a linear
    classifier separates n <= d points, but with a small margin). Values are
    quantised to 8 bits and divided by 255 (so they lie in [0, 1]), then, like
    :func:`bnbounds.experiments.cifar.load_cifar_cats_dogs`, divided by
    ``max_i max(||x_i||, ||x_i - mu||)`` unless ``scale=False``.

    Parameters
    ----------
    n : int
        Points (half of each class, rounded).
    d : int
        ``3 side^2`` for an integer ``side`` (3072 for 32 x 32).
    rng : Generator, int or None
    signal : float
        Amplitude of the class template relative to the luminance field (>= 0).
    scale : bool
    """
    n = _check_dim(n, "n", 2)
    d = _check_dim(d, "d", 3)
    side = round(math.sqrt(d / 3))
    if 3 * side * side != d:
        raise BNBoundsValueError(f"d is {d}; expected 3 * side^2 (3072 for 32 x 32)")
    if not (np.isfinite(signal) and signal >= 0):
        raise BNBoundsValueError(f"signal is {signal!r}; expected a finite float >= 0")
    gen = as_rng(rng)
    y = np.where(np.arange(n) < (n + 1) // 2, 1.0, -1.0)
    gen.shuffle(y)
    template = _smooth_fields(gen, 3, side, 3.0)  # one per channel, class direction
    template = 0.7 * template[:1] + 0.3 * template  # correlated across channels too
    lum = _smooth_fields(gen, n, side, 3.0)
    chroma = _smooth_fields(gen, 3 * n, side, 3.0).reshape(n, 3, side, side)
    img = lum[:, None] + 0.35 * chroma + signal * y[:, None, None, None] * template
    brightness = gen.uniform(0.3, 0.7, (n, 1, 1, 1))
    tint = 0.05 * gen.standard_normal((n, 3, 1, 1))
    contrast = gen.uniform(0.08, 0.22, (n, 1, 1, 1))
    pix = np.clip(np.rint(255.0 * (brightness + tint + contrast * img)), 0, 255)
    X = pix.reshape(n, d) / 255.0
    if not scale:
        return Dataset(X, y)
    s = max(
        np.linalg.norm(X, axis=1).max(),
        np.linalg.norm(X - X.mean(axis=0), axis=1).max(),
    )
    return Dataset(X / s, y)
