//! Loading rule packs: the bundled pack compiled into the binary, or a directory given with
//! `--rules`. Every file is compiled; every problem in every file is collected, and duplicate ids
//! across files are reported.

use std::collections::HashMap;
use std::path::Path;

use super::rule::{compile, Problem, Rule};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// A loaded pack: the rules that compiled and every problem found.
pub struct RulePack {
    /// Compiled rules, in path order.
    pub rules: Vec<Rule>,
    /// Problems (an empty list means the pack is clean).
    pub problems: Vec<Problem>,
}

/// Errors reading a rules directory.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory could not be read.
    #[error("cannot read rules directory {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The bundled rule files: (relative path, text).
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    EMBEDDED_RULES
}

/// Compiles the bundled pack.
pub fn load_embedded() -> RulePack {
    compile_all(
        EMBEDDED_RULES
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string())),
    )
}

/// Compiles every `.yml` / `.yaml` file under `dir` (recursively, in path order).
pub fn load_dir(dir: &Path) -> Result<RulePack, LoadError> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut texts = Vec::new();
    let mut problems = Vec::new();
    for rel in files {
        let full = dir.join(&rel);
        match std::fs::read_to_string(&full) {
            Ok(t) => texts.push((rel, t)),
            Err(e) => problems.push(Problem {
                file: rel,
                line: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let mut pack = compile_all(texts.into_iter());
    problems.append(&mut pack.problems);
    pack.problems = problems;
    Ok(pack)
}

/// A fingerprint of the rule files under `dir` (the files [`load_dir`] reads, with their sizes
/// and modification times; symbolic links are followed, so a Kubernetes ConfigMap update —
/// an atomic swap of its `..data` link — changes it). Used to watch a rule directory by
/// polling: cheap, and it works on every file system, network and overlay ones included.
/// An unreadable directory has its own fingerprint (a change too, once it is readable again).
pub fn fingerprint(dir: &Path) -> u64 {
    let mut files = Vec::new();
    if walk(dir, dir, &mut files).is_err() {
        return 1;
    }
    files.sort();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for rel in &files {
        h.update(rel.as_bytes());
        file_stamp(&dir.join(rel), &mut h);
    }
    h.digest()
}

/// Adds a file's size and modification time (following links) to a hash; a missing file adds
/// a marker.
pub fn file_stamp(path: &Path, h: &mut xxhash_rust::xxh3::Xxh3) {
    match std::fs::metadata(path) {
        Ok(m) => {
            h.update(&m.len().to_le_bytes());
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(&t.to_le_bytes());
        }
        Err(_) => h.update(b"missing"),
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), LoadError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in rd {
        let entry = entry.map_err(|source| LoadError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let p = entry.path();
        // Hidden entries are skipped: editors' swap files, and the `..data` / `..2024_..`
        // directories a Kubernetes ConfigMap mount keeps beside the files.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(())
}

fn compile_all(files: impl Iterator<Item = (String, String)>) -> RulePack {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (path, text) in files {
        let (rule, mut p) = compile(&path, &text);
        problems.append(&mut p);
        if let Some(rule) = rule {
            if let Some(other) = seen.get(&rule.id) {
                problems.push(Problem {
                    file: path.clone(),
                    line: 1,
                    message: format!("duplicate rule id {:?} (also in {other})", rule.id),
                });
                continue;
            }
            seen.insert(rule.id.clone(), path.clone());
            rules.push(rule);
        }
    }
    RulePack { rules, problems }
}
