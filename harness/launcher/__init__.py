"""A Hydra launcher backed by dask.distributed (shim in ``hydra_plugins/takeoff_launcher``)."""
