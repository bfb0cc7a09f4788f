"""The durable store on SQLite and on a real PostgreSQL: documents, tasks, claims and the epoch fence."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from observatory.commandline import free_port
from observatory.orchestrator.durable import (
    Claim,
    ConflictError,
    ConflictReason,
    Epoch,
    Status,
    Store,
    StoreError,
    StoreUrlError,
)

# A lease that has run out by the time anyone looks: the next claim is a takeover.
EXPIRED = -1.0
LONG = 600.0


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def claim_one(store: Store, owner: str, lease_seconds: float = LONG) -> Claim:
    [claim] = store.claim(owner, ["dag"], lease_seconds=lease_seconds)
    return claim


def refusal(write: Callable[[], Any]) -> ConflictReason:
    with pytest.raises(ConflictError) as refused:
        write()
    return refused.value.reason


def test_documents_round_trip(store: Store) -> None:
    document_id = store.add_document(domain="legal", title="Contract", text="Clause 1. Unicode: § ü")
    document = store.get_document(document_id)
    assert (document.id, document.domain, document.title, document.text) == (
        document_id,
        "legal",
        "Contract",
        "Clause 1. Unicode: § ü",
    )
    assert store.get_document("no-such-document") is None
    assert store.get_document("0" * 31 + "\x00") is None
    with pytest.raises(ValueError, match=r"^text: contains a NUL character$"):
        store.add_document(domain="legal", title="PDF", text="extracted\x00text")


def test_a_submitted_task_is_queued_until_claimed(store: Store) -> None:
    task_id = store.submit_task("dag", {"nodes": ["a"], "depth": 2})
    view = store.get_task(task_id)
    assert (view.kind, view.status, view.request, view.result, view.error, view.progress) == (
        "dag",
        Status.QUEUED,
        {"nodes": ["a"], "depth": 2},
        None,
        None,
        [],
    )
    assert store.queue_depth() == 1
    assert store.get_task("../../etc/passwd") is None
    assert store.get_task("a\x00b") is None
    assert store.get_task("f" * 32) is None
    assert store.claim("A", ["other-kind"], lease_seconds=LONG) == []
    claim = claim_one(store, "A")
    assert (claim.task_id, claim.epoch) == (task_id, Epoch(1, 0))
    assert store.queue_depth() == 0
    assert store.claim("B", ["dag"], lease_seconds=LONG) == []  # held, lease running


def test_steps_then_outcome_are_recorded_under_the_claim(store: Store) -> None:
    task_id = store.submit_task("dag", {})
    claim = claim_one(store, "A")
    store.record_step(claim, "first", Status.RUNNING)
    assert store.saved_output(task_id, "first") is None
    store.record_step(claim, "first", Status.SUCCEEDED, output={"answer": 42})
    store.record_step(claim, "second", Status.RUNNING)
    store.record_step(claim, "second", Status.FAILED, error="boom")
    store.finish(claim, error="ValueError: boom")
    view = store.get_task(task_id)
    assert view.progress == [("first", Status.SUCCEEDED), ("second", Status.FAILED)]
    assert (view.status, view.error) == (Status.FAILED, "ValueError: boom")
    assert store.saved_output(task_id, "first") == {"answer": 42}
    assert store.saved_output(task_id, "second") is None


def test_a_takeover_fences_every_write_of_the_previous_owner(store: Store) -> None:
    task_id = store.submit_task("dag", {})
    dead = claim_one(store, "A", lease_seconds=EXPIRED)
    store.record_step(dead, "slow", Status.RUNNING)
    taker = claim_one(store, "B")
    assert taker.epoch == Epoch(2, 0)
    assert refusal(lambda: store.record_step(dead, "slow", Status.SUCCEEDED, output={"by": "A"})) == "stale_epoch"
    assert refusal(lambda: store.record_step(dead, "other", Status.RUNNING)) == "stale_epoch"
    assert refusal(lambda: store.renew(dead, lease_seconds=LONG)) == "stale_epoch"
    assert refusal(lambda: store.finish(dead, result={"by": "A"})) == "stale_epoch"
    assert refusal(lambda: store.release(dead)) == "stale_epoch"
    store.record_step(taker, "slow", Status.RUNNING)
    store.record_step(taker, "slow", Status.SUCCEEDED, output={"by": "B"})
    store.finish(taker, result={"by": "B"})
    view = store.get_task(task_id)
    assert (view.status, view.result, view.progress) == (Status.SUCCEEDED, {"by": "B"}, [("slow", Status.SUCCEEDED)])
    assert store.saved_output(task_id, "slow") == {"by": "B"}


def test_an_older_global_epoch_with_a_newer_regional_one_is_stale(store: Store) -> None:
    task_id = store.submit_task("dag", {})
    claim_one(store, "A")
    [store.resume("A", ["dag"], lease_seconds=EXPIRED) for _ in range(3)]
    [incarnation] = store.resume("A", ["dag"], lease_seconds=EXPIRED)
    assert incarnation.epoch == Epoch(1, 4)
    store.record_step(incarnation, "n", Status.RUNNING)
    taker = claim_one(store, "B")
    assert taker.epoch == Epoch(2, 0)
    assert refusal(lambda: store.record_step(incarnation, "n", Status.SUCCEEDED, output={})) == "stale_epoch"
    # The step A left running at (1, 4) restarts and completes under (2, 0).
    store.record_step(taker, "n", Status.RUNNING)
    store.record_step(taker, "n", Status.SUCCEEDED, output={"by": "B"})
    assert store.saved_output(task_id, "n") == {"by": "B"}


def test_a_restarted_owner_fences_its_previous_process(store: Store) -> None:
    store.submit_task("dag", {})
    previous = claim_one(store, "A")
    [current] = store.resume("A", ["dag"], lease_seconds=LONG)
    assert current.epoch == Epoch(1, 1)
    assert store.resume("B", ["dag"], lease_seconds=LONG) == []  # only the owner's own tasks
    assert refusal(lambda: store.renew(previous, lease_seconds=LONG)) == "stale_epoch"
    store.renew(current, lease_seconds=LONG)


def test_an_epoch_the_store_never_issued_is_an_error_not_a_conflict(store: Store) -> None:
    store.submit_task("dag", {})
    claim = claim_one(store, "A")
    forged = Claim(claim.task_id, claim.kind, claim.request, "A", claim.epoch.next_incarnation())
    with pytest.raises(ValueError, match="never issued"):
        store.record_step(forged, "n", Status.RUNNING)


def test_a_completed_step_is_never_completed_again_even_by_a_newer_owner(store: Store) -> None:
    task_id = store.submit_task("dag", {})
    first = claim_one(store, "A", lease_seconds=EXPIRED)
    store.record_step(first, "n", Status.SUCCEEDED, output={"by": "A"})
    assert refusal(lambda: store.record_step(first, "n", Status.SUCCEEDED, output={"again": 1})) == "step_completed"
    taker = claim_one(store, "B")
    assert refusal(lambda: store.record_step(taker, "n", Status.RUNNING)) == "step_completed"
    assert refusal(lambda: store.record_step(taker, "n", Status.SUCCEEDED, output={"by": "B"})) == "step_completed"
    assert store.saved_output(task_id, "n") == {"by": "A"}


def test_a_released_task_is_queued_again_with_its_saved_steps(store: Store) -> None:
    task_id = store.submit_task("dag", {})
    claim = claim_one(store, "A")
    store.record_step(claim, "n", Status.SUCCEEDED, output={"kept": True})
    store.release(claim)
    assert store.get_task(task_id).status == Status.QUEUED
    assert claim_one(store, "B").epoch == Epoch(2, 0)
    assert store.saved_output(task_id, "n") == {"kept": True}


def test_concurrent_claimers_on_separate_connections_take_each_task_once(store_url: str) -> None:
    submitted = {Store.open(store_url).submit_task("dag", {"i": i}) for i in range(40)}
    replicas = [Store.open(store_url) for _ in range(2)]
    start = threading.Barrier(4)

    def claim_until_empty(store: Store, owner: str) -> list[str]:
        start.wait()
        taken: list[str] = []
        while claims := store.claim(owner, ["dag"], lease_seconds=LONG, limit=3):
            taken += [claim.task_id for claim in claims]
        return taken

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(claim_until_empty, replicas[i % 2], f"owner-{i}") for i in range(4)]
        taken = [task_id for future in futures for task_id in future.result(timeout=120)]
    for replica in replicas:
        replica.close()
    assert sorted(taken) == sorted(submitted)


def test_racing_restarts_of_one_owner_resume_its_task_once(store_url: str) -> None:
    Store.open(store_url).submit_task("dag", {})
    replicas = [Store.open(store_url) for _ in range(4)]
    claim_one(replicas[0], "A")
    start = threading.Barrier(4)

    def resume(store: Store) -> list[Claim]:
        start.wait()
        return store.resume("A", ["dag"], lease_seconds=LONG)

    with ThreadPoolExecutor(4) as pool:
        resumed = [claim for claims in pool.map(resume, replicas, timeout=120) for claim in claims]
    for replica in replicas:
        replica.close()
    # Each resume that saw the task issued a distinct, newer epoch: no two processes share one.
    epochs = [claim.epoch for claim in resumed]
    assert len(set(epochs)) == len(epochs) >= 1
    assert all(epoch.global_epoch == 1 and epoch.regional_epoch >= 1 for epoch in epochs)


def test_racing_completions_of_one_step_save_exactly_one(store: Store) -> None:
    task_id = store.submit_task("dag", {})
    claim = claim_one(store, "A")
    start = threading.Barrier(6)

    def complete(writer: int) -> str:
        start.wait()
        try:
            store.record_step(claim, "n", Status.SUCCEEDED, output={"writer": writer})
        except ConflictError as conflict:
            return conflict.reason
        return "saved"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(complete, range(6), timeout=120))
    assert sorted(outcomes) == ["saved"] + ["step_completed"] * 5
    assert store.saved_output(task_id, "n") == {"writer": outcomes.index("saved")}


def test_two_owners_racing_on_one_step_never_leave_the_stale_owners_output(store: Store) -> None:
    """A takeover races the old owner's completion; whichever wins, the step is saved at most once,
    and the old owner's output survives only if it was saved before the takeover."""
    for _ in range(10):
        task_id = store.submit_task("dag", {})
        old = claim_one(store, "A", lease_seconds=EXPIRED)
        store.record_step(old, "n", Status.RUNNING)
        start = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            old_outcome = pool.submit(complete_after, start, store, old)
            new = pool.submit(take_over_after, start, store).result(timeout=60)
            old_outcome = old_outcome.result(timeout=60)
        if old_outcome == "saved":
            assert refusal(lambda new=new: store.record_step(new, "n", Status.RUNNING)) == "step_completed"
            assert store.saved_output(task_id, "n") == {"by": "A"}
        else:
            assert old_outcome == "stale_epoch"
            assert store.saved_output(task_id, "n") is None
            store.record_step(new, "n", Status.SUCCEEDED, output={"by": "B"})
            assert store.saved_output(task_id, "n") == {"by": "B"}
        store.finish(new, result={})


