//! Output formats selectable per sink: `ocsf` (the alert as rendered: an OCSF 1.5 Detection
//! Finding), `ecs` (Elastic Common Schema field names) and `cim` (Splunk CIM, Alerts data
//! model). ECS and CIM documents are derived from the typed OCSF alert as typed values (no
//! re-parse of rendered bytes) and keep nhid's explanation (observed vs baseline, owner,
//! remediation) under `nhid.*`.

use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

use crate::alert::Alert;
use crate::time::format_rfc3339_ms;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OCSF Detection Finding (default).
    Ocsf,
    /// Elastic Common Schema.
    Ecs,
    /// Splunk Common Information Model (Alerts).
    Cim,
}

impl Format {
    /// Parses `ocsf` / `ecs` / `cim`.
    pub fn from_name(s: &str) -> Option<Format> {
        match s {
            "ocsf" => Some(Format::Ocsf),
            "ecs" => Some(Format::Ecs),
            "cim" => Some(Format::Cim),
            _ => None,
        }
    }
}

/// The value at a dotted path (`a.b.0.c`; numbers index arrays), `null` when absent (webhook
/// templates).
pub fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| match v {
        Value::Array(a) => k
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i))
            .unwrap_or(&Value::Null),
        _ => &v[k],
    })
}

/// Serializes the document for `format` of a typed alert (OCSF as built, ECS or CIM derived).
pub fn render(format: Format, a: &Alert) -> serde_json::Result<Vec<u8>> {
    match format {
        Format::Ocsf => serde_json::to_vec(a),
        Format::Ecs => serde_json::to_vec(&Ecs::of(a)),
        Format::Cim => serde_json::to_vec(&Cim::of(a)),
    }
}

/// The document for `format` as a JSON value (webhook templates pick fields from it).
pub fn to_value(format: Format, a: &Alert) -> serde_json::Result<Value> {
    match format {
        Format::Ocsf => serde_json::to_value(a),
        Format::Ecs => serde_json::to_value(Ecs::of(a)),
        Format::Cim => serde_json::to_value(Cim::of(a)),
    }
}

fn techniques(a: &Alert) -> Vec<&str> {
    a.finding_info
        .attacks
        .iter()
        .map(|t| t.technique.uid.as_str())
        .collect()
}

/// A value bound for a SIEM table that users export to spreadsheets: one line
/// ([`crate::alert::one_line`]), and a leading `=`, `+`, `-`, `@` (a formula to a spreadsheet)
/// gets a `'` in front, the OWASP "CSV injection" defence.
fn cell(s: &str) -> Cow<'_, str> {
    let s = crate::alert::one_line(s);
    if s.starts_with(['=', '+', '-', '@']) {
        Cow::Owned(format!("'{s}"))
    } else {
        s
    }
}

fn cell_opt(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(cell)
}

fn none_if_blank(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// nhid's own explanation, kept verbatim in both derived formats.
#[derive(Serialize)]
struct NhidPart<'a> {
    finding_uid: &'a str,
    sequence: u64,
    activity: &'a str,
    count: u64,
    risk_score: u8,
    identity_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    anomaly_analyses: &'a [crate::alert::model::AnomalyAnalysis],
    evidence: &'a [crate::alert::model::Evidence],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    owner: &'a [crate::alert::model::Enrichment],
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<&'a crate::alert::model::Remediation>,
    details: &'a crate::alert::model::NhidDetails,
}

impl<'a> NhidPart<'a> {
    fn of(a: &'a Alert) -> Self {
        NhidPart {
            finding_uid: &a.finding_info.uid,
            sequence: a.metadata.sequence,
            activity: &a.activity_name,
            count: a.count,
            risk_score: a.risk_score,
            identity_type: &a.actor.user.kind,
            credential: a.actor.user.credential_uid.as_deref(),
            session: a.actor.session.as_ref().map(|s| s.uid.as_str()),
            anomaly_analyses: &a.anomaly_analyses,
            evidence: &a.evidences,
            owner: &a.enrichments,
            remediation: a.remediation.as_ref(),
            details: &a.unmapped.nhid,
        }
    }
}

