"""Compare backchannel's formula engine with NegMAS on the ANAC domains.

Reads the JSON lines printed by the `sweep` example (our frontier, Nash point and timings), runs NegMAS on the
same domains (exported by the sweep with GENIUS semantics applied, so both sides use identical utilities),
and prints per domain whether the frontiers and Nash points agree and the time ratio.
"""

import json
import sys
import time
from pathlib import Path

from negmas.inout import Scenario
from negmas.preferences import nash_points, pareto_frontier

TOL = 1e-6


def negmas_solve(folder):
    t0 = time.perf_counter()
    s = Scenario.load(folder, ignore_discount=True)
    outcomes = list(s.outcome_space.enumerate_or_sample())
    frontier, _ = pareto_frontier(s.ufuns, outcomes=outcomes, sort_by_welfare=True)
    reserved = [u.reserved_value or 0.0 for u in s.ufuns]
    acceptable = [f for f in frontier if all(x >= r - 1e-9 for x, r in zip(f, reserved))]
    nash = nash_points(s.ufuns, acceptable, outcome_space=s.outcome_space) if acceptable else []
    elapsed = time.perf_counter() - t0
    names = [Path(u.name).stem if u.name else str(i) for i, u in enumerate(s.ufuns)]
    return names, acceptable, nash, elapsed


def drop_float_noise(points):
    """NegMAS compares floats exactly, so a point weakly dominated up to rounding noise can survive; drop those."""
    kept = []
    for p in points:
        dominated = any(
            q is not p and all(y >= x - 1e-9 for x, y in zip(p, q)) and any(y > x + 1e-9 for x, y in zip(p, q))
            for q in points
        )
        if not dominated:
            kept.append(p)
    return kept


def same_points(a, b):
    ka = sorted(tuple(round(x / TOL) for x in p) for p in a)
    kb = sorted(tuple(round(x / TOL) for x in p) for p in b)
    if len(ka) != len(kb):
        return False
    return all(all(abs(x - y) <= 2 for x, y in zip(p, q)) for p, q in zip(ka, kb))


def main():
    ours_path, export_dir = sys.argv[1], Path(sys.argv[2])
    parties_max = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    rows = [json.loads(line) for line in open(ours_path)]
    agree_all, ratios = True, []
    print(f"{'domain':40s} {'parties':>7s} {'packages':>9s} {'frontier':>8s} {'nash':>5s} {'ours s':>10s} {'negmas s':>10s} {'ratio':>8s}")
    for row in rows:
        if "error" in row:
            print(f"{row['domain']:40s} refused: {row['error'][-80:]}")
            continue
        if row["parties"] > parties_max:
            continue
        folder = export_dir / row["domain"]
        names, frontier, nash, elapsed = negmas_solve(str(folder))
        # our exported files are named after party ids in file-name order: the same order negmas loads them
        ours_front = row["pareto"]
        cleaned = drop_float_noise(frontier)
        noise = len(frontier) - len(cleaned)
        front_ok = same_points(cleaned, ours_front)
        nash_ok = True
        if row["nash"] is not None or nash:
            ties = row.get("nash_all") or ([row["nash"]] if row["nash"] else [])
            nash_ok = bool(nash) and bool(ties) and any(
                all(abs(x - y) <= 1e-6 for x, y in zip(p[0], t)) for p in nash for t in ties
            )
        ours_s = row["load_s"] + row["solve_s"]
        ratio = elapsed / ours_s if ours_s > 0 else float("inf")
        ratios.append(ratio)
        agree_all &= front_ok and nash_ok
        print(
            f"{row['domain']:40s} {row['parties']:7d} {row['packages']:9d} {('same' if front_ok else 'DIFF'):>8s} "
            f"{('same' if nash_ok else 'DIFF'):>5s} {ours_s:10.6f} {elapsed:10.4f} {ratio:8.0f}x"
            + (f"  (negmas kept {noise} point(s) dominated up to float noise)" if noise else "")
        )
    if ratios:
        print(f"domains: {len(ratios)}, all agree: {agree_all}, ratio min {min(ratios):.0f}x, median {sorted(ratios)[len(ratios)//2]:.0f}x")


if __name__ == "__main__":
    main()
