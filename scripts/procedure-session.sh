#!/usr/bin/env bash
# The whole mediation procedure, step by step, through the `backchannel` command line: five
# participants on one machine (Pakistan mediates between the United States and Iran; the United
# Arab Emirates and Saudi Arabia observe), one hub on loopback, from the invitations to the
# published, guaranteed agreement. See docs/procedure.md.
#
#   BACKCHANNEL=target/debug/backchannel scripts/procedure-session.sh
#
# BACKCHANNEL            the binary (default: `backchannel` on PATH)
# SCENARIO               the scenario file (default: the repository's us-iran.json)
# BACKCHANNEL_SESSION_DIR  keep the hub database, the homes and each participant's final
#                        `read --json` there (default: a temporary folder, removed at the end)
set -euo pipefail

BC=${BACKCHANNEL:-backchannel}
export BACKCHANNEL_PASSPHRASE=${BACKCHANNEL_PASSPHRASE:-correct horse battery staple}
unset BACKCHANNEL_HOME

if [ -z "${SCENARIO:-}" ]; then
  here=$(dirname "${BASH_SOURCE[0]:-.}")
  for candidate in crates/backchannel-formula/scenarios/us-iran.json \
                   "$here/../crates/backchannel-formula/scenarios/us-iran.json"; do
    if [ -f "$candidate" ]; then SCENARIO=$candidate; break; fi
  done
fi
[ -f "${SCENARIO:-}" ] || { echo "set SCENARIO to the path of us-iran.json" >&2; exit 2; }

if [ -n "${BACKCHANNEL_SESSION_DIR:-}" ]; then
  DIR=$BACKCHANNEL_SESSION_DIR
  mkdir -p "$DIR"
  KEEP=1
else
  DIR=$(mktemp -d)
  KEEP=0
fi

HUB_PID=
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  if [ "$KEEP" = 0 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

# One command as one participant: `as pakistan charter propose ...`.
as() { local who=$1; shift; "$BC" --home "$DIR/$who" "$@"; }

# --- the hub, on a free loopback port --------------------------------------------------------
step "hub"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 50); do
  PORT=$((20000 + RANDOM % 30000))
  port_open "$PORT" && continue            # taken by something else
  "$BC" hub --listen "127.0.0.1:$PORT" --db "$DIR/hub.sqlite" 2>"$DIR/hub.log" &
  HUB_PID=$!
  for _ in $(seq 1 100); do
    port_open "$PORT" && break
    kill -0 "$HUB_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$HUB_PID" 2>/dev/null && port_open "$PORT"; then break; fi
  wait "$HUB_PID" 2>/dev/null || true
  HUB_PID=
done
[ -n "$HUB_PID" ] || { echo "could not start a hub" >&2; exit 1; }
HUB=http://127.0.0.1:$PORT
echo "hub on $HUB"

# --- identities, case, invitations -----------------------------------------------------------
step "identities (each compares fingerprints out of band)"
as pakistan id new --name "Pakistan"
as us       id new --name "United States"
as iran     id new --name "Iran"
as uae      id new --name "United Arab Emirates"
as saudi    id new --name "Saudi Arabia"

step "Pakistan convenes the case and invites each participant"
CASE=$(as pakistan case new --hub "$HUB" --title "Restoring a diplomatic track between the United States and Iran")
echo "case $CASE"
US_CODE=$(as pakistan case invite "$CASE" --role party --party "United States")
IRAN_CODE=$(as pakistan case invite "$CASE" --role party --party "Iran")
UAE_CODE=$(as pakistan case invite "$CASE" --role observer)
SAUDI_CODE=$(as pakistan case invite "$CASE" --role observer)
as us    case join "$US_CODE"
as iran  case join "$IRAN_CODE"
as uae   case join "$UAE_CODE"
as saudi case join "$SAUDI_CODE"
as pakistan sync "$CASE"            # lists each joiner waiting, with its fingerprint
as pakistan case admit "$CASE" --all   # (fingerprints compared out of band) admits everyone,
                                       # opens a bilateral channel per party

# --- proximity talks ---------------------------------------------------------------------------
step "proximity talks: each side with the mediator, in confidence"
as pakistan send "$CASE" --channel iran --text "Would Tehran consider talks with Washington, under a charter both accept?"
as iran     send "$CASE" --channel iran --text "Tehran is open to a diplomatic track if pressure is eased; no preconditions."
as pakistan send "$CASE" --channel united-states --text "Tehran signals openness, without preconditions. What must be on the table?"
as us       send "$CASE" --channel united-states --text "Regional conduct and threats to American bases must be on the agenda."

