"""Process launchers for the local cluster: used by tests and by `python -m devcluster`."""
