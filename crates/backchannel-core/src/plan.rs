//! The implementation plan (`backchannel-plan/1`): what each party committed to, the
//! milestones that pace it and what triggers each, who verifies which commitment, the
//! deadlines, and the dispute ladder with its remedies. [`status`] says where implementation
//! stands from the facts on the record (the agreement's publication, reports, attestations)
//! at a time the caller gives: the core reads no clock.
//!
//! Triggers: a fixed date, an offset in days from another milestone (or from the agreement's
//! publication, `agreement`), a verifier's attestations that given commitments are complete,
//! and `earliest_of` / `all_of` of these. JCPOA's Transition Day is
//! `earliest_of(offset(adoption, 2922 days), attestation(IAEA, [broader_conclusion]))`.
//! A milestone, once reached, stays reached: it is an event, not a state.
//!
//! Scores follow the Peace Accords Matrix: each commitment is 0 (not initiated), 1 (minimal),
//! 2 (intermediate) or 3 (complete), by its latest attestation where there is one, else its
//! latest report; a score is the sum over 3 × the number of commitments.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The value of a plan's `format`.
pub const PLAN_FORMAT: &str = "backchannel-plan/1";
/// The most commitments, milestones, verifiers, deadlines or dispute stages a plan holds, and
/// the deepest a trigger nests.
pub const MAX_ITEMS: usize = 256;
const MAX_DEPTH: usize = 8;
const DAY_MS: u64 = 86_400_000;
/// What `offset.from` names for the agreement's publication.
pub const AGREEMENT: &str = "agreement";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: String,
    pub commitments: Vec<Commitment>,
    pub milestones: Vec<Milestone>,
    #[serde(default)]
    pub verifiers: Vec<Verifier>,
    #[serde(default)]
    pub deadlines: Vec<Deadline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disputes: Option<DisputeLadder>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    pub id: String,
    pub text: String,
    /// The parties that perform it.
    pub obligors: Vec<String>,
    pub theme: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    pub trigger: Trigger,
}

/// When a milestone is reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// On this date (`YYYY-MM-DD`, UTC midnight).
    Date(String),
    /// This many days after another milestone, or after the agreement's publication.
    Offset { from: String, days: u32 },
    /// Once the verifier has attested each of these commitments complete (status 3).
    Attestation {
        verifier: String,
        commitments: Vec<String>,
    },
    /// As soon as any of these holds.
    EarliestOf(Vec<Trigger>),
    /// Once all of these hold.
    AllOf(Vec<Trigger>),
}

/// An observer named as verifier, and the commitments it may attest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verifier {
    /// The observer's name as admitted to the case.
    pub name: String,
    pub commitments: Vec<String>,
}

/// A commitment due some days after a milestone, and how the date may move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub commitment: String,
    pub milestone: String,
    #[serde(default)]
    pub days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// Whose signed consent an extension needs.
    pub consent: Consent,
    /// The most days all extensions of this deadline may add.
    pub max_days: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Every party of the case.
    AllParties,
    /// The parties the deadline's commitment binds.
    Obligors,
}

/// The dispute ladder: stages climbed in order, each for at most its days, then remedies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeLadder {
    pub stages: Vec<Stage>,
    pub remedies: Vec<Remedy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub id: String,
    pub title: String,
    /// How long the stage lasts before it may be escalated.
    pub days: u32,
    /// An advisory opinion (non-binding) may be given at this stage.
    #[serde(default)]
    pub advisory: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Remedy {
    /// Cease performing the commitments in dispute.
    CeaseInPart,
    /// Cease performing the whole plan.
    CeaseInWhole,
    /// Suspend commitments step by step.
    GraduatedSuspension,
    /// Notice, then automatic re-imposition after this many days unless blocked.
    Snapback { notice_days: u32 },
}

impl Remedy {
    /// The remedy in words, as the command line takes it.
    pub fn word(&self) -> String {
        match self {
            Remedy::CeaseInPart => "cease_in_part".into(),
            Remedy::CeaseInWhole => "cease_in_whole".into(),
            Remedy::GraduatedSuspension => "graduated_suspension".into(),
            Remedy::Snapback { notice_days } => {
                format!("snapback after {notice_days} days' notice")
            }
        }
    }
}

