"""Replay the test suite's modules on two pytest-xdist workers (``--dist loadfile``): the wall
time each hand-out order gives, from the seconds each module took in a real run.

Issue 29's test-suite row (``make test`` <= 8 min). With ``--dist loadfile`` a module runs
whole on one worker; pytest-xdist hands the modules out in its work-queue order, a second one
to a worker whose pending tests drop to two or fewer (``LoadScopeScheduling._reschedule``).
Since pytest-xdist 3.6 that queue is sorted by number of tests (``--loadscope-reorder``, on by
default), which put the slow modules with few tests (the demo, publish integrity) last; the
suite now turns that off (tests/scheduling.py) and hands out the ``slow`` modules first.

Steps:
1. read the per-module seconds of a run (``CFZ_TEST_MODULE_SECONDS=<file>`` written by
   tests/scheduling.py at the end of a pytest session);
2. collect the suite (``pytest --collect-only -q``, the project's own collection order: slow
   modules first) and count each module's tests;
3. replay both orders on ``--workers`` workers, event by event, each module's seconds spread
   evenly over its tests: ``slow first`` (now) and ``by number of tests`` (pytest-xdist's
   reordering, before); a worker is given its next module when its pending tests drop to two
   or fewer, as pytest-xdist does;
4. print, per order, the projected wall, each worker's busy seconds and the last module to
   finish; then ``sum/workers`` (the floor of any order) and the longest module.

Run: ``.venv/bin/python bench/suite_schedule.py --seconds <file> [--workers 2]`` (collection
takes about half a minute; no database needed).
"""

from __future__ import annotations

import argparse
import heapq
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collect_modules() -> list[tuple[str, int]]:
    """(module, number of tests) in the suite's collection order (slow modules first)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = [line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line]
    counts = Counter(modules)
    return [(module, counts[module]) for module in dict.fromkeys(modules)]


def compute_replay(
    order: list[tuple[str, int]], seconds: dict[str, float], workers: int
) -> tuple[float, list[float], str]:
    """(wall, busy seconds per worker, last module to finish) of one hand-out order.

    Steps: 1. a queue of work units (module, tests, seconds per test); 2. each worker gets one
    unit, then another while its pending tests are two or fewer; 3. repeatedly finish the
    earliest test of any worker, then top that worker up the same way.
    """
    queue = [(m, n, seconds.get(m, 0.0) / n) for m, n in order]
    pending: list[list[tuple[str, float]]] = [[] for _ in range(workers)]
    clock = [0.0] * workers
    busy = [0.0] * workers
    last = ("", 0.0)

    def top_up(w: int, first: bool = False) -> None:
        while queue and (first or len(pending[w]) <= 2):
            module, n, each = queue.pop(0)
            pending[w].extend([(module, each)] * n)
            first = False

    for w in range(workers):
        top_up(w, first=True)
    for w in range(workers):
        top_up(w)
    events = [(clock[w] + pending[w][0][1], w) for w in range(workers) if pending[w]]
    heapq.heapify(events)
    while events:
        at, w = heapq.heappop(events)
        module, each = pending[w].pop(0)
        clock[w], busy[w] = at, busy[w] + each
        if at > last[1]:
            last = (module, at)
        top_up(w)
        if pending[w]:
            heapq.heappush(events, (at + pending[w][0][1], w))
    return max(clock), busy, last[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seconds = json.loads(args.seconds.read_text())
    slow_first = collect_modules()
    by_count = sorted(slow_first, key=lambda mn: -mn[1])  # pytest-xdist's stable reordering
    missing = [m for m, _ in slow_first if m not in seconds]
    if missing:
        print(f"modules without seconds (counted as 0): {len(missing)}")
    for label, order in (("by number of tests", by_count), ("slow first", slow_first)):
        wall, busy, last = compute_replay(order, seconds, args.workers)
        shares = " / ".join(f"{b:.0f}" for b in busy)
        print(f"{label:20s} wall {wall:7.0f} s  busy {shares} s  last to finish {last}")
    total = sum(seconds.get(m, 0.0) for m, _ in slow_first)
    longest = max(slow_first, key=lambda mn: seconds.get(mn[0], 0.0))[0]
    print(
        f"sum/{args.workers} {total / args.workers:7.0f} s  longest module {longest} "
        f"{seconds.get(longest, 0.0):.0f} s"
    )


if __name__ == "__main__":
    main()
