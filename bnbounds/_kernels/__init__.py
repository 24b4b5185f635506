"""Numba kernels on plain arrays. They import nothing from bnbounds but ``_config``.

Kernels take C-contiguous float arrays and scalars, guard every denominator, raise
nothing a user should see (validation belongs to the public wrappers), read no
globals and draw no random numbers.
"""
