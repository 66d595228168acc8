//! The `backchannel-scenario/1` format: issues, parties' private profiles, observers' requirements, and its validation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// The format tag every scenario carries.
pub const FORMAT: &str = "backchannel-scenario/1";

/// Limits on what a scenario may hold, so that a hostile file cannot exhaust memory.
pub const ISSUES_MAX: usize = 1_000;
/// Most options one issue may have.
pub const OPTIONS_PER_ISSUE_MAX: usize = 100_000;
/// Most parties a scenario may have.
pub const PARTIES_MAX: usize = 64;
/// Most observer requirements a scenario may have.
pub const REQUIREMENTS_MAX: usize = 10_000;
/// Tolerance on the sum of a party's weights.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// A negotiation: issues with discrete options, private party profiles and observers' requirements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Always [`FORMAT`].
    pub format: String,
    /// A short title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Free text, e.g. "illustrative, not a prediction".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The issues on the table, in agenda order.
    pub issues: Vec<Issue>,
    /// The parties at the table, with their private profiles.
    pub parties: Vec<Party>,
    /// Constraints registered by observers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<Requirement>,
}

/// One issue and its options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    /// Unique id among issues.
    pub id: String,
    /// Human title.
    pub title: String,
    /// The options, at least one.
    pub options: Vec<IssueOption>,
}

/// One option of an issue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueOption {
    /// Unique id within its issue.
    pub id: String,
    /// Human label.
    pub label: String,
}

/// A party and its private profile (held by the mediator only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Unique id among parties.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Weight per issue id; every issue has one, each in [0, 1], summing to 1.
    pub weights: BTreeMap<String, f64>,
    /// Score per issue id, then per option id, in [0, 1]; every option has one.
    pub scores: BTreeMap<String, BTreeMap<String, f64>>,
    /// Forbidden option ids per issue id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub red_lines: BTreeMap<String, Vec<String>>,
    /// The utility below which the party prefers no agreement, in [0, 1].
    #[serde(default)]
    pub reservation: f64,
}

/// A constraint from an observer on any agreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// Unique id among requirements.
    pub id: String,
    /// Who asks for it (an observer id).
    pub by: String,
    /// What it asks.
    #[serde(flatten)]
    pub kind: RequirementKind,
}

/// The kinds of requirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequirementKind {
    /// The issue must settle on one of these options.
    RequireOneOf {
        /// Issue id.
        issue: String,
        /// Allowed option ids.
        options: Vec<String>,
    },
    /// The issue must not settle on any of these options.
    Forbid {
        /// Issue id.
        issue: String,
        /// Forbidden option ids.
        options: Vec<String>,
    },
    /// If the first condition holds, the second must hold too.
    Implies {
        /// The condition.
        #[serde(rename = "if")]
        if_: Condition,
        /// What it then requires.
        then: Condition,
    },
}

/// "Issue settles on one of these options".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Issue id.
    pub issue: String,
    /// Option ids.
    pub options: Vec<String>,
}

pub use crate::package::Package;

/// What went wrong with a scenario, in a stable machine code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioErrorKind {
    /// Not JSON, or not the expected shape.
    Syntax,
    /// The `format` tag is not [`FORMAT`].
    Format,
    /// An id appears twice.
    Duplicate,
    /// A reference to an issue, option or party that does not exist.
    Unknown,
    /// Something required is missing.
    Missing,
    /// A number out of its range or not finite.
    Range,
    /// A party's weights do not sum to 1.
    WeightSum,
    /// Over one of the limits.
    TooLarge,
    /// An empty list where one entry at least is needed.
    Empty,
}

/// A validation error: the file, the path in it and what is wrong.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ScenarioError {
    /// The file, when known.
    pub file: Option<String>,
    /// Where in the document, e.g. `parties[1].scores.enrichment.none`.
    pub path: String,
    /// Stable code.
    pub kind: ScenarioErrorKind,
    /// Human sentence.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "at {}: {}", self.path, self.message)
        }
    }
}

impl ScenarioError {
    fn new(path: impl Into<String>, kind: ScenarioErrorKind, message: impl Into<String>) -> Self {
        ScenarioError {
            file: None,
            path: path.into(),
            kind,
            message: message.into(),
        }
    }

