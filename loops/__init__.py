"""The core loop of a self-improving agent, simulated over many worlds at once."""

from loops.config import GuardMode, WorldConfig
from loops.driver import simulate
from loops.record import Trajectory

__all__ = ["GuardMode", "Trajectory", "WorldConfig", "simulate"]
