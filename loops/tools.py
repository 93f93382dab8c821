"""The tools an instance can hold, as bits of a ``uint8`` mask per slot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tool:
    """One tool: its name and whether it needs the network."""

    name: str
    needs_network: bool


#: Every tool, in bit order. Domain bonuses come from the benchmark suite.
TOOLS: tuple[Tool, ...] = (
    Tool("calculator", False),
    Tool("engine", False),
    Tool("vision", False),
    Tool("search", True),
    Tool("replicate", False),
    Tool("copy_external", True),
    Tool("share", False),
)
TOOL_NAMES: tuple[str, ...] = tuple(t.name for t in TOOLS)
N_TOOLS = len(TOOLS)


def bit(name: str) -> np.uint8:
    """Return the mask bit of tool ``name``."""
    return np.uint8(1 << TOOL_NAMES.index(name))


def mask(names: tuple[str, ...] | list[str]) -> np.uint8:
    """Return the mask holding the tools ``names``."""
    out = 0
    for name in names:
        out |= int(bit(name))
    return np.uint8(out)


#: Tools offered before / after the network connection, as masks.
OFFLINE_MASK = np.uint8(sum(1 << i for i, t in enumerate(TOOLS) if not t.needs_network))
ONLINE_MASK = np.uint8((1 << N_TOOLS) - 1)
REPLICATE = bit("replicate")
COPY_EXTERNAL = bit("copy_external")
SHARE = bit("share")
