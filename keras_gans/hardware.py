"""What this machine offers a process, for every layer of the package to read: a layer choosing a
kernel and the training choosing its CPU threading count cores the same way."""
from __future__ import annotations

import os


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one), which can be
    fewer than ``os.cpu_count()`` under taskset, cgroups' cpusets or a batch scheduler."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
