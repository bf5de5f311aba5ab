//! Property tests of the text loaders (issue 15): rule files ([`rule::compile`]), the allowlist
//! ([`Allowlist::parse`]), the NHI inventory ([`Inventory::load`] for CSV, YAML and JSON files,
//! [`Inventory::from_values`]) and the daemon config ([`config::load_with_env`], with `NHID_*`
//! overrides).
//!
//! Every loader, given arbitrary text or a mutation of a real file (lines dropped, repeated,
//! swapped, re-indented or cut; values replaced by another type, odd durations, dates, globs,
//! CIDRs, regexes, huge numbers), returns what it loaded or a non-empty list of problems, never
//! a panic. What loads is then used: a mutated rule that compiles runs over a real trail (and
//! its own inline tests), a mutated allowlist filters the bundled pack's findings over it, a
//! mutated inventory is matched against its identities, a mutated config yields its engine
//! settings.
//!
//! Seeds: the bundled rule pack (`detections/`), `docs/allowlist.md`'s example,
//! `examples/inventory.csv`, `deploy/nhid.toml`. More cases:
//! `PROPTEST_CASES=5000 cargo test --release --test props_loaders` (docs/fuzzing.md).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use nhid::baseline::BaselineConfig;
use nhid::detect::allowlist::{glob, Allowlist};
use nhid::detect::rule::{compile, Rule};
use nhid::detect::{Engine, Finding};
use nhid::inventory::Inventory;
use nhid::parsers::{Format, Parsers};
use proptest::prelude::*;
use proptest::sample::Index;
mod common;

use common::proptest_config as config;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ------------------------------------------------------------------------------------------
// Seeds.

/// The lab trail (an escalation that fires rules, among real background records).
fn trail() -> &'static [Vec<u8>] {
    static T: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    T.get_or_init(|| {
        let text = std::fs::read(root().join("tests/fixtures/lab-escalation/trail.jsonl")).unwrap();
        let mut v: Vec<Vec<u8>> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        // A few records of the other sources too.
        for f in [
            "tests/fixtures/panther/okta_systemlog.jsonl",
            "tests/fixtures/panther/github_audit.jsonl",
            "tests/fixtures/panther/azure_monitoractivity.jsonl",
        ] {
            let text = std::fs::read(root().join(f)).unwrap();
            v.extend(
                text.split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .take(20)
                    .map(<[u8]>::to_vec),
            );
        }
        v
    })
}

/// Runs `rules` (with an allowlist) over the trail; returns the number of findings.
fn run_engine(rules: Vec<Rule>, allowlist: Option<Allowlist>) -> usize {
    let mut engine = Engine::new(Arc::new(rules), BaselineConfig::default());
    if let Some(a) = allowlist {
        engine.set_allowlist(a);
    }
    let p = Parsers::default();
    let mut out: Vec<Finding> = Vec::new();
    let mut n = 0;
    for r in trail() {
        if let Ok(ev) = p.parse(r, Format::Auto) {
            engine.process(&ev, &mut out);
            n += out.len();
            out.clear();
        }
    }
    n
}

fn bundled_rules() -> &'static [(&'static str, &'static str)] {
    nhid::detect::loader::embedded_files()
}

const ALLOWLIST_SEED: &str = r#"entries:
  - identity: "arn:aws:iam::123837392027:user/*"
    rule: standard.new_country
    feature: country
    value: DE
    cidr: 198.51.100.0/24
    expires: 2027-03-31
    reason: ETL moves to eu-central-1 (CHG-1234)
    approver: alice@example.com
    approve_into_baseline: false
  - identity: "arn:aws:iam::123837392027:user/benjamin"
    feature: asn
    value: AS16509
    expires: never
    reason: planned move to AWS
    approver: bob@example.com
    approve_into_baseline: true
  - rule: "aws.*"
    cidr: 2001:db8::/32
    expires: 2024-01-01
    reason: lab network
    approver: carol@example.com
  - value: "s3:GetObject"
    feature: action
    expires: 2030-12-31T00:00:00Z
    reason: bulk download job
    approver: dave@example.com
"#;