def complete_after(start: threading.Barrier, store: Store, claim: Claim) -> str:
    start.wait()
    try:
        store.record_step(claim, "n", Status.SUCCEEDED, output={"by": claim.owner})
    except ConflictError as conflict:
        return conflict.reason
    return "saved"


def take_over_after(start: threading.Barrier, store: Store) -> Claim:
    start.wait()
    # PostgreSQL skips a task whose row a writer has locked this instant: claim again.
    while not (claims := store.claim("B", ["dag"], lease_seconds=LONG)):
        pass
    return claims[0]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    store.submit_task("dag", {})
    assert (tmp_path / "store.db-wal").exists()
    store.close()


def test_an_sqlite_file_that_cannot_be_created_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open store") as refused:
        Store.open(f"sqlite:///{tmp_path / 'missing-folder' / 'store.db'}")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://root:secret@db/themis", "only sqlite and postgresql are supported"),
        ("postgresql+psycopg2://u@h/d", "use postgresql+psycopg"),
    ],
)
def test_an_unsupported_url_is_one_clear_line(url: str, message: str) -> None:
    with pytest.raises(StoreUrlError, match=re.escape(message)) as refused:
        Store.open(url)
    assert "\n" not in str(refused.value)
    assert "secret" not in str(refused.value)


def test_an_unreachable_postgres_is_one_clear_line() -> None:
    with pytest.raises(StoreError, match="cannot open store") as refused:
        Store.open(f"postgresql://observatory:secret@127.0.0.1:{free_port()}/themis")
    assert "\n" not in str(refused.value)
    assert "secret" not in str(refused.value)
