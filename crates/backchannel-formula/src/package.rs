//! A package: one option id per issue id, cheap to build and copy in bulk.
//!
//! The ids live in a shared [`Table`] (one text buffer with the spans of every issue id and its option ids);
//! a package is a reference to a table and, per issue, the index of its option there. The solver makes one
//! table per solve and every frontier point's package points into it: building or copying a package takes
//! no string copies, no allocation for up to [`INLINE`] issues, and one reference-count update.
//!
//! On the wire a package is a JSON object from issue id to option id, keys in sorted (byte) order, exactly as
//! a `BTreeMap<String, String>` is written.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::inline::InlineVec;
use crate::scenario::Scenario;

/// Issues a package holds without an allocation of its own.
pub const INLINE: usize = 6;

/// Issue ids (sorted) and, per issue, its option ids, as spans of one text.
#[derive(Debug, Default)]
pub struct Table {
    text: String,
    /// Per issue, sorted by id: (id start, id end, index of its first option in `options`).
    issues: Vec<(u32, u32, u32)>,
    /// Spans of the option ids, grouped by issue in the order of `issues`.
    options: Vec<(u32, u32)>,
}

impl Table {
    /// A table of issues with their options, issues already sorted by id (and unique).
    fn from_sorted<'a, O: Iterator<Item = &'a str>>(
        bytes: usize,
        issues: usize,
        options: usize,
        list: impl Iterator<Item = (&'a str, O)>,
    ) -> Table {
        let mut t = Table {
            text: String::with_capacity(bytes),
            issues: Vec::with_capacity(issues),
            options: Vec::with_capacity(options),
        };
        for (issue, opts) in list {
            let (a, b) = t.push(issue);
            let first = u32::try_from(t.options.len()).unwrap_or(u32::MAX);
            t.issues.push((a, b, first));
            for o in opts {
                let span = t.push(o);
                t.options.push(span);
            }
        }
        debug_assert!((1..t.issues.len()).all(|k| t.issue(k - 1) < t.issue(k)));
        t
    }

    /// The table of a scenario's issues and all their options, and for each of its issues (sorted by id)
    /// the index of that issue in the scenario.
    pub(crate) fn of_scenario(s: &Scenario) -> (Table, Vec<usize>) {
        let mut order: Vec<usize> = (0..s.issues.len()).collect();
        order.sort_unstable_by(|&a, &b| s.issues[a].id.cmp(&s.issues[b].id));
        let options = s.issues.iter().map(|i| i.options.len()).sum();
        let bytes = s
            .issues
            .iter()
            .map(|i| i.id.len() + i.options.iter().map(|o| o.id.len()).sum::<usize>())
            .sum();
        let t = Table::from_sorted(
            bytes,
            order.len(),
            options,
            order.iter().map(|&i| {
                let issue = &s.issues[i];
                (
                    issue.id.as_str(),
                    issue.options.iter().map(|o| o.id.as_str()),
                )
            }),
        );
        (t, order)
    }

    fn push(&mut self, s: &str) -> (u32, u32) {
        let a = self.text.len();
        self.text.push_str(s);
        // Ids come from validated scenarios (bounded sizes) or small packages: well under 4 GiB in all.
        (
            u32::try_from(a).unwrap_or(u32::MAX),
            u32::try_from(self.text.len()).unwrap_or(u32::MAX),
        )
    }

    fn span(&self, (a, b): (u32, u32)) -> &str {
        &self.text[a as usize..b as usize]
    }

    fn issue(&self, k: usize) -> &str {
        let (a, b, _) = self.issues[k];
        self.span((a, b))
    }

    fn option(&self, k: usize, pick: u32) -> &str {
        self.span(self.options[self.issues[k].2 as usize + pick as usize])
    }

    /// Position (in the table's sorted order) of an issue id.
    fn find(&self, issue: &str) -> Option<usize> {
        self.issues
            .binary_search_by(|&(a, b, _)| self.span((a, b)).cmp(issue))
            .ok()
    }

    /// Number of issues.
    pub fn len(&self) -> usize {
        self.issues.len()
    }

    /// Whether the table has no issue.
    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }
}

/// Per issue (in the table's order), the index of the chosen option.
type Picks = InlineVec<u32, INLINE>;

/// A package: one option id per issue id.
///
/// Build one with [`Package::from_pairs`] (or `collect` pairs); read it with [`Package::get`] and
/// [`Package::iter`] (pairs sorted by issue id). Equality, order and hashing are those of the sorted pairs.
#[derive(Clone)]
pub struct Package {
    table: Arc<Table>,
    picks: Picks,
}

impl Default for Package {
    fn default() -> Self {
        Package::from_pairs(std::iter::empty::<(&str, &str)>())
    }
}

