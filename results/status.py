"""Every run of a store accounted for: the status of each run, decided in one place.

:meth:`results.SweepStore.status` gathers what the store holds into
:class:`Facts`; :func:`classify` turns them into one status per run. A new kind
of fact (for example a damaged group found by a verifier) is one more field
here and one more line in :func:`classify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The statuses, from the one that wins when several facts hold for a run.
DONE, RUNNING, DAMAGED, INCOMPLETE, FAILED, MISSING = (
    "done", "running", "damaged", "incomplete", "failed", "missing")
STATUSES = (DONE, RUNNING, DAMAGED, INCOMPLETE, FAILED, MISSING)


@dataclass
class Facts:
    """What a store holds, by run id.

    Attributes
    ----------
    planned
        Runs some sweep planned, with their overrides.
    done
        Runs in a published batch group, with the group's name.
    failed
        Runs with a failure record, with the record.
    running
        Runs held by a live claim (a sweep is computing them).
    incomplete
        Runs in a temporary group whose writer's claim is dead (a writer died mid-write).
    damaged
        Runs published in a group whose structure is broken (a chunk, the group
        or its metadata deleted, a file truncated or emptied), with what is
        broken (:mod:`results.integrity`). Such a run is not in ``done``.
    """

    planned: dict[str, list[str]] = field(default_factory=dict)
    done: dict[str, str] = field(default_factory=dict)
    failed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    incomplete: set[str] = field(default_factory=set)
    damaged: dict[str, str] = field(default_factory=dict)


def classify(facts: Facts) -> dict[str, str]:
    """Return each known run's status.

    ``done`` (published, structure sound), else ``running`` (claimed by a live
    sweep), else ``damaged`` (published, structure broken), else
    ``incomplete`` (its writer died while writing it), else ``failed`` (a
    failure record), else ``missing`` (planned and none of the above).

    Examples
    --------
    >>> classify(Facts(planned={"a": [], "b": []}, done={"a": "g"}))
    {'a': 'done', 'b': 'missing'}
    """
    known = {**dict.fromkeys(facts.planned), **dict.fromkeys(facts.failed), **dict.fromkeys(facts.incomplete),
             **dict.fromkeys(facts.damaged), **dict.fromkeys(facts.running), **dict.fromkeys(facts.done)}
    out: dict[str, str] = {}
    for rid in known:
        if rid in facts.done:
            out[rid] = DONE
        elif rid in facts.running:
            out[rid] = RUNNING
        elif rid in facts.damaged:
            out[rid] = DAMAGED
        elif rid in facts.incomplete:
            out[rid] = INCOMPLETE
        elif rid in facts.failed:
            out[rid] = FAILED
        else:
            out[rid] = MISSING
    return out
