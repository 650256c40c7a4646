"""The app as production runs it, on each host: `gunicorn -w 2` with the job ticker in every worker.

The limits under test are the documented settings (README "Faults and recovery"), set here
shorter than their defaults so that each fault test ends in about a minute.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.hosts.network import Host, Network

ROOT = Path(__file__).resolve().parents[2]
PORT = 8000
LIMITS = {
    "SCHEDULER_INTERVAL": "1",
    "JOB_LEASE": "10",
    "DATABASE_CONNECT_TIMEOUT": "3",
    "DATABASE_LOCK_TIMEOUT": "4",
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "8",
    "DATABASE_TCP_TIMEOUT": "8",
}
GUNICORN_TIMEOUT = 20  # seconds a worker may spend on one request before its master replaces it


class AppHost:
    def __init__(self, network: Network, host: Host, database_url: str) -> None:
        self.network, self.host, self.database_url = network, host, database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(f"/tmp/crmflow-{host.namespace}.log")

    @property
    def base(self) -> str:
        return f"http://{self.host.address}:{PORT}"

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "hosts-test-secret-key",
            "SANDBOX_WORKERS": "1",
            **LIMITS,
        }
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        command = [gunicorn, "-w", "2", "-b", f"{self.host.address}:{PORT}", "--timeout", str(GUNICORN_TIMEOUT), "app:create_app()"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.network.in_host(self.host, command), cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.host.namespace}: gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.host.namespace}: no answer on /healthz within {timeout} s")

    def pids(self) -> list[int]:
        """Every process in the host's namespace: gunicorn's master, its workers, their sandboxes."""
        listed = subprocess.run(["ip", "netns", "pids", self.host.namespace], capture_output=True, text=True, timeout=10)
        return [int(pid) for pid in listed.stdout.split()]

    def kill(self) -> list[int]:
        """SIGKILL to every process of the host at once; returns their pids."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
        return pids

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