/// Why a plan is refused: one sentence naming what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the implementation plan is invalid: {0}")]
pub struct PlanError(pub String);

fn invalid(why: impl Into<String>) -> PlanError {
    PlanError(why.into())
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian), after Howard Hinnant.
fn days_from_date(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The unix milliseconds of a `YYYY-MM-DD` date at UTC midnight; `None` before 1970.
pub fn date_ms(date: &str) -> Option<u64> {
    let days = u64::try_from(days_from_date(date)?).ok()?;
    days.checked_mul(DAY_MS)
}

impl Plan {
    /// Parses and validates a plan.
    pub fn parse(json: &[u8]) -> Result<Plan, PlanError> {
        let plan: Plan =
            serde_json::from_slice(json).map_err(|e| invalid(format!("malformed: {e}")))?;
        plan.validate()?;
        Ok(plan)
    }

    pub fn commitment(&self, id: &str) -> Option<&Commitment> {
        self.commitments.iter().find(|c| c.id == id)
    }

    /// Whether `verifier` is named to attest `commitment`.
    pub fn may_attest(&self, verifier: &str, commitment: &str) -> bool {
        self.verifiers
            .iter()
            .any(|v| v.name == verifier && v.commitments.iter().any(|c| c == commitment))
    }

    /// Every reference resolves, ids are unique, sizes are bounded, dates parse, and no
    /// milestone's offset leads back to itself.
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.format != PLAN_FORMAT {
            return Err(invalid(format!(
                "its format is {:?}, not {PLAN_FORMAT:?}",
                self.format
            )));
        }
        let stages = self.disputes.as_ref().map_or(0, |d| d.stages.len());
        for (what, n) in [
            ("commitments", self.commitments.len()),
            ("milestones", self.milestones.len()),
            ("verifiers", self.verifiers.len()),
            ("deadlines", self.deadlines.len()),
            ("dispute stages", stages),
        ] {
            if n > MAX_ITEMS {
                return Err(invalid(format!("it has {n} {what}, more than {MAX_ITEMS}")));
            }
        }
        if self.commitments.is_empty() {
            return Err(invalid("it has no commitments"));
        }
        let commitments = unique("commitment", self.commitments.iter().map(|c| &c.id))?;
        let milestones = unique("milestone", self.milestones.iter().map(|m| &m.id))?;
        if milestones.contains(AGREEMENT) {
            return Err(invalid(format!(
                "{AGREEMENT:?} names the agreement's publication, not a milestone"
            )));
        }
        unique("verifier", self.verifiers.iter().map(|v| &v.name))?;
        for c in &self.commitments {
            label("a commitment's text", &c.text)?;
            label("a commitment's theme", &c.theme)?;
            if c.obligors.is_empty() {
                return Err(invalid(format!("commitment {} binds no party", c.id)));
            }
        }
        for v in &self.verifiers {
            for c in &v.commitments {
                known("commitment", c, &commitments)?;
            }
        }
        for m in &self.milestones {
            label("a milestone's title", &m.title)?;
            self.check_trigger(&m.trigger, &commitments, &milestones, 0)?;
        }
        for d in &self.deadlines {
            known("commitment", &d.commitment, &commitments)?;
            known("milestone", &d.milestone, &milestones)?;
        }
        if let Some(ladder) = &self.disputes {
            unique("dispute stage", ladder.stages.iter().map(|s| &s.id))?;
            if ladder.stages.iter().any(|s| s.days == 0) {
                return Err(invalid("a dispute stage lasts at least a day"));
            }
        }
        // No cycle through offsets: follow each milestone's dependencies.
        for m in &self.milestones {
            let mut seen = BTreeSet::new();
            self.acyclic(&m.id, &mut seen)?;
        }
        Ok(())
    }

    fn check_trigger(
        &self,
        trigger: &Trigger,
        commitments: &BTreeSet<&str>,
        milestones: &BTreeSet<&str>,
        depth: usize,
    ) -> Result<(), PlanError> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("a trigger nests deeper than {MAX_DEPTH}")));
        }
        match trigger {
            Trigger::Date(date) => date_ms(date)
                .map(drop)
                .ok_or_else(|| invalid(format!("{date:?} is not a date YYYY-MM-DD from 1970"))),
            Trigger::Offset { from, .. } if from == AGREEMENT => Ok(()),
            Trigger::Offset { from, .. } => known("milestone", from, milestones),
            Trigger::Attestation {
                verifier,
                commitments: listed,
            } => {
                if listed.is_empty() {
                    return Err(invalid("an attestation trigger names no commitment"));
                }
                for c in listed {
                    known("commitment", c, commitments)?;
                    if !self.may_attest(verifier, c) {
                        return Err(invalid(format!(
                            "{verifier} is not named to attest commitment {c}"
                        )));
                    }
                }
                Ok(())
            }
            Trigger::EarliestOf(all) | Trigger::AllOf(all) => {
                if all.is_empty() {
                    return Err(invalid("earliest_of and all_of need at least one trigger"));
                }
                all.iter()
                    .try_for_each(|t| self.check_trigger(t, commitments, milestones, depth + 1))
            }
        }
    }

    fn acyclic<'a>(&'a self, id: &'a str, path: &mut BTreeSet<&'a str>) -> Result<(), PlanError> {
        if !path.insert(id) {
            return Err(invalid(format!("milestone {id} depends on itself")));
        }
        if let Some(m) = self.milestones.iter().find(|m| m.id == id) {
            let mut from = Vec::new();
            offsets(&m.trigger, &mut from);
            for next in from {
                if next != AGREEMENT {
                    self.acyclic(next, path)?;
                }
            }
        }
        path.remove(id);
        Ok(())
    }
}

