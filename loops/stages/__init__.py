"""The stages of the core loop and the order one cycle runs them in.

Importing the modules registers the stages in ``loops.stage.STAGES``; the cycle
order is :data:`CYCLE_ORDER`, written out here rather than left to import order.
"""

from loops.stages import (  # noqa: F401  (imported to register the stages)
    benchmark,
    checkpoint,
    evaluate,
    interventions,
    propose,
    replicate,
    troubleshoot,
)

#: The order of the stages in one cycle (DESIGN section 2).
CYCLE_ORDER = ("benchmark", "propose", "evaluate", "checkpoint", "troubleshoot", "replicate", "interventions")
