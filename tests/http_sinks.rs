//! HTTP sinks against local servers that behave like the real APIs: Splunk HEC (token check,
//! 503 "server busy" then success, indexer acknowledgement, 403 bad token), Elasticsearch
//! `_bulk` (NDJSON, per-item partial failures, 409 conflicts), a SOAR webhook (HMAC signature
//! verified with an independent HMAC, idempotency key, template, 429 + Retry-After, slow
//! answers, receiver down). Every alert must be delivered at least once or dead-lettered.
//! The alerts are the real output of `nhid replay` on the bundled demo.

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use http_server::{Req, Resp, TestServer};
use nhid::config::SinkConfig;
use nhid::sinks::{AlertOut, Routed};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The demo's alerts, as the daemon hands them to sinks.
fn alerts() -> Vec<AlertOut> {
    common::replay_args(&[
        "--inventory",
        "examples/inventory.csv",
        "examples/demo.jsonl",
    ])
    .lines()
    .map(|l| AlertOut::from_json(l.as_bytes()).unwrap())
    .collect()
}

/// Builds one sink. The test servers listen on `http://127.0.0.1`: sinks with credentials
/// there need `allow_insecure_http` (refused without it: `credentials_over_http_are_refused`).
fn sink(toml_text: &str, dead: &Path) -> Routed {
    let text = if toml_text.contains("http://") {
        format!("{toml_text}allow_insecure_http = true\n")
    } else {
        toml_text.to_string()
    };
    let cfg: SinkConfig = toml::from_str(&text).unwrap();
    nhid::sinks::build(&[cfg], Some(dead))
        .unwrap()
        .pop()
        .unwrap()
}

fn send(s: &mut Routed, alerts: &[AlertOut]) {
    let batch: Vec<&AlertOut> = alerts.iter().collect();
    s.sink.send(&batch).unwrap();
}

/// uids in the dead-letter file.
fn dead_uids(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
            assert_eq!(v["alert"]["finding_info"]["uid"], v["finding_uid"]);
            v["finding_uid"].as_str().unwrap().to_string()
        })
        .collect()
}

fn all_uids(a: &[AlertOut]) -> BTreeSet<String> {
    a.iter().map(|a| a.uid.clone()).collect()
}

