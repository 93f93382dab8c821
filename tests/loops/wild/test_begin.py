"""The wild's keys are checked before anything runs, naming the key and what is allowed."""

from __future__ import annotations

import pytest

from loops.params import ConfigError
from loops.wild.hosts import BYTES_PER_HOST, empty_hosts
from tests.loops.conftest import compose


@pytest.mark.parametrize(("overrides", "message"), [
    (("wild.enabled=true", "wild.from_escape=true"), "wild.from_escape=true needs interventions.t_shutdown"),
    (("+experiment=outbreak", "wild.hosts=10", "wild.seed_copies=11"), "wild.seed_copies=11 exceeds"),
    (("+experiment=outbreak", "wild.hosts=100000000", "seeds=100000"), "lower seeds or wild.hosts"),
    (("+experiment=outbreak", "wild.contact_rate=-1"), "wild.contact_rate=-1.0 is out of range"),
])
def test_bad_wild_config_names_the_key(overrides: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        compose(*overrides)


def test_a_host_takes_at_most_64_bytes() -> None:
    run = compose("+experiment=codered")
    hosts = empty_hosts(run.wild, 2)
    assert hosts.nbytes() <= 2 * run.wild.hosts * BYTES_PER_HOST + 4 * run.wild.hosts + 1024
    assert BYTES_PER_HOST <= 64
    # 16 seeds of a million hosts fit in 2 GiB with room for the record.
    assert 16 * 10**6 * BYTES_PER_HOST < 2**31 * 0.5
