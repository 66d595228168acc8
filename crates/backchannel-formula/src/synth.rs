//! Seeded synthetic scenarios for tests and benchmarks (no global RNG: a SplitMix64 stream from the seed).

use std::collections::BTreeMap;

use crate::scenario::{
    Condition, FORMAT, Issue, IssueOption, Party, Requirement, RequirementKind, Scenario,
};

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeds a generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Shape of a synthetic scenario.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Parties.
    pub parties: usize,
    /// Issues.
    pub issues: usize,
    /// Options per issue (each issue gets 1..=options when `vary_options`).
    pub options: usize,
    /// Whether option counts vary per issue.
    pub vary_options: bool,
    /// Scores drawn from a coarse grid (many ties) instead of continuous values.
    pub coarse: bool,
    /// Red lines per party (each forbids one option of a random issue).
    pub red_lines: usize,
    /// Observer requirements (random kinds).
    pub requirements: usize,
    /// Upper end of the random reservations.
    pub reservation_max: f64,
}

/// A random valid scenario.
pub fn random(seed: u64, shape: Shape) -> Scenario {
    let mut rng = Rng::new(seed);
    let issues: Vec<Issue> = (0..shape.issues)
        .map(|i| {
            let n = if shape.vary_options {
                1 + rng.below(shape.options.max(1))
            } else {
                shape.options.max(1)
            };
            Issue {
                id: format!("i{i}"),
                title: format!("Issue {i}"),
                options: (0..n)
                    .map(|o| IssueOption {
                        id: format!("o{o}"),
                        label: format!("Option {o}"),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut parties = Vec::new();
    for p in 0..shape.parties {
        let raw: Vec<f64> = (0..shape.issues)
            .map(|_| {
                if shape.coarse {
                    rng.below(4) as f64
                } else {
                    rng.unit() + 0.01
                }
            })
            .collect();
        let sum: f64 = raw.iter().sum();
        let weights: BTreeMap<String, f64> = issues
            .iter()
            .zip(&raw)
            .map(|(i, w)| {
                (
                    i.id.clone(),
                    if sum > 0.0 {
                        w / sum
                    } else {
                        1.0 / shape.issues as f64
                    },
                )
            })
            .collect();
        let scores = issues
            .iter()
            .map(|i| {
                let m = i
                    .options
                    .iter()
                    .map(|o| {
                        (
                            o.id.clone(),
                            if shape.coarse {
                                rng.below(5) as f64 / 4.0
                            } else {
                                rng.unit()
                            },
                        )
                    })
                    .collect();
                (i.id.clone(), m)
            })
            .collect();
        let mut red_lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for _ in 0..shape.red_lines {
            let i = rng.below(issues.len());
            let o = rng.below(issues[i].options.len());
            let e = red_lines.entry(issues[i].id.clone()).or_default();
            let id = issues[i].options[o].id.clone();
            if !e.contains(&id) {
                e.push(id);
            }
        }
        let reservation = if shape.coarse {
            (rng.below(4) as f64 / 3.0 * shape.reservation_max * 100.0).round() / 100.0
        } else {
            rng.unit() * shape.reservation_max
        };
        parties.push(Party {
            id: format!("p{p}"),
            name: format!("Party {p}"),
            weights,
            scores,
            red_lines,
            reservation,
        });
    }
    let mut requirements = Vec::new();
    let pick = |rng: &mut Rng, i: usize| -> Vec<String> {
        let n = issues[i].options.len();
        let k = 1 + rng.below(n);
        let mut v: Vec<String> = Vec::new();
        for _ in 0..k {
            let id = issues[i].options[rng.below(n)].id.clone();
            if !v.contains(&id) {
                v.push(id);
            }
        }
        v
    };
    for r in 0..shape.requirements {
        let i = rng.below(issues.len());
        let kind = match rng.below(3) {
            0 => RequirementKind::RequireOneOf {
                issue: issues[i].id.clone(),
                options: pick(&mut rng, i),
            },
            1 => RequirementKind::Forbid {
                issue: issues[i].id.clone(),
                options: vec![
                    issues[i].options[rng.below(issues[i].options.len())]
                        .id
                        .clone(),
                ],
            },
            _ => {
                let j = rng.below(issues.len());
                RequirementKind::Implies {
                    if_: Condition {
                        issue: issues[i].id.clone(),
                        options: pick(&mut rng, i),
                    },
                    then: Condition {
                        issue: issues[j].id.clone(),
                        options: pick(&mut rng, j),
                    },
                }
            }
        };
        requirements.push(Requirement {
            id: format!("r{r}"),
            by: format!("observer{}", r % 2),
            kind,
        });
    }
    Scenario {
        format: FORMAT.to_string(),
        title: Some(format!("synthetic {seed}")),
        description: Some("random synthetic scenario".to_string()),
        issues,
        parties,
        requirements,
    }
}
