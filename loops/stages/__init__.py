"""The stages of the core loop, registered in the order one cycle runs them."""

from loops.stages import (  # noqa: F401  (import order is run order)
    benchmark,
    checkpoint,
    evaluate,
    interventions,
    propose,
    replicate,
    troubleshoot,
)
