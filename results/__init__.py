"""The sweep store: schema v1, safe writes from many processes, lazy opening."""

from results import schema
from results.schema import SCHEMA_VERSION, SchemaError, run_dataset, validate
from results.store import StoreError, SweepStore, run_id
from results.sweep import failures, open_sweep

__all__ = ["SCHEMA_VERSION", "SchemaError", "StoreError", "SweepStore", "failures", "open_sweep",
           "run_dataset", "run_id", "schema", "validate"]
