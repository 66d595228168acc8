//! Adjusted Winner (Brams & Taylor): two parties spread 100 points each over divisible issues; the result is
//! equitable, envy-free and efficient, with at most one issue split.

use serde::Serialize;

use crate::scenario::Scenario;

/// Tolerance on point totals.
pub const POINTS_TOLERANCE: f64 = 1e-6;

/// Why Adjusted Winner cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AwError {
    /// Not exactly two parties.
    #[error("adjusted winner needs exactly two parties, found {0}")]
    Parties(usize),
    /// Point lists of different lengths or none.
    #[error("both parties must give points to the same, non-empty list of issues")]
    Items,
    /// A party's points are negative, not finite, or do not sum to 100.
    #[error("party {party}'s points must be non-negative and sum to 100 (they sum to {sum})")]
    Points {
        /// Party index.
        party: usize,
        /// Their sum.
        sum: f64,
    },
}

/// One issue's allocation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AwShare {
    /// Issue id.
    pub issue: String,
    /// Points each party gave it.
    pub points: [f64; 2],
    /// Fraction of the issue that goes to the first party (the rest to the second).
    pub first_share: f64,
}

/// The outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AwOutcome {
    /// Party ids.
    pub parties: [String; 2],
    /// Per issue.
    pub allocation: Vec<AwShare>,
    /// The one issue that is split, if any.
    pub split_issue: Option<String>,
    /// The fraction of the split issue going to the first party.
    pub split_fraction: Option<f64>,
    /// Points each party receives by its own valuation (equal).
    pub totals: [f64; 2],
}

/// Runs Adjusted Winner on two point vectors (each summing to 100).
pub fn adjusted_winner_points(
    ids: &[String],
    a: &[f64],
    b: &[f64],
    parties: [String; 2],
) -> Result<AwOutcome, AwError> {
    if a.len() != b.len() || a.is_empty() || ids.len() != a.len() {
        return Err(AwError::Items);
    }
    for (k, pts) in [a, b].into_iter().enumerate() {
        let sum: f64 = pts.iter().sum();
        if pts.iter().any(|x| !x.is_finite() || *x < 0.0) || (sum - 100.0).abs() > POINTS_TOLERANCE
        {
            return Err(AwError::Points { party: k, sum });
        }
    }
    let n = a.len();
    // Initial winner per issue; ties go to the first party and are the first candidates for transfer.
    let mut share: Vec<f64> = (0..n)
        .map(|i| if a[i] >= b[i] { 1.0 } else { 0.0 })
        .collect();
    let total = |share: &[f64]| -> (f64, f64) {
        let ta = (0..n).map(|i| share[i] * a[i]).sum();
        let tb = (0..n).map(|i| (1.0 - share[i]) * b[i]).sum();
        (ta, tb)
    };
    let (ta, tb) = total(&share);
    let mut split = None;
    if (ta - tb).abs() > 1e-12 {
        let first_leads = ta > tb;
        let (pw, pl) = if first_leads { (a, b) } else { (b, a) };
        let (mut tw, mut tl) = if first_leads { (ta, tb) } else { (tb, ta) };
        let held = |i: usize, share: &[f64]| {
            if first_leads {
                share[i] > 0.0
            } else {
                share[i] < 1.0
            }
        };
        let mut order: Vec<usize> = (0..n).filter(|&i| held(i, &share)).collect();
        // ascending ratio pw/pl, compared by cross-multiplication; pl = 0 sorts last
        order.sort_by(|&i, &j| (pw[i] * pl[j]).total_cmp(&(pw[j] * pl[i])).then(i.cmp(&j)));
        for i in order {
            if tw - pw[i] >= tl + pl[i] {
                tw -= pw[i];
                tl += pl[i];
                share[i] = if first_leads { 0.0 } else { 1.0 };
                if (tw - tl).abs() <= 1e-12 {
                    break;
                }
            } else {
                // winner keeps x of the issue: tw - pw + x·pw = tl + (1 − x)·pl
                let x = ((tl + pl[i] - tw + pw[i]) / (pw[i] + pl[i])).clamp(0.0, 1.0);
                share[i] = if first_leads { x } else { 1.0 - x };
                split = Some(i);
                break;
            }
        }
    }
    let (ta, tb) = total(&share);
    Ok(AwOutcome {
        allocation: (0..n)
            .map(|i| AwShare {
                issue: ids[i].clone(),
                points: [a[i], b[i]],
                first_share: share[i],
            })
            .collect(),
        split_issue: split.map(|i| ids[i].clone()),
        split_fraction: split.map(|i| share[i]),
        totals: [ta, tb],
        parties,
    })
}

/// Adjusted Winner on a two-party scenario, each issue treated as a divisible good worth 100 × its weight.
pub fn adjusted_winner(s: &Scenario) -> Result<AwOutcome, AwError> {
    if s.parties.len() != 2 {
        return Err(AwError::Parties(s.parties.len()));
    }
    let ids: Vec<String> = s.issues.iter().map(|i| i.id.clone()).collect();
    let pts = |p: usize| -> Vec<f64> {
        let raw: Vec<f64> = ids
            .iter()
            .map(|id| s.parties[p].weights.get(id).copied().unwrap_or(0.0) * 100.0)
            .collect();
        let sum: f64 = raw.iter().sum();
        if sum > 0.0 {
            raw.iter().map(|x| x * 100.0 / sum).collect()
        } else {
            raw
        }
    };
    adjusted_winner_points(
        &ids,
        &pts(0),
        &pts(1),
        [s.parties[0].id.clone(), s.parties[1].id.clone()],
    )
}
