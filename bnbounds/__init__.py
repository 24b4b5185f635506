"""bnbounds: executable, checked constants and lemmas for GD/SGD on batch-normalised
two-layer ReLU networks.

The numeric core is importable from the top level; ``bnbounds.constants`` (SymPy)
is imported only when used.
"""

from . import datasets
from ._validation import BNBoundsError
from ._version import __version__
from .data import Dataset, SigmaBasis
from .network import (
    ExampleGradNorms,
    GDStep,
    Params,
    RiskGrad,
    example_grad,
    example_grad_norms,
    forward,
    gd_step,
    init_params,
    logistic_deriv,
    logistic_loss,
    margins,
    normalizers,
    risk,
    risk_and_grad,
    risk_grad,
)
from .train import (
    train_gd,
    train_gradient_flow,
    train_sgd,
)
from .trajectory import DivergenceError, TrainingInterrupted, Trajectory

__all__ = [
    "BNBoundsError",
    "Dataset",
    "DivergenceError",
    "ExampleGradNorms",
    "GDStep",
    "Params",
    "RiskGrad",
    "SigmaBasis",
    "TrainingInterrupted",
    "Trajectory",
    "__version__",
    "datasets",
    "example_grad",
    "example_grad_norms",
    "forward",
    "gd_step",
    "init_params",
    "logistic_deriv",
    "logistic_loss",
    "margins",
    "normalizers",
    "risk",
    "risk_and_grad",
    "risk_grad",
    "train_gd",
    "train_gradient_flow",
    "train_sgd",
]
