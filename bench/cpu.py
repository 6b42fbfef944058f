"""Where the CPU goes during a measurement: CPU seconds of each part of the platform that bench/run.py started.

`snapshot` is taken before and after a measurement, `diff` gives {"gunicorn": 3.2, "postgres": 1.9, ...}. It
reads /proc/<pid>/stat (user + system time) of each process bench/run.py started and their children (gunicorn
and its workers, the Celery worker and its children, beat, the SMTP sink), the PostgreSQL backends connected to
the bench database, and PostgreSQL's and Redis's shared background processes. wrk's own time is read by
bench/run.py when wrk exits. A process that exits between the two snapshots is missed (rare: gunicorn and
Celery keep theirs; Django keeps its database connection CONN_MAX_AGE seconds).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")

Snapshot = dict[str, dict[str, int]]


def cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    pids = [int(p) for p in found]
    return pids + [grandchild for p in pids for grandchild in children(p)]


def postgres_pids(query: Callable[[str], list[tuple]]) -> dict[str, list[int]]:
    """The bench database's client backends (but the one asking), and the server's shared background ones."""
    rows = query(
        "SELECT pid, datname IS NOT DISTINCT FROM current_database() AND backend_type = 'client backend', "
        "backend_type <> 'client backend' FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
    )
    return {
        "postgres": [pid for pid, mine, _ in rows if mine],
        "postgres (background)": [pid for pid, mine, background in rows if background and not mine],
    }


def redis_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _comm(p) == "redis-server"]


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def snapshot(started: dict[str, list[int]], query: Callable[[str], list[tuple]]) -> Snapshot:
    """CPU ticks by group: `started` maps a group to the processes bench/run.py started for it (children are
    found here); `query` runs SQL on the bench database."""
    groups = {name: [p for pid in pids for p in (pid, *children(pid))] for name, pids in started.items()}
    groups.update(postgres_pids(query))
    groups["redis (shared)"] = redis_pids()
    taken = {}
    for group, pids in groups.items():
        ticks = {str(pid): cpu_ticks(pid) for pid in pids}
        taken[group] = {pid: t for pid, t in ticks.items() if t is not None}
    return taken


def diff(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds spent by each group between two snapshots."""
    return {
        group: round(sum(t - before.get(group, {}).get(pid, 0) for pid, t in pids.items()) / TICKS, 2)
        for group, pids in after.items()
    }