# --- the charter ---------------------------------------------------------------------------------
step "charter: proposed by the mediator, accepted by both parties"
as pakistan charter propose "$CASE" --agenda-by parties --non-papers --attribution original \
  --deadline "first draft=2026-06-30" --deadline "signature=2026-09-30"
as us   charter accept "$CASE"
as iran charter accept "$CASE"

# --- issues and agenda ---------------------------------------------------------------------------
step "issues: defined by the mediator from the scenario file"
as pakistan issues define "$CASE" --file "$SCENARIO"

step "agenda: Washington's demand, proposed by the United States, consented by Iran"
ITEM=$(as us agenda propose "$CASE" --title "Regional conduct; threats to bases" --demand)
as iran agenda consent "$CASE" --item "$ITEM"
ITEM2=$(as pakistan agenda propose "$CASE" --title "Sanctions relief and the civilian nuclear programme")
as us   agenda consent "$CASE" --item "$ITEM2"
as iran agenda consent "$CASE" --item "$ITEM2"
as pakistan agenda list "$CASE"

# --- positions and requirements ------------------------------------------------------------------
step "positions: each party seals its profile to the mediator"
as us   position seal "$CASE" --file "$SCENARIO" --party us
as iran position seal "$CASE" --file "$SCENARIO" --party iran

step "requirements: the observers register theirs, with rationales"
as uae require "$CASE" --file "$SCENARIO" --id gulf-non-interference \
  --rationale "Gulf security depends on a commitment to non-interference in neighbours' affairs."
as uae require "$CASE" --file "$SCENARIO" --id enrichment-needs-stockpile-limits \
  --rationale "Any enrichment must come with limits on the stockpile."
as saudi require "$CASE" --file "$SCENARIO" --id free-navigation \
  --rationale "Shipping through the Gulf and the Strait of Hormuz must stay free."
as saudi require "$CASE" --id relief-needs-access \
  --implies sanctions=full_lift --then verification=comprehensive,additional_protocol \
  --rationale "Full relief only with the access that verifies it."

# --- conveying -----------------------------------------------------------------------------------
step "conveying: a paraphrase, a consented original, a non-paper"
as pakistan convey "$CASE" --from united-states --to iran \
  --text "Washington will listen to proposals if regional conduct is on the agenda; it now is."
ORIGINAL=$(as iran --json send "$CASE" --channel iran --text "Iran will not seek a nuclear weapon." \
  | sed -n 's/^ *"index": \([0-9]*\),*$/\1/p')
as iran consent-convey "$CASE" --index "$ORIGINAL" --to united-states
as pakistan convey "$CASE" --from iran --to united-states --original "$ORIGINAL"
as pakistan nonpaper "$CASE" --text "Relief in phases, matched step by step by verified limits on enrichment."

# --- the single negotiating text: draft 1 --------------------------------------------------------
step "draft 1: the engine's proposal from the sealed positions and the requirements"
as pakistan draft propose "$CASE" --issue
as us   draft show "$CASE" --version 1

step "the parties answer draft 1, clause by clause, to the mediator only"
as us   draft answer "$CASE" --version 1 --accept-all --prefer sanctions=phased_lift
as iran draft answer "$CASE" --version 1 --accept-all --prefer stockpile=down_blend \
  --object "verification=Short-notice access goes beyond what Iran can accept."

# --- sealed conditional offers -------------------------------------------------------------------
step "conditional offers: two that match, one that stays sealed"
as us   offer table "$CASE" --promise sanctions=phased_lift --condition enrichment=cap_3_67
as iran offer table "$CASE" --promise enrichment=cap_3_67 --condition sanctions=phased_lift,full_lift
as iran offer table "$CASE" --promise detainees=full_exchange --condition shipping=guarantee_and_drawdown
as pakistan offer match "$CASE"
as us offer list "$CASE"

# --- direct talks --------------------------------------------------------------------------------
step "direct talks: proposed, consented by both, opened"
as pakistan direct propose "$CASE"
as us   direct consent "$CASE"
as iran direct consent "$CASE"
as pakistan direct open "$CASE"
as us   send "$CASE" --channel direct --text "We are ready to work from the mediator's text."
as iran send "$CASE" --channel direct --text "So are we."