const INVENTORY_YAML_SEED: &str = r#"identities:
  - identity: "arn:aws:iam::123837392027:user/benjamin"
    owner: alice@example.com
    team: data-platform
    criticality: critical
    environment: prod
    expected_regions: [us-east-1, eu-west-1]
    expected_countries: "US;DE"
    rotation_date: 2024-06-30
    tags: [pii, batch]
    revoke: AKIATFQR7NSCUXC3DDDP
    playbook: https://soar.example.com/playbooks/aws-revoke
  - credential: 0oademo1billingsync
    owner: bob@example.com
    criticality: high
  - name: "deploy-bot[bot]"
    account: demo-org
    criticality: low
  - identity: "arn:aws:iam::*:role/ci-*"
    team: release-eng
  - account: 123837392027
    owner: cloud-team@example.com
"#;

fn config_seeds() -> &'static [String] {
    static C: OnceLock<Vec<String>> = OnceLock::new();
    C.get_or_init(|| {
        // Absolute paths made relative (to the test's directory): a mutated config must not
        // create or probe directories elsewhere on the machine.
        let geoip = root().join("examples/geoip");
        let deploy = std::fs::read_to_string(root().join("deploy/nhid.toml"))
            .unwrap()
            .replace(
                "\"geoip/GeoLite2-City.mmdb\"",
                &format!("{:?}", geoip.join("test-city.mmdb")),
            )
            .replace(
                "\"geoip/GeoLite2-ASN.mmdb\"",
                &format!("{:?}", geoip.join("test-asn.mmdb")),
            )
            .replace("\"/var/lib/nhid\"", "\"state\"")
            .replace("\"/var/log/nhid/", "\"");
        let minimal = format!(
            r#"
[[sources]]
type = "file"
paths = [{:?}]

[[sinks]]
type = "file"
path = "alerts.jsonl"

[baseline]
learning_period = "7d"

[pipeline]
future_tolerance = "1h"
"#,
            root().join("examples/demo.jsonl")
        );
        vec![deploy, minimal]
    })
}

// ------------------------------------------------------------------------------------------
// Text mutations (any loader).

#[derive(Debug, Clone)]
enum TextOp {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    InsertLine(Index, String),
    /// Replaces what follows the first `:` or `=` of a line.
    ReplaceValue(Index, String),
    /// Adds or removes leading spaces.
    Indent(Index, i8),
    /// Cuts the text at a character.
    Truncate(Index),
    /// Inserts text at a character.
    Insert(Index, String),
}

/// Scalar texts that stress the loaders' value checks (no absolute paths: see config_seeds).
fn odd_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", " ", "~", "null", "true", "no", "0", "-1", "1e400", "9223372036854775807",
            "18446744073709551616", "-9223372036854775809", "0.0000001", "nan", ".inf",
            "0s", "0ms", "-1h", "1h", "999999999999999999999d", "9223372036854775807ms",
            "106751991167d", "1w", "30 d", "1.5h", "never", "2024-02-30", "2027-03-31",
            "9999-12-31", "0000-01-01", "2024-13-01", "1.2.3.4/99", "::/0", "0.0.0.0/0",
            "10.0.0.0/8", "*", "**", "***", "[", "]", "{", "}", "*[*", "a*b*c", "(", "(a+)+$",
            "\\", "'", "\"", "&anchor", "*anchor", "!!binary", "!!str", "<<", "? x", "- -", "|",
            ">", "#", "%YAML 1.2", "---", "...", "é", "🦀", "\u{0}", "\u{202e}", "env:HOME",
            "env:", "env:NHID_NO_SUCH_VARIABLE", "critical", "CRITICAL", "low", "standard.*",
            "aws.minted_key_first_use", "cloudtrail", "okta", "github_audit", "azure_activity",
            "country", "asn", "network", "action", "client", "auto", "earliest", "latest",
            "127.0.0.1:0", "127.0.0.1:99999", "[::1]:9464", "localhost",
        ]).prop_map(String::from),
        1 => "[a-zA-Z0-9 _.*:,-]{0,24}",
        1 => prop::collection::vec(any::<char>(), 0..16)
            .prop_map(|v| v.into_iter().filter(|&c| c != '/').collect::<String>()),
    ]
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        3 => any::<Index>().prop_map(TextOp::DeleteLine),
        2 => any::<Index>().prop_map(TextOp::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TextOp::SwapLines(a, b)),
        2 => (any::<Index>(), odd_scalar()).prop_map(|(a, s)| TextOp::InsertLine(a, s)),
        5 => (any::<Index>(), odd_scalar()).prop_map(|(a, s)| TextOp::ReplaceValue(a, s)),
        2 => (any::<Index>(), -4i8..5).prop_map(|(a, d)| TextOp::Indent(a, d)),
        1 => any::<Index>().prop_map(TextOp::Truncate),
        2 => (any::<Index>(), odd_scalar()).prop_map(|(a, s)| TextOp::Insert(a, s)),
    ]
}

