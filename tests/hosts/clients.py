"""Clients driving the API on every host, and the ledger of what each request was told.

Each client is a thread with a user of its own. It starts orders, claims and completes the
tasks offered to it, and correlates the payment message of orders whose check it completed. Like
a load balancer's health check, a host that did not answer is avoided for a few seconds and the
step is sent to another host: a completion sent again is answered 409 if the first one had landed
(first wins), so a client never needs to know whether an unanswered request took effect. A 503
is retried after its Retry-After.

What the tests assert is read from the ledger: every acknowledged completion, start and message,
and every request's status and time.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.hosts.app_hosts import PORT

CONNECT_TIMEOUT = 2.0  # a host that does not take the connection by then is taken as down
CLIENT_TIMEOUT = 15.0  # the answer bound (README "Faults and recovery"): no answer by then, none coming
AVOID_SECONDS = 10.0  # how long a host that did not answer is left alone, as a load balancer's check would


@dataclass
class Outcome:
    host: int
    op: str
    started: float  # time.monotonic()
    elapsed: float
    status: int | None  # None: no answer (refused, reset, timed out)
    retry_after: str | None = None
    instance_id: int | None = None
    detail: str = ""


@dataclass
class Ledger:
    outcomes: list[Outcome] = field(default_factory=list)
    started: set[int] = field(default_factory=set)  # instances whose start was acknowledged
    completed: dict[str, int] = field(default_factory=dict)  # acknowledged completions: task -> instance
    checked: set[int] = field(default_factory=set)  # instances whose first task's completion was acknowledged
    paid: set[int] = field(default_factory=set)  # instances whose message was acknowledged (200)
    settled: set[int] = field(default_factory=set)  # ... or found delivered already (404)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


class Client(threading.Thread):
    # What a client does next: the first operation whose bound exceeds a random number in [0, 1).
    MIX: tuple[tuple[float, str], ...] = ((0.2, "start_one"), (0.35, "pay_one"), (1.0, "work_one"))

    def __init__(
        self, username: str, password: str, hosts: Sequence[tuple[int, str]], ledger: Ledger, stop: threading.Event, seed: int
    ) -> None:
        super().__init__(daemon=True, name=f"client-{username}")
        self.username, self.password = username, password
        self.hosts = list(hosts)  # (host number, address)
        self.ledger, self.stop = ledger, stop
        self.random = random.Random(seed)
        self.avoid: dict[int, float] = {}
        self.token = ""
        self.failure: BaseException | None = None

    # --- one request -----------------------------------------------------------------------

    def _host(self, preferred: int | None = None) -> tuple[int, str]:
        now = time.monotonic()
        usable = [h for h in self.hosts if self.avoid.get(h[0], 0) <= now] or self.hosts
        if preferred is not None:
            usable = [h for h in usable if h[0] != preferred] or usable
        return self.random.choice(usable)

    def request(
        self, op: str, method: str, path: str, body: Any = None, avoid_host: int | None = None, instance_id: int | None = None
    ) -> tuple[int | None, Any, int]:
        """One request, sent again (to another host) on no answer and after Retry-After on a
        503, up to a bound; returns the last status, its JSON and the host that answered."""
        number = None
        for _attempt in range(8):
            number, address = self._host(avoid_host if number is None else number)
            started = time.monotonic()
            status, retry_after, payload, detail = self._send(address, method, path, body)
            self.ledger.add(Outcome(number, op, started, time.monotonic() - started, status, retry_after, instance_id, detail))
            if status is None:
                self.avoid[number] = time.monotonic() + AVOID_SECONDS
                continue
            if status == 503 and retry_after is not None:
                time.sleep(min(float(retry_after), 5.0))
                continue
            return status, payload, number
        return None, None, number or 0

    def _send(self, address: str, method: str, path: str, body: Any) -> tuple[int | None, str | None, Any, str]:
        connection = http.client.HTTPConnection(address, PORT, timeout=CONNECT_TIMEOUT)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            connection.connect()
            assert connection.sock is not None
            connection.sock.settimeout(CLIENT_TIMEOUT)
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            answer = connection.getresponse()
            raw = answer.read()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = None
            detail = raw[:300].decode(errors="replace") if answer.status >= 500 else ""
            return answer.status, answer.getheader("Retry-After"), payload, detail
        except (OSError, http.client.HTTPException) as exc:
            return None, None, None, f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    # --- the work ----------------------------------------------------------------------------

    def login(self) -> None:
        for _ in range(20):
            status, payload, _host = self.request(
                "login", "POST", "/api/v1/auth/token", {"username": self.username, "password": self.password}
            )
            if status == 200:
                self.token = payload["token"]
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.username} could not log in")

    def run(self) -> None:
        try:
            self.login()
            while not self.stop.is_set():
                choice = self.random.random()
                getattr(self, next(op for bound, op in self.MIX if choice < bound))()
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.failure = exc

    def start_one(self) -> None:
        # A start is not sent again after no answer: unlike a completion it is not idempotent.
        number, address = self._host()
        started = time.monotonic()
        status, retry_after, payload, detail = self._send(
            address, "POST", "/api/v1/process-instances", {"process_key": "host_orders", "data": {}}
        )
        instance = payload.get("id") if status == 201 and isinstance(payload, dict) else None
        self.ledger.add(Outcome(number, "start", started, time.monotonic() - started, status, retry_after, instance, detail))
        if status is None:
            self.avoid[number] = time.monotonic() + AVOID_SECONDS
        elif instance is not None:
            with self.ledger.lock:
                self.ledger.started.add(instance)

    def work_one(self) -> None:
        status, payload, _host = self.request("list", "GET", "/api/v1/tasks?scope=available&process_key=host_orders")
        items = payload.get("items", []) if status == 200 and isinstance(payload, dict) else []
        if not items:
            time.sleep(0.05)
            return
        task = self.random.choice(items[:10])
        task_id, instance = task["id"], task["instance_id"]
        status, _payload, _host = self.request("claim", "POST", f"/api/v1/tasks/{task_id}/claim", instance_id=instance)
        if status != 200:
            return  # someone else holds it (409), or it is done (409/404)
        status, _payload, _host = self.request(
            "complete",
            "POST",
            f"/api/v1/tasks/{task_id}/complete",
            {"data": {"note" if task["task_key"] == "review" else "note2": self.username}},
            avoid_host=None,
            instance_id=instance,
        )
        if status == 200:
            with self.ledger.lock:
                self.ledger.completed[task_id] = instance
                if task["task_key"] == "review":
                    self.ledger.checked.add(instance)

    def pay_one(self) -> None:
        with self.ledger.lock:
            waiting = sorted(self.ledger.checked - self.ledger.settled)
        if not waiting:
            time.sleep(0.05)
            return
        instance = self.random.choice(waiting)
        status, _payload, _host = self.request(
            "message", "POST", "/api/v1/messages", {"name": "host_paid", "instance_id": instance}, instance_id=instance
        )
        with self.ledger.lock:
            if status == 200:
                self.ledger.paid.add(instance)
            if status in (200, 404):  # 404: delivered by an earlier request whose answer was lost, or by another client
                self.ledger.settled.add(instance)
