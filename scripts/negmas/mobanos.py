"""NegMAS's issue-by-issue exact frontier (MOBANOSParetoSampler) beside ours, on the synthetic two-party cases.

Usage: mobanos.py SYNTH_JSONL EXPORT_DIR [REPEATS]

SYNTH_JSONL is the output of the `synth_bench` example run with EXPORT_DIR: per case, our time for the whole
solve with the red lines, requirements and reservations (`solve_s`: counts, frontier, fair points), for the
frontier alone under the same constraints (`frontier_s`), and for the whole solve without them
(`free_solve_s`, with the frontier of every package in `free_frontier`). MOBANOS computes the frontier of every package and ignores reservations,
so its frontier is compared with our free one (the same points, to 1e-9), and its time with both of ours.
"""

import json
import statistics
import sys
import time
from pathlib import Path

from negmas.inout import Scenario
from negmas.preferences import MOBANOSParetoSampler

TOL = 1e-9


def frontier_of(points):
    """The non-dominated distinct points (MOBANOS may keep equal vectors of several outcomes)."""
    distinct = []
    for p in sorted(points, reverse=True):
        if distinct and all(abs(a - b) <= TOL for a, b in zip(p, distinct[-1])):
            continue
        distinct.append(p)
    return [p for p in distinct if not any(q is not p and all(b >= a - TOL for a, b in zip(p, q)) and any(b > a + TOL for a, b in zip(p, q)) for q in distinct)]


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    export_dir = Path(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print(
        f"{'case':10s} {'points':>6s} {'same':>5s} {'MOBANOS s':>10s} {'ours free s':>11s} {'ratio':>7s} "
        f"{'ours frontier s':>15s} {'ratio':>7s} {'ours solve s':>12s} {'ratio':>7s}"
    )
    for row in rows:
        folder = export_dir / row["case"]
        if row.get("free_frontier") is None or not folder.is_dir():
            continue
        s = Scenario.load(folder, ignore_discount=True)
        times = []
        for _ in range(repeats):
            sampler = MOBANOSParetoSampler()
            t0 = time.perf_counter()
            sampler.init(s.ufuns[0], s.ufuns[1])
            times.append(time.perf_counter() - t0)
        theirs = frontier_of([tuple(float(u(o)) for u in s.ufuns) for o in sampler._pareto_front])
        ours = sorted((tuple(p) for p in row["free_frontier"]), reverse=True)
        same = len(theirs) == len(ours) and all(
            all(abs(a - b) <= 1e-6 for a, b in zip(p, q)) for p, q in zip(theirs, ours)
        )
        t = statistics.median(times)
        print(
            f"{row['case']:10s} {len(theirs):6d} {('same' if same else 'DIFF'):>5s} {t:10.3f} {row['free_solve_s']:11.5f} "
            f"{t / row['free_solve_s']:6.0f}x {row['frontier_s']:15.5f} {t / row['frontier_s']:6.0f}x "
            f"{row['solve_s']:12.5f} {t / row['solve_s']:6.0f}x"
        )


if __name__ == "__main__":
    main()
