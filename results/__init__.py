"""The sweep store: schema v2, batches of runs written safely by many processes, lazy opening."""

from results import schema
from results.batch import RunRecord
from results.schema import SCHEMA_VERSION, SchemaError, run_dataset, validate
from results.store import DesignConflict, StoreError, SweepStore, run_id
from results.sweep import failures, open_analysis, open_sweep
from results.verify import DamagedRunError, verify

__all__ = ["SCHEMA_VERSION", "DamagedRunError", "DesignConflict", "RunRecord", "SchemaError", "StoreError",
           "SweepStore", "failures", "open_analysis", "open_sweep", "run_dataset", "run_id", "schema",
           "validate", "verify"]