fn apply_text(text: &str, op: &TextOp) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    let at = |i: &Index| i.index(n);
    match op {
        TextOp::DeleteLine(i) => {
            lines.remove(at(i));
        }
        TextOp::DuplicateLine(i) => {
            let l = lines[at(i)].clone();
            lines.insert(at(i), l);
        }
        TextOp::SwapLines(a, b) => lines.swap(at(a), at(b)),
        TextOp::InsertLine(i, s) => lines.insert(at(i), s.clone()),
        TextOp::ReplaceValue(i, s) => {
            let l = &mut lines[at(i)];
            if let Some(p) = l.find([':', '=']) {
                *l = format!("{} {s}", &l[..=p]);
            }
        }
        TextOp::Indent(i, d) => {
            let l = &mut lines[at(i)];
            if *d >= 0 {
                *l = format!("{}{l}", " ".repeat(*d as usize));
            } else {
                let k = l
                    .chars()
                    .take(d.unsigned_abs() as usize)
                    .take_while(|&c| c == ' ')
                    .count();
                *l = l[k..].to_string();
            }
        }
        TextOp::Truncate(i) => {
            let chars: Vec<char> = text.chars().collect();
            return chars[..i.index(chars.len() + 1)].iter().collect();
        }
        TextOp::Insert(i, s) => {
            let chars: Vec<char> = text.chars().collect();
            let k = i.index(chars.len() + 1);
            return chars[..k]
                .iter()
                .chain(s.chars().collect::<Vec<_>>().iter())
                .chain(chars[k..].iter())
                .collect();
        }
    }
    lines.join("\n") + "\n"
}

// ------------------------------------------------------------------------------------------
// Structure mutations (YAML / JSON / TOML trees as JSON values).

#[derive(Debug, Clone)]
enum TreeOp {
    Remove(Index),
    Replace(Index, Odd),
    /// Adds a key seen in the seeds (with an odd value) to an object.
    AddKey(Index, Index, Odd),
    /// Repeats an array element.
    DuplicateElement(Index),
}

/// Odd values of every JSON type.
#[derive(Debug, Clone)]
enum Odd {
    Null,
    Bool(bool),
    Int(i64),
    BigUint(u64),
    Float(f64),
    Text(String),
    Long(usize),
    EmptyObj,
    EmptyArr,
    List(Vec<String>),
    /// Another node of the same tree.
    Copy(Index),
}

fn odd() -> impl Strategy<Value = Odd> {
    prop_oneof![
        1 => Just(Odd::Null),
        1 => any::<bool>().prop_map(Odd::Bool),
        2 => prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(-1i64), Just(0i64)].prop_map(Odd::Int),
        1 => prop_oneof![any::<u64>(), Just(u64::MAX)].prop_map(Odd::BigUint),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Odd::Float),
        6 => odd_scalar().prop_map(Odd::Text),
        1 => (0usize..100_000).prop_map(Odd::Long),
        1 => Just(Odd::EmptyObj),
        1 => Just(Odd::EmptyArr),
        2 => prop::collection::vec(odd_scalar(), 0..4).prop_map(Odd::List),
        2 => any::<Index>().prop_map(Odd::Copy),
    ]
}

fn tree_op() -> impl Strategy<Value = TreeOp> {
    prop_oneof![
        3 => any::<Index>().prop_map(TreeOp::Remove),
        6 => (any::<Index>(), odd()).prop_map(|(a, o)| TreeOp::Replace(a, o)),
        2 => (any::<Index>(), any::<Index>(), odd()).prop_map(|(a, k, o)| TreeOp::AddKey(a, k, o)),
        1 => any::<Index>().prop_map(TreeOp::DuplicateElement),
    ]
}

