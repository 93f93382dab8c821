"""Analysis of sweeps: regimes, events, outbreaks, figures and the report."""
