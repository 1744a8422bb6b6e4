"""What the Invoke tasks call: one module per command, each with `execute`, returning the exit status.

Each command imports the layers it needs when it runs: `judge` and `compare` read run
directories only and never load the SSH stack (Fabric, paramiko), Vagrant or the docker SDK.
"""
from . import bench, build, compare, docs, down, faults, history, judge, login, matrix, nightly, restore, status, up

__all__ = ["bench", "build", "compare", "docs", "down", "faults", "history", "judge", "login", "matrix", "nightly",
           "restore", "status", "up"]
