"""Compare backchannel's formula engine with NegMAS on the ANAC domains.

Reads the JSON lines printed by the `sweep` example (our frontier, Nash point and timings), runs NegMAS on the
same domains (exported by the sweep with GENIUS semantics applied, so both sides read identical files and use
identical utilities), and prints per domain whether the frontiers and Nash points agree and the time ratio.

Like with like:
- Both sides time the same work on the same files: load the folder, enumerate/solve, the Pareto frontier of
  the acceptable packages, the Nash point. Each side's time is the median of up to 5 runs (NegMAS: 5 runs when
  one takes under 0.2 s, else 1).
- Two accountings are reported. Load+solve: the whole of the above. Solve only: NegMAS's enumerate +
  `pareto_frontier` + the reservation filter + `minmax` + `nash_points` (the part of each run above after
  `Scenario.load` returned; median over the same runs) against our `solve` on an already loaded scenario
  (`solve_us` from the sweep: median of at least 5 solves, more when they are quick).
- The Nash point is the product of gains over each party's reservation value on both sides. NegMAS's
  `nash_points` by default measures gains from max(reservation, worst utility over all outcomes); we pass it
  `ranges` whose lower ends are the reservations so that it uses the reservations. Its default answer is
  reported as well (column `nash*`), with the reason whenever it differs.
"""

import json
import statistics
import sys
import time
from pathlib import Path

from negmas.inout import Scenario
from negmas.preferences import nash_points, pareto_frontier

TOL = 1e-6


def negmas_once(folder):
    t0 = time.perf_counter()
    s = Scenario.load(folder, ignore_discount=True)
    t_loaded = time.perf_counter()
    outcomes = list(s.outcome_space.enumerate_or_sample())
    frontier, _ = pareto_frontier(s.ufuns, outcomes=outcomes, sort_by_welfare=True)
    reserved = [u.reserved_value or 0.0 for u in s.ufuns]
    acceptable = [f for f in frontier if all(x >= r - 1e-9 for x, r in zip(f, reserved))]
    nash = []
    if acceptable:
        # Gains over the reservations, as we define the Nash point (see the module docstring).
        ranges = [(r, u.minmax(s.outcome_space, above_reserve=False)[1]) for r, u in zip(reserved, s.ufuns)]
        nash = nash_points(s.ufuns, acceptable, ranges=ranges)
    t_done = time.perf_counter()
    return s, frontier, acceptable, nash, t_done - t0, t_done - t_loaded


def negmas_solve(folder):
    """NegMAS's results and two median times: load+solve, and solve only (the same runs after loading)."""
    runs, solves = [], []
    s, frontier, acceptable, nash, elapsed, solving = negmas_once(folder)
    runs.append(elapsed)
    solves.append(solving)
    while elapsed < 0.2 and len(runs) < 5:
        _, _, _, _, elapsed, solving = negmas_once(folder)
        runs.append(elapsed)
        solves.append(solving)
    return s, frontier, acceptable, nash, statistics.median(runs), statistics.median(solves)


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


def merge_float_noise(points):
    """NegMAS keeps one point per outcome when utilities differ in the last bits (the same values summed in
    another order, e.g. [0.5485000000000001, 0.4, 0.94] and [0.5485, 0.4, 0.9400000000000001]): neither
    dominates the other in float comparison. They are one utility vector; we report it once, with a count."""
    kept = []
    for p in points:
        if not any(all(abs(x - y) <= 1e-9 for x, y in zip(p, q)) for q in kept):
            kept.append(p)
    return kept


def same_points(a, b):
    ka = sorted(tuple(round(x / TOL) for x in p) for p in a)
    kb = sorted(tuple(round(x / TOL) for x in p) for p in b)
    if len(ka) != len(kb):
        return False
    return all(all(abs(x - y) <= 2 for x, y in zip(p, q)) for p, q in zip(ka, kb))


def nash_agrees(negmas_points, ours_ties):
    if not negmas_points and not ours_ties:
        return True
    return bool(negmas_points) and bool(ours_ties) and any(
        all(abs(x - y) <= 1e-6 for x, y in zip(p[0], t)) for p in negmas_points for t in ours_ties
    )


def size_class(packages):
    if packages <= 1_000:
        return "up to 1e3 packages"
    if packages <= 100_000:
        return "1e3 to 1e5 packages"
    return "over 1e5 packages"