impl Package {
    /// A package from (issue id, option id) pairs in any order; when an issue repeats, the last pair wins.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Package {
        let pairs: Vec<(K, V)> = pairs.into_iter().collect();
        // Last pair per issue: a map from issue id to the index of its last pair.
        let mut last: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, (k, _)) in pairs.iter().enumerate() {
            last.insert(k.as_ref(), i);
        }
        let table = Table::from_sorted(
            last.iter()
                .map(|(k, &i)| k.len() + pairs[i].1.as_ref().len())
                .sum(),
            last.len(),
            last.len(),
            last.iter()
                .map(|(&k, &i)| (k, std::iter::once(pairs[i].1.as_ref()))),
        );
        let n = table.len();
        Package {
            table: Arc::new(table),
            picks: std::iter::repeat_n(0, n).collect(),
        }
    }

    /// A package choosing, for the table's issue `k` (sorted order), option `picks[k]` of it.
    pub(crate) fn in_table(table: &Arc<Table>, picks: impl Iterator<Item = u32>) -> Package {
        Package {
            table: Arc::clone(table),
            picks: picks.take(table.len()).collect(),
        }
    }

    /// The option id settled on for this issue id.
    pub fn get(&self, issue: &str) -> Option<&str> {
        let k = self.table.find(issue)?;
        Some(self.table.option(k, self.picks[k]))
    }

    /// Whether the package settles this issue.
    pub fn contains_key(&self, issue: &str) -> bool {
        self.table.find(issue).is_some()
    }

    /// (issue id, option id) pairs, sorted by issue id.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            package: self,
            k: 0,
        }
    }

    /// The issue ids, sorted.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Sets the option of an issue (making a new table); returns the option it replaces.
    pub fn insert(&mut self, issue: impl AsRef<str>, option: impl AsRef<str>) -> Option<String> {
        let (issue, option) = (issue.as_ref(), option.as_ref());
        let old = self.get(issue).map(str::to_owned);
        let next = Package::from_pairs(self.iter().chain([(issue, option)]));
        *self = next;
        old
    }

    /// How many issues the package settles.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether it settles none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// The pairs of a [`Package`], sorted by issue id.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    package: &'a Package,
    k: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let p = self.package;
        let &pick = p.picks.get(self.k)?;
        let item = (p.table.issue(self.k), p.table.option(self.k, pick));
        self.k += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.package.len() - self.k;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Package {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Package {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Package {
        Package::from_pairs(iter)
    }
}

impl PartialEq for Package {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.table, &other.table) && self.picks == other.picks)
            || self.iter().eq(other.iter())
    }
}

impl Eq for Package {}

impl PartialOrd for Package {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Package {
    fn cmp(&self, other: &Self) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl Hash for Package {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for pair in self {
            pair.hash(state);
        }
    }
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Package(")?;
        f.debug_map().entries(self.iter()).finish()?;
        f.write_str(")")
    }
}

impl Serialize for Package {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Package {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Package, D::Error> {
        // Read as the map it was before (a repeated key: the last one wins).
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Package::from_pairs(map))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A package is written exactly as the map of strings it used to be: keys sorted, nothing else.
    #[test]
    fn package_wire_format_golden() {
        let pairs = [
            ("verification", "additional_protocol"),
            ("enrichment", "cap_3_67"),
            ("Zeta", "z\"q"),
            ("sanctions", "phased_lift"),
        ];
        let package = Package::from_pairs(pairs);
        let golden = r#"{"Zeta":"z\"q","enrichment":"cap_3_67","sanctions":"phased_lift","verification":"additional_protocol"}"#;
        assert_eq!(serde_json::to_string(&package).unwrap(), golden);
        let old: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(serde_json::to_string(&old).unwrap(), golden);
        assert_eq!(
            serde_json::to_string_pretty(&package).unwrap(),
            serde_json::to_string_pretty(&old).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&package).unwrap(),
            serde_json::to_value(&old).unwrap()
        );
        let back: Package = serde_json::from_str(golden).unwrap();
        assert_eq!(back, package);
        // A repeated key: the last one wins, as it did for the map.
        let twice: Package = serde_json::from_str(r#"{"a":"1","a":"2"}"#).unwrap();
        assert_eq!(twice.get("a"), Some("2"));
        assert_eq!(Package::from_pairs([("a", "1"), ("a", "2")]), twice);
        assert_eq!(package.get("sanctions"), Some("phased_lift"));
        assert_eq!(package.get("missing"), None);
        assert_eq!(
            package.keys().collect::<Vec<_>>(),
            ["Zeta", "enrichment", "sanctions", "verification"]
        );
        let mut edited = package.clone();
        assert_eq!(
            edited.insert("enrichment", "none").as_deref(),
            Some("cap_3_67")
        );
        assert_eq!(edited.insert("a", "b"), None);
        assert_eq!(edited.get("enrichment"), Some("none"));
        assert_eq!(edited.keys().next(), Some("Zeta"));
        assert_eq!(edited.len(), 5);
    }
}
