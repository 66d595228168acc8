//! GENIUS/ANAC negotiation-domain XML: import (discrete and integer issues, linear additive profiles) and export.
//!
//! Semantics follow GENIUS: a discrete option scores its evaluation divided by the issue's largest evaluation;
//! an integer value `x` of an issue with a linear evaluator scores `slope·(x − lowerbound) + offset` (clamped to
//! [0, 1]); the reservation value is on [0, 1]; discount factors are ignored (static analysis). Weights that do
//! not sum to 1 are divided by their sum. Non-linear (hyper-rectangle) profiles are refused.

use std::collections::{BTreeMap, BTreeSet};

use crate::scenario::{
    FORMAT, Issue, IssueOption, OPTIONS_PER_ISSUE_MAX, Party, Scenario, WEIGHT_SUM_TOLERANCE,
};
use crate::xml::{self, El};

/// Why a GENIUS document cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GeniusError {
    /// Not well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Well-formed, but not what GENIUS writes.
    #[error("not a GENIUS document: {0}")]
    Invalid(String),
    /// A feature the engine does not model.
    #[error("not supported: {0}")]
    Unsupported(String),
}

/// The kind of a GENIUS issue.
#[derive(Clone, Debug, PartialEq)]
pub enum IssueKind {
    /// Named values.
    Discrete(Vec<String>),
    /// Integers from `lower` to `upper` inclusive.
    Integer {
        /// Lower bound.
        lower: i64,
        /// Upper bound.
        upper: i64,
    },
}

/// An issue of a GENIUS domain.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainIssue {
    /// The `index` attribute.
    pub index: String,
    /// The `name` attribute.
    pub name: String,
    /// Its values.
    pub kind: IssueKind,
}

impl DomainIssue {
    /// Option labels in order.
    pub fn values(&self) -> Vec<String> {
        match &self.kind {
            IssueKind::Discrete(v) => v.clone(),
            IssueKind::Integer { lower, upper } => {
                (*lower..=*upper).map(|x| x.to_string()).collect()
            }
        }
    }
}

/// A linear additive profile read from a GENIUS utility space.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Weight per domain issue (normalised to sum 1).
    pub weights: Vec<f64>,
    /// Score per domain issue and value, in [0, 1].
    pub scores: Vec<Vec<f64>>,
    /// Reservation value.
    pub reservation: f64,
    /// Remarks (normalised weights, clamped scores, ignored discount).
    pub notes: Vec<String>,
}

/// Whether a parsed document is a domain (issues only) rather than a profile.
pub fn is_domain(root: El<'_>) -> bool {
    if root.name() == "negotiation_template" {
        return true;
    }
    root.name() == "utility_space"
        && root.descendants().all(|e| match e.name() {
            "weight" | "evaluator" | "ufun" => false,
            "item" => e.attr("evaluation").is_none(),
            _ => true,
        })
}

fn issue_kind(el: El<'_>) -> String {
    el.attr("etype")
        .or_else(|| el.attr("type"))
        .or_else(|| el.attr("vtype"))
        .unwrap_or("discrete")
        .to_ascii_lowercase()
}

fn parse_int(el: El<'_>, key: &str) -> Result<i64, GeniusError> {
    let v = el.attr(key).ok_or_else(|| {
        GeniusError::Invalid(format!(
            "issue {:?} has no {key}",
            el.attr("name").unwrap_or("?")
        ))
    })?;
    v.trim()
        .parse::<i64>()
        .map_err(|_| GeniusError::Invalid(format!("{key} {v:?} is not an integer")))
}

fn parse_f64(v: &str, what: &str) -> Result<f64, GeniusError> {
    let x = v
        .trim()
        .parse::<f64>()
        .map_err(|_| GeniusError::Invalid(format!("{what} {v:?} is not a number")))?;
    if !x.is_finite() {
        return Err(GeniusError::Invalid(format!("{what} {v:?} is not finite")));
    }
    Ok(x)
}

/// Parses a domain document.
pub fn parse_domain(text: &str) -> Result<Vec<DomainIssue>, GeniusError> {
    let doc = xml::parse_doc(text).map_err(GeniusError::Xml)?;
    domain_from(doc.root())
}

