//! Output formats selectable per sink: `ocsf` (the alert as rendered: an OCSF 1.5 Detection
//! Finding), `ecs` (Elastic Common Schema field names) and `cim` (Splunk CIM, Alerts data
//! model). ECS and CIM documents are derived from the OCSF one and keep nhid's explanation
//! (observed vs baseline, owner, remediation) under `nhid.*`.

use serde_json::{json, Map, Value};

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

/// The value at a dotted path (`a.b.0.c`; numbers index arrays), `null` when absent.
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

/// Drops nulls and empty objects/arrays (as the OCSF renderer does).
fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => {
            m.retain(|_, x| !prune(x));
            m.is_empty()
        }
        Value::Array(a) => {
            a.retain_mut(|x| !prune(x));
            a.is_empty()
        }
        _ => false,
    }
}

/// The document for `format` from an OCSF alert. `Ocsf` returns it unchanged.
pub fn convert(format: Format, ocsf: &Value) -> Value {
    match format {
        Format::Ocsf => ocsf.clone(),
        Format::Ecs => ecs(ocsf),
        Format::Cim => cim(ocsf),
    }
}

fn iso_time(ms: &Value) -> Value {
    ms.as_i64()
        .map(|t| Value::String(crate::time::format_rfc3339_ms(t)))
        .unwrap_or(Value::Null)
}

