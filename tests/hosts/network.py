"""Hosts on one machine: Linux network namespaces joined to the test's own bridge by veth links.

    bridge cf<n>br 10.231.<n>.1/24 (the database listens here)
      ├─ veth cf<n>v1 ── eth0 10.231.<n>.11 in namespace cf<n>h1
      ├─ veth cf<n>v2 ── eth0 10.231.<n>.12 in namespace cf<n>h2
      └─ ...

Only these addresses and links are made, and all are removed afterwards (also those a killed
earlier run of the same worker left). `<n>` is the pytest-xdist worker's number, so two workers
never meet each other's hosts. The faults act on a host's link the way a network does: `cut`
takes the bridge's end of the veth down (the host keeps its address and routes, its packets
vanish: a half-open connection for both sides). Latency is added by tests/hosts/latency.py (this
kernel has no `tc netem`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass


def available() -> str | None:
    """Why these hosts cannot be made here, or None when they can (root, iproute2)."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"iproute2 is not installed ({', '.join(missing)} missing; `make test` installs it as root)"
    return None


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
    return result


@dataclass(frozen=True)
class Host:
    number: int
    namespace: str
    link: str  # the bridge's end of the host's veth
    address: str


class Network:
    def __init__(self, worker: int, hosts: int) -> None:
        self.prefix = f"cf{worker}"
        self.subnet = f"10.231.{worker}"
        self.bridge = f"{self.prefix}br"
        self.gateway = f"{self.subnet}.1"  # the machine's own side: the database, the clients
        self.hosts = [Host(n, f"{self.prefix}h{n}", f"{self.prefix}v{n}", f"{self.subnet}.{10 + n}") for n in range(1, hosts + 1)]

    def __enter__(self) -> Network:
        self.remove()
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for host in self.hosts:
            _run("ip", "netns", "add", host.namespace)
            _run("ip", "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
            _run("ip", "link", "set", host.link, "master", self.bridge, "up")
            _run("ip", "-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _run("ip", "-n", host.namespace, "link", "set", "eth0", "up")
            _run("ip", "-n", host.namespace, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        for host in self.hosts:
            for pid in _run("ip", "netns", "pids", host.namespace, check=False).stdout.split():
                _run("kill", "-9", pid, check=False)
            _run("ip", "netns", "del", host.namespace, check=False)
            _run("ip", "link", "del", host.link, check=False)
        _run("ip", "link", "del", self.bridge, check=False)

    def in_host(self, host: Host, command: list[str]) -> list[str]:
        """`command` as run inside the host's namespace."""
        return ["ip", "netns", "exec", host.namespace, *command]

    def cut(self, host: Host) -> None:
        _run("ip", "link", "set", host.link, "down")

    def restore(self, host: Host) -> None:
        _run("ip", "link", "set", host.link, "up")
