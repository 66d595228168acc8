#!/usr/bin/env bash
# Runs NegMAS and backchannel's formula engine on the same ANAC domains and compares results and times, then
# the single negotiating text against NegMAS's veto single-text mediator, then the frontier of the synthetic
# 30 and 50 issue cases against NegMAS's MOBANOSParetoSampler.
# Usage: scripts/negmas/compare.sh [DOMAINS_DIR] [PARTIES_MAX]
# DOMAINS_DIR defaults to $BACKCHANNEL_DOMAINS_DIR, then ../shared/negotiation-domains/anac.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
domains="${1:-${BACKCHANNEL_DOMAINS_DIR:-$root/../shared/negotiation-domains}/anac}"
parties_max="${2:-3}"
venv="${NEGMAS_VENV:-$root/target/negmas-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet negmas
fi
cd "$root"
cargo build --release -q -p backchannel-formula --example sweep --example draft_sweep --example synth_bench
target="${CARGO_TARGET_DIR:-$root/target}"
# five repetitions per domain for our timing; exported domains go to $work/export
"$target/release/examples/sweep" "$domains" 5 "$work/export" > "$work/ours.jsonl"
"$venv/bin/python" "$root/scripts/negmas/compare.py" "$work/ours.jsonl" "$work/export" "$parties_max"
# The single negotiating text: ours from 10 random first drafts per domain (at most 10 drafts each), NegMAS's
# VetoSTMechanism from 5 random first texts (1,000 proposals each), on the same exported domains.
echo
"$target/release/examples/draft_sweep" "$domains" 10 10 > "$work/drafts.jsonl"
"$venv/bin/python" "$root/scripts/negmas/single_text.py" "$work/drafts.jsonl" "$work/export" 1000 5 "$parties_max"
# Synthetic two-party cases: ours (frontier alone, whole solve, and without constraints) against MOBANOS.
echo
"$target/release/examples/synth_bench" "$work/synth" > "$work/synth.jsonl"
"$venv/bin/python" "$root/scripts/negmas/mobanos.py" "$work/synth.jsonl" "$work/synth" 3
