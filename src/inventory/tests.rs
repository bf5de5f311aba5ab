use std::borrow::Cow;
use std::io::Write;

use super::*;
use crate::event::{ClassReason, IdentityKind};

fn identity<'a>(
    key: &'a str,
    name: &'a str,
    credential: Option<&'a str>,
    account: Option<&'a str>,
) -> Identity<'a> {
    Identity {
        key: Cow::Borrowed(key),
        kind: IdentityKind::AwsRole,
        name: Cow::Borrowed(name),
        reason: ClassReason::RoleSession,
        credential: credential.map(Cow::Borrowed),
        session: None,
        session_created_ms: None,
        principal_id: None,
        account: account.map(Cow::Borrowed),
    }
}

fn file(ext: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const CSV: &str = "\
identity,credential,name,account,owner,team,business_owner,criticality,environment,purpose,expected_regions,expected_countries,rotation_date,tags,revoke,playbook
arn:aws:iam::111122223333:role/etl-loader,,,,alice@example.com,data-eng,Head of Data,critical,prod,nightly ETL,us-east-1;eu-west-1,US;de,2025-01-31,pii|batch,arn:aws:iam::111122223333:role/etl-loader,https://soar.example.com/playbooks/revoke-role
,AKIAEXAMPLEKEY000001,,,bob@example.com,backup,,low,dev,,,,,,AKIAEXAMPLEKEY000001,
,,acme-release-bot,,carol@example.com,release,,high,prod,,,,,,,
arn:aws:iam::111122223333:role/ci-*,,,,,platform,,medium,prod,,,,,,,
,,,111122223333,,cloud-team,,,,,,,,,,
";

#[test]
fn csv_loads_every_column_and_matches_by_precedence() {
    let f = file("csv", CSV);
    let inv = Inventory::load(f.path()).unwrap();
    assert_eq!(inv.len(), 5);

    // Exact identity key, with every column read.
    let e = inv
        .lookup(&identity(
            "arn:aws:iam::111122223333:role/etl-loader",
            "etl-loader",
            None,
            Some("111122223333"),
        ))
        .unwrap();
    assert_eq!(e.owner.as_deref(), Some("alice@example.com"));
    assert_eq!(e.criticality, Some(Criticality::Critical));
    assert_eq!(e.expected_regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(e.expected_countries, ["US", "DE"]);
    assert_eq!(e.tags, ["pii", "batch"]);
    assert_eq!(e.rotation_date.as_deref(), Some("2025-01-31"));
    assert!(e.playbook.as_deref().unwrap().starts_with("https://"));

    // Credential beats pattern and account.
    let e = inv
        .lookup(&identity(
            "arn:aws:iam::111122223333:user/svc-backup",
            "svc-backup",
            Some("AKIAEXAMPLEKEY000001"),
            Some("111122223333"),
        ))
        .unwrap();
    assert_eq!(e.team.as_deref(), Some("backup"));

    // Name (a GitHub app), no account needed.
    let e = inv
        .lookup(&identity(
            "github:acme/acme-release-bot",
            "acme-release-bot",
            None,
            None,
        ))
        .unwrap();
    assert_eq!(e.team.as_deref(), Some("release"));

    // Glob on the key.
    let e = inv
        .lookup(&identity(
            "arn:aws:iam::111122223333:role/ci-deployer",
            "ci-deployer",
            None,
            Some("111122223333"),
        ))
        .unwrap();
    assert_eq!(e.team.as_deref(), Some("platform"));

    // Account-wide entry last.
    let e = inv
        .lookup(&identity(
            "arn:aws:iam::111122223333:role/other",
            "other",
            None,
            Some("111122223333"),
        ))
        .unwrap();
    assert_eq!(e.team.as_deref(), Some("cloud-team"));

    // Another account: no owner of record.
    assert!(inv
        .lookup(&identity(
            "arn:aws:iam::999999999999:role/other",
            "other",
            None,
            Some("999999999999"),
        ))
        .is_none());
}

#[test]
fn yaml_and_json_give_the_same_entries() {
    let y = file(
        "yaml",
        "identities:\n  - identity: arn:aws:iam::111122223333:role/etl-loader\n    owner: alice\n    criticality: High\n    expected_regions: [us-east-1]\n    tags: [pii]\n  - account: 111122223333\n    team: cloud\n",
    );
    let j = file(
        "json",
        r#"[{"identity":"arn:aws:iam::111122223333:role/etl-loader","owner":"alice","criticality":"high","expected_regions":"us-east-1","tags":["pii"]},{"account":111122223333,"team":"cloud"}]"#,
    );
    for f in [&y, &j] {
        let inv = Inventory::load(f.path()).unwrap();
        assert_eq!(inv.len(), 2);
        let id = identity(
            "arn:aws:iam::111122223333:role/etl-loader",
            "etl-loader",
            None,
            Some("111122223333"),
        );
        let e = inv.lookup(&id).unwrap();
        assert_eq!(e.owner.as_deref(), Some("alice"));
        assert_eq!(e.criticality, Some(Criticality::High));
        assert_eq!(e.expected_regions, ["us-east-1"]);
        let other = identity(
            "arn:aws:iam::111122223333:role/x",
            "x",
            None,
            Some("111122223333"),
        );
        assert_eq!(inv.lookup(&other).unwrap().team.as_deref(), Some("cloud"));
    }
}

#[test]
fn every_problem_is_listed_with_its_line() {
    let f = file(
        "csv",
        "identity,owner,criticality,rotation_date,expected_countries\n\
         arn:a,alice,urgent,2025-13-45,USA\n\
         ,bob,,,\n\
         arn:a,carol,,,\n\
         arn:[bad,dave,,,\n",
    );
    let e = Inventory::load(f.path()).unwrap_err().0;
    let all = e.join("\n");
    assert!(all.contains(":2: criticality `urgent`"), "{all}");
    assert!(all.contains(":2: rotation_date `2025-13-45`"), "{all}");
    assert!(all.contains(":2: expected_countries `USA`"), "{all}");
    assert!(all.contains(":3: no matcher"), "{all}");
    assert!(
        all.contains(":4: identity `arn:a` is listed twice"),
        "{all}"
    );
    assert!(all.contains(":5: identity pattern `arn:[bad`"), "{all}");
    assert_eq!(e.len(), 6, "{all}");

    let unknown = file("yaml", "- identity: x\n  ownr: typo\n");
    let e = Inventory::load(unknown.path()).unwrap_err().0.join("\n");
    assert!(e.contains("ownr"), "{e}");
    let ext = file("txt", "x");
    let e = Inventory::load(ext.path()).unwrap_err().0.join("\n");
    assert!(e.contains("unknown inventory format"), "{e}");
}

#[test]
fn csv_cells_stay_text_so_account_ids_keep_leading_zeros() {
    let f = file("csv", "account,team,tags\n012345678901,cloud,1e5\n");
    let inv = Inventory::load(f.path()).unwrap();
    let id = identity(
        "arn:aws:iam::012345678901:role/x",
        "x",
        None,
        Some("012345678901"),
    );
    let e = inv.lookup(&id).unwrap();
    assert_eq!(e.account.as_deref(), Some("012345678901"));
    assert_eq!(e.tags, ["1e5"]);
}

#[test]
fn a_name_entry_scoped_to_the_account_beats_an_unscoped_one() {
    let f = file(
        "csv",
        "name,account,team\ndeploy-bot[bot],,anyone\ndeploy-bot[bot],acme,acme-release\n",
    );
    let inv = Inventory::load(f.path()).unwrap();
    let id = identity(
        "github:deploy-bot[bot]",
        "deploy-bot[bot]",
        None,
        Some("acme"),
    );
    assert_eq!(
        inv.lookup(&id).unwrap().team.as_deref(),
        Some("acme-release")
    );
    let other = identity(
        "github:deploy-bot[bot]",
        "deploy-bot[bot]",
        None,
        Some("other"),
    );
    assert_eq!(inv.lookup(&other).unwrap().team.as_deref(), Some("anyone"));
}

#[test]
fn criticality_moves_severity_one_step() {
    assert_eq!(Criticality::Critical.severity_shift(), 1);
    assert_eq!(Criticality::High.severity_shift(), 0);
    assert_eq!(Criticality::Medium.severity_shift(), 0);
    assert_eq!(Criticality::Low.severity_shift(), -1);
}
