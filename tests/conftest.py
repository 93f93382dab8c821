"""Settings shared by the whole suite."""

from __future__ import annotations

import pytest
from hypothesis import settings

# CI and local runs draw the same examples (issue 17: no flaky property tests).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest --hypothesis-profile=default`` explores fresh random examples instead.
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("ci")
