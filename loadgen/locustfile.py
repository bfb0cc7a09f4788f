"""Seed 002's Locust load test, with the load generator's request mix, for users who already run Locust.

    locust -f "$(observatory-loadgen locustfile)" --headless -u 30 -r 10 -t 20s --host http://127.0.0.1:8080

Against a shard or the orchestrator (told apart by its OpenAPI schema, as ``observatory-loadgen run``
does) each user sends the request types of ``--themis-profile`` (default ``mixed``) by the profile's
weights, at ``--themis-rate`` requests per second per user (0: one after another without a pause).
Every request is named by its type, so Locust's table has one row per type; a durable task is polled
to completion and fails when it does. Before the users start, the target gets the profile's setup
(documents to search). Locust is closed loop: a user waits for each answer before the next request,
so a stalled server slows the load instead of showing its stall (see the README on when to prefer
the open-loop load generator).
"""

from __future__ import annotations

import itertools
import json
import random
import time
import urllib.request

from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.env import Environment

from observatory.loadgen.client import TASK_DONE
from observatory.loadgen.profiles import PROFILES, Call, Profile, detect_kind

TASK_TIMEOUT_S = 60.0
TASK_POLL_S = 0.5


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--themis-profile", choices=sorted(PROFILES), default="mixed", help="request mix")
    parser.add_argument("--themis-rate", type=float, default=1.0, help="requests per second per user; 0: no pause")


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def _send(base: str, call: Call) -> None:
    request = urllib.request.Request(base + call.path, json.dumps(call.body).encode(), method=call.method,
                                     headers={"content-type": "application/json"})  # fmt: skip
    urllib.request.urlopen(request, timeout=120).close()


def bind(environment: Environment) -> Profile:
    """The chosen profile bound to the target (its kind and LoRA adapters), as the load generator binds it."""
    base = environment.host.rstrip("/")
    name = environment.parsed_options.themis_profile
    if name == "get":
        return Profile.bind(name, "any")
    paths = set(_get_json(f"{base}/openapi.json").get("paths", {}))
    adapters = tuple(_get_json(f"{base}/api/v1/lora").get("available", ())) if "/api/v1/lora" in paths else ()
    return Profile.bind(name, detect_kind(paths), adapters)


@events.test_start.add_listener
def _setup(environment: Environment, **_kwargs) -> None:
    # Bound once per run: every user shares the profile, and the target's documents are loaded once.
    environment.themis_profile = profile = bind(environment)
    for call in profile.setup_calls():
        _send(environment.host.rstrip("/"), call)


class ThemisUser(FastHttpUser):
    """One simulated client sending the profile's request types by weight."""

    def wait_time(self) -> float:
        rate = self.environment.parsed_options.themis_rate
        return (constant_throughput(rate) if rate > 0 else constant(0))(self)

    def on_start(self) -> None:
        self.profile: Profile = self.environment.themis_profile
        self.kinds = sorted(self.profile.weights)
        self.weights = [self.profile.weights[kind] for kind in self.kinds]
        self.numbers = itertools.count(random.randrange(1000))

    @task
    def request(self) -> None:
        """One request of a type drawn by the profile's weights."""
        kind = random.choices(self.kinds, self.weights)[0]
        call = self.profile.call(kind, next(self.numbers))
        with self.client.request(call.method, call.path, json=call.body, name=kind, catch_response=True) as answer:
            if not call.task or not answer.ok:
                return
            task_id = answer.json()["task_id"]
        self._poll(kind, task_id)

    def _poll(self, kind: str, task_id: str) -> None:
        # One row for the polls; the durable task fails there when it fails or outlasts TASK_TIMEOUT_S.
        deadline = time.monotonic() + TASK_TIMEOUT_S
        while True:
            time.sleep(TASK_POLL_S)
            with self.client.get(f"/api/v1/tasks/{task_id}", name=f"{kind} (poll)", catch_response=True) as answer:
                state = answer.json().get("status") if answer.ok else None
                if state in TASK_DONE:
                    if not TASK_DONE[state]:
                        answer.failure(f"task {task_id} {state}")
                    return
                if time.monotonic() > deadline:
                    answer.failure(f"task {task_id} still {state} after {TASK_TIMEOUT_S:g} s")
                    return
