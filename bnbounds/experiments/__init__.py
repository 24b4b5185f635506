"""The paper's experiments, as functions returning frozen results (no printing).

``figure1``  gamma_a, gamma_c, gamma against width by reference networks (Appendix A)
``rates``    test error against t for GD and SGD, slopes and parameter movement
``cifar``    the CIFAR-10 cats-vs-dogs loader for a local copy of the pickle batches
``dyadic``   Proposition 1.1 / Appendix G over d, m and seeds

Results are written by :func:`bnbounds.experiments.io.write_csv` (atomic) and plotted by
``plot_*`` functions that import matplotlib lazily.
"""

from .cifar import load_cifar_batch, load_cifar_cats_dogs
from .dyadic import DyadicResult, plot_dyadic, run_dyadic
from .figure1 import Figure1Result, plot_figure1, run_figure1
from .io import write_csv
from .rates import RatesResult, fit_loglog_slope, plot_rates, run_rates, theorem_eta

__all__ = [
    "DyadicResult",
    "Figure1Result",
    "RatesResult",
    "fit_loglog_slope",
    "load_cifar_batch",
    "load_cifar_cats_dogs",
    "plot_dyadic",
    "plot_figure1",
    "plot_rates",
    "run_dyadic",
    "run_figure1",
    "run_rates",
    "theorem_eta",
    "write_csv",
]