def main():
    ours_path, export_dir = sys.argv[1], Path(sys.argv[2])
    parties_max = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    rows = [json.loads(line) for line in open(ours_path)]
    agree_all, ratios, by_class = True, [], {}
    solve_ratios, solve_by_class = [], {}
    default_diffs = []
    print(
        f"{'domain':40s} {'parties':>7s} {'packages':>9s} {'frontier':>8s} {'nash':>5s} {'nash*':>5s} "
        f"{'ours s':>10s} {'negmas s':>10s} {'ratio':>8s} "
        f"{'ours solve us':>13s} {'negmas solve s':>14s} {'solve ratio':>11s}"
    )
    for row in rows:
        if "error" in row:
            print(f"{row['domain']:40s} refused: {row['error'][-80:]}")
            continue
        if row["parties"] > parties_max:
            continue
        folder = export_dir / row["domain"]
        s, frontier, acceptable, nash, elapsed, negmas_solving = negmas_solve(str(folder))
        # our exported files are named after party ids in file-name order: the same order negmas loads them
        ours_front = row["pareto"]
        cleaned = drop_float_noise(acceptable)
        noise = len(acceptable) - len(cleaned)
        merged = merge_float_noise(cleaned)
        twins = len(cleaned) - len(merged)
        cleaned = merged
        front_ok = same_points(cleaned, ours_front)
        ties = row.get("nash_all") or ([row["nash"]] if row["nash"] else [])
        nash_ok = nash_agrees(nash, ties)
        # NegMAS's default Nash point (not timed), and why it differs when it does.
        default = nash_points(s.ufuns, acceptable, outcome_space=s.outcome_space) if acceptable else []
        default_ok = nash_agrees(default, ties)
        note = ""
        if not default_ok:
            reserved = [u.reserved_value or 0.0 for u in s.ufuns]
            worst = [u.minmax(s.outcome_space, above_reserve=False)[0] for u in s.ufuns]
            raised = [i for i, (r, w) in enumerate(zip(reserved, worst)) if w > r]
            reason = (
                "NegMAS default measures gains from the worst outcome "
                + ", ".join(f"{worst[i]:.4f} > reservation {reserved[i]:.4f}" for i in raised)
                if raised
                else "unexplained"
            )
            default_diffs.append((row["domain"], reason, [round(float(x), 6) for x in default[0][0]] if default else None, ties[0] if ties else None))
        ours_s = row.get("total_s", row["load_s"] + row["solve_s"])
        ratio = elapsed / ours_s if ours_s > 0 else float("inf")
        ratios.append(ratio)
        by_class.setdefault(size_class(row["packages"]), []).append(ratio)
        ours_solve_us = row.get("solve_us", row["solve_s"] * 1e6)
        solve_ratio = negmas_solving / (ours_solve_us * 1e-6) if ours_solve_us > 0 else float("inf")
        solve_ratios.append(solve_ratio)
        solve_by_class.setdefault(size_class(row["packages"]), []).append(solve_ratio)
        agree_all &= front_ok and nash_ok
        print(
            f"{row['domain']:40s} {row['parties']:7d} {row['packages']:9d} {('same' if front_ok else 'DIFF'):>8s} "
            f"{('same' if nash_ok else 'DIFF'):>5s} {('same' if default_ok else 'diff'):>5s} "
            f"{ours_s:10.6f} {elapsed:10.4f} {ratio:8.0f}x "
            f"{ours_solve_us:13.1f} {negmas_solving:14.5f} {solve_ratio:10.0f}x"
            + (f"  (negmas kept {noise} point(s) dominated up to float noise)" if noise else "")
            + (f"  (negmas listed {twins} point(s) twice, equal up to float noise)" if twins else "")
            + ("" if row.get("timed_files_same_frontier", True) else "  (our timed re-load of the exported files gave another frontier!)")
        )
    if default_diffs:
        print(f"\nnash*: NegMAS's default nash_points differs from the reservation-based Nash point on {len(default_diffs)} domain(s):")
        for d, reason, theirs, ours in default_diffs:
            print(f"  {d}: NegMAS default {theirs}, ours {ours}: {reason}")
    if ratios:
        print(f"\ndomains: {len(ratios)}, frontier and Nash identical on all: {agree_all}")
        for label, all_r, classes in (
            ("load+solve", ratios, by_class),
            ("solve only", solve_ratios, solve_by_class),
        ):
            print(f"\n{label}: time ratio NegMAS / ours")
            for cls in ("up to 1e3 packages", "1e3 to 1e5 packages", "over 1e5 packages"):
                r = sorted(classes.get(cls, []))
                if r:
                    print(
                        f"  {cls:22s}: {len(r):3d} domains, ratio min {r[0]:.0f}x, "
                        f"median {statistics.median(r):.0f}x, max {r[-1]:.0f}x, at or above 100x: {sum(x >= 100 for x in r)}"
                    )
            print(
                f"  {'all':22s}: {len(all_r):3d} domains, ratio min {min(all_r):.0f}x, "
                f"median {statistics.median(all_r):.0f}x, max {max(all_r):.0f}x, at or above 100x: {sum(x >= 100 for x in all_r)}"
            )

if __name__ == "__main__":
    main()
