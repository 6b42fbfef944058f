"""What bench/run.py drives the platform with: one run's folder and log, the processes it starts and stops, wrk,
and the bench database.

Every process is started through `Bench.start` and stopped by `Bench.stop_all` when the run ends, however it
ends (bench/run.py calls it in a `finally`). Every wait gives up after a limit, so a run always ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg2

from bench import cpu

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "bench" / "lua"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            response.read()
            return response.status == 200
    except OSError:
        return False


class Wrk:
    """One wrk process running a script of bench/lua/ against `base`; its JSON summary lands in `out`."""

    def __init__(self, bench: Bench, name: str, script: str, seconds: float, base: str, env: dict[str, str]) -> None:
        self.out = bench.run_dir / f"{name}.json"
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.finished = Path(f"{self.out}.finished")
        argv = ["wrk", "-t1", f"-c{bench.config.connections}", f"-d{int(seconds)}s", "--timeout", "10s"]
        argv += ["-s", str(LUA_DIR / script), base]
        self.name = name
        self.log = (bench.run_dir / f"{name}.wrk.txt").open("w")
        full_env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_OUT": str(self.out), **env}
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.cpu_s: float | None = None
        self.bench = bench
        bench.wrks.append(self)

    def done(self) -> bool:
        """Whether wrk has ended or its script has all the answers it wanted (BENCH_MAX, or every path)."""
        return self.finished.exists() or self._exited()

    def _exited(self) -> bool:
        # Without reaping it (WNOWAIT): wait() reaps it with os.wait4, which also gives wrk's CPU time.
        return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def wait(self) -> dict | None:
        """Wait for wrk to end (interrupting it once its script is done) and return its summary."""
        # wrk only ends after -d: a script that has its answers drops NAME.json.finished, and SIGINT makes wrk
        # stop there and still print its summary.
        while not self.done():
            time.sleep(0.1)
        if not self._exited():
            self.process.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_s = round(usage.ru_utime + usage.ru_stime, 2)
        self.log.close()
        self.bench.wrks.remove(self)
        try:
            return json.loads(self.out.read_text())
        except (OSError, ValueError):
            self.bench.say(f"{self.name}: wrk wrote no summary (see {self.name}.wrk.txt)")
            return None


class Bench:
    """One run: its results folder and log, the processes started, the bench database."""

    def __init__(self, config, run_id: str) -> None:
        self.config = config
        self.run_id = run_id
        self.run_dir = ROOT / "bench" / "results" / run_id
        self.run_dir.mkdir(parents=True)
        self.log_path = self.run_dir / "run.log"
        self.processes: dict[str, subprocess.Popen] = {}
        self.cpu_groups: dict[str, str] = {}  # process name -> the CPU group it counts in
        self.wrks: list[Wrk] = []
        self._db = None

    # --- Log and files ---------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S', time.gmtime())}  {message}"
        print(line, flush=True)
        with self.log_path.open("a") as log:
            log.write(line + "\n")

    def write_json(self, name: str, data: object) -> None:
        path = self.run_dir / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data) + "\n")

    # --- Processes -------------------------------------------------------------------------------------

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, cpu_group: str | None = None
    ) -> subprocess.Popen:
        """Start a process in the background, its output to NAME.log; `cpu_group` counts its CPU (and its
        children's) in the reports under that name."""
        with (self.run_dir / f"{name}.log").open("w") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})}
            )
        self.processes[name] = process
        if cpu_group:
            self.cpu_groups[name] = cpu_group
        return process

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a command to its end, its error output to the run's log."""
        with self.log_path.open("a") as log:
            return subprocess.run(argv, cwd=ROOT, stderr=log, check=True, **kwargs)

    def manage(self, *args: str) -> str:
        """`manage.py` with the run's settings; its output."""
        return self.run([PYTHON, "manage.py", *args], stdout=subprocess.PIPE, text=True).stdout

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        self.cpu_groups.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for wrk in list(self.wrks):
            wrk.process.kill()
            wrk.process.wait()
        for name in reversed(list(self.processes)):
            self.stop(name)

    def wait_for(self, what: str, seconds: float, check: Callable[[], bool]) -> bool:
        """Poll `check` every half second until it holds; False (and a line in the log) after `seconds`."""
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() >= deadline:
                self.say(f"gave up waiting for {what} after {seconds:.0f}s")
                return False
            time.sleep(0.5)
        return True

    def start_web(self, name: str, port: int, env: dict[str, str] | None = None, cpu_group: str = "gunicorn") -> None:
        """gunicorn as production runs it (sync workers), on 127.0.0.1:`port`, ready when this returns."""
        argv = ["gunicorn", "campaign.wsgi:application", "--bind", f"127.0.0.1:{port}", "--backlog", "2048"]
        argv += ["--workers", str(self.config.web_workers), "--graceful-timeout", "5"]
        self.start(name, argv, env=env, cpu_group=cpu_group)
        if not self.wait_for(name, 60, lambda: answers(f"http://127.0.0.1:{port}/api/totals")):
            raise SystemExit(f"{name} did not start (see {name}.log)")

    # --- The bench database ----------------------------------------------------------------------------

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        """Rows of one statement on the bench database (each statement its own transaction)."""
        if self._db is None:
            self._db = psycopg2.connect(os.environ["DATABASE_URL"])
            self._db.autocommit = True
        with self._db.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def value(self, query: str, params: list | None = None) -> object:
        return self.sql(query, params)[0][0]

    def close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- Measurements ----------------------------------------------------------------------------------

    def cpu_snapshot(self) -> cpu.Snapshot:
        started: dict[str, list[int]] = {}
        for name, group in self.cpu_groups.items():
            started.setdefault(group, []).append(self.processes[name].pid)
        return cpu.snapshot(started, self.sql)

    def wrk(self, name: str, script: str, seconds: float, base: str, **env: str) -> tuple[dict | None, dict]:
        """wrk for `seconds`: writes NAME.json (throughput, latency, statuses) and NAME.cpu.json (CPU seconds of
        each part of the platform, and wrk's own), and returns both."""
        before = self.cpu_snapshot()
        summary = (run := Wrk(self, name, script, seconds, base, env)).wait()
        spent = cpu.diff(before, self.cpu_snapshot())
        spent["wrk"] = run.cpu_s or 0.0
        self.write_json(f"{name}.cpu", spent)
        self.say(f"{name}: {json.dumps(summary)}")
        self.say(f"{name} CPU seconds: {json.dumps(spent)}")
        return summary, spent

    def wrk_until_done(self, name: str, script: str, base: str, **env: str) -> Wrk:
        """wrk started in the background until its script has its answers (BENCH_MAX, or every path of
        BENCH_PATHS_FILE), or the stage's time runs out; `.wait()` for its summary."""
        return Wrk(self, name, script, self.config.stage_timeout, base, env)
