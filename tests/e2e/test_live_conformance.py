"""The live proof: the local stack of `observatory up` (shards, exporters, orchestrator, Prometheus with the
generated rules, Alertmanager) under traffic through every endpoint, checked through Prometheus' HTTP API.

The stack runs with a configuration override file, the path users take (`observatory up --config`): short
`for` durations and a start-up grace, so that alerts go pending and fire within seconds. The tests run in
file order: the shard-down test supplies the failover the dashboards show, and the fault test comes last
because its errors stay in every window afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from observatory import dashboards
from observatory.artefacts import panel_linker
from observatory.catalogue import CATALOGUE
from observatory.config import ObservatoryConfig, load_config, seconds
from observatory.rules.mixin import rule_groups
from observatory.stack import Stack, plan_stack
from observatory.stack_monitoring import LOCAL_GROUP_INTERVAL
from observatory.verify.checks import check_metrics, check_panels, check_rules
from observatory.verify.http import PrometheusApi
from support.orchestrator import pdf_with_text
from support.runtime import ADMIN_TOKEN, model_cache
from support.webhook import WebhookReceiver, running_webhook

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]
DOMAINS = ("legal", "finance")
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}
FOR = "5s"
# Short `for`s for the alerts the test drives, and a p95 bound the injected latency clearly crosses.
OVERRIDES = f"""
for_durations: {{target_down: {FOR}, latency_p95: {FOR}, errors: {FOR}}}
thresholds: {{latency_p95_seconds: 0.5}}
"""
INJECTED_LATENCY = 1.5


@dataclass
class Live:
    stack: Stack
    urls: dict[str, str]
    prometheus: PrometheusApi
    alertmanager: str
    webhook: WebhookReceiver
    config: ObservatoryConfig
    config_file: Path

    def wait(self, expr: str, timeout: float = 90) -> list[dict]:
        """Poll ``expr`` until it returns series."""
        return wait_for(lambda: self.prometheus.query(expr), timeout, expr)

    def alert_state(self, name: str, shard: str) -> str | None:
        """The state of alert ``name`` for ``shard`` in Prometheus (pending, firing) or None."""
        for alert in self.prometheus.get("alerts")["alerts"]:
            if alert["labels"]["alertname"] == name and alert["labels"].get("shard") == shard:
                return alert["state"]
        return None


def wait_for(probe: Callable[[], object], timeout: float, what: str) -> object:
    """``probe()`` once it is truthy, polled every 0.2 s; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: nothing within {timeout} s")