fn techniques(o: &Value) -> Vec<Value> {
    get(o, "finding_info.attacks")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["technique"]["uid"].as_str())
                .map(|t| Value::String(t.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// nhid's own explanation, kept verbatim in both derived formats.
fn nhid_part(o: &Value) -> Value {
    let mut m = Map::new();
    for (k, path) in [
        ("finding_uid", "finding_info.uid"),
        ("activity", "activity_name"),
        ("count", "count"),
        ("risk_score", "risk_score"),
        ("identity_type", "actor.user.type"),
        ("credential", "actor.user.credential_uid"),
        ("session", "actor.session.uid"),
        ("anomaly_analyses", "anomaly_analyses"),
        ("evidence", "evidences"),
        ("owner", "enrichments"),
        ("remediation", "remediation"),
        ("details", "unmapped.nhid"),
    ] {
        m.insert(k.into(), get(o, path).clone());
    }
    Value::Object(m)
}

fn ecs(o: &Value) -> Value {
    let sev = o["severity_id"].as_u64().unwrap_or(1);
    let mut v = json!({
        "@timestamp": iso_time(&o["time"]),
        "message": o["message"],
        "event": {
            "kind": "alert",
            "category": ["iam"],
            "type": ["info"],
            "id": get(o, "finding_info.uid"),
            "severity": sev,
            "risk_score": o["risk_score"],
            "action": get(o, "api.operation"),
            "provider": get(o, "metadata.log_name"),
            "dataset": "nhid.alert",
            "module": "nhid",
            "start": iso_time(get(o, "finding_info.first_seen_time")),
            "end": iso_time(get(o, "finding_info.last_seen_time")),
            "outcome": match get(o, "api.response.error") { Value::Null => "success", _ => "failure" },
        },
        "rule": {
            "id": get(o, "finding_info.analytic.uid"),
            "name": get(o, "finding_info.title"),
            "description": get(o, "finding_info.desc"),
            "ruleset": "nhid",
        },
        "threat": {
            "framework": "MITRE ATT&CK",
            "technique": {"id": techniques(o)},
        },
        "user": {
            "id": get(o, "actor.user.uid"),
            "name": get(o, "actor.user.name"),
            "domain": get(o, "actor.user.account.uid"),
        },
        "source": {
            "ip": get(o, "src_endpoint.ip"),
            "domain": get(o, "src_endpoint.hostname"),
            "geo": {
                "country_iso_code": get(o, "src_endpoint.location.country"),
                "city_name": get(o, "src_endpoint.location.city"),
            },
            "as": {
                "number": get(o, "src_endpoint.autonomous_system.number"),
                "organization": {"name": get(o, "src_endpoint.autonomous_system.name")},
            },
        },
        "user_agent": {"original": get(o, "evidences.0.data.user_agent")},
        "cloud": {
            "provider": get(o, "cloud.provider"),
            "account": {"id": get(o, "cloud.account.uid")},
            "region": get(o, "cloud.region"),
            "service": {"name": get(o, "api.service.name")},
        },
        "observer": {"vendor": "nhid", "product": "nhid", "version": get(o, "metadata.product.version")},
        "nhid": nhid_part(o),
    });
    prune(&mut v);
    v
}

fn cim(o: &Value) -> Value {
    let severity = match o["severity_id"].as_u64().unwrap_or(1) {
        1 => "informational",
        2 => "low",
        3 => "medium",
        4 => "high",
        _ => "critical",
    };
    let mut v = json!({
        "_time": o["time"].as_i64().map(|t| t as f64 / 1000.0),
        "type": "alert",
        "app": "nhid",
        "vendor_product": "nhid",
        "id": get(o, "finding_info.uid"),
        "signature": get(o, "finding_info.title"),
        "signature_id": get(o, "finding_info.analytic.uid"),
        "description": o["message"],
        "severity": severity,
        "severity_id": o["severity_id"],
        "risk_score": o["risk_score"],
        "mitre_technique_id": techniques(o),
        "user": get(o, "actor.user.uid"),
        "user_name": get(o, "actor.user.name"),
        "src": get(o, "src_endpoint.ip"),
        "src_country": get(o, "src_endpoint.location.country"),
        "src_asn": get(o, "src_endpoint.autonomous_system.number"),
        "action": get(o, "api.operation"),
        "object": get(o, "api.service.name"),
        "vendor_account": get(o, "cloud.account.uid"),
        "vendor_region": get(o, "cloud.region"),
        "http_user_agent": get(o, "evidences.0.data.user_agent"),
        "nhid": nhid_part(o),
    });
    prune(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "time": 1709980800000i64, "severity_id": 4, "severity": "High", "message": "m",
            "risk_score": 70,
            "finding_info": {"uid": "u1", "title": "T", "desc": "D",
                "analytic": {"uid": "standard.new_country"},
                "attacks": [{"technique": {"uid": "T1078.004"}}],
                "first_seen_time": 1709980800000i64, "last_seen_time": 1709980800000i64},
            "actor": {"user": {"uid": "arn:aws:iam::1:role/r", "name": "r", "account": {"uid": "1"}}},
            "src_endpoint": {"ip": "203.0.113.9", "location": {"country": "RO"},
                "autonomous_system": {"number": 64500, "name": "Example AS"}},
            "api": {"operation": "GetObject", "service": {"name": "s3.amazonaws.com"}},
            "cloud": {"provider": "AWS", "account": {"uid": "1"}, "region": "us-east-1"},
            "enrichments": [{"name": "nhi_inventory", "value": "alice"}],
            "evidences": [{"data": {"user_agent": "aws-cli/2.15.0"}}],
            "metadata": {"log_name": "cloudtrail", "product": {"version": "0.1.0"}}
        })
    }

    #[test]
    fn ecs_uses_ecs_field_names() {
        let v = convert(Format::Ecs, &sample());
        assert_eq!(v["event"]["kind"], "alert");
        assert_eq!(v["event"]["id"], "u1");
        assert_eq!(v["rule"]["id"], "standard.new_country");
        assert_eq!(v["threat"]["technique"]["id"][0], "T1078.004");
        assert_eq!(v["user"]["id"], "arn:aws:iam::1:role/r");
        assert_eq!(v["source"]["geo"]["country_iso_code"], "RO");
        assert_eq!(v["source"]["as"]["number"], 64500);
        assert_eq!(v["@timestamp"], "2024-03-09T10:40:00.000Z");
        assert_eq!(v["nhid"]["owner"][0]["value"], "alice");
        assert_eq!(v["user_agent"]["original"], "aws-cli/2.15.0");
    }

    #[test]
    fn cim_uses_alerts_data_model_names() {
        let v = convert(Format::Cim, &sample());
        assert_eq!(v["type"], "alert");
        assert_eq!(v["signature_id"], "standard.new_country");
        assert_eq!(v["severity"], "high");
        assert_eq!(v["src"], "203.0.113.9");
        assert_eq!(v["user"], "arn:aws:iam::1:role/r");
        assert_eq!(v["_time"], 1709980800.0);
    }
}