    /// The same error, naming the file it came from.
    #[must_use]
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl Scenario {
    /// Parses and validates a scenario from JSON text.
    pub fn from_json_str(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| {
            let at = format!("line {} column {}", e.line(), e.column());
            // serde_json ends its sentence with the position, which the path already gives.
            let said = e.to_string();
            let message = said.strip_suffix(&format!(" at {at}")).unwrap_or(&said);
            ScenarioError::new(at.clone(), ScenarioErrorKind::Syntax, message)
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Serialises to pretty JSON.
    pub fn to_json_string(&self) -> String {
        // A Scenario holds only strings, maps and finite floats: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Index of the issue with this id.
    pub fn issue_index(&self, id: &str) -> Option<usize> {
        self.issues.iter().position(|i| i.id == id)
    }

    /// Index of the party with this id.
    pub fn party_index(&self, id: &str) -> Option<usize> {
        self.parties.iter().position(|p| p.id == id)
    }

    /// Checks every rule of the format; the first violation is returned.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        use ScenarioErrorKind as K;
        if self.format != FORMAT {
            return Err(ScenarioError::new(
                "format",
                K::Format,
                format!("expected \"{FORMAT}\", found {:?}", self.format),
            ));
        }
        self.validate_issues()?;
        if self.parties.len() < 2 {
            return Err(ScenarioError::new(
                "parties",
                K::Empty,
                "a scenario needs two parties at least",
            ));
        }
        if self.parties.len() > PARTIES_MAX {
            return Err(ScenarioError::new(
                "parties",
                K::TooLarge,
                format!("{} parties, at most {PARTIES_MAX}", self.parties.len()),
            ));
        }
        let mut party_ids = BTreeSet::new();
        for (p, party) in self.parties.iter().enumerate() {
            self.validate_party(p, party)?;
            if !party_ids.insert(party.id.as_str()) {
                return Err(ScenarioError::new(
                    format!("parties[{p}].id"),
                    K::Duplicate,
                    format!("duplicate party id {:?}", party.id),
                ));
            }
        }
        if self.requirements.len() > REQUIREMENTS_MAX {
            return Err(ScenarioError::new(
                "requirements",
                K::TooLarge,
                format!(
                    "{} requirements, at most {REQUIREMENTS_MAX}",
                    self.requirements.len()
                ),
            ));
        }
        let mut req_ids = BTreeSet::new();
        for (r, req) in self.requirements.iter().enumerate() {
            let path = format!("requirements[{r}]");
            if req.id.is_empty() {
                return Err(ScenarioError::new(
                    format!("{path}.id"),
                    K::Missing,
                    "empty requirement id",
                ));
            }
            if !req_ids.insert(req.id.as_str()) {
                return Err(ScenarioError::new(
                    format!("{path}.id"),
                    K::Duplicate,
                    format!("duplicate requirement id {:?}", req.id),
                ));
            }
            self.validate_requirement(r, req)?;
        }
        Ok(())
    }

    /// Checks the issues and their options (ids present and unique, sizes bounded).
    pub fn validate_issues(&self) -> Result<(), ScenarioError> {
        use ScenarioErrorKind as K;
        if self.issues.is_empty() {
            return Err(ScenarioError::new(
                "issues",
                K::Empty,
                "a scenario needs one issue at least",
            ));
        }
        if self.issues.len() > ISSUES_MAX {
            return Err(ScenarioError::new(
                "issues",
                K::TooLarge,
                format!("{} issues, at most {ISSUES_MAX}", self.issues.len()),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, issue) in self.issues.iter().enumerate() {
            let path = format!("issues[{i}]");
            if issue.id.is_empty() {
                return Err(ScenarioError::new(
                    format!("{path}.id"),
                    K::Missing,
                    "empty issue id",
                ));
            }
            if !seen.insert(issue.id.as_str()) {
                return Err(ScenarioError::new(
                    format!("{path}.id"),
                    K::Duplicate,
                    format!("duplicate issue id {:?}", issue.id),
                ));
            }
            if issue.options.is_empty() {
                return Err(ScenarioError::new(
                    format!("{path}.options"),
                    K::Empty,
                    format!("issue {:?} has no options", issue.id),
                ));
            }
            if issue.options.len() > OPTIONS_PER_ISSUE_MAX {
                return Err(ScenarioError::new(
                    format!("{path}.options"),
                    K::TooLarge,
                    format!(
                        "{} options, at most {OPTIONS_PER_ISSUE_MAX}",
                        issue.options.len()
                    ),
                ));
            }
            let mut opts = BTreeSet::new();
            for (j, o) in issue.options.iter().enumerate() {
                if o.id.is_empty() {
                    return Err(ScenarioError::new(
                        format!("{path}.options[{j}].id"),
                        K::Missing,
                        "empty option id",
                    ));
                }
                if !opts.insert(o.id.as_str()) {
                    return Err(ScenarioError::new(
                        format!("{path}.options[{j}].id"),
                        K::Duplicate,
                        format!("duplicate option id {:?} in issue {:?}", o.id, issue.id),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that requirement `r` refers to known issues and options.
    pub fn validate_requirement(&self, r: usize, req: &Requirement) -> Result<(), ScenarioError> {
        let path = format!("requirements[{r}]");
        match &req.kind {
            RequirementKind::RequireOneOf { issue, options }
            | RequirementKind::Forbid { issue, options } => {
                self.check_condition(&path, issue, options)
            }
            RequirementKind::Implies { if_, then } => {
                self.check_condition(&format!("{path}.if"), &if_.issue, &if_.options)?;
                self.check_condition(&format!("{path}.then"), &then.issue, &then.options)
            }
        }
    }

    fn check_condition(
        &self,
        path: &str,
        issue: &str,
        options: &[String],
    ) -> Result<(), ScenarioError> {
        use ScenarioErrorKind as K;
        let Some(i) = self.issue_index(issue) else {
            return Err(ScenarioError::new(
                format!("{path}.issue"),
                K::Unknown,
                format!("unknown issue {issue:?}"),
            ));
        };
        for (k, o) in options.iter().enumerate() {
            if !self.issues[i].options.iter().any(|x| &x.id == o) {
                return Err(ScenarioError::new(
                    format!("{path}.options[{k}]"),
                    K::Unknown,
                    format!("unknown option {o:?} of issue {issue:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Checks party `p`'s profile against the issues: weights, scores, red lines, reservation.
    /// Why `party`'s position, though valid, can never be satisfied over these issues, in
    /// sentences naming the issue or the figure: red lines that forbid every option of an
    /// issue, or a reservation above the best utility its red lines allow. Empty when it can.
    pub fn infeasibility(&self, party: &Party) -> Vec<String> {
        let mut why = Vec::new();
        let mut best = 0.0;
        for issue in &self.issues {
            let forbidden = party.red_lines.get(&issue.id);
            let allowed: Vec<&IssueOption> = issue
                .options
                .iter()
                .filter(|o| forbidden.is_none_or(|f| !f.contains(&o.id)))
                .collect();
            if allowed.is_empty() {
                why.push(format!(
                    "the red lines of {} on {:?} forbid every one of its options",
                    party.name, issue.id
                ));
                continue;
            }
            let weight = party.weights.get(&issue.id).copied().unwrap_or(0.0);
            let scores = party.scores.get(&issue.id);
            let top = allowed
                .iter()
                .map(|o| scores.and_then(|s| s.get(&o.id)).copied().unwrap_or(0.0))
                .fold(0.0, f64::max);
            best += weight * top;
        }
        if why.is_empty() && party.reservation > best + 1e-9 {
            why.push(format!(
                "the reservation of {} ({:.3}) is above the best utility its red lines allow ({best:.3})",
                party.name, party.reservation
            ));
        }
        why
    }

    pub fn validate_party(&self, p: usize, party: &Party) -> Result<(), ScenarioError> {
        use ScenarioErrorKind as K;
        let path = format!("parties[{p}]");
        if party.id.is_empty() {
            return Err(ScenarioError::new(
                format!("{path}.id"),
                K::Missing,
                "empty party id",
            ));
        }
        if !(party.reservation.is_finite() && (0.0..=1.0).contains(&party.reservation)) {
            return Err(ScenarioError::new(
                format!("{path}.reservation"),
                K::Range,
                format!("reservation {} is not in [0, 1]", party.reservation),
            ));
        }
        for key in party.weights.keys() {
            if self.issue_index(key).is_none() {
                return Err(ScenarioError::new(
                    format!("{path}.weights.{key}"),
                    K::Unknown,
                    format!("weight for unknown issue {key:?}"),
                ));
            }
        }
        for key in party.scores.keys() {
            if self.issue_index(key).is_none() {
                return Err(ScenarioError::new(
                    format!("{path}.scores.{key}"),
                    K::Unknown,
                    format!("scores for unknown issue {key:?}"),
                ));
            }
        }
        let mut sum = 0.0;
        for issue in &self.issues {
            let Some(&w) = party.weights.get(&issue.id) else {
                return Err(ScenarioError::new(
                    format!("{path}.weights"),
                    K::Missing,
                    format!("no weight for issue {:?}", issue.id),
                ));
            };
            if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                return Err(ScenarioError::new(
                    format!("{path}.weights.{}", issue.id),
                    K::Range,
                    format!("weight {w} is not in [0, 1]"),
                ));
            }
            sum += w;
            let Some(scores) = party.scores.get(&issue.id) else {
                return Err(ScenarioError::new(
                    format!("{path}.scores"),
                    K::Missing,
                    format!("no scores for issue {:?}", issue.id),
                ));
            };
            for key in scores.keys() {
                if !issue.options.iter().any(|o| &o.id == key) {
                    return Err(ScenarioError::new(
                        format!("{path}.scores.{}.{key}", issue.id),
                        K::Unknown,
                        format!("score for unknown option {key:?} of issue {:?}", issue.id),
                    ));
                }
            }
            for o in &issue.options {
                let Some(&s) = scores.get(&o.id) else {
                    return Err(ScenarioError::new(
                        format!("{path}.scores.{}", issue.id),
                        K::Missing,
                        format!("no score for option {:?}", o.id),
                    ));
                };
                if !(s.is_finite() && (0.0..=1.0).contains(&s)) {
                    return Err(ScenarioError::new(
                        format!("{path}.scores.{}.{}", issue.id, o.id),
                        K::Range,
                        format!("score {s} is not in [0, 1]"),
                    ));
                }
            }
        }
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            return Err(ScenarioError::new(
                format!("{path}.weights"),
                K::WeightSum,
                format!("weights of party {:?} sum to {sum}, not 1", party.id),
            ));
        }
        for (issue_id, forbidden) in &party.red_lines {
            self.check_condition(&format!("{path}.red_lines.{issue_id}"), issue_id, forbidden)
                .map_err(|mut e| {
                    if e.path.ends_with(".issue") {
                        e.path = format!("{path}.red_lines.{issue_id}");
                    }
                    e
                })?;
        }
        Ok(())
    }
}