fn hec_events(r: &Req) -> Vec<Value> {
    // HEC takes concatenated JSON objects; nhid writes one per line.
    String::from_utf8_lossy(&r.body)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn splunk_hec_retries_server_busy_checks_the_token_and_sends_cim_events() {
    let a = alerts();
    assert!(a.len() > 10);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("hec-token");
    std::fs::write(&token_file, "0000-secret-token\n").unwrap();
    let server = TestServer::start(|r, i| {
        if r.header("authorization") != Some("Splunk 0000-secret-token") {
            return Resp::json(403, r#"{"text":"Invalid token","code":4}"#);
        }
        if i == 0 {
            Resp::json(503, r#"{"text":"Server is busy","code":9}"#)
        } else {
            Resp::json(200, r#"{"text":"Success","code":0}"#)
        }
    });
    let dead = dir.path().join("dead.jsonl");
    let mut s = sink(
        &format!(
            "type = \"splunk_hec\"\nurl = \"{}\"\ntoken_file = \"{}\"\nindex = \"security\"\nretry_backoff = \"10ms\"\nbatch_max = 1000\n",
            server.url(),
            token_file.display()
        ),
        &dead,
    );
    send(&mut s, &a);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "one 503, then accepted");
    assert_eq!(reqs[1].path, "/services/collector/event");
    assert!(reqs.iter().all(|r| r.method == "POST"));
    let events = hec_events(&reqs[1]);
    assert_eq!(events.len(), a.len());
    let got: BTreeSet<String> = events
        .iter()
        .map(|e| {
            assert_eq!(e["sourcetype"], "nhid:alert");
            assert_eq!(e["index"], "security");
            assert!(e["time"].as_f64().unwrap() > 1.7e9);
            // CIM by default for Splunk.
            assert_eq!(e["event"]["type"], "alert");
            assert!(e["event"]["signature_id"].is_string());
            e["event"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(got, all_uids(&a));
    assert!(dead_uids(&dead).is_empty());

    // A wrong token is refused for good: no retry, every alert dead-lettered, token not logged.
    std::fs::write(&token_file, "wrong").unwrap();
    let server2 = TestServer::start(|_, _| Resp::json(403, r#"{"text":"Invalid token","code":4}"#));
    let dead2 = dir.path().join("dead2.jsonl");
    let mut s = sink(
        &format!(
            "type = \"splunk_hec\"\nurl = \"{}\"\ntoken_file = \"{}\"\nretry_backoff = \"10ms\"\n",
            server2.url(),
            token_file.display()
        ),
        &dead2,
    );
    send(&mut s, &a);
    // batch_max 100 (default): one request per chunk, none retried.
    assert_eq!(server2.requests().len(), a.len().div_ceil(100));
    let d: BTreeSet<String> = dead_uids(&dead2).into_iter().collect();
    assert_eq!(d, all_uids(&a));
    let text = std::fs::read_to_string(&dead2).unwrap();
    assert!(text.contains("403"), "{text}");
    assert!(
        !text.contains("wrong"),
        "the token must not reach the dead-letter file"
    );
}

#[test]
fn splunk_hec_indexer_acknowledgement_is_awaited() {
    let a = alerts();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|r, _| {
        if r.path.starts_with("/services/collector/ack") {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["acks"][0], 7);
            // Not yet indexed the first time it is asked.
            static ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = ASKED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Resp::json(200, &format!(r#"{{"acks":{{"7":{}}}}}"#, n > 0))
        } else {
            assert!(r.header("x-splunk-request-channel").is_some());
            Resp::json(200, r#"{"text":"Success","code":0,"ackId":7}"#)
        }
    });
    let dead = dir.path().join("dead.jsonl");
    let mut s = sink(
        &format!(
            "type = \"splunk_hec\"\nurl = \"{}\"\ntoken = \"t\"\nack = true\nbatch_max = 1000\nformat = \"ocsf\"\n",
            server.url()
        ),
        &dead,
    );
    send(&mut s, &a);
    let reqs = server.requests();
    let acks: Vec<&Req> = reqs.iter().filter(|r| r.path.contains("/ack")).collect();
    assert_eq!(acks.len(), 2, "polled until acknowledged");
    let ch = reqs[0].header("x-splunk-request-channel").unwrap();
    assert!(acks
        .iter()
        .all(|r| r.path.contains(&format!("channel={ch}"))));
    // format = "ocsf" overrides the CIM default.
    assert_eq!(hec_events(&reqs[0])[0]["event"]["class_uid"], 2004);
    assert!(dead_uids(&dead).is_empty());
}

#[test]
fn elastic_bulk_partial_failures_retry_only_the_failed_items() {
    let a = alerts();
    let dir = tempfile::tempdir().unwrap();
    // First answer: item 1 is rejected for load (429), item 2 for a mapping error (400), item 3
    // already exists (409); everything else created. Then the retry of item 1 is created.
    let server = TestServer::start(|r, i| {
        assert_eq!(r.header("authorization"), Some("ApiKey a2V5OnNlY3JldA=="));
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        let lines: Vec<Value> = String::from_utf8_lossy(&r.body)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let items: Vec<String> = lines
            .chunks(2)
            .enumerate()
            .map(|(k, pair)| {
                // An index: the `index` op, external versioning by the alert's sequence.
                assert_eq!(pair[0]["index"]["_index"], "nhid-alerts");
                assert_eq!(pair[0]["index"]["_id"], pair[1]["event"]["id"]);
                assert_eq!(pair[0]["index"]["version"], pair[1]["event"]["sequence"]);
                assert_eq!(pair[0]["index"]["version_type"], "external_gte");
                assert_eq!(pair[1]["event"]["kind"], "alert");
                let status = match (i, k) {
                    (0, 1) => 429,
                    (0, 2) => 400,
                    (0, 3) => 409,
                    _ => 201,
                };
                let err = if status >= 400 {
                    r#","error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}"#
                } else {
                    ""
                };
                format!(r#"{{"index":{{"_index":"nhid-alerts","status":{status}{err}}}}}"#)
            })
            .collect();
        let errors = items.iter().any(|s| !s.contains("\"status\":201"));
        Resp::json(
            200,
            &format!(
                r#"{{"took":3,"errors":{errors},"items":[{}]}}"#,
                items.join(",")
            ),
        )
    });
    let dead = dir.path().join("dead.jsonl");
    std::env::set_var("NHID_TEST_ES_KEY", "a2V5OnNlY3JldA==");
    let mut s = sink(
        &format!(
            "type = \"elastic\"\nurl = \"{}\"\napi_key = \"env:NHID_TEST_ES_KEY\"\nretry_backoff = \"10ms\"\nbatch_max = 1000\n",
            server.url()
        ),
        &dead,
    );
    send(&mut s, &a);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    // The retry carries only the 429 item.
    let second: Vec<Value> = String::from_utf8_lossy(&reqs[1].body)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0]["index"]["_id"], a[1].uid.as_str());
    // The 400 item is dead-lettered with the item's error; nothing else is.
    let d = dead_uids(&dead);
    assert_eq!(d, vec![a[2].uid.clone()]);
    assert!(std::fs::read_to_string(&dead)
        .unwrap()
        .contains("mapper_parsing_exception"));
}

/// Version 2 of an alert, as the engine sends an update: same uid, next sequence, higher count
/// and severity.
fn updated(a: &AlertOut) -> AlertOut {
    let mut v: Value = serde_json::from_slice(&a.json).unwrap();
    v["metadata"]["sequence"] = 2.into();
    v["activity_id"] = 2.into();
    v["activity_name"] = "Update".into();
    v["type_uid"] = 200402.into();
    v["count"] = 2.into();
    v["severity_id"] = 5.into();
    v["severity"] = "Critical".into();
    AlertOut::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
}

/// An Elasticsearch `_bulk` endpoint that keeps documents as Elasticsearch does: `index` with
/// `version_type=external_gte` replaces a document when the version is at least the stored
/// one and answers 409 `version_conflict_engine_exception` otherwise; `create` answers 409
/// when the `_id` exists. Returns the server and its store (`_id` -> (version, document)).
/// Documents by `_id`: (version, document).
type EsStore = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, (u64, Value)>>>;

fn elastic_store() -> (TestServer, EsStore) {
    let store = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let st = store.clone();
    let server = TestServer::start(move |r, _| {
        let lines: Vec<Value> = String::from_utf8_lossy(&r.body)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut docs = st.lock().unwrap();
        let items: Vec<String> = lines
            .chunks(2)
            .map(|pair| {
                let (op, meta) = pair[0].as_object().unwrap().iter().next().unwrap();
                let id = meta["_id"].as_str().unwrap().to_string();
                let status = match op.as_str() {
                    "index" => {
                        assert_eq!(meta["version_type"], "external_gte");
                        let v = meta["version"].as_u64().unwrap();
                        match docs.get(&id) {
                            Some((old, _)) if *old > v => 409,
                            Some(_) => {
                                docs.insert(id, (v, pair[1].clone()));
                                200
                            }
                            None => {
                                docs.insert(id, (v, pair[1].clone()));
                                201
                            }
                        }
                    }
                    "create" => match docs.entry(id) {
                        std::collections::btree_map::Entry::Occupied(_) => 409,
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert((1, pair[1].clone()));
                            201
                        }
                    },
                    other => panic!("unexpected bulk op {other}"),
                };
                let err = if status == 409 {
                    r#","error":{"type":"version_conflict_engine_exception","reason":"version conflict"}"#
                } else {
                    ""
                };
                format!(r#"{{"{op}":{{"_id":"{}","status":{status}{err}}}}}"#, meta["_id"].as_str().unwrap())
            })
            .collect();
        let errors = items.iter().any(|s| s.contains("\"status\":409"));
        Resp::json(
            200,
            &format!(
                r#"{{"took":1,"errors":{errors},"items":[{}]}}"#,
                items.join(",")
            ),
        )
    });
    (server, store)
}

#[test]
fn elastic_updates_replace_the_document_of_an_index_and_redelivery_is_a_no_op() {
    let a = alerts();
    let v2: Vec<AlertOut> = a.iter().take(3).map(updated).collect();
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let (server, store) = elastic_store();
    let toml = format!(
        "type = \"elastic\"\nurl = \"{}\"\nformat = \"ocsf\"\n",
        server.url()
    );
    let mut s = sink(&toml, &dead);
    send(&mut s, &a);
    send(&mut s, &v2);
    // Re-delivery after a restart: version 1 of everything again, and version 2 again.
    send(&mut s, &a);
    send(&mut s, &v2);
    let docs = store.lock().unwrap();
    assert_eq!(docs.len(), all_uids(&a).len(), "one document per alert");
    for u in &v2 {
        let (version, doc) = &docs[&u.uid];
        assert_eq!(*version, 2, "the update replaced the document");
        assert_eq!(doc["severity_id"], 5);
        assert_eq!(doc["metadata"]["sequence"], 2);
    }
    for x in a.iter().skip(3) {
        assert_eq!(docs[&x.uid].0, 1);
    }
    assert!(
        dead_uids(&dead).is_empty(),
        "conflicts are delivered, not dead"
    );
}

#[test]
fn elastic_data_stream_gets_one_document_per_version_and_redelivery_is_a_no_op() {
    let a = alerts();
    let v2: Vec<AlertOut> = a.iter().take(3).map(updated).collect();
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let (server, store) = elastic_store();
    let toml = format!(
        "type = \"elastic\"\nurl = \"{}\"\nindex = \"logs-nhid-default\"\ndata_stream = true\n",
        server.url()
    );
    let mut s = sink(&toml, &dead);
    for _ in 0..2 {
        send(&mut s, &a);
        send(&mut s, &v2);
    }
    let docs = store.lock().unwrap();
    assert_eq!(docs.len(), a.len() + v2.len());
    for u in &v2 {
        assert_eq!(docs[&format!("{}:1", u.uid)].1["event"]["sequence"], 1);
        assert_eq!(docs[&format!("{}:2", u.uid)].1["event"]["sequence"], 2);
    }
    assert!(dead_uids(&dead).is_empty());
}

/// HMAC-SHA256 written from RFC 2104 on top of SHA-256: independent of the sink's code.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), msg].concat());
    Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn webhook_signs_each_alert_sends_an_idempotency_key_and_honours_retry_after() {
    let mut a: Vec<AlertOut> = alerts().into_iter().take(3).collect();
    // An update of the first: a receiver that drops repeated keys must still take it.
    a.push(updated(&a[0]));
    let dir = tempfile::tempdir().unwrap();
    let key = "whsec-0123456789";
    let server = TestServer::start(|_, i| {
        if i == 0 {
            Resp::json(429, r#"{"error":"slow down"}"#).with_header("Retry-After", "1")
        } else {
            Resp::json(200, r#"{"ok":true}"#)
        }
    });
    let dead = dir.path().join("dead.jsonl");
    let mut s = sink(
        &format!(
            r#"type = "webhook"
url = "{}/hooks/nhid"
hmac_key = "{key}"
headers = {{ "X-Tenant" = "acme" }}
template = '{{"uid": {{{{finding_info.uid}}}}, "rule": {{{{finding_info.analytic.uid}}}}, "owner": {{{{enrichments.0.value}}}}, "alert": {{{{alert}}}}}}'
retry_backoff = "10ms"
"#,
            server.url()
        ),
        &dead,
    );
    let t = Instant::now();
    send(&mut s, &a);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), a.len() + 1);
    let mut seen = BTreeSet::new();
    for r in &reqs {
        assert_eq!(r.path, "/hooks/nhid");
        assert_eq!(r.header("x-tenant"), Some("acme"));
        let ts = r.header("x-nhid-timestamp").unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(ts.parse::<u64>().unwrap()) < 60);
        let expected = format!(
            "v1={}",
            hex(&hmac_sha256(
                key.as_bytes(),
                &[ts.as_bytes(), b".", &r.body].concat()
            ))
        );
        assert_eq!(r.header("x-nhid-signature"), Some(expected.as_str()));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let seq = body["alert"]["metadata"]["sequence"].as_u64().unwrap();
        let uid = body["uid"].as_str().unwrap();
        assert_eq!(
            r.header("idempotency-key"),
            Some(format!("{uid}:{seq}").as_str())
        );
        assert_eq!(r.header("x-nhid-finding-uid"), Some(uid));
        assert_eq!(r.header("x-nhid-sequence"), Some(seq.to_string().as_str()));
        assert_eq!(body["alert"]["finding_info"]["uid"], body["uid"]);
        assert!(body["rule"].is_string());
        seen.insert(r.header("idempotency-key").unwrap().to_string());
    }
    // Every version was delivered under its own key (the 429 was retried).
    let keys: BTreeSet<String> = a
        .iter()
        .map(|x| format!("{}:{}", x.uid, x.alert.metadata.sequence))
        .collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(seen, keys);
    assert!(dead_uids(&dead).is_empty());
    // The key never appears in what was sent.
    assert!(reqs
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains(key)));
}

#[test]
fn webhook_times_out_on_a_slow_receiver_retries_and_dead_letters_when_it_stays_down() {
    let a: Vec<AlertOut> = alerts().into_iter().take(2).collect();
    let dir = tempfile::tempdir().unwrap();
    // Slow first answer (beyond the timeout), then fine.
    let server = TestServer::start(|_, i| {
        let r = Resp::json(200, "{}");
        if i == 0 {
            r.delayed(Duration::from_secs(3))
        } else {
            r
        }
    });
    let dead = dir.path().join("dead.jsonl");
    let mut s = sink(
        &format!(
            "type = \"webhook\"\nurl = \"{}\"\ntimeout = \"500ms\"\nretry_backoff = \"10ms\"\n",
            server.url()
        ),
        &dead,
    );
    send(&mut s, &a);
    assert!(
        server.requests().len() > a.len(),
        "the slow answer was retried"
    );
    assert!(dead_uids(&dead).is_empty());

    // Receiver down: bounded retries, then every alert is in the dead-letter file.
    let down = common::free_port();
    let dead2 = dir.path().join("dead2.jsonl");
    let mut s = sink(
        &format!(
            "type = \"webhook\"\nurl = \"http://127.0.0.1:{down}/x\"\nmax_retries = 2\nretry_backoff = \"10ms\"\n"
        ),
        &dead2,
    );
    send(&mut s, &a);
    let d: BTreeSet<String> = dead_uids(&dead2).into_iter().collect();
    assert_eq!(d, all_uids(&a));
    let text = std::fs::read_to_string(&dead2).unwrap();
    assert!(text.contains("gave up after 3 attempt(s)"), "{text}");
    // Once one alert spent its retries, the rest of the batch is dead-lettered at once.
    assert!(text.contains("receiver unavailable"), "{text}");
    assert!(
        !text.contains(&format!("127.0.0.1:{down}")),
        "no URL (it may carry credentials) in reasons"
    );

    // Redirects are not followed (a POST would become a body-less GET): refused, dead-lettered.
    let server =
        TestServer::start(|_, _| Resp::json(302, "").with_header("Location", "/somewhere-else"));
    let dead4 = dir.path().join("dead4.jsonl");
    let mut s = sink(
        &format!("type = \"webhook\"\nurl = \"{}/hook\"\n", server.url()),
        &dead4,
    );
    send(&mut s, &a);
    assert_eq!(server.requests().len(), a.len(), "no redirect followed");
    assert_eq!(dead_uids(&dead4).len(), a.len());

    // A template whose placeholder sits inside a JSON string is refused up front.
    let cfg: SinkConfig = toml::from_str(
        "type = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\ntemplate = '{\"t\": \"{{finding_info.title}}\"}'\n",
    )
    .unwrap();
    let err = nhid::sinks::build(&[cfg], Some(&dead4)).err().unwrap();
    assert!(err.contains("template"), "{err}");

    // A 4xx other than 408/429 is not retried.
    let server = TestServer::start(|_, _| Resp::json(422, r#"{"error":"bad payload"}"#));
    let dead3 = dir.path().join("dead3.jsonl");
    let mut s = sink(
        &format!(
            "type = \"webhook\"\nurl = \"{}\"\nretry_backoff = \"10ms\"\n",
            server.url()
        ),
        &dead3,
    );
    send(&mut s, &a);
    assert_eq!(server.requests().len(), a.len());
    assert_eq!(dead_uids(&dead3).len(), a.len());
}

/// A test CA and a certificate for 127.0.0.1 signed by it: (CA PEM, server config).
fn tls_pki() -> (String, std::sync::Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "nhid test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), std::sync::Arc::new(cfg))
}

#[test]
fn https_receivers_are_reached_over_tls_and_an_untrusted_certificate_is_refused() {
    let a: Vec<AlertOut> = alerts().into_iter().take(2).collect();
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, tls) = tls_pki();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let server = TestServer::start_tls(tls, |_, _| Resp::json(200, "{}"));
    let url = format!("https://127.0.0.1:{}/hook", server.port);

    // Trusted through ca_file: delivered over TLS.
    let dead = dir.path().join("dead.jsonl");
    let mut s = sink(
        &format!(
            "type = \"webhook\"\nurl = \"{url}\"\nca_file = \"{}\"\n",
            ca_file.display()
        ),
        &dead,
    );
    send(&mut s, &a);
    assert_eq!(server.requests().len(), a.len());
    assert!(dead_uids(&dead).is_empty());

    // Not trusted (public roots only): the handshake fails, nothing is sent in clear, the
    // alerts are dead-lettered after the retries.
    let dead2 = dir.path().join("dead2.jsonl");
    let mut s = sink(
        &format!(
            "type = \"webhook\"\nurl = \"{url}\"\nmax_retries = 1\nretry_backoff = \"10ms\"\n"
        ),
        &dead2,
    );
    send(&mut s, &a);
    assert_eq!(server.requests().len(), a.len(), "no request got through");
    assert_eq!(dead_uids(&dead2).len(), a.len());
}

/// A sink that sends credentials refuses `http://` unless `allow_insecure_http` says so; one
/// without credentials (a webhook signed by HMAC only) may use it.
#[test]
fn credentials_over_http_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    for text in [
        "type = \"splunk_hec\"\nurl = \"http://127.0.0.1:9/services/collector\"\ntoken = \"t\"\n",
        "type = \"elastic\"\nurl = \"http://127.0.0.1:9\"\napi_key = \"k\"\n",
        "type = \"webhook\"\nurl = \"HTTP://127.0.0.1:9/x\"\nheaders = { Authorization = \"Bearer x\" }\n",
        // What the client parses as http:// too, and a password in the URL itself.
        "type = \"elastic\"\nurl = \"http:127.0.0.1:9\"\napi_key = \"k\"\n",
        "type = \"webhook\"\nurl = \"http://user:pw@127.0.0.1:9/x\"\n",
    ] {
        let cfg: SinkConfig = toml::from_str(text).unwrap();
        let err = nhid::sinks::build(&[cfg], Some(&dead)).err().expect(text);
        assert!(err.to_string().contains("clear text"), "{err}");
        let allowed: SinkConfig =
            toml::from_str(&format!("{text}allow_insecure_http = true\n")).unwrap();
        assert!(nhid::sinks::build(&[allowed], Some(&dead)).is_ok(), "{text}");
    }
    let signed: SinkConfig =
        toml::from_str("type = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\nhmac_key = \"k\"\n")
            .unwrap();
    assert!(nhid::sinks::build(&[signed], Some(&dead)).is_ok());
}