# --- draft 2 -------------------------------------------------------------------------------------
step "draft 2: the engine's advice, then the mediator's text writing in the matched offers"
as pakistan draft propose "$CASE"      # the engine's next text (advice; nothing is posted)
as pakistan draft issue "$CASE" --amend 1 --package sanctions=phased_lift,stockpile=down_blend
as pakistan draft diff "$CASE" 1 2
as us   draft answer "$CASE" --version 2 --accept-all
as iran draft answer "$CASE" --version 2 --accept-all
as pakistan draft show "$CASE" --version 2

# --- the agreement -------------------------------------------------------------------------------
step "agreement: tabled from draft 2, signed by both parties and the mediator, published"
as pakistan agreement table "$CASE" --from-draft 2 \
  --title "Joint understanding between the United States and Iran" \
  --guarantor "United Arab Emirates" --guarantor "Saudi Arabia"
as us       agreement sign "$CASE"
as iran     agreement sign "$CASE"
as pakistan agreement sign "$CASE"
as pakistan agreement publish "$CASE"

step "the observers co-sign as guarantors"
as uae   agreement guarantee "$CASE"
as saudi agreement guarantee "$CASE"

step "parallel declarations, each party in its own words"
as us   declaration table "$CASE" --text "The United States will implement its commitments in phases."
as iran declaration table "$CASE" --text "Iran reaffirms that it will never seek a nuclear weapon."
as pakistan declaration publish "$CASE"

# --- implementation --------------------------------------------------------------------------
step "implementation: the plan, progress reported by each side, attested by the named verifier"
# The seed story's plan, the UAE named as verifier of Iran's nuclear steps.
PLAN_SOURCE=$(dirname "$SCENARIO")/../../backchannel-core/plans/us-iran.json
sed 's/"Inspector"/"United Arab Emirates"/g' "$PLAN_SOURCE" >"$DIR/plan.json"
as pakistan implement plan propose "$CASE" --file "$DIR/plan.json"
as us   implement plan accept "$CASE"
as iran implement plan accept "$CASE"
as iran implement report "$CASE" --commitment enrichment_cap --status 3 --note "cascades reconfigured"
as uae  implement attest "$CASE" --commitment enrichment_cap --status 3 --evidence "inspection report 1"
# Implementation Day waits for the verifier's attestation of both first steps.
as saudi --json implement status "$CASE" >"$DIR/one-attestation.json"
as uae  implement attest "$CASE" --commitment stockpile --status 3 --evidence "shipment verified"
as us   implement report "$CASE" --commitment sanctions_relief --status 2 --note "first phase lifted"
# A Gulf capital disputes a regional commitment. A party cannot move it on before the Joint
# Commission's fifteen days are over; Pakistan, who convenes the ladder, refers it to the
# ministers, where the advisory board gives its opinion, and records the settlement.
as uae  implement dispute open "$CASE" --commitment regional_conduct --complaint "interference in our internal affairs"
as saudi --json implement status "$CASE" >"$DIR/dispute-opened.json"
if as iran --json implement dispute escalate "$CASE" --dispute 1 2>"$DIR/early-escalation.err"; then
  echo "a party moved a dispute on before the stage's days were over" >&2; exit 1
fi
as pakistan implement dispute escalate "$CASE" --dispute 1
as saudi implement dispute opinion "$CASE" --dispute 1 --text "both sides should reaffirm the regional commitment in writing"
as saudi --json implement status "$CASE" >"$DIR/dispute-escalated.json"
as pakistan implement dispute resolve "$CASE" --dispute 1 --text "assurances exchanged before the ministers"
# Sanctions relief, due on Implementation Day, moves by ten days with its obligor's consent.
as us       implement extend "$CASE" --commitment sanctions_relief --days 10
as pakistan implement extend "$CASE" --commitment sanctions_relief --days 10
as saudi implement status "$CASE"
as saudi --json implement status "$CASE" >"$DIR/implementation.json"
# The same status from an exported record alone, verified offline.
as saudi export "$CASE" --out "$DIR/record.json"
as saudi --json verify "$DIR/record.json" >"$DIR/verified.json"

# --- the public record ---------------------------------------------------------------------------
step "everyone reads the public record"
for who in pakistan us iran uae saudi; do
  echo "-- $who"
  as "$who" read "$CASE" --channel public
  as "$who" --json read "$CASE" >"$DIR/read-$who.json"
  as "$who" --json case show "$CASE" >"$DIR/show-$who.json"
done
as uae agreement show "$CASE"
as uae case show "$CASE"

echo
echo "done: case $CASE"
if [ "$KEEP" = 1 ]; then echo "kept in $DIR"; fi
