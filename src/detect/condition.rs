//! Conditions on event fields (`match:` in a rule): equality, lists, prefixes, suffixes,
//! substrings, regular expressions, CIDR ranges and presence, each optionally negated and
//! case-insensitive.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use crate::event::AuditEvent;

/// An event field a rule may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `source`: cloudtrail, azure_activity, okta, github_audit.
    Source,
    /// `action`: `service:Operation`.
    Action,
    /// `service`.
    Service,
    /// `operation`.
    Operation,
    /// `identity.key`.
    IdentityKey,
    /// `identity.kind`.
    IdentityKind,
    /// `identity.class` (this event's evidence).
    IdentityClass,
    /// `identity.name`.
    IdentityName,
    /// `identity.credential`.
    Credential,
    /// `identity.account`.
    Account,
    /// `session.name`.
    SessionName,
    /// `session.instance`: `true` when the session is an EC2 instance profile's.
    SessionInstance,
    /// `user_agent` (raw).
    UserAgent,
    /// `client`: the user-agent family.
    Client,
    /// `src.ip`.
    SrcIp,
    /// `src.host`: a non-IP caller such as `kms.amazonaws.com`.
    SrcHost,
    /// `src.country`.
    SrcCountry,
    /// `src.asn`.
    SrcAsn,
    /// `src.as_org`.
    SrcAsOrg,
    /// `outcome`: success, failure, unknown.
    Outcome,
    /// `error_code`.
    ErrorCode,
    /// `region`.
    Region,
    /// `invoked_by`: the AWS service that called on the identity's behalf.
    InvokedBy,
    /// `read_only`: `true` / `false`.
    ReadOnly,
    /// `resource`: any of the resources.
    Resource,
    /// `target`: the resource a sensitive call names (secret, parameter, user, role).
    Target,
    /// `class`: the event's action classes (secret_read, enumeration, iam_write, denied,
    /// repo_download, token_grant).
    Class,
    /// `federation`: issuer and subject of a federated role assumption.
    Federation,
    /// `src.net_class`: cloud, hosting or anonymizer.
    SrcNetClass,
    /// `inventory.status`: `owned` or `unowned` (absent when no inventory is loaded).
    InventoryStatus,
    /// `inventory.owner`, `inventory.team`, `inventory.criticality`, `inventory.environment`,
    /// `inventory.tag`: from the identity's inventory entry.
    InventoryOwner,
    /// `inventory.team`.
    InventoryTeam,
    /// `inventory.criticality`.
    InventoryCriticality,
    /// `inventory.environment`.
    InventoryEnvironment,
    /// `inventory.tag`: any of the entry's tags.
    InventoryTag,
    /// `inventory.country_expected`: `true` / `false` when the entry declares
    /// `expected_countries` and the caller's country is known.
    InventoryCountryExpected,
    /// `inventory.region_expected`: `true` / `false` when the entry declares
    /// `expected_regions` and the event has a region.
    InventoryRegionExpected,
    /// `policy.grant`: what an IAM policy write grants (`admin`, `service_wildcard`, `limited`,
    /// `deny_only`), decoded from the request ([`crate::event::policy`]); absent for other calls.
    PolicyGrant,
    /// `policy.trust`: who a trust policy written by the call lets assume the role
    /// (`any_principal`, `external_account`, `internal`); absent for other calls.
    PolicyTrust,
    /// `logging.change`: what a change to audit logging does (`stopped`, `reduced`, `kept`),
    /// decoded from the request ([`crate::event::logging`]); absent for other calls.
    LoggingChange,
    /// `request.<path>`: a request parameter (dotted path into the raw request JSON; list
    /// elements are each tested). Read only when the rule's other conditions have matched.
    Request,
}

