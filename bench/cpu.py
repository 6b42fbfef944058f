"""Where the CPU goes during a measurement: CPU seconds of each part of the platform that bench/run started.

    python bench/cpu.py snapshot RUN_DIR OUT.json               # before and after a measurement
    python bench/cpu.py diff BEFORE.json AFTER.json [WRK_TIME]  # {"gunicorn": 3.2, "postgres": 1.9, ...}

Reads /proc/<pid>/stat (user + system time) of gunicorn and its workers, the Celery worker and its
children, beat, the SMTP sink (from the .pid files bench/run writes), the PostgreSQL backends connected to
the bench database, and PostgreSQL's and Redis's shared background processes. wrk's own time is taken by
bench/run with bash's `time` (WRK_TIME holds "user system" seconds). A process that exits between the two
snapshots is missed (rare: gunicorn and Celery keep theirs; Django keeps its database connection
CONN_MAX_AGE seconds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


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


def tree(run_dir: Path, name: str) -> list[int]:
    try:
        pid = int((run_dir / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return []
    return [pid, *children(pid)]


def postgres_pids() -> dict[str, list[int]]:
    database = os.environ.get("PGDATABASE") or os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    out = subprocess.run(
        ["psql", "-X", "-q", "-tA", "-d", database, "-c",
         "SELECT pid, datname IS NOT DISTINCT FROM current_database() AND backend_type = 'client backend', "
         "backend_type <> 'client backend' FROM pg_stat_activity WHERE pid <> pg_backend_pid()"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    ours, shared = [], []
    for line in out.splitlines():
        pid, mine, background = line.split("|")
        if mine == "t":
            ours.append(int(pid))
        elif background == "t":
            shared.append(int(pid))
    return {"postgres": ours, "postgres (background)": shared}


def redis_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _comm(p) == "redis-server"]


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def snapshot(run_dir: Path) -> dict[str, dict[str, int]]:
    groups = {name: tree(run_dir, name) for name in ("gunicorn", "worker", "beat", "smtp_sink")}
    groups.update(postgres_pids())
    groups["redis (shared)"] = redis_pids()
    taken = {}
    for group, pids in groups.items():
        ticks = {str(pid): cpu_ticks(pid) for pid in pids}
        taken[group] = {pid: t for pid, t in ticks.items() if t is not None}
    return taken


def diff(before: dict, after: dict) -> dict[str, float]:
    return {
        group: round(sum(t - before.get(group, {}).get(pid, 0) for pid, t in pids.items()) / TICKS, 2)
        for group, pids in after.items()
    }


def main() -> None:
    command = sys.argv[1]
    if command == "snapshot":
        Path(sys.argv[3]).write_text(json.dumps(snapshot(Path(sys.argv[2]))))
    elif command == "diff":
        spent = diff(json.loads(Path(sys.argv[2]).read_text()), json.loads(Path(sys.argv[3]).read_text()))
        if len(sys.argv) > 4:
            spent["wrk"] = round(sum(float(x) for x in Path(sys.argv[4]).read_text().split()[-2:]), 2)
        print(json.dumps(spent))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