/// Elastic Common Schema document.
#[derive(Serialize)]
struct Ecs<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    message: Cow<'a, str>,
    event: EcsEvent<'a>,
    rule: EcsRule<'a>,
    threat: EcsThreat<'a>,
    user: EcsUser<'a>,
    #[serde(skip_serializing_if = "EcsSource::is_empty")]
    source: EcsSource<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<EcsUserAgent<'a>>,
    cloud: EcsCloud<'a>,
    observer: EcsObserver<'a>,
    nhid: NhidPart<'a>,
}

#[derive(Serialize)]
struct EcsEvent<'a> {
    kind: &'static str,
    category: [&'static str; 1],
    #[serde(rename = "type")]
    kind_type: [&'static str; 1],
    id: &'a str,
    /// ECS `event.sequence`: the alert's version.
    sequence: u64,
    severity: u8,
    risk_score: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    provider: &'a str,
    dataset: &'static str,
    module: &'static str,
    start: String,
    end: String,
    outcome: &'static str,
}

#[derive(Serialize)]
struct EcsRule<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    ruleset: &'static str,
}

#[derive(Serialize)]
struct EcsThreat<'a> {
    framework: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    technique: Option<EcsTechnique<'a>>,
}

#[derive(Serialize)]
struct EcsTechnique<'a> {
    id: Vec<&'a str>,
}

#[derive(Serialize)]
struct EcsUser<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
}

#[derive(Serialize)]
struct EcsSource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<EcsGeo<'a>>,
    #[serde(rename = "as", skip_serializing_if = "Option::is_none")]
    asys: Option<EcsAs<'a>>,
}

impl EcsSource<'_> {
    fn is_empty(&self) -> bool {
        self.ip.is_none() && self.domain.is_none() && self.geo.is_none() && self.asys.is_none()
    }
}

#[derive(Serialize)]
struct EcsGeo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    country_iso_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city_name: Option<&'a str>,
}

#[derive(Serialize)]
struct EcsAs<'a> {
    number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<EcsOrg<'a>>,
}

#[derive(Serialize)]
struct EcsOrg<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct EcsUserAgent<'a> {
    original: Cow<'a, str>,
}

#[derive(Serialize)]
struct EcsCloud<'a> {
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<EcsId<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<EcsName<'a>>,
}

#[derive(Serialize)]
struct EcsId<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct EcsName<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct EcsObserver<'a> {
    vendor: &'static str,
    product: &'static str,
    version: &'a str,
}

impl<'a> Ecs<'a> {
    fn of(a: &'a Alert) -> Self {
        let loc = a.src_endpoint.location.as_ref();
        let asys = a.src_endpoint.autonomous_system.as_ref();
        let ev = a.evidences.first().map(|e| &e.data);
        let geo = loc
            .map(|l| EcsGeo {
                country_iso_code: l.country.as_deref(),
                city_name: l.city.as_deref(),
            })
            .filter(|g| g.country_iso_code.is_some() || g.city_name.is_some());
        let techniques = techniques(a);
        Ecs {
            timestamp: format_rfc3339_ms(a.time),
            message: cell(&a.message),
            event: EcsEvent {
                kind: "alert",
                category: ["iam"],
                kind_type: ["info"],
                id: &a.finding_info.uid,
                sequence: a.metadata.sequence,
                severity: a.severity_id,
                risk_score: a.risk_score,
                action: none_if_blank(&a.api.operation),
                provider: &a.metadata.log_name,
                dataset: "nhid.alert",
                module: "nhid",
                start: format_rfc3339_ms(a.finding_info.first_seen_time),
                end: format_rfc3339_ms(a.finding_info.last_seen_time),
                outcome: if a.api.response.is_some() {
                    "failure"
                } else {
                    "success"
                },
            },
            rule: EcsRule {
                id: &a.finding_info.analytic.uid,
                name: &a.finding_info.title,
                description: &a.finding_info.desc,
                ruleset: "nhid",
            },
            threat: EcsThreat {
                framework: "MITRE ATT&CK",
                technique: (!techniques.is_empty()).then_some(EcsTechnique { id: techniques }),
            },
            user: EcsUser {
                id: cell_opt(none_if_blank(&a.actor.user.uid)),
                name: cell_opt(none_if_blank(&a.actor.user.name)),
                domain: a.actor.user.account.as_ref().map(|x| x.uid.as_str()),
            },
            source: EcsSource {
                ip: a.src_endpoint.ip.as_deref(),
                domain: a.src_endpoint.hostname.as_deref(),
                geo,
                asys: asys.map(|s| EcsAs {
                    number: s.number,
                    organization: s.name.as_deref().map(|name| EcsOrg { name }),
                }),
            },
            user_agent: ev
                .and_then(|e| none_if_blank(&e.user_agent))
                .map(|original| EcsUserAgent {
                    original: cell(original),
                }),
            cloud: EcsCloud {
                provider: &a.cloud.provider,
                account: a.cloud.account.as_ref().map(|x| EcsId { id: &x.uid }),
                region: a.cloud.region.as_deref(),
                service: none_if_blank(&a.api.service.name).map(|name| EcsName { name }),
            },
            observer: EcsObserver {
                vendor: "nhid",
                product: "nhid",
                version: &a.metadata.product.version,
            },
            nhid: NhidPart::of(a),
        }
    }
}

