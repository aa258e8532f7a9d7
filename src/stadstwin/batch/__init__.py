"""Batch effect studies over many plan variants, on a local or remote Dask cluster."""
