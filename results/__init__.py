"""The sweep store: schema v1, safe writes from many processes, lazy opening."""

from results import schema
from results.schema import SchemaError, run_dataset
from results.store import StoreError, SweepStore, failures, open_sweep, run_id

__all__ = ["SchemaError", "StoreError", "SweepStore", "failures", "open_sweep", "run_dataset",
           "run_id", "schema"]
