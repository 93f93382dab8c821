"""The shell: the Hydra app, one job, the benchmark suites and the Dask launcher."""
