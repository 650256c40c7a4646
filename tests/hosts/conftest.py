"""The hosts' network and database, made once per test module and xdist worker (root only)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.hosts.database import PrivatePostgres, binaries
from tests.hosts.network import Network, available

HOSTS = 3


def _worker() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0) % 200


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    missing = available() or (None if binaries() else "PostgreSQL's server binaries are not installed")
    if missing:
        pytest.skip(missing)
    with Network(_worker(), HOSTS) as net:
        yield net


@pytest.fixture(scope="module")
def postgres(network: Network) -> Iterator[PrivatePostgres]:
    with PrivatePostgres(network.gateway, 55400 + _worker(), f"{network.subnet}.0/24") as server:
        yield server