/// Field names accepted in rules, with their fields.
pub const FIELDS: &[(&str, Field)] = &[
    ("source", Field::Source),
    ("action", Field::Action),
    ("service", Field::Service),
    ("operation", Field::Operation),
    ("identity.key", Field::IdentityKey),
    ("identity.kind", Field::IdentityKind),
    ("identity.class", Field::IdentityClass),
    ("identity.name", Field::IdentityName),
    ("identity.credential", Field::Credential),
    ("identity.account", Field::Account),
    ("session.name", Field::SessionName),
    ("session.instance", Field::SessionInstance),
    ("user_agent", Field::UserAgent),
    ("client", Field::Client),
    ("src.ip", Field::SrcIp),
    ("src.host", Field::SrcHost),
    ("src.country", Field::SrcCountry),
    ("src.asn", Field::SrcAsn),
    ("src.as_org", Field::SrcAsOrg),
    ("outcome", Field::Outcome),
    ("error_code", Field::ErrorCode),
    ("region", Field::Region),
    ("invoked_by", Field::InvokedBy),
    ("read_only", Field::ReadOnly),
    ("resource", Field::Resource),
    ("target", Field::Target),
    ("class", Field::Class),
    ("federation", Field::Federation),
    ("src.net_class", Field::SrcNetClass),
    ("inventory.status", Field::InventoryStatus),
    ("inventory.owner", Field::InventoryOwner),
    ("inventory.team", Field::InventoryTeam),
    ("inventory.criticality", Field::InventoryCriticality),
    ("inventory.environment", Field::InventoryEnvironment),
    ("inventory.tag", Field::InventoryTag),
    (
        "inventory.country_expected",
        Field::InventoryCountryExpected,
    ),
    ("inventory.region_expected", Field::InventoryRegionExpected),
    ("policy.grant", Field::PolicyGrant),
    ("policy.trust", Field::PolicyTrust),
    ("logging.change", Field::LoggingChange),
];

impl Field {
    /// Fields that read the raw request: tested after every other condition of a rule.
    pub fn reads_request(self) -> bool {
        matches!(
            self,
            Field::Request | Field::PolicyGrant | Field::PolicyTrust | Field::LoggingChange
        )
    }

