"""How many cores this process may really use: its CPU affinity, capped by a cgroup v2 CPU quota."""
from __future__ import annotations

import math
import os

CPU_MAX = "/sys/fs/cgroup/cpu.max"


def usable_cores(cpu_max: str = CPU_MAX) -> int:
    """Cores this process may really use: its CPU affinity, capped by a cgroup v2 CPU quota.

    In a Kubernetes pod os.cpu_count() and the affinity are the node's cores, not the container's CPU limit: a
    gunicorn worker or a hashing thread per node core would all be throttled by the quota at once, and the hash
    pool's memory (46 MiB a thread, pupns.passwords) would outgrow the pod's memory limit.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        with open(cpu_max) as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 CPU controller here: the affinity is all there is
    return max(1, cores)