/// Reads the issues of a parsed domain document.
pub fn domain_from(root: El<'_>) -> Result<Vec<DomainIssue>, GeniusError> {
    let Some(obj) = root.find("objective") else {
        return Err(GeniusError::Invalid("no <objective> element".to_string()));
    };
    let issues: Vec<El<'_>> = obj.descendants_named("issue").collect();
    if issues.is_empty() {
        return Err(GeniusError::Invalid("the domain has no issues".to_string()));
    }
    let mut out = Vec::with_capacity(issues.len());
    for (k, el) in issues.into_iter().enumerate() {
        let name = el.attr("name").unwrap_or("").to_string();
        let index = el
            .attr("index")
            .map_or_else(|| (k + 1).to_string(), str::to_string);
        let kind = match issue_kind(el).as_str() {
            "discrete" => {
                let values: Vec<String> = el
                    .children_named("item")
                    .map(|i| i.attr("value").unwrap_or("").to_string())
                    .collect();
                if values.is_empty() {
                    return Err(GeniusError::Invalid(format!(
                        "discrete issue {name:?} has no items"
                    )));
                }
                IssueKind::Discrete(values)
            }
            "integer" => {
                let (lower, upper) = (parse_int(el, "lowerbound")?, parse_int(el, "upperbound")?);
                if upper < lower || upper.saturating_sub(lower) >= OPTIONS_PER_ISSUE_MAX as i64 {
                    return Err(GeniusError::Invalid(format!(
                        "integer issue {name:?} has bounds {lower}..{upper}: empty or more than {OPTIONS_PER_ISSUE_MAX} values"
                    )));
                }
                IssueKind::Integer { lower, upper }
            }
            "real" => {
                return Err(GeniusError::Unsupported(format!(
                    "issue {name:?} is real-valued; only discrete and integer issues are modelled"
                )));
            }
            other => {
                return Err(GeniusError::Invalid(format!(
                    "issue {name:?} has unknown type {other:?}"
                )));
            }
        };
        out.push(DomainIssue { index, name, kind });
    }
    Ok(out)
}

/// Parses a utility-space document against its domain.
pub fn parse_profile(text: &str, domain: &[DomainIssue]) -> Result<Profile, GeniusError> {
    let doc = xml::parse_doc(text).map_err(GeniusError::Xml)?;
    profile_from(doc.root(), domain)
}

