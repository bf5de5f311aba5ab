//! The NHI inventory: who owns each non-human identity, how critical it is, where it is expected
//! to run, and how to revoke it. Loaded from CSV (a spreadsheet or NHI-platform export), YAML or
//! JSON; every alert on a matched identity carries the entry (owner context, revocation handle,
//! criticality), criticality moves the alert's severity, and rules can test
//! `inventory.status` (`owned` / `unowned`; absent without an inventory) — the bundled
//! `standard.orphan_nhi` rule reports activity by machine identities nobody owns.
//!
//! Matching, first hit wins: exact identity key, then credential (access key id, app id,
//! client id, token id; compared with the event's credential and principal id), then name
//! (GitHub actor, service principal display name; within `account` when given), then identity
//! key globs (`arn:aws:iam::111122223333:role/ci-*`) in file order, then account-wide entries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Deserializer, Serialize};

use crate::event::Identity;

/// Errors loading an inventory: every problem, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct InventoryErrors(pub Vec<String>);

/// Criticality of an identity: moves alert severity (critical +1, high +0, medium +0, low −1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    /// Sandbox, test, nothing sensitive: severity one step lower.
    Low,
    /// Default.
    Medium,
    /// Production: unchanged.
    High,
    /// Crown jewels: severity one step higher.
    Critical,
}

impl Criticality {
    fn parse(s: &str) -> Option<Criticality> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Criticality::Low),
            "medium" => Some(Criticality::Medium),
            "high" => Some(Criticality::High),
            "critical" => Some(Criticality::Critical),
            _ => None,
        }
    }

    /// The name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }

    /// Severity steps this criticality adds.
    pub fn severity_shift(self) -> i8 {
        match self {
            Criticality::Low => -1,
            Criticality::Medium | Criticality::High => 0,
            Criticality::Critical => 1,
        }
    }
}

/// One inventory entry, as alerts show it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Entry {
    /// Where it was defined (`file:line` or `file#index`).
    #[serde(skip)]
    pub origin: String,
    /// Matchers (what it was written with).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Credential matcher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Name matcher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Account / tenant / organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Technical owner (person or alias).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Owning team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Business owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_owner: Option<String>,
    /// Criticality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// Environment (prod, staging, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// What the identity is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Cloud regions it is expected in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_regions: Vec<String>,
    /// ISO 3166-1 alpha-2 countries it is expected to call from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_countries: Vec<String>,
    /// Date (YYYY-MM-DD) the credential is due for rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<String>,
    /// Free tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The handle to revoke (access key id, app id, token name, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<String>,
    /// The revocation playbook (URL or SOAR playbook name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
}

/// An entry as written (CSV row, YAML or JSON object).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default, deserialize_with = "opt_text")]
    identity: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    credential: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    account: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    owner: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    team: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    business_owner: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    criticality: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    environment: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    purpose: Option<String>,
    #[serde(default, deserialize_with = "list")]
    expected_regions: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    expected_countries: Vec<String>,
    #[serde(default, deserialize_with = "opt_text")]
    rotation_date: Option<String>,
    #[serde(default, deserialize_with = "list")]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "opt_text")]
    revoke: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    playbook: Option<String>,
}