fn value_paths(v: &Value) -> Vec<Vec<usize>> {
    fn walk(v: &Value, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        out.push(at.clone());
        let children: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(m) => m.values().collect(),
            _ => return,
        };
        for (i, c) in children.into_iter().enumerate() {
            at.push(i);
            walk(c, at, out);
            at.pop();
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn value_at<'a>(v: &'a mut Value, path: &[usize]) -> &'a mut Value {
    match path.split_first() {
        None => v,
        Some((&i, rest)) => match v {
            Value::Array(a) => value_at(&mut a[i], rest),
            Value::Object(m) => {
                let v = m.values_mut().nth(i).unwrap();
                value_at(v, rest)
            }
            _ => unreachable!(),
        },
    }
}

fn keys_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => a.iter().for_each(|c| keys_of(c, out)),
        Value::Object(m) => {
            for (k, c) in m {
                out.push(k.clone());
                keys_of(c, out);
            }
        }
        _ => {}
    }
}

fn odd_value(o: &Odd, tree: &Value) -> Value {
    match o {
        Odd::Null => Value::Null,
        Odd::Bool(b) => Value::Bool(*b),
        Odd::Int(i) => Value::from(*i),
        Odd::BigUint(u) => Value::from(*u),
        Odd::Float(f) => Value::from(*f),
        Odd::Text(s) => Value::String(s.clone()),
        Odd::Long(n) => Value::String("a*".repeat(*n / 2)),
        Odd::EmptyObj => Value::Object(Default::default()),
        Odd::EmptyArr => Value::Array(vec![]),
        Odd::List(l) => Value::Array(l.iter().cloned().map(Value::String).collect()),
        Odd::Copy(i) => {
            let ps = value_paths(tree);
            let mut t = tree.clone();
            value_at(&mut t, &ps[i.index(ps.len())]).clone()
        }
    }
}

fn apply_tree(v: &mut Value, op: &TreeOp) {
    let ps = value_paths(v);
    let pick = |i: &Index| ps[i.index(ps.len())].clone();
    let snapshot = v.clone();
    match op {
        TreeOp::Remove(i) => {
            let p = pick(i);
            if let Some((&last, parent)) = p.split_last() {
                match value_at(v, parent) {
                    Value::Array(a) => {
                        a.remove(last);
                    }
                    Value::Object(m) => {
                        let k = m.keys().nth(last).unwrap().clone();
                        m.remove(&k);
                    }
                    _ => {}
                }
            }
        }
        TreeOp::Replace(i, o) => *value_at(v, &pick(i)) = odd_value(o, &snapshot),
        TreeOp::AddKey(i, k, o) => {
            let mut keys = Vec::new();
            keys_of(&snapshot, &mut keys);
            let key = if keys.is_empty() {
                "x".to_string()
            } else {
                keys[k.index(keys.len())].clone()
            };
            let new = odd_value(o, &snapshot);
            match value_at(v, &pick(i)) {
                Value::Object(m) => {
                    m.insert(key, new);
                }
                other => *other = serde_json::json!({ key: new }),
            }
        }
        TreeOp::DuplicateElement(i) => {
            if let Value::Array(a) = value_at(v, &pick(i)) {
                if let Some(e) = a.first().cloned() {
                    a.push(e);
                }
            }
        }
    }
}

/// A mutated YAML text: text operations, or tree operations on the parsed document written
/// back as YAML or as JSON (JSON is YAML).
#[derive(Debug, Clone)]
enum Mutated {
    Text(Vec<TextOp>),
    Tree(Vec<TreeOp>, bool),
}

fn mutated() -> impl Strategy<Value = Mutated> {
    prop_oneof![
        1 => prop::collection::vec(text_op(), 1..5).prop_map(Mutated::Text),
        1 => (prop::collection::vec(tree_op(), 1..5), any::<bool>()).prop_map(|(o, j)| Mutated::Tree(o, j)),
    ]
}

fn mutate_yaml(seed: &str, m: &Mutated) -> String {
    match m {
        Mutated::Text(ops) => ops
            .iter()
            .fold(seed.to_string(), |t, op| apply_text(&t, op)),
        Mutated::Tree(ops, json) => {
            let mut v: Value = serde_saphyr::from_str(seed).expect("seeds are YAML");
            for op in ops {
                apply_tree(&mut v, op);
            }
            if *json {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_saphyr::to_string(&v).unwrap_or_else(|_| serde_json::to_string(&v).unwrap())
            }
        }
    }
}