    /// Looks a field name up.
    pub fn from_name(s: &str) -> Option<Field> {
        if s.starts_with("request.") && s.len() > 8 {
            return Some(Field::Request);
        }
        FIELDS.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    /// Calls `f` with each string value of the field; stops early when `f` returns true.
    /// Returns whether any call returned true.
    pub fn any_str(self, ev: &AuditEvent<'_>, mut f: impl FnMut(&str) -> bool) -> bool {
        let mut buf = [0u8; 10];
        let one = |s: Option<&str>, f: &mut dyn FnMut(&str) -> bool| s.is_some_and(f);
        match self {
            Field::Source => f(ev.source.as_str()),
            Field::Action => {
                // Allocation-free `service:operation` for short actions.
                let need = ev.service.len() + 1 + ev.operation.len();
                if need <= 256 {
                    let mut b = [0u8; 256];
                    b[..ev.service.len()].copy_from_slice(ev.service.as_bytes());
                    b[ev.service.len()] = b':';
                    b[ev.service.len() + 1..need].copy_from_slice(ev.operation.as_bytes());
                    match std::str::from_utf8(&b[..need]) {
                        Ok(s) => f(s),
                        Err(_) => false,
                    }
                } else {
                    f(&ev.action())
                }
            }
            Field::Service => f(&ev.service),
            Field::Operation => f(&ev.operation),
            Field::IdentityKey => f(&ev.identity.key),
            Field::IdentityKind => f(ev.identity.kind.as_str()),
            Field::IdentityClass => f(ev.identity.class().as_str()),
            Field::IdentityName => f(&ev.identity.name),
            Field::Credential => one(ev.identity.credential.as_deref(), &mut f),
            Field::Account => one(ev.identity.account.as_deref(), &mut f),
            Field::SessionName => one(ev.identity.session.as_deref(), &mut f),
            Field::SessionInstance => f(if ev.identity.is_instance_session() {
                "true"
            } else {
                "false"
            }),
            Field::UserAgent => f(&ev.user_agent),
            Field::Client => f(ev.client()),
            Field::SrcIp => match ev.src_ip {
                Some(ip) => f(&ip.to_string()),
                None => false,
            },
            Field::SrcHost => one(ev.src_host.as_deref(), &mut f),
            Field::SrcCountry => one(ev.geo.as_ref().and_then(|g| g.country.as_deref()), &mut f),
            Field::SrcAsn => match ev.geo.as_ref().and_then(|g| g.asn) {
                Some(a) => f(fmt_u32(&mut buf, a)),
                None => false,
            },
            Field::SrcAsOrg => one(ev.geo.as_ref().and_then(|g| g.as_org.as_deref()), &mut f),
            Field::Outcome => f(ev.outcome.as_str()),
            Field::ErrorCode => one(ev.error_code.as_deref(), &mut f),
            Field::Region => one(ev.region.as_deref(), &mut f),
            Field::InvokedBy => one(ev.invoked_by.as_deref(), &mut f),
            Field::ReadOnly => match ev.read_only {
                Some(b) => f(if b { "true" } else { "false" }),
                None => false,
            },
            Field::Resource => ev.resources.iter().any(|r| f(r)),
            Field::Target => one(ev.target.as_deref(), &mut f),
            Field::Class => crate::event::classify::ActionClass::ALL
                .into_iter()
                .any(|c| ev.classes.contains(c) && f(c.as_str())),
            Field::Federation => one(ev.federation.as_deref(), &mut f),
            Field::SrcNetClass => one(
                ev.geo
                    .as_ref()
                    .and_then(|g| g.net_class)
                    .map(|c| c.as_str()),
                &mut f,
            ),
            Field::InventoryStatus => one(ev.inventory.status(), &mut f),
            Field::InventoryOwner => one(
                ev.inventory.entry().and_then(|e| e.owner.as_deref()),
                &mut f,
            ),
            Field::InventoryTeam => {
                one(ev.inventory.entry().and_then(|e| e.team.as_deref()), &mut f)
            }
            Field::InventoryCriticality => one(
                ev.inventory
                    .entry()
                    .and_then(|e| e.criticality)
                    .map(|c| c.as_str()),
                &mut f,
            ),
            Field::InventoryEnvironment => one(
                ev.inventory.entry().and_then(|e| e.environment.as_deref()),
                &mut f,
            ),
            Field::InventoryTag => ev
                .inventory
                .entry()
                .is_some_and(|e| e.tags.iter().any(|t| f(t))),
            Field::InventoryCountryExpected => {
                let declared = ev.inventory.entry().map(|e| &e.expected_countries);
                let country = ev.geo.as_ref().and_then(|g| g.country.as_deref());
                match (declared, country) {
                    (Some(list), Some(c)) if !list.is_empty() => {
                        f(if list.iter().any(|x| x.eq_ignore_ascii_case(c)) {
                            "true"
                        } else {
                            "false"
                        })
                    }
                    _ => false,
                }
            }
            Field::InventoryRegionExpected => {
                let declared = ev.inventory.entry().map(|e| &e.expected_regions);
                match (declared, ev.region.as_deref()) {
                    (Some(list), Some(r)) if !list.is_empty() => {
                        f(if list.iter().any(|x| x.eq_ignore_ascii_case(r)) {
                            "true"
                        } else {
                            "false"
                        })
                    }
                    _ => false,
                }
            }
            Field::PolicyGrant => one(
                crate::event::policy::assess_cloudtrail(
                    &ev.service,
                    &ev.operation,
                    ev.request.map(|r| r.get()),
                )
                .map(|a| a.grant.as_str()),
                &mut f,
            ),
            Field::PolicyTrust => one(
                crate::event::policy::assess_cloudtrail_trust(
                    &ev.service,
                    &ev.operation,
                    ev.request.map(|r| r.get()),
                    ev.identity.account.as_deref(),
                )
                .map(|t| t.as_str()),
                &mut f,
            ),
            Field::LoggingChange => one(
                crate::event::logging::assess_cloudtrail(
                    &ev.service,
                    &ev.operation,
                    ev.request.map(|r| r.get()),
                )
                .map(|a| a.change.as_str()),
                &mut f,
            ),
            // Needs the path: see `Condition::matches`.
            Field::Request => false,
        }
    }

    /// The field's IP value, for CIDR tests.
    pub fn ip(self, ev: &AuditEvent<'_>) -> Option<IpAddr> {
        match self {
            Field::SrcIp => ev.src_ip,
            _ => None,
        }
    }
}

fn fmt_u32(buf: &mut [u8; 10], mut v: u32) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// What a condition tests.
#[derive(Debug, Clone)]
pub enum Op {
    /// Equal to one of the values.
    In(Vec<String>),
    /// Starts with one of the values.
    Prefix(Vec<String>),
    /// Ends with one of the values.
    Suffix(Vec<String>),
    /// Contains one of the values.
    Contains(Vec<String>),
    /// Matches the regular expression.
    Regex(Regex),
    /// The IP is inside one of the networks.
    Cidr(Vec<IpNet>),
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// Equal to a value of another field.
    EqField(Field),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    /// Field tested.
    pub field: Field,
    /// Test.
    pub op: Op,
    /// Negate the result.
    pub not: bool,
    /// Compare case-insensitively (values are stored lowercased).
    pub nocase: bool,
    /// For `request.<path>`: the path.
    pub path: Vec<String>,
}

/// Calls `f` on each value at `path` in a JSON document (each element of a list is a value);
/// stops at the first `true`.
fn any_node_at_path(
    v: &serde_json::Value,
    path: &[String],
    f: &mut dyn FnMut(&serde_json::Value) -> bool,
) -> bool {
    use serde_json::Value;
    match (path.split_first(), v) {
        (None, Value::Array(a)) => a.iter().any(|x| any_node_at_path(x, path, f)),
        (None, _) => f(v),
        (Some(_), Value::Array(a)) => a.iter().any(|x| any_node_at_path(x, path, f)),
        (Some((k, rest)), Value::Object(m)) => {
            m.get(k).is_some_and(|x| any_node_at_path(x, rest, f))
        }
        _ => false,
    }
}

/// Calls `f` on the string forms of the scalar values at `path`; stops at the first `true`.
fn any_at_path(v: &serde_json::Value, path: &[String], f: &mut dyn FnMut(&str) -> bool) -> bool {
    use serde_json::Value;
    any_node_at_path(v, path, &mut |x| match x {
        Value::String(s) => f(s),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Number(n) => f(&n.to_string()),
        _ => false,
    })
}

impl Condition {
    /// Calls `f` on each value of the condition's field (the request path for `request.*`);
    /// stops at the first `true`.
    pub fn any_value(&self, ev: &AuditEvent<'_>, mut f: impl FnMut(&str) -> bool) -> bool {
        if self.field != Field::Request {
            return self.field.any_str(ev, f);
        }
        // A small JSON tree of the request only, and only for events that reached this test.
        let Some(raw) = ev.request else { return false };
        match serde_json::from_str::<serde_json::Value>(raw.get()) {
            Ok(v) => any_at_path(&v, &self.path, &mut f),
            Err(_) => false,
        }
    }