def _drive_traffic(orchestrator: httpx.Client, urls: dict[str, str]) -> None:
    """One request to every orchestrator and shard endpoint, several to those the rates need."""
    legal, finance = urls["shard-legal"], urls["shard-finance"]
    for path in ("/health", "/ready", "/metrics"):
        assert orchestrator.get(path).status_code == 200
        for shard in (legal, finance):
            assert httpx.get(f"{shard}{path}").status_code == 200
    assert httpx.get(f"{legal}/startup").status_code == 200
    for i in range(6):
        text = f"Clause {i}: the seller warrants title and the buyer pays in {2020 + i}."
        for domain in DOMAINS:
            assert orchestrator.post("/api/v1/documents", json={"domain": domain, "text": text}).status_code < 300
    pdf = pdf_with_text(["Article 1. The buyer pays five million.", "Article 2. The seller warrants title."])
    upload = orchestrator.post("/api/v1/documents/upload", files={"file": ("deal.pdf", pdf, "application/pdf")},
                               data={"domain": "legal"})  # fmt: skip
    assert upload.status_code == 200, upload.text
    # Shard documents: add, search, delete.
    added = httpx.post(f"{finance}/api/v1/documents", json={"documents": [{"text": "a quarterly report"}]})
    assert added.status_code == 201, added.text
    for i in range(8):
        assert httpx.post(f"{legal}/api/v1/search", json={"text": f"clause {i}", "k": 3}).status_code == 200
    document_id = added.json()["ids"][0]
    assert httpx.delete(f"{finance}/api/v1/documents/{document_id}").status_code == 204
    # Inference: through the orchestrator and directly, with and without an adapter.
    adapter = httpx.get(f"{legal}/api/v1/lora").json()["available"][0]
    for i in range(8):
        domain = DOMAINS[i % 2]
        body = {"prompt": f"Question {i} about the contract", "domain": domain, "max_tokens": 8}
        assert orchestrator.post("/api/v1/inference", json=body).status_code == 200
        adapters = [{"name": adapter}] if i % 2 else []
        direct = {"prompt": f"Question {i}", "max_tokens": 8, "adapters": adapters}
        assert httpx.post(f"{legal}/api/v1/inference", json=direct, timeout=60).status_code == 200
    # Adapters on the shard: the inference above loaded it; unload and load it again.
    assert httpx.delete(f"{legal}/api/v1/lora/{adapter}").status_code == 200
    assert httpx.post(f"{legal}/api/v1/lora", json={"name": adapter}).status_code == 201
    assert httpx.get(f"{legal}/api/v1/lora/files/{adapter}").status_code == 200
    assert httpx.get(f"{legal}/api/v1/lora/files/{adapter}/content").status_code == 200
    # A LoRA transfer moves the file (GET content, PUT on the destination), then hits the cache.
    transfer = {"adapter": adapter, "source": "legal", "destination": "finance"}
    for _ in range(2):
        assert orchestrator.post("/api/v1/lora/transfer", json=transfer).status_code == 200
    assert httpx.post(f"{finance}/api/v1/embeddings", json={"texts": ["one", "two"]}).status_code == 200
    # Federated RAG (the shards' federated search), consensus, a DAG, a distributed analysis, a durable task.
    assert orchestrator.post("/api/v1/rag", json={"query": "who warrants title", "domains": list(DOMAINS)}
                             ).status_code == 200  # fmt: skip
    assert orchestrator.post("/api/v1/consensus", json={"query": "Is it risky?", "domains": list(DOMAINS)}
                             ).status_code == 200  # fmt: skip
    # Seed 000's DAG shape over the stack's two shards: two independent steps, then one joining them.
    steps = [{"name": "terms", "depends_on": [], "shard": "legal"},
             {"name": "figures", "depends_on": [], "shard": "finance"},
             {"name": "verdict", "depends_on": ["terms", "figures"], "shard": "legal"}]  # fmt: skip
    dag = {"task": "Review the contract", "steps": steps, "mode": "parallel"}
    assert orchestrator.post("/api/v1/reasoning/dag", json=dag).status_code == 200
    analysis = {"document_id": upload.json()["document_id"], "analysis_types": ["legal", "financial"],
                "mode": "parallel_cot", "depth": 5}  # fmt: skip
    assert orchestrator.post("/api/v1/analysis/distributed", json=analysis).status_code == 200
    task = orchestrator.post("/api/v1/tasks", json={"kind": "dag", "request": dag})
    assert task.status_code == 202, task.text
    task_id = task.json()["task_id"]
    wait_for(lambda: orchestrator.get(f"/api/v1/tasks/{task_id}").json()["status"] in ("succeeded", "failed"),
             120, "the durable task")  # fmt: skip
    # Fault injection endpoints, with nothing left injected.
    assert httpx.get(f"{legal}/admin/faults", headers=AUTH).status_code == 200
    assert httpx.put(f"{legal}/admin/faults", json={"latency_seconds": 0}, headers=AUTH).status_code == 200
    assert httpx.delete(f"{legal}/admin/faults", headers=AUTH).status_code == 200


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    cache = model_cache(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("live")
    config_file = workdir / "observatory.yml"
    config_file.write_text(OVERRIDES)
    empty_adapters = workdir / "adapters-finance"
    empty_adapters.mkdir()

    def shard_config(domain: str) -> dict:
        settings = {"cache_dir": str(cache), "admin_token": ADMIN_TOKEN, "n_threads": 1, "recall_interval_s": 0.0,
                    "model_quality": {"mmlu": 0.62}}  # fmt: skip
        # finance starts without adapters, so a LoRA transfer has somewhere to go.
        return settings | ({"adapter_dir": str(empty_adapters)} if domain == "finance" else {})

    # The GPU exporters read the substitute NVML of tests/support: this machine has no GPU.
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(TESTS)
    with running_webhook() as webhook:
        plan = plan_stack(
            DOMAINS, workdir, shard_config=shard_config,
            orchestrator_config={"admin_token": ADMIN_TOKEN},
            monitoring=load_config(config_file), webhook_url=webhook.url,
            gpu_exporter_flags=("--nvml-module", "support.exporters"),
        )  # fmt: skip
        stack = Stack(plan.services, workdir)
        try:
            stack.start()
        finally:
            if previous is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = previous
        try:
            urls = {service.name: service.url for service in plan.services}
            live = Live(stack, urls, PrometheusApi(urls["prometheus"]), urls["alertmanager"], webhook,
                        plan.monitoring, config_file)  # fmt: skip
            live.wait('count(up == 1) >= 7')
            with httpx.Client(base_url=urls["orchestrator"], timeout=120) as orchestrator:
                _drive_traffic(orchestrator, urls)
            yield live
        finally:
            stack.stop()


def test_a_killed_shard_alerts_through_alertmanager_and_resolves_after_restart(live: Live) -> None:
    alert, shard = "ThemisShardTargetDown", "finance"
    prometheus = live.config.prometheus
    cycle = seconds(prometheus.shard_scrape_interval) + seconds(prometheus.evaluation_interval)
    process = live.stack.processes[f"shard-{shard}"]
    process.kill()
    process.wait()
    killed = time.monotonic()
    wait_for(lambda: live.alert_state(alert, shard) == "pending", 60, f"{alert} pending")
    pending = time.monotonic()
    wait_for(lambda: live.alert_state(alert, shard) == "firing", 60, f"{alert} firing")
    firing = time.monotonic()
    # Not before its `for` has passed (less one cycle of polling), and within `for` plus the intervals;
    # the margin is for a loaded two-core machine.
    assert firing - pending >= seconds(FOR) - cycle
    assert firing - killed <= seconds(FOR) + 2 * cycle + 30
    notified = lambda: [a for a in live.webhook.alerts("firing") if a["labels"] == a["labels"] | {"alertname": alert, "shard": shard}]  # noqa: E731, E501
    wait_for(notified, 60, "the webhook's notification")
    held = httpx.get(f"{live.alertmanager}/api/v2/alerts", params={"filter": f'alertname="{alert}"'}).json()
    assert [a["labels"]["shard"] for a in held] == [shard]
    # Meanwhile finance's requests fail over to its backup, legal.
    answer = httpx.post(f"{live.urls['orchestrator']}/api/v1/inference", timeout=60,
                        json={"prompt": "A finance question", "domain": shard, "max_tokens": 4})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["shard"] != shard, answer.text
    # And when the backup fails too (one injected error), the request is unroutable.
    legal = live.urls["shard-legal"]
    assert httpx.put(f"{legal}/admin/faults", json={"error_rate": 1.0}, headers=AUTH).status_code == 200
    try:
        unroutable = httpx.post(f"{live.urls['orchestrator']}/api/v1/inference", timeout=60,
                                json={"prompt": "A finance question", "domain": shard, "max_tokens": 4})  # fmt: skip
    finally:
        assert httpx.delete(f"{legal}/admin/faults", headers=AUTH).status_code == 200
    assert unroutable.status_code == 503, unroutable.text
    live.stack.restart(f"shard-{shard}")
    wait_for(lambda: live.alert_state(alert, shard) is None, 60, f"{alert} resolved in Prometheus")
    resolved = lambda: [a for a in live.webhook.alerts("resolved") if a["labels"].get("alertname") == alert]  # noqa: E731
    wait_for(resolved, 60, "the webhook's resolved notification")


def test_every_catalogue_metric_is_present_with_its_declared_type_and_labels(live: Live) -> None:
    # The unroutable request's series comes with the scrape after the shard-down test.
    live.wait("themis_orchestrator_unroutable_requests_total")
    missing, wrong, undeclared, unexpected = check_metrics(live.prometheus, CATALOGUE)
    assert (missing, wrong, undeclared, unexpected) == ((), (), (), ())


def test_every_dashboard_panel_has_data(live: Live) -> None:
    suite = dashboards.dashboards(live.config)

    def empty() -> list[str]:
        results = check_panels(live.prometheus, suite)
        return [f"{d.title} / {p.title}" for d in results for p in d.panels if p.status != "data"]

    # Rates and increases need two samples after the traffic: a few scrapes. No panel is exempt: the
    # traffic and the shard-down test produce every event a panel shows.
    try:
        wait_for(lambda: not empty(), 60, "panels with data")
    except AssertionError:
        assert empty() == []


def test_every_recording_rule_produces_series_and_no_rule_fails(live: Live) -> None:
    groups = rule_groups(live.config, panel_linker(live.config))
    records = sorted({rule.record for group in groups for rule in group.recordings})
    silent = lambda: [record for record in records if not live.prometheus.query(f"count({record})")]  # noqa: E731
    try:
        wait_for(lambda: not silent(), 60, "recorded series")
    except AssertionError:
        assert silent() == []
    assert check_rules(live.prometheus, groups) == ((), ())


def test_observatory_verify_finds_no_gap_and_exits_0(live: Live) -> None:
    script = Path(sys.executable).with_name("observatory")
    argv = [str(script), "verify", "--prometheus", live.urls["prometheus"], "--config", str(live.config_file)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "## Alertmanager: reachable" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "OK: no gaps"


def test_injected_latency_and_errors_page_with_the_fastest_burn_tier_only(live: Live) -> None:
    legal = live.urls["shard-legal"]
    faults = {"latency_seconds": INJECTED_LATENCY, "error_rate": 0.5}
    assert httpx.put(f"{legal}/admin/faults", json=faults, headers=AUTH).status_code == 200
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            httpx.post(f"{legal}/api/v1/inference", json={"prompt": "q", "max_tokens": 2}, timeout=60)

    senders = [threading.Thread(target=load) for _ in range(2)]
    for sender in senders:
        sender.start()
    burn = [f"ThemisAvailabilityBudgetBurn{tier.long_window}" for tier in live.config.slo.tiers if tier.enabled]
    try:
        for alert in ("ThemisInferenceLatencyHigh", burn[0]):
            reached = lambda name=alert: [a for a in live.webhook.alerts("firing")  # noqa: E731
                                          if a["labels"].get("alertname") == name]  # fmt: skip
            wait_for(reached, 120, f"{alert} at the webhook")
        # The slower tiers see the same errors and fire in Prometheus; Alertmanager holds them back.
        for alert in burn[1:]:
            wait_for(lambda name=alert: live.alert_state(name, "legal") == "firing", 60, f"{alert} firing")

        def inhibited() -> bool:
            held = httpx.get(f"{live.alertmanager}/api/v2/alerts").json()
            states = {a["labels"]["alertname"]: a["status"] for a in held if a["labels"].get("shard") == "legal"}
            return all(name in states and states[name]["inhibitedBy"] for name in burn[1:])

        wait_for(inhibited, 60, "slower tiers inhibited")
        # Long enough for a notification of any group that was due to arrive.
        time.sleep(2 * seconds(LOCAL_GROUP_INTERVAL))
    finally:
        stop.set()
        for sender in senders:
            sender.join()
        httpx.delete(f"{legal}/admin/faults", headers=AUTH)
    notified = {a["labels"]["alertname"] for a in live.webhook.alerts("firing")}
    assert notified.isdisjoint(burn[1:])
