"""Settings shared by the whole suite."""

from __future__ import annotations

import signal

import pytest
from hypothesis import settings

# A shell starts a background job (``cmd &`` without job control, as CI runners and
# scripts do) with SIGINT ignored, and every process it starts inherits that: the
# sweeps the tests interrupt with Ctrl-C would then never see it and run to the end.
# Restored here, so those tests send what a terminal sends to a process that hears it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# CI and local runs draw the same examples (issue 17: no flaky property tests).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest --hypothesis-profile=default`` explores fresh random examples instead.
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("ci")