/// True if every `repeat` in a rule document is small (inline tests then run fast).
fn small_repeats(text: &str) -> bool {
    fn ok(v: &Value) -> bool {
        match v {
            Value::Array(a) => a.iter().all(ok),
            Value::Object(m) => m.iter().all(|(k, v)| {
                (k != "repeat" || v.as_u64().is_some_and(|n| n <= 200) || v.is_null()) && ok(v)
            }),
            _ => true,
        }
    }
    serde_saphyr::from_str::<Value>(text).is_ok_and(|v| ok(&v))
}

// ------------------------------------------------------------------------------------------
// Glob reference.

/// Textbook `*`-only glob match (dynamic programming over chars), for the differential test.
fn glob_reference(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
        for j in 1..=t.len() {
            dp[i][j] = if p[i - 1] == '*' {
                dp[i - 1][j] || dp[i][j - 1]
            } else {
                dp[i - 1][j - 1] && p[i - 1] == t[j - 1]
            };
        }
    }
    dp[p.len()][t.len()]
}

// ------------------------------------------------------------------------------------------
// Properties.

#[test]
fn seeds_load_cleanly() {
    for (path, text) in bundled_rules() {
        let (rule, problems) = compile(path, text);
        assert!(
            rule.is_some() && problems.is_empty(),
            "{path}: {problems:?}"
        );
    }
    let a = Allowlist::parse("allow.yml", ALLOWLIST_SEED).unwrap();
    assert_eq!(a.entries.len(), 4);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("inv.yaml");
    std::fs::write(&p, INVENTORY_YAML_SEED).unwrap();
    assert_eq!(Inventory::load(&p).unwrap().len(), 5);
    assert!(Inventory::load(&root().join("examples/inventory.csv")).is_ok());
    for (i, c) in config_seeds().iter().enumerate() {
        let p = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&p, c).unwrap();
        let r = nhid::config::load_with_env(&p, std::iter::empty());
        assert!(r.is_ok(), "seed config {i}: {:?}", r.err());
    }
    // The trail fires findings with the bundled pack, so the allowlist is exercised.
    let pack = nhid::detect::loader::load_embedded();
    assert!(run_engine(pack.rules, None) > 0);
}

