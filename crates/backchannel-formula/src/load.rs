//! The only module that touches files: paths in, parsed scenarios out (and GENIUS export out).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::genius::{self, GeniusError};
use crate::scenario::{Scenario, ScenarioError};
use crate::xml;

/// Largest file read.
pub const FILE_BYTES_MAX: u64 = 64 << 20;

/// Why a path could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading failed.
    #[error("{path}: {cause}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// Over [`FILE_BYTES_MAX`] or not UTF-8.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A scenario file that fails validation.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A GENIUS file that cannot be used.
    #[error("{path}: {cause}")]
    Genius {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: GeniusError,
    },
    /// A folder that is not a GENIUS domain.
    #[error("{path}: {reason}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl LoadError {
    /// A stable machine-readable code: a scenario file's validation `kind` (see
    /// docs/scenario.md), or what kept the path from being read.
    pub fn code(&self) -> String {
        match self {
            LoadError::Io { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound => {
                "not_found".into()
            }
            LoadError::Io { .. } | LoadError::Unreadable { .. } => "unreadable".into(),
            LoadError::Scenario(e) => serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "invalid_scenario".into()),
            LoadError::Genius {
                cause: GeniusError::Unsupported(_),
                ..
            } => "genius_unsupported".into(),
            LoadError::Genius { .. } => "genius_invalid".into(),
            LoadError::Folder { .. } => "not_a_domain".into(),
        }
    }

    /// Whether the cause is an unsupported feature (as opposed to a broken file).
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            LoadError::Genius {
                cause: GeniusError::Unsupported(_),
                ..
            }
        )
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    let io = |cause| LoadError::Io {
        path: path.to_path_buf(),
        cause,
    };
    // Open and read to the end (no separate metadata call): at most one byte over the limit is read.
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(16 << 10);
    file.take(FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        return Err(LoadError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("more than {FILE_BYTES_MAX} bytes"),
        });
    }
    String::from_utf8(bytes).map_err(|_| LoadError::Unreadable {
        path: path.to_path_buf(),
        reason: "not UTF-8 text".to_string(),
    })
}

/// Loads a scenario from a `.json` file or a GENIUS domain folder (or a single GENIUS domain XML next to its
/// profiles: its folder is loaded).
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    load_with_notes(path).map(|(s, _)| s)
}

/// Like [`load`], with the importer's remarks (normalised weights, ignored discounts...).
pub fn load_with_notes(path: &Path) -> Result<(Scenario, Vec<String>), LoadError> {
    // A folder is recognised by listing it (one system call fewer than asking first).
    if let Ok(entries) = fs::read_dir(path) {
        return load_genius_entries(path, entries);
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
    {
        let dir = path.parent().unwrap_or(Path::new("."));
        return load_genius_folder(dir);
    }
    let text = read(path)?;
    let s = Scenario::from_json_str(&text).map_err(|e| e.in_file(path.display().to_string()))?;
    Ok((s, Vec::new()))
}

/// Every folder at or under `root` that holds an XML file (a GENIUS domain folder, or one that will be
/// refused with its reason), in sorted path order; folders that cannot be listed are skipped.
pub fn genius_folders(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        if entries
            .iter()
            .any(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        {
            out.push(dir.to_path_buf());
        }
        for e in entries.into_iter().filter(|e| e.is_dir()) {
            walk(&e, out);
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

/// Loads a GENIUS folder: one domain XML and one utility-space XML per party (parties in file-name order).
pub fn load_genius_folder(dir: &Path) -> Result<(Scenario, Vec<String>), LoadError> {
    let entries = fs::read_dir(dir).map_err(|cause| LoadError::Io {
        path: dir.to_path_buf(),
        cause,
    })?;
    load_genius_entries(dir, entries)
}

fn load_genius_entries(
    dir: &Path,
    entries: fs::ReadDir,
) -> Result<(Scenario, Vec<String>), LoadError> {
    let folder_err = |reason: String| LoadError::Folder {
        path: dir.to_path_buf(),
        reason,
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("xml"))
                // The entry's type comes with the listing; only links need a look at their target.
                && match e.file_type() {
                    Ok(t) if t.is_symlink() => e.path().is_file(),
                    Ok(t) => t.is_file(),
                    Err(_) => false,
                }
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut domain = None;
    let mut profiles = Vec::new();
    let mut notes = Vec::new();
    for f in files {
        let text = read(&f)?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let doc = match xml::parse_doc(&text) {
            Ok(d) => d,
            Err(e) => {
                notes.push(format!("{name}: skipped, not XML ({e})"));
                continue;
            }
        };
        let root = doc.root();
        if genius::is_domain(root) {
            if domain.is_some() {
                return Err(folder_err(format!(
                    "more than one domain file ({name} is the second)"
                )));
            }
            let issues = genius::domain_from(root).map_err(|cause| LoadError::Genius {
                path: f.clone(),
                cause,
            })?;
            domain = Some(issues);
        } else {
            profiles.push((f, doc));
        }
    }
    let Some(domain) = domain else {
        return Err(folder_err(
            "no GENIUS domain file (an XML with issues and no evaluations)".to_string(),
        ));
    };
    if profiles.len() < 2 {
        return Err(folder_err(format!(
            "{} utility space(s); two parties at least are needed",
            profiles.len()
        )));
    }
    let mut parsed = Vec::new();
    for (f, doc) in profiles {
        let p = genius::profile_from(doc.root(), &domain).map_err(|cause| LoadError::Genius {
            path: f.clone(),
            cause,
        })?;
        let stem = f
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        notes.extend(p.notes.iter().map(|n| format!("{stem}: {n}")));
        parsed.push((stem, p));
    }
    let title = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let s = genius::scenario_from(&title, &domain, &parsed);
    s.validate()
        .map_err(|e| e.in_file(dir.display().to_string()))?;
    Ok((s, notes))
}

/// Writes a scenario as a GENIUS folder: `domain.xml` and `<party id>.xml` per party.
pub fn save_genius_folder(s: &Scenario, dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    fs::create_dir_all(dir).map_err(|cause| LoadError::Io {
        path: dir.to_path_buf(),
        cause,
    })?;
    let (domain, profiles) = genius::to_genius(s);
    let mut written = Vec::new();
    let mut write = |name: String, text: String| -> Result<(), LoadError> {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.xml"));
        fs::write(&path, text).map_err(|cause| LoadError::Io {
            path: path.clone(),
            cause,
        })?;
        written.push(path);
        Ok(())
    };
    write("domain".to_string(), domain)?;
    for (id, text) in profiles {
        write(
            if id == "domain" {
                format!("party-{id}")
            } else {
                id
            },
            text,
        )?;
    }
    Ok(written)
}
