"""One module per ``bnbounds`` subcommand (see :mod:`bnbounds.cli`)."""