/// Reads a parsed utility space against its domain.
pub fn profile_from(root: El<'_>, domain: &[DomainIssue]) -> Result<Profile, GeniusError> {
    if root.attr("type") == Some("nonlinear")
        || root
            .descendants()
            .any(|e| matches!(e.name(), "hyperRectangle" | "ufun"))
    {
        return Err(GeniusError::Unsupported(
            "non-linear (hyper-rectangle) utility space; only linear additive profiles are modelled".to_string(),
        ));
    }
    let Some(obj) = root.find("objective") else {
        return Err(GeniusError::Invalid("no <objective> element".to_string()));
    };
    let mut notes = Vec::new();
    let mut issue_els: Vec<El<'_>> = Vec::new();
    let mut weight_of: BTreeMap<&str, &str> = BTreeMap::new();
    for e in obj.descendants() {
        match e.name() {
            "issue" => issue_els.push(e),
            "weight" => {
                if let (Some(i), Some(v)) = (e.attr("index"), e.attr("value")) {
                    weight_of.insert(i, v);
                }
            }
            _ => {}
        }
    }
    let mut weights = Vec::with_capacity(domain.len());
    let mut scores = Vec::with_capacity(domain.len());
    for di in domain {
        let el = issue_els
            .iter()
            .find(|e| e.attr("index") == Some(di.index.as_str()))
            .or_else(|| {
                issue_els
                    .iter()
                    .find(|e| e.attr("name") == Some(di.name.as_str()))
            })
            .ok_or_else(|| {
                GeniusError::Invalid(format!("no evaluation for issue {:?}", di.name))
            })?;
        let w = weight_of.get(di.index.as_str()).ok_or_else(|| {
            GeniusError::Invalid(format!(
                "no weight for issue {:?} (index {})",
                di.name, di.index
            ))
        })?;
        let w = parse_f64(w, "weight")?;
        if w < 0.0 {
            return Err(GeniusError::Invalid(format!(
                "negative weight {w} for issue {:?}",
                di.name
            )));
        }
        weights.push(w);
        match &di.kind {
            IssueKind::Discrete(values) => {
                let mut evals = vec![0.0; values.len()];
                for item in el.children_named("item") {
                    let Some(v) = item.attr("value") else {
                        continue;
                    };
                    let Some(pos) = values.iter().position(|x| x == v) else {
                        return Err(GeniusError::Invalid(format!(
                            "item {v:?} is not a value of issue {:?}",
                            di.name
                        )));
                    };
                    let e = item
                        .attr("evaluation")
                        .map_or(Ok(0.0), |e| parse_f64(e, "evaluation"))?;
                    if e < 0.0 {
                        return Err(GeniusError::Invalid(format!(
                            "negative evaluation {e} in issue {:?}",
                            di.name
                        )));
                    }
                    evals[pos] = e;
                }
                let max = evals.iter().copied().fold(0.0, f64::max);
                scores.push(
                    evals
                        .iter()
                        .map(|e| if max > 0.0 { e / max } else { 0.0 })
                        .collect(),
                );
            }
            IssueKind::Integer { lower, upper } => {
                let Some(ev) = el.children_named("evaluator").next() else {
                    return Err(GeniusError::Unsupported(format!(
                        "integer issue {:?} has no linear evaluator",
                        di.name
                    )));
                };
                if ev.attr("ftype").is_some_and(|f| f != "linear") {
                    return Err(GeniusError::Unsupported(format!(
                        "integer issue {:?} has a {:?} evaluator; only linear is modelled",
                        di.name,
                        ev.attr("ftype").unwrap_or("")
                    )));
                }
                let slope = parse_f64(ev.attr("slope").unwrap_or("0"), "slope")?;
                let offset = parse_f64(ev.attr("offset").unwrap_or("0"), "offset")?;
                let lb = el
                    .attr("lowerbound")
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .unwrap_or(*lower);
                let mut clamped = false;
                let row: Vec<f64> = (*lower..=*upper)
                    .map(|x| {
                        let s = slope * (x - lb) as f64 + offset;
                        if !(0.0..=1.0).contains(&s) {
                            clamped = true;
                        }
                        s.clamp(0.0, 1.0)
                    })
                    .collect();
                if clamped {
                    notes.push(format!("scores of issue {:?} clamped to [0, 1]", di.name));
                }
                scores.push(row);
            }
        }
    }
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return Err(GeniusError::Invalid("weights sum to 0".to_string()));
    }
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        notes.push(format!("weights summed to {sum}; divided by their sum"));
    }
    for w in &mut weights {
        *w /= sum;
    }
    let reservation = match root.find("reservation").and_then(|r| r.attr("value")) {
        Some(v) => parse_f64(v, "reservation")?,
        None => 0.0,
    };
    if !(0.0..=1.0).contains(&reservation) {
        return Err(GeniusError::Invalid(format!(
            "reservation {reservation} is not in [0, 1]"
        )));
    }
    if root
        .find("discount_factor")
        .and_then(|d| d.attr("value"))
        .is_some_and(|v| v.trim().parse::<f64>().is_ok_and(|x| x < 1.0))
    {
        notes.push("discount factor ignored (static analysis)".to_string());
    }
    Ok(Profile {
        weights,
        scores,
        reservation,
        notes,
    })
}

fn unique_id(base: &str, taken: &mut BTreeSet<String>) -> String {
    let base = if base.is_empty() { "x" } else { base };
    let mut id = base.to_string();
    let mut k = 2;
    while taken.contains(&id) {
        id = format!("{base}-{k}");
        k += 1;
    }
    taken.insert(id.clone());
    id
}