fn offsets<'a>(trigger: &'a Trigger, out: &mut Vec<&'a str>) {
    match trigger {
        Trigger::Offset { from, .. } => out.push(from),
        Trigger::EarliestOf(all) | Trigger::AllOf(all) => {
            all.iter().for_each(|t| offsets(t, out));
        }
        Trigger::Date(_) | Trigger::Attestation { .. } => {}
    }
}

fn unique<'a>(
    what: &str,
    ids: impl Iterator<Item = &'a String>,
) -> Result<BTreeSet<&'a str>, PlanError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        label(what, id)?;
        if !seen.insert(id.as_str()) {
            return Err(invalid(format!("two {what}s are named {id}")));
        }
    }
    Ok(seen)
}

fn known(what: &str, id: &str, ids: &BTreeSet<&str>) -> Result<(), PlanError> {
    if ids.contains(id) {
        Ok(())
    } else {
        Err(invalid(format!(
            "it names {what} {id}, which it does not define"
        )))
    }
}

fn label(what: &str, text: &str) -> Result<(), PlanError> {
    let chars = text.chars().count();
    if chars == 0 || chars > 2_000 || text.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} must be 1 to 2000 characters with no control characters"
        )));
    }
    Ok(())
}

/// A status (0–3) said on the record about a commitment, by a party or a verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    pub commitment: String,
    /// The party reporting, or the verifier attesting.
    pub by: String,
    pub status: u8,
    pub at_ms: u64,
}

/// A dispute as the record tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// From 1, in the order disputes are opened.
    pub id: u32,
    /// Who opened it (a party's or an observer's name), and over which commitments.
    pub by: String,
    pub commitments: Vec<String>,
    pub complaint: String,
    /// The index of the ladder's stage it is at, and since when.
    pub stage: usize,
    pub stage_since_ms: u64,
    /// Escalated past the last stage: the complainant may invoke a remedy.
    pub exhausted: bool,
    pub opinions: Vec<String>,
    pub resolution: Option<String>,
    pub remedy: Option<Remedy>,
}

impl Dispute {
    /// Neither resolved nor ended by a remedy.
    pub fn is_open(&self) -> bool {
        self.resolution.is_none() && self.remedy.is_none()
    }
}

impl DisputeLadder {
    /// When the stage at `index`, begun at `since_ms`, may be escalated.
    pub fn stage_ends_ms(&self, index: usize, since_ms: u64) -> Option<u64> {
        let days = u64::from(self.stages.get(index)?.days);
        Some(since_ms.saturating_add(days * DAY_MS))
    }
}