    /// Evaluates the condition on an event.
    /// True if the request holds a non-empty value at the path (a string, number, boolean,
    /// or a non-empty object or list: `iamInstanceProfile: {name: ...}` is present).
    fn request_present(&self, ev: &AuditEvent<'_>) -> bool {
        use serde_json::Value;
        let Some(raw) = ev.request else { return false };
        let Ok(v) = serde_json::from_str::<Value>(raw.get()) else {
            return false;
        };
        any_node_at_path(&v, &self.path, &mut |x| match x {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Object(m) => !m.is_empty(),
            _ => true,
        })
    }

    pub fn matches(&self, ev: &AuditEvent<'_>) -> bool {
        let r = match &self.op {
            Op::Exists(want) if self.field == Field::Request => self.request_present(ev) == *want,
            Op::Exists(want) => self.any_value(ev, |s| !s.is_empty()) == *want,
            Op::Cidr(nets) => self
                .field
                .ip(ev)
                .is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            Op::Regex(re) => self.any_value(ev, |s| re.is_match(s)),
            Op::In(vals) => self.test(ev, vals, |s, v| s == v),
            Op::Prefix(vals) => self.test(ev, vals, |s, v| s.starts_with(v)),
            Op::Suffix(vals) => self.test(ev, vals, |s, v| s.ends_with(v)),
            Op::Contains(vals) => self.test(ev, vals, |s, v| s.contains(v)),
            Op::EqField(other) => self.any_value(ev, |a| other.any_str(ev, |b| a == b)),
        };
        r != self.not
    }

    fn test(&self, ev: &AuditEvent<'_>, vals: &[String], cmp: impl Fn(&str, &str) -> bool) -> bool {
        if self.nocase {
            self.any_value(ev, |s| {
                let low = s.to_ascii_lowercase();
                vals.iter().any(|v| cmp(&low, v))
            })
        } else {
            self.any_value(ev, |s| vals.iter().any(|v| cmp(s, v)))
        }
    }
}