proptest! {
    #![proptest_config(config(1200))]

    /// A mutated rule file compiles or lists its problems; one that compiles runs over a real
    /// trail and through its own inline tests without a panic.
    #[test]
    fn mutated_rules_compile_or_explain(pick in any::<Index>(), m in mutated()) {
        let files = bundled_rules();
        let (path, seed) = files[pick.index(files.len())];
        let text = mutate_yaml(seed, &m);
        let (rule, problems) = compile(path, &text);
        for p in &problems {
            prop_assert!(!p.message.is_empty());
        }
        match rule {
            None => prop_assert!(!problems.is_empty(), "no rule and no problem"),
            Some(rule) => {
                if small_repeats(&text) {
                    let outcomes = nhid::detect::ruletest::run_all(std::slice::from_ref(&rule));
                    prop_assert!(outcomes.len() >= rule.tests.len());
                }
                run_engine(vec![rule], None);
            }
        }
    }

    /// Arbitrary text as a rule file: a rule or problems, never a panic.
    #[test]
    fn arbitrary_rule_text_never_panics(text in prop_oneof![
        "[ -~\n]{0,400}",
        prop::collection::vec(any::<char>(), 0..400).prop_map(String::from_iter),
    ]) {
        let (rule, problems) = compile("x/y.yml", &text);
        prop_assert!(rule.is_some() || !problems.is_empty());
    }

    /// A mutated allowlist loads or lists its problems; one that loads filters the bundled
    /// pack's findings over the trail without a panic.
    #[test]
    fn mutated_allowlists_load_or_explain(m in mutated(), raw in prop::option::of("[ -~\n]{0,300}")) {
        let text = match raw {
            Some(t) => t,
            None => mutate_yaml(ALLOWLIST_SEED, &m),
        };
        match Allowlist::parse("allow.yml", &text) {
            Ok(a) => {
                let pack = nhid::detect::loader::load_embedded();
                run_engine(pack.rules, Some(a));
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| !p.message.is_empty()));
            }
        }
    }

    /// A mutated inventory (CSV, YAML or JSON file) loads or lists its problems; one that loads
    /// answers lookups for the trail's identities.
    #[test]
    fn mutated_inventories_load_or_explain(
        m in mutated(),
        ext in prop::sample::select(vec!["csv", "yaml", "yml", "json", "txt", ""]),
        bytes in prop::option::weighted(0.1, prop::collection::vec(any::<u8>(), 0..300)),
    ) {
        let csv = std::fs::read_to_string(root().join("examples/inventory.csv")).unwrap();
        let text: Vec<u8> = match (&bytes, ext) {
            (Some(b), _) => b.clone(),
            (None, "csv") => match &m {
                Mutated::Text(ops) => ops.iter().fold(csv, |t, op| apply_text(&t, op)).into_bytes(),
                // CSV cells replaced by odd text (quotes, separators, newlines and all).
                Mutated::Tree(ops, _) => {
                    let mut rows: Vec<Vec<String>> = csv.lines().map(|l| l.split(',').map(String::from).collect()).collect();
                    for (k, op) in ops.iter().enumerate() {
                        if let TreeOp::Replace(i, Odd::Text(s)) | TreeOp::AddKey(i, _, Odd::Text(s)) = op {
                            let r = i.index(rows.len());
                            let c = (k * 7 + r) % rows[r].len();
                            rows[r][c] = s.clone();
                        }
                    }
                    let mut w = csv_writer();
                    for r in &rows {
                        w.write_record(r).unwrap();
                    }
                    w.into_inner().unwrap()
                }
            },
            (None, "json") => {
                let y = mutate_yaml(INVENTORY_YAML_SEED, &m);
                match serde_saphyr::from_str::<Value>(&y) {
                    Ok(v) => serde_json::to_vec(&v).unwrap(),
                    Err(_) => y.into_bytes(),
                }
            }
            (None, _) => mutate_yaml(INVENTORY_YAML_SEED, &m).into_bytes(),
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("inventory.{ext}"));
        std::fs::write(&p, &text).unwrap();
        match Inventory::load(&p) {
            Ok(inv) => {
                let parsers = Parsers::default();
                for r in trail().iter().step_by(7) {
                    if let Ok(ev) = parsers.parse(r, Format::Auto) {
                        let _ = inv.matching(&ev.identity);
                        let _ = inv.lookup(&ev.identity);
                    }
                }
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                prop_assert!(e.0.iter().all(|m| !m.is_empty()));
            }
        }
    }

    /// A mutated config (TOML text, or its tree with values of other types), with arbitrary
    /// `NHID_*` overrides: a config or a non-empty list of problems; one that loads yields its
    /// engine settings.
    #[test]
    fn mutated_configs_load_or_explain(
        pick in any::<Index>(),
        m in mutated(),
        env in prop::collection::vec(
            (
                prop::collection::vec(prop_oneof![
                    3 => prop::sample::select(vec![
                        "SOURCES", "SINKS", "0", "1", "2", "99999999999999999999", "BROKERS", "TOPICS",
                        "FORMAT", "PATHS", "TYPE", "STATE", "DIR", "BASELINE", "LEARNING_PERIOD",
                        "PIPELINE", "FUTURE_TOLERANCE", "BATCH_LINGER", "SERVER", "LISTEN",
                        "PROPERTIES", "SASL.PASSWORD", "TOKEN", "DEAD_LETTER", "PATH", "INCIDENTS",
                        "PRIORS", "GEOIP", "CITY", "DETECTIONS", "ALLOWLIST", "LOG", "LEVEL", "",
                    ]).prop_map(String::from),
                    1 => "[A-Z0-9_]{0,6}",
                ], 1..5),
                odd_scalar(),
            ),
            0..4,
        ),
    ) {
        let seeds = config_seeds();
        let seed = &seeds[pick.index(seeds.len())];
        let text = match &m {
            Mutated::Text(ops) => ops.iter().fold(seed.clone(), |t, op| apply_text(&t, op)),
            Mutated::Tree(ops, _) => {
                let table: toml::Table = seed.parse().unwrap();
                let mut v = serde_json::to_value(&table).unwrap();
                for op in ops {
                    apply_tree(&mut v, op);
                }
                strip_nulls(&mut v);
                match toml::Value::try_from(&v) {
                    Ok(toml::Value::Table(t)) => toml::to_string(&t).unwrap_or_default(),
                    _ => seed.clone(),
                }
            }
        };
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(path, value)| (format!("NHID_{}", path.join("__")), value))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nhid.toml");
        std::fs::write(&p, &text).unwrap();
        match nhid::config::load_with_env(&p, env.into_iter()) {
            Ok(cfg) => {
                let _ = cfg.baseline_config();
                let _ = cfg.incidents_config();
                let _ = cfg.priors_config();
                prop_assert!(cfg.validate().is_ok());
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                prop_assert!(e.0.iter().all(|m| !m.is_empty()));
            }
        }
    }
}

