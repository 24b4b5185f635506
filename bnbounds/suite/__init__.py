"""The installed property suite: ``pytest --pyargs bnbounds.suite``.

Profiles (``HYPOTHESIS_PROFILE``): ``bnbounds-ci`` (default; derandomised, no
database, 20 examples) and ``bnbounds-thorough`` (500 examples).
"""