/// Splunk CIM (Alerts data model) document.
#[derive(Serialize)]
struct Cim<'a> {
    _time: f64,
    #[serde(rename = "type")]
    kind: &'static str,
    app: &'static str,
    vendor_product: &'static str,
    id: &'a str,
    signature: &'a str,
    signature_id: &'a str,
    description: Cow<'a, str>,
    severity: &'static str,
    severity_id: u8,
    risk_score: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mitre_technique_id: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_asn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_user_agent: Option<Cow<'a, str>>,
    nhid: NhidPart<'a>,
}

impl<'a> Cim<'a> {
    fn of(a: &'a Alert) -> Self {
        let severity = match a.severity_id {
            1 => "informational",
            2 => "low",
            3 => "medium",
            4 => "high",
            _ => "critical",
        };
        Cim {
            _time: a.time as f64 / 1000.0,
            kind: "alert",
            app: "nhid",
            vendor_product: "nhid",
            id: &a.finding_info.uid,
            signature: &a.finding_info.title,
            signature_id: &a.finding_info.analytic.uid,
            description: cell(&a.message),
            severity,
            severity_id: a.severity_id,
            risk_score: a.risk_score,
            mitre_technique_id: techniques(a),
            user: cell_opt(none_if_blank(&a.actor.user.uid)),
            user_name: cell_opt(none_if_blank(&a.actor.user.name)),
            src: a.src_endpoint.ip.as_deref(),
            src_country: a
                .src_endpoint
                .location
                .as_ref()
                .and_then(|l| l.country.as_deref()),
            src_asn: a.src_endpoint.autonomous_system.as_ref().map(|s| s.number),
            action: cell_opt(none_if_blank(&a.api.operation)),
            object: cell_opt(none_if_blank(&a.api.service.name)),
            vendor_account: a.cloud.account.as_ref().map(|x| x.uid.as_str()),
            vendor_region: a.cloud.region.as_deref(),
            http_user_agent: cell_opt(
                a.evidences
                    .first()
                    .and_then(|e| none_if_blank(&e.data.user_agent)),
            ),
            nhid: NhidPart::of(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Pipeline, ReplayConfig};
    use crate::sources::Origin;
    use std::sync::Arc;

    /// A real alert: an offensive client stopping a trail (two bundled rules fire).
    fn sample() -> Alert {
        let rules = Arc::new(crate::detect::loader::load_embedded().rules);
        let mut p = Pipeline::new(
            rules,
            crate::geo::GeoDb::bundled_test(),
            ReplayConfig::default(),
        );
        let rec = br#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/svc-deploy","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"svc-deploy"},"eventTime":"2024-03-09T10:40:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0 kali","requestParameters":{"name":"org-trail"},"responseElements":null,"eventID":"e1","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;
        let origin = Origin {
            input: "t",
            line: 1,
            index: None,
        };
        let mut out = Vec::new();
        p.process_into(
            rec,
            &origin,
            crate::parsers::Format::Auto,
            &mut out,
            &mut None,
        )
        .expect("processed");
        let a = out
            .into_iter()
            .find(|a| a.rule == "aws.cloudtrail_tampering")
            .expect("tampering alert");
        (*a.alert).clone()
    }

    fn doc(f: Format, a: &Alert) -> Value {
        serde_json::from_slice(&render(f, a).expect("rendered")).expect("json")
    }

    #[test]
    fn ecs_uses_ecs_field_names() {
        let a = sample();
        let v = doc(Format::Ecs, &a);
        assert_eq!(v["event"]["kind"], "alert");
        assert_eq!(v["event"]["id"], a.finding_info.uid.as_str());
        assert_eq!(v["rule"]["id"], "aws.cloudtrail_tampering");
        assert_eq!(v["threat"]["technique"]["id"][0], "T1562.008");
        assert_eq!(v["user"]["id"], "arn:aws:iam::111122223333:user/svc-deploy");
        assert_eq!(v["user"]["domain"], "111122223333");
        assert_eq!(v["source"]["ip"], "203.0.113.9");
        assert_eq!(v["@timestamp"], "2024-03-09T10:40:00.000Z");
        assert_eq!(v["user_agent"]["original"], "aws-cli/2.15.0 kali");
        assert_eq!(v["cloud"]["service"]["name"], "cloudtrail");
        assert_eq!(v["nhid"]["finding_uid"], a.finding_info.uid.as_str());
        assert_eq!(
            v["nhid"]["evidence"][0]["data"]["action"],
            "cloudtrail:StopLogging"
        );
    }

    #[test]
    fn attacker_text_is_one_line_and_no_formula() {
        let mut a = sample();
        a.actor.user.name = "=HYPERLINK(\"http://x\")".into();
        a.message = "new client \u{1b}[31mred\nFAKE LINE \u{202e}gnp.exe".into();
        if let Some(e) = a.evidences.first_mut() {
            e.data.user_agent = "@SUM(1+1)\r\n".into();
        }
        // The table's own fields are clean (the `nhid` part keeps the evidence as it was).
        let clean = |v: &Value| {
            let t = v.as_str().unwrap();
            assert!(
                !t.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{t:?}"
            );
        };
        let cim = doc(Format::Cim, &a);
        clean(&cim["description"]);
        clean(&cim["http_user_agent"]);
        let ecs = doc(Format::Ecs, &a);
        clean(&ecs["message"]);
        clean(&ecs["user_agent"]["original"]);
        assert_eq!(cim["user_name"], "'=HYPERLINK(\"http://x\")");
        assert!(cim["http_user_agent"]
            .as_str()
            .unwrap()
            .starts_with("'@SUM"));
        assert!(cim["description"]
            .as_str()
            .unwrap()
            .contains("\u{fffd}FAKE LINE"));
        assert_eq!(ecs["user"]["name"], "'=HYPERLINK(\"http://x\")");
        // OCSF keeps the value as it was (a JSON string is safe; the evidence is the evidence).
        let ocsf = doc(Format::Ocsf, &a);
        assert_eq!(ocsf["actor"]["user"]["name"], "=HYPERLINK(\"http://x\")");
        assert_eq!(crate::alert::one_line("plain"), "plain");
    }

    #[test]
    fn cim_uses_alerts_data_model_names() {
        let a = sample();
        let v = doc(Format::Cim, &a);
        assert_eq!(v["type"], "alert");
        assert_eq!(v["signature_id"], "aws.cloudtrail_tampering");
        assert_eq!(v["severity"], a.severity.to_lowercase());
        assert_eq!(v["src"], "203.0.113.9");
        assert_eq!(v["user"], "arn:aws:iam::111122223333:user/svc-deploy");
        assert_eq!(v["_time"], 1709980800.0);
        assert_eq!(v["id"], a.finding_info.uid.as_str());
        assert_eq!(v["nhid"]["sequence"], a.metadata.sequence);
    }

    #[test]
    fn ocsf_is_the_typed_alert_and_leaves_out_empty_values() {
        let a = sample();
        let v = doc(Format::Ocsf, &a);
        assert_eq!(v["class_uid"], 2004);
        assert_eq!(
            v["finding_info"]["analytic"]["uid"],
            "aws.cloudtrail_tampering"
        );
        // Absent optional fields are left out, not written as null.
        assert!(v["actor"].get("invoked_by").is_none());
        assert!(v["api"].get("response").is_none());
        assert_eq!(to_value(Format::Ocsf, &a).expect("value"), v);
    }
}