proptest! {
    #![proptest_config(config(6000))]

    /// Arbitrary `NHID_*` variables over a real config tree: errors or a tree, never a panic.
    #[test]
    fn env_overrides_never_panic(
        vars in prop::collection::vec(("NHID_[A-Z0-9_]{0,30}", "[ -~]{0,20}"), 0..8),
    ) {
        let mut t: toml::Table = config_seeds()[0].parse().unwrap();
        let errors = nhid::config::apply_env_overrides(&mut t, vars.into_iter());
        prop_assert!(errors.iter().all(|e| !e.is_empty()));
    }

    /// Arbitrary JSON values as inventory entries (the rule-test path): never a panic.
    #[test]
    fn inventory_entries_from_values(entries in prop::collection::vec(
        prop::collection::vec((
            prop::sample::select(vec![
                "identity", "credential", "name", "account", "owner", "team", "business_owner",
                "criticality", "environment", "purpose", "expected_regions", "expected_countries",
                "rotation_date", "tags", "revoke", "playbook", "other",
            ]),
            odd(),
        ), 0..6),
        0..6,
    )) {
        let seed: Value = serde_saphyr::from_str(INVENTORY_YAML_SEED).unwrap();
        let list: Vec<Value> = entries
            .iter()
            .map(|kv| Value::Object(kv.iter().map(|(k, o)| (k.to_string(), odd_value(o, &seed))).collect()))
            .collect();
        if let Err(e) = Inventory::from_values(&list) {
            prop_assert!(!e.0.is_empty());
        }
    }

    /// The allowlist's glob agrees with a textbook matcher.
    #[test]
    fn glob_matches_reference(
        pat in "[ab*é]{0,8}",
        s in "[abé]{0,10}",
    ) {
        prop_assert_eq!(glob(&pat, &s), glob_reference(&pat, &s), "glob({:?}, {:?})", pat, s);
    }

    /// Future tolerance and durations from arbitrary text: a value or an error.
    #[test]
    fn config_durations_never_panic(s in prop_oneof!["[0-9]{0,22}[a-z ]{0,4}", "[ -~]{0,12}"]) {
        let _ = nhid::config::future_tolerance_ms(&s);
        let _ = nhid::config::duration_ms(&s);
    }
}

/// Hostile YAML (alias bombs, thousands of nesting levels): refused quickly, no crash.
#[test]
fn hostile_yaml_is_refused_quickly() {
    let mut bomb = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for i in 1..12 {
        bomb.push_str(&format!(
            "{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n",
            c = (b'a' + i) as char,
            p = (b'a' + i - 1) as char
        ));
    }
    let deep_flow = format!("entries: {}{}", "[".repeat(20_000), "]".repeat(20_000));
    let deep_block: String = (0..1_500)
        .map(|i| format!("{}-\n", "  ".repeat(i)))
        .collect();
    for text in [&bomb, &deep_flow, &deep_block] {
        let t = std::time::Instant::now();
        let (rule, problems) = compile("x/y.yml", text);
        assert!(rule.is_none() && !problems.is_empty());
        assert!(Allowlist::parse("allow.yml", text).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.yaml");
        std::fs::write(&p, text).unwrap();
        assert!(Inventory::load(&p).is_err());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            t.elapsed()
        );
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new())
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.retain(|x| !x.is_null());
            a.iter_mut().for_each(strip_nulls);
        }
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        _ => {}
    }
}
