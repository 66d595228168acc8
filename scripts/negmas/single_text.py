"""NegMAS's veto single-text mediator beside our single negotiating text, on the same exported domains.

Usage: single_text.py OURS_JSONL EXPORT_DIR [STEPS] [SEEDS] [PARTIES_MAX]

OURS_JSONL is the output of the `draft_sweep` example: per domain, the Nash share (of the best acceptable Nash
product, gains measured from the reservations) that each of our runs ends at, after at most 10 drafts, and the
best product itself. For each such domain (up to PARTIES_MAX parties) this runs NegMAS's `VetoSTMechanism`
(a random proposal replaces the current text when every party prefers it) from a random first text, for STEPS
proposals, SEEDS times, with `BinaryComparatorNegotiator`s on the domain's utility functions, and measures the
Nash share of the text it ends with in the same way: 0 when some party is below its reservation.
"""

import json
import random
import statistics
import sys
import time
from pathlib import Path

from negmas import BinaryComparatorNegotiator
from negmas.inout import Scenario
from negmas.st import VetoSTMechanism


def share(s, outcome, best):
    reserved = [u.reserved_value or 0.0 for u in s.ufuns]
    gains = [float(u(outcome)) - r for u, r in zip(s.ufuns, reserved)]
    if outcome is None or any(g < -1e-9 for g in gains):
        return 0.0
    if best <= 0:
        return 1.0
    product = 1.0
    for g in gains:
        product *= max(g, 0.0)
    return product / best


def veto_run(s, steps, seed):
    random.seed(seed)
    first = s.outcome_space.random_outcome()
    m = VetoSTMechanism(outcome_space=s.outcome_space, n_steps=steps, initial_outcome=first)
    for i, u in enumerate(s.ufuns):
        m.add(BinaryComparatorNegotiator(name=f"p{i}"), preferences=u)
    m.run()
    return m.state.current_offer


def main():
    ours_path, export_dir = sys.argv[1], Path(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    seeds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    parties_max = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    rows = [json.loads(line) for line in open(ours_path)]
    ours_all, theirs_all = [], []
    print(f"{'domain':40s} {'parties':>7s} {'packages':>9s} {'ours min':>8s} {'ours med':>8s} {'veto min':>8s} {'veto med':>8s} {'veto s/run':>10s}")
    for row in rows:
        if row["parties"] > parties_max:
            continue
        folder = export_dir / row["domain"]
        if not folder.is_dir():
            continue
        s = Scenario.load(folder, ignore_discount=True)
        started = time.perf_counter()
        theirs = [share(s, veto_run(s, steps, seed), row["nash_best"]) for seed in range(seeds)]
        per_run = (time.perf_counter() - started) / seeds
        ours = row["final_shares"]
        ours_all += ours
        theirs_all += theirs
        print(
            f"{row['domain']:40s} {row['parties']:7d} {row['packages']:9d} {min(ours):8.4f} {statistics.median(ours):8.4f} "
            f"{min(theirs):8.4f} {statistics.median(theirs):8.4f} {per_run:10.3f}"
        )
    if ours_all:
        print(
            f"\n{len(ours_all)} runs of ours (at most 10 drafts): median {statistics.median(ours_all):.4f}, "
            f"mean {statistics.mean(ours_all):.4f}, min {min(ours_all):.4f}, at or above 0.995: {sum(x >= 0.995 for x in ours_all)}"
        )
        print(
            f"{len(theirs_all)} runs of NegMAS VetoSTMechanism ({steps} proposals each): median {statistics.median(theirs_all):.4f}, "
            f"mean {statistics.mean(theirs_all):.4f}, min {min(theirs_all):.4f}, at or above 0.995: {sum(x >= 0.995 for x in theirs_all)}"
        )


if __name__ == "__main__":
    main()