/// Builds a scenario from a domain and named profiles (party id, profile).
pub fn scenario_from(
    title: &str,
    domain: &[DomainIssue],
    profiles: &[(String, Profile)],
) -> Scenario {
    let mut issue_ids = BTreeSet::new();
    let issues: Vec<Issue> = domain
        .iter()
        .map(|di| {
            let mut opt_ids = BTreeSet::new();
            Issue {
                id: unique_id(&di.name, &mut issue_ids),
                title: di.name.clone(),
                options: di
                    .values()
                    .into_iter()
                    .map(|v| IssueOption {
                        id: unique_id(&v, &mut opt_ids),
                        label: v,
                    })
                    .collect(),
            }
        })
        .collect();
    let mut party_ids = BTreeSet::new();
    let parties = profiles
        .iter()
        .map(|(name, p)| Party {
            id: unique_id(name, &mut party_ids),
            name: name.clone(),
            weights: issues
                .iter()
                .zip(&p.weights)
                .map(|(i, w)| (i.id.clone(), *w))
                .collect(),
            scores: issues
                .iter()
                .zip(&p.scores)
                .map(|(i, row)| {
                    (
                        i.id.clone(),
                        i.options
                            .iter()
                            .zip(row)
                            .map(|(o, s)| (o.id.clone(), *s))
                            .collect(),
                    )
                })
                .collect(),
            red_lines: BTreeMap::new(),
            reservation: p.reservation,
        })
        .collect();
    Scenario {
        format: FORMAT.to_string(),
        title: Some(title.to_string()),
        description: Some("imported from a GENIUS domain".to_string()),
        issues,
        parties,
        requirements: Vec::new(),
    }
}

/// Exports a scenario as a GENIUS domain document and one utility space per party (party id, XML).
/// Red lines and requirements have no GENIUS form and are dropped; scores are written as evaluations, so a
/// round trip is exact when every issue's best option scores 1 for every party.
pub fn to_genius(s: &Scenario) -> (String, Vec<(String, String)>) {
    let mut domain = String::from("<negotiation_template>\n<utility_space number_of_issues=\"");
    domain.push_str(&format!("{}\">\n<objective index=\"0\" description=\"\" name=\"root\" type=\"objective\" etype=\"objective\">\n", s.issues.len()));
    for (i, issue) in s.issues.iter().enumerate() {
        domain.push_str(&format!(
            "<issue index=\"{}\" name=\"{}\" vtype=\"discrete\" type=\"discrete\" etype=\"discrete\">\n",
            i + 1,
            xml::escape(&issue.id)
        ));
        for (k, o) in issue.options.iter().enumerate() {
            domain.push_str(&format!(
                "<item index=\"{}\" value=\"{}\"></item>\n",
                k + 1,
                xml::escape(&o.id)
            ));
        }
        domain.push_str("</issue>\n");
    }
    domain.push_str("</objective>\n</utility_space>\n</negotiation_template>\n");
    let profiles = s
        .parties
        .iter()
        .map(|p| {
            let mut x = String::from("<utility_space>\n<objective index=\"0\" description=\"\" name=\"root\" type=\"objective\" etype=\"objective\">\n");
            for (i, issue) in s.issues.iter().enumerate() {
                x.push_str(&format!(
                    "<issue index=\"{}\" name=\"{}\" vtype=\"discrete\" type=\"discrete\" etype=\"discrete\">\n",
                    i + 1,
                    xml::escape(&issue.id)
                ));
                for (k, o) in issue.options.iter().enumerate() {
                    let sc = p.scores.get(&issue.id).and_then(|m| m.get(&o.id)).copied().unwrap_or(0.0);
                    x.push_str(&format!(
                        "<item index=\"{}\" value=\"{}\" evaluation=\"{sc}\"></item>\n",
                        k + 1,
                        xml::escape(&o.id)
                    ));
                }
                x.push_str("</issue>\n");
            }
            for (i, issue) in s.issues.iter().enumerate() {
                let w = p.weights.get(&issue.id).copied().unwrap_or(0.0);
                x.push_str(&format!("<weight index=\"{}\" value=\"{w}\"></weight>\n", i + 1));
            }
            x.push_str(&format!(
                "</objective>\n<discount_factor value=\"1.0\"></discount_factor>\n<reservation value=\"{}\"></reservation>\n</utility_space>\n",
                p.reservation
            ));
            (p.id.clone(), x)
        })
        .collect();
    (domain, profiles)
}
