"""The paper's experiments, as functions returning frozen results (no printing).

``figure1``  gamma_a, gamma_c, gamma against width by reference networks (Appendix A)
``rates``    test error against t for GD and SGD, slopes and parameter movement
``cifar``    the CIFAR-10 cats-vs-dogs loader for a local copy of the pickle batches
``dyadic``   Proposition 1.1 / Appendix G over d, m and seeds

Results are written by :func:`bnbounds.experiments.io.write_csv` (atomic) and plotted by
``plot_*`` functions that import matplotlib lazily.
"""