impl Facts {
    /// The days all extensions granted have added to a commitment's deadline.
    pub fn extended_days(&self, commitment: &str) -> u32 {
        self.extensions
            .iter()
            .filter(|(c, _)| c == commitment)
            .fold(0u32, |sum, (_, days)| sum.saturating_add(*days))
    }
}

impl Plan {
    /// The deadline of a commitment that may be extended, with how.
    pub fn extension_of(&self, commitment: &str) -> Option<&Extension> {
        self.deadlines
            .iter()
            .filter(|d| d.commitment == commitment)
            .find_map(|d| d.extension.as_ref())
    }
}

/// What the record says, in the order it says it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// When the agreement was published.
    pub agreement_ms: Option<u64>,
    pub reports: Vec<Said>,
    pub attestations: Vec<Said>,
    pub disputes: Vec<Dispute>,
    /// Extensions granted: the commitment and the days its deadline moved.
    pub extensions: Vec<(String, u32)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisputeStatus {
    pub id: u32,
    pub by: String,
    pub commitments: Vec<String>,
    /// The stage's id; `exhausted` past the last, `resolved` or `remedied` once ended.
    pub stage: String,
    /// When the current stage may be escalated, and how long until then.
    pub stage_ends_ms: Option<u64>,
    pub time_left_ms: Option<u64>,
    pub opinions: Vec<String>,
    pub resolution: Option<String>,
    pub remedy: Option<Remedy>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MilestoneStatus {
    pub id: String,
    pub title: String,
    pub reached: bool,
    pub reached_at_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommitmentStatus {
    pub id: String,
    pub theme: String,
    /// By the latest attestation where there is one, else the latest report; 0 without either.
    pub status: u8,
    pub reported: Option<u8>,
    pub attested: Option<u8>,
    /// The latest report and the latest attestation disagree.
    pub discrepancy: bool,
    /// When it is due, once the milestone its deadline counts from is reached.
    pub due_ms: Option<u64>,
    /// Due, and not complete.
    pub overdue: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub milestones: Vec<MilestoneStatus>,
    pub commitments: Vec<CommitmentStatus>,
    /// Peace Accords Matrix style: the sum of statuses over 3 × the commitments, 0 to 1.
    pub score: f64,
    pub themes: BTreeMap<String, f64>,
    pub disputes: Vec<DisputeStatus>,
}

/// Where implementation stands at `now_ms`, from the record's facts. The plan must be valid.
pub fn status(plan: &Plan, facts: &Facts, now_ms: u64) -> Status {
    let mut reached = BTreeMap::new();
    let milestones = plan
        .milestones
        .iter()
        .map(|m| {
            let at = reached_at(plan, facts, now_ms, &m.id, &mut reached);
            MilestoneStatus {
                id: m.id.clone(),
                title: m.title.clone(),
                reached: at.is_some(),
                reached_at_ms: at,
            }
        })
        .collect();
    let latest = |said: &[Said], id: &str| {
        said.iter()
            .filter(|s| s.commitment == id && s.at_ms <= now_ms)
            .max_by_key(|s| s.at_ms)
            .map(|s| s.status.min(3))
    };
    let commitments: Vec<CommitmentStatus> = plan
        .commitments
        .iter()
        .map(|c| {
            let reported = latest(&facts.reports, &c.id);
            let attested = latest(&facts.attestations, &c.id);
            let status = attested.or(reported).unwrap_or(0);
            let due_ms = plan
                .deadlines
                .iter()
                .filter(|d| d.commitment == c.id)
                .filter_map(|d| {
                    let from = reached.get(d.milestone.as_str()).copied().flatten()?;
                    Some(from.saturating_add(u64::from(d.days) * DAY_MS))
                })
                .min()
                .map(|due| due.saturating_add(u64::from(facts.extended_days(&c.id)) * DAY_MS));
            CommitmentStatus {
                id: c.id.clone(),
                theme: c.theme.clone(),
                status,
                reported,
                attested,
                discrepancy: matches!((reported, attested), (Some(r), Some(a)) if r != a),
                due_ms,
                overdue: due_ms.is_some_and(|due| now_ms > due) && status < 3,
            }
        })
        .collect();
    let score_of = |of: &[&CommitmentStatus]| {
        let sum: u32 = of.iter().map(|c| u32::from(c.status)).sum();
        f64::from(sum) / (3.0 * of.len().max(1) as f64)
    };
    let all: Vec<&CommitmentStatus> = commitments.iter().collect();
    let mut by_theme: BTreeMap<String, Vec<&CommitmentStatus>> = BTreeMap::new();
    for c in &commitments {
        by_theme.entry(c.theme.clone()).or_default().push(c);
    }
    let disputes = facts
        .disputes
        .iter()
        .map(|d| {
            let ladder = plan.disputes.as_ref();
            let stage = if d.remedy.is_some() {
                "remedied".to_owned()
            } else if d.resolution.is_some() {
                "resolved".to_owned()
            } else if d.exhausted {
                "exhausted".to_owned()
            } else {
                ladder
                    .and_then(|l| l.stages.get(d.stage))
                    .map_or_else(|| "unknown".to_owned(), |s| s.id.clone())
            };
            let stage_ends_ms = ladder
                .filter(|_| d.is_open() && !d.exhausted)
                .and_then(|l| l.stage_ends_ms(d.stage, d.stage_since_ms));
            DisputeStatus {
                id: d.id,
                by: d.by.clone(),
                commitments: d.commitments.clone(),
                stage,
                stage_ends_ms,
                time_left_ms: stage_ends_ms.map(|end| end.saturating_sub(now_ms)),
                opinions: d.opinions.clone(),
                resolution: d.resolution.clone(),
                remedy: d.remedy.clone(),
            }
        })
        .collect();
    Status {
        milestones,
        disputes,
        score: score_of(&all),
        themes: by_theme
            .into_iter()
            .map(|(theme, of)| (theme, score_of(&of)))
            .collect(),
        commitments,
    }
}

/// When milestone `id` was reached, if it has been by `now_ms` (memoised in `memo`).
fn reached_at<'a>(
    plan: &'a Plan,
    facts: &Facts,
    now_ms: u64,
    id: &'a str,
    memo: &mut BTreeMap<&'a str, Option<u64>>,
) -> Option<u64> {
    if let Some(known) = memo.get(id) {
        return *known;
    }
    let at = plan
        .milestones
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| holds_at(plan, facts, now_ms, &m.trigger, memo));
    memo.insert(id, at);
    at
}