/// A text cell: numbers are accepted as text (account ids), blank is absent.
fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Cell {
        S(String),
        N(u64),
    }
    Ok(match Option::<Cell>::deserialize(d)? {
        Some(Cell::S(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Cell::N(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// A list: a YAML/JSON sequence, or one text with `;`, `,` or `|` between items (CSV cells).
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        Many(Vec<String>),
        One(String),
    }
    Ok(match Option::<L>::deserialize(d)? {
        None => Vec::new(),
        Some(L::Many(v)) => v
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(L::One(s)) => s
            .split([';', ',', '|'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

/// A loaded, validated inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    entries: Vec<Arc<Entry>>,
    by_identity: HashMap<String, usize>,
    by_credential: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    patterns: Vec<(GlobMatcher, usize)>,
    by_account: HashMap<String, usize>,
    /// The file it came from.
    pub path: PathBuf,
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Inventory {
    /// Loads and validates `path` (`.csv`, `.yaml`/`.yml`, `.json`); lists every problem.
    pub fn load(path: &Path) -> Result<Inventory, InventoryErrors> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InventoryErrors(vec![format!("{shown}: {e}")]))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        // Every format becomes (where, entry as a JSON tree); one path validates them all.
        let located: Vec<(String, serde_json::Value)> = match ext.as_str() {
            "csv" => {
                let mut rd = csv::ReaderBuilder::new()
                    .trim(csv::Trim::All)
                    .flexible(false)
                    .from_reader(text.as_bytes());
                let headers = rd
                    .headers()
                    .map_err(|e| InventoryErrors(vec![format!("{shown}: {e}")]))?
                    .clone();
                let mut out = Vec::new();
                let mut errors = Vec::new();
                for (i, row) in rd.records().enumerate() {
                    // Header is line 1. Cells are text as written (account ids keep their
                    // leading zeros); empty cells are absent.
                    let at = format!("{shown}:{}", i + 2);
                    match row {
                        Ok(row) => {
                            let obj: serde_json::Map<String, serde_json::Value> = headers
                                .iter()
                                .zip(row.iter())
                                .filter(|(_, v)| !v.is_empty())
                                .map(|(k, v)| (k.to_string(), v.into()))
                                .collect();
                            out.push((at, serde_json::Value::Object(obj)));
                        }
                        Err(e) => errors.push(format!("{at}: {e}")),
                    }
                }
                if !errors.is_empty() {
                    return Err(InventoryErrors(errors));
                }
                out
            }
            "yaml" | "yml" | "json" => {
                let doc: serde_json::Value = if ext == "json" {
                    serde_json::from_str(&text)
                        .map_err(|e| InventoryErrors(vec![format!("{shown}: {e}")]))?
                } else {
                    serde_saphyr::from_str(&text)
                        .map_err(|e| InventoryErrors(vec![format!("{shown}: {e}")]))?
                };
                let list = match doc {
                    serde_json::Value::Array(l) => Some(l),
                    serde_json::Value::Object(mut m) if m.len() == 1 => {
                        match m.remove("identities") {
                            Some(serde_json::Value::Array(l)) => Some(l),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let Some(list) = list else {
                    return Err(InventoryErrors(vec![format!(
                        "{shown}: expected a list of entries, or `identities:` with one"
                    )]));
                };
                list.into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{shown}: entry {}", i + 1), v))
                    .collect()
            }
            other => {
                return Err(InventoryErrors(vec![format!(
                    "{shown}: unknown inventory format `.{other}` (csv, yaml, yml or json)"
                )]))
            }
        };
        let mut inv = Self::from_located(located)?;
        inv.path = path.to_path_buf();
        Ok(inv)
    }

    /// An inventory from entries given as JSON values (rule-file tests).
    pub fn from_values(list: &[serde_json::Value]) -> Result<Inventory, InventoryErrors> {
        Self::from_located(
            list.iter()
                .enumerate()
                .map(|(i, v)| (format!("entry {}", i + 1), v.clone()))
                .collect(),
        )
    }

    /// Deserializes and validates located entries; lists every problem.
    fn from_located(
        entries: Vec<(String, serde_json::Value)>,
    ) -> Result<Inventory, InventoryErrors> {
        let mut inv = Inventory::default();
        let mut problems = Vec::new();
        for (at, v) in entries {
            match serde_json::from_value::<RawEntry>(v) {
                Ok(r) => inv.add(at, r, &mut problems),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
        if problems.is_empty() {
            Ok(inv)
        } else {
            Err(InventoryErrors(problems))
        }
    }

    fn add(&mut self, at: String, r: RawEntry, problems: &mut Vec<String>) {
        let mut bad = |m: String| problems.push(format!("{at}: {m}"));
        if r.identity.is_none() && r.credential.is_none() && r.name.is_none() && r.account.is_none()
        {
            bad("no matcher: give identity, credential, name or account".into());
            return;
        }
        let criticality = match r.criticality.as_deref() {
            None => None,
            Some(c) => match Criticality::parse(c) {
                Some(c) => Some(c),
                None => {
                    bad(format!(
                        "criticality `{c}`: use low, medium, high or critical"
                    ));
                    None
                }
            },
        };
        if let Some(d) = &r.rotation_date {
            if crate::time::parse_rfc3339_ms(&format!("{d}T00:00:00Z")).is_none() {
                bad(format!("rotation_date `{d}`: use YYYY-MM-DD"));
            }
        }
        let countries: Vec<String> = r
            .expected_countries
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        for c in &countries {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                bad(format!(
                    "expected_countries `{c}`: use ISO 3166-1 alpha-2 codes (US, DE, ...)"
                ));
            }
        }
        let idx = self.entries.len();
        if let Some(id) = &r.identity {
            if is_glob(id) {
                match GlobBuilder::new(id).literal_separator(false).build() {
                    Ok(g) => self.patterns.push((g.compile_matcher(), idx)),
                    Err(e) => bad(format!("identity pattern `{id}`: {e}")),
                }
            } else if let Some(prev) = self.by_identity.insert(id.clone(), idx) {
                bad(format!(
                    "identity `{id}` is listed twice (also {})",
                    self.entries[prev].origin
                ));
            }
        } else if let Some(c) = &r.credential {
            if let Some(prev) = self.by_credential.insert(c.clone(), idx) {
                bad(format!(
                    "credential `{c}` is listed twice (also {})",
                    self.entries[prev].origin
                ));
            }
        } else if let Some(n) = &r.name {
            self.by_name.entry(n.clone()).or_default().push(idx);
        } else if let Some(a) = &r.account {
            if let Some(prev) = self.by_account.insert(a.clone(), idx) {
                bad(format!(
                    "account `{a}` has two account-wide entries (also {})",
                    self.entries[prev].origin
                ));
            }
        }
        self.entries.push(Arc::new(Entry {
            origin: at.clone(),
            identity: r.identity,
            credential: r.credential,
            name: r.name,
            account: r.account,
            owner: r.owner,
            team: r.team,
            business_owner: r.business_owner,
            criticality,
            environment: r.environment,
            purpose: r.purpose,
            expected_regions: r.expected_regions,
            expected_countries: countries,
            rotation_date: r.rotation_date,
            tags: r.tags,
            revoke: r.revoke,
            playbook: r.playbook,
        }));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the inventory says about an identity, as events carry it.
    pub fn matching(&self, id: &Identity<'_>) -> crate::event::InventoryMatch {
        self.lookup(id).cloned().map_or(
            crate::event::InventoryMatch::Unowned,
            crate::event::InventoryMatch::Owned,
        )
    }

    /// The entry for an identity, if any (precedence in the module docs).
    pub fn lookup(&self, id: &Identity<'_>) -> Option<&Arc<Entry>> {
        if let Some(&i) = self.by_identity.get(id.key.as_ref()) {
            return Some(&self.entries[i]);
        }
        for c in [id.credential.as_deref(), id.principal_id.as_deref()]
            .into_iter()
            .flatten()
        {
            if let Some(&i) = self.by_credential.get(c) {
                return Some(&self.entries[i]);
            }
        }
        if let Some(list) = self.by_name.get(id.name.as_ref()) {
            // An entry scoped to the identity's account beats an unscoped one.
            let scoped = list
                .iter()
                .find(|&&i| {
                    self.entries[i].account.is_some()
                        && self.entries[i].account.as_deref() == id.account.as_deref()
                })
                .or_else(|| list.iter().find(|&&i| self.entries[i].account.is_none()));
            if let Some(&i) = scoped {
                return Some(&self.entries[i]);
            }
        }
        for (g, i) in &self.patterns {
            if g.is_match(id.key.as_ref()) {
                return Some(&self.entries[*i]);
            }
        }
        id.account
            .as_deref()
            .and_then(|a| self.by_account.get(a))
            .map(|&i| &self.entries[i])
    }
}

#[cfg(test)]
mod tests;
