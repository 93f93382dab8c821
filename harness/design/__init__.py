"""Experimental designs for sweeps: the ``design`` sweeper's work (``hydra/sweeper=design``).

- :mod:`harness.design.space`: the design's parameters, read from Hydra's
  override grammar (``interval``, ``tag(log, interval)``, ``choice``) and
  checked against each key's declared range; the map from the unit cube to values.
- :mod:`harness.design.methods`: the designs (``saltelli``, ``morris``, ``lhs``,
  ``sobol``) as points of the unit cube, from SALib and ``scipy.stats.qmc``.
- :mod:`harness.design.plan`: the jobs (the grid crossed with the design's rows)
  and the record of the design the store keeps.
"""