/// The earliest time, no later than `now_ms`, at which `trigger` holds.
fn holds_at<'a>(
    plan: &'a Plan,
    facts: &Facts,
    now_ms: u64,
    trigger: &'a Trigger,
    memo: &mut BTreeMap<&'a str, Option<u64>>,
) -> Option<u64> {
    let at = match trigger {
        Trigger::Date(date) => date_ms(date),
        Trigger::Offset { from, days } => {
            let base = if from == AGREEMENT {
                facts.agreement_ms
            } else {
                reached_at(plan, facts, now_ms, from, memo)
            };
            base.map(|b| b.saturating_add(u64::from(*days) * DAY_MS))
        }
        Trigger::Attestation {
            verifier,
            commitments,
        } => commitments
            .iter()
            .map(|c| {
                facts
                    .attestations
                    .iter()
                    .filter(|s| &s.by == verifier && &s.commitment == c && s.status >= 3)
                    .map(|s| s.at_ms)
                    .filter(|&t| t <= now_ms)
                    .min()
            })
            .collect::<Option<Vec<u64>>>()
            .and_then(|times| times.into_iter().max()),
        Trigger::EarliestOf(all) => all
            .iter()
            .filter_map(|t| holds_at(plan, facts, now_ms, t, memo))
            .min(),
        Trigger::AllOf(all) => all
            .iter()
            .map(|t| holds_at(plan, facts, now_ms, t, memo))
            .collect::<Option<Vec<u64>>>()
            .and_then(|times| times.into_iter().max()),
    };
    at.filter(|&t| t <= now_ms)
}
