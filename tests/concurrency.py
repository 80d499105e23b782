"""Helpers of the tests that run one workload from many connections at once
(test_locking.py, test_foreign_keys.py)."""

from __future__ import annotations

import threading
import time


def run_threads(worker, n: int, timeout: float = 300) -> None:
    """Run `worker(i)` for i in 0..n on threads of their own; fail if one
    raised (the first error is raised again) or if they are not all done
    within `timeout` seconds."""
    errors: list[BaseException] = []

    def wrapped(i):
        try:
            worker(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.time() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.time()))
    assert not any(t.is_alive() for t in threads), "workers did not finish in time"
    if errors:
        raise errors[0]


def rounds(target, local: int, cluster: int) -> int:
    """Rounds per thread: fewer on the `--kv 3` cluster, whose commits take
    longer."""
    return cluster if target.name == "kv3" else local
