//! Decoding the IAM policy a call grants, so escalation is judged on what it grants rather than
//! on the API name alone: `PutUserPolicy` with `Deny *` (a quarantine) is not escalation,
//! `PutUserPolicy` with `Allow * on *` is.
//!
//! CloudTrail writes policy documents in request parameters as JSON *text*: plain in current
//! records, URL-encoded (`%7B%22Version%22...`) in older ones and some exports. Both are read.
//! Only policy-writing calls (a handful per day) get here, so a small JSON tree is fine.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// What a policy grants, from most to least dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// `Allow` of every action (`*`, `*:*`, or `NotAction` with an allow) on every resource.
    Admin,
    /// `Allow` of `service:*` on a sensitive service (IAM, STS, KMS, secrets, organizations,
    /// logging) on every resource.
    ServiceWildcard,
    /// Allows something narrower.
    Limited,
    /// Only `Deny` statements (a quarantine policy).
    DenyOnly,
}

impl Grant {
    /// The value rules compare (`policy.grant`).
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Admin => "admin",
            Grant::ServiceWildcard => "service_wildcard",
            Grant::Limited => "limited",
            Grant::DenyOnly => "deny_only",
        }
    }
}

/// A decoded policy: the grant and a one-line summary an analyst can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The most dangerous grant found.
    pub grant: Grant,
    /// E.g. `Allow Action:* on Resource:*` or `managed policy AdministratorAccess`.
    pub summary: String,
}

/// Services whose `service:*` is as good as admin (identity, keys, secrets, logging, org).
const SENSITIVE: &[&str] = &[
    "iam",
    "sts",
    "kms",
    "secretsmanager",
    "ssm",
    "organizations",
    "cloudtrail",
    "lambda",
    "sso",
    "rolesanywhere",
];

/// AWS managed policies that make their holder an administrator, or one step from it.
const ADMIN_MANAGED: &[(&str, Grant)] = &[
    ("AdministratorAccess", Grant::Admin),
    ("PowerUserAccess", Grant::ServiceWildcard),
    ("IAMFullAccess", Grant::ServiceWildcard),
    ("AWSLambda_FullAccess", Grant::ServiceWildcard),
    ("SecretsManagerReadWrite", Grant::ServiceWildcard),
    ("AWSOrganizationsFullAccess", Grant::ServiceWildcard),
    ("AWSSSOMasterAccountAdministrator", Grant::ServiceWildcard),
];

/// Decodes a policy document as CloudTrail writes it (JSON text, possibly URL-encoded).
pub fn decode_document(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(t) {
        return Some(v);
    }
    let decoded = percent_decode(t)?;
    serde_json::from_str::<Value>(&decoded).ok()
}

/// `%XX` and `+` decoding (form encoding, as older CloudTrail records carry policies).
/// Hand-written: five lines, and the url crates bring far more than this needs.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// One value or a list of them, as policy grammar allows.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document (`Statement` is one object or a list).
fn statements(doc: &Value) -> impl Iterator<Item = &Value> {
    let (list, one) = match doc.get("Statement") {
        Some(Value::Array(a)) => (a.as_slice(), None),
        Some(st @ Value::Object(_)) => (&[][..], Some(st)),
        _ => (&[][..], None),
    };
    list.iter().chain(one)
}

/// Assesses a decoded policy document.
pub fn assess_document(doc: &Value) -> Assessment {
    let mut best: Option<(Grant, String)> = None;
    let mut allows = 0;
    for st in statements(doc) {
        let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("");
        if !effect.eq_ignore_ascii_case("allow") {
            continue;
        }
        allows += 1;
        let resources = strings(st.get("Resource"));
        let all_resources = resources.contains(&"*") || st.get("NotResource").is_some();
        let actions = strings(st.get("Action"));
        let not_action = st.get("NotAction").is_some();
        let (grant, what) = if not_action && all_resources {
            (Grant::Admin, "NotAction (everything else)".to_string())
        } else if all_resources && actions.iter().any(|a| *a == "*" || *a == "*:*") {
            (Grant::Admin, "Action:*".to_string())
        } else if let Some(a) = actions.iter().find(|a| {
            a.split_once(':').is_some_and(|(svc, op)| {
                op == "*" && SENSITIVE.contains(&svc.to_ascii_lowercase().as_str())
            })
        }) {
            if all_resources {
                (Grant::ServiceWildcard, format!("Action:{a}"))
            } else {
                (Grant::Limited, format!("Action:{a}"))
            }
        } else {
            (Grant::Limited, format!("Action:{}", actions.join(",")))
        };
        let res = if all_resources {
            "*".to_string()
        } else {
            resources.join(",")
        };
        if best.as_ref().is_none_or(|b| grant < b.0) {
            best = Some((grant, format!("Allow {what} on Resource:{res}")));
        }
    }
    match best {
        Some((grant, summary)) => Assessment { grant, summary },
        None => Assessment {
            grant: if allows == 0 {
                Grant::DenyOnly
            } else {
                Grant::Limited
            },
            summary: "only Deny statements".to_string(),
        },
    }
}

/// Assesses a managed policy by ARN (`arn:aws:iam::aws:policy/AdministratorAccess`).
pub fn assess_managed(arn: &str) -> Assessment {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let grant = ADMIN_MANAGED
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Grant::Limited, |(_, g)| *g);
    Assessment {
        grant,
        summary: format!("managed policy {name}"),
    }
}

/// The request parameters of a policy write that carry what is granted (or who is trusted).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PolicyReq<'a> {
    #[serde(borrow, default)]
    policy_document: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    assume_role_policy_document: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    policy_arn: Option<Cow<'a, str>>,
    #[serde(default)]
    set_as_default: Option<bool>,
    /// IAM Identity Center: `PutInlinePolicyToPermissionSet`.
    #[serde(borrow, default)]
    inline_policy: Option<Cow<'a, str>>,
    /// IAM Identity Center: `AttachManagedPolicyToPermissionSet`.
    #[serde(borrow, default)]
    managed_policy_arn: Option<Cow<'a, str>>,
}

/// What a CloudTrail IAM call grants, for the calls that grant: inline policies
/// (`Put{User,Role,Group}Policy`), new policy versions set as default, managed policy
/// attachments. `None` for other calls and for undecodable documents.
pub fn assess_cloudtrail(
    service: &str,
    operation: &str,
    request: Option<&str>,
) -> Option<Assessment> {
    let writes = match service {
        "iam" => matches!(
            operation,
            "PutUserPolicy"
                | "PutRolePolicy"
                | "PutGroupPolicy"
                | "CreatePolicyVersion"
                | "AttachUserPolicy"
                | "AttachRolePolicy"
                | "AttachGroupPolicy"
        ),
        // IAM Identity Center permission sets: what everyone assigned to them gets.
        "sso" => matches!(
            operation,
            "PutInlinePolicyToPermissionSet" | "AttachManagedPolicyToPermissionSet"
        ),
        _ => false,
    };
    if !writes {
        return None;
    }
    let req: PolicyReq<'_> = serde_json::from_str(request?).ok()?;
    if operation == "CreatePolicyVersion" && req.set_as_default != Some(true) {
        // A version that is not the default grants nothing yet.
        return None;
    }
    if let Some(doc) = req
        .policy_document
        .as_deref()
        .or(req.inline_policy.as_deref())
    {
        return decode_document(doc).map(|d| assess_document(&d));
    }
    req.policy_arn
        .as_deref()
        .or(req.managed_policy_arn.as_deref())
        .map(assess_managed)
}

/// Who a role's trust policy lets assume it, as rules compare it (`policy.trust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `"Principal": "*"` or `{"AWS": "*"}` in an Allow without conditions: anyone.
    AnyPrincipal,
    /// An AWS principal of another account (the trail's own account is the caller's).
    ExternalAccount,
    /// Only principals of the caller's own account, services or federated providers.
    Internal,
}

impl Trust {
    /// The value rules compare.
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::AnyPrincipal => "any_principal",
            Trust::ExternalAccount => "external_account",
            Trust::Internal => "internal",
        }
    }
}

/// The account id in an AWS principal (`arn:aws:iam::123456789012:root`, or a bare account id).
fn principal_account(p: &str) -> Option<&str> {
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p);
    }
    if !p.starts_with("arn:aws") {
        return None;
    }
    p.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Assesses a trust policy document against the caller's own account.
pub fn assess_trust_document(doc: &Value, own_account: Option<&str>) -> Trust {
    let mut out = Trust::Internal;
    for st in statements(doc) {
        let allow = st
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("allow"));
        if !allow {
            continue;
        }
        let principals: Vec<&str> = match st.get("Principal") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Object(m)) => strings(m.get("AWS")),
            _ => Vec::new(),
        };
        for p in principals {
            if p == "*" && st.get("Condition").is_none() {
                return Trust::AnyPrincipal;
            }
            if let (Some(a), Some(own)) = (principal_account(p), own_account) {
                if a != own {
                    out = Trust::ExternalAccount;
                }
            }
        }
    }
    out
}

/// Who a trust policy written by the call (`UpdateAssumeRolePolicy`, `CreateRole`) trusts.
pub fn assess_cloudtrail_trust(
    service: &str,
    operation: &str,
    request: Option<&str>,
    own_account: Option<&str>,
) -> Option<Trust> {
    if service != "iam" {
        return None;
    }
    let req: PolicyReq<'_> = serde_json::from_str(request?).ok()?;
    let doc = match operation {
        "UpdateAssumeRolePolicy" => req.policy_document,
        "CreateRole" => req.assume_role_policy_document,
        _ => None,
    }?;
    decode_document(&doc).map(|d| assess_trust_document(&d, own_account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(req: &str, op: &str) -> Option<Grant> {
        assess_cloudtrail("iam", op, Some(req)).map(|a| a.grant)
    }

    #[test]
    fn plain_and_url_encoded_documents() {
        let plain = r#"{"userName":"u","policyName":"p","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}"#;
        assert_eq!(grant(plain, "PutUserPolicy"), Some(Grant::Admin));
        let enc = r#"{"userName":"u","policyName":"p","policyDocument":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D"}"#;
        let a = assess_cloudtrail("iam", "PutUserPolicy", Some(enc)).unwrap();
        assert_eq!(a.grant, Grant::Admin);
        assert_eq!(a.summary, "Allow Action:* on Resource:*");
    }

    #[test]
    fn deny_all_and_narrow_policies_are_not_escalation() {
        let deny = r#"{"policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}"#;
        assert_eq!(grant(deny, "PutUserPolicy"), Some(Grant::DenyOnly));
        let narrow = r#"{"policyDocument":"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::b/*\"}}"}"#;
        assert_eq!(grant(narrow, "PutRolePolicy"), Some(Grant::Limited));
        let iam_star = r#"{"policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"iam:*\"],\"Resource\":[\"*\"]}]}"}"#;
        assert_eq!(
            grant(iam_star, "PutRolePolicy"),
            Some(Grant::ServiceWildcard)
        );
    }

    #[test]
    fn managed_policies_and_versions() {
        let admin = r#"{"userName":"u","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}"#;
        assert_eq!(grant(admin, "AttachUserPolicy"), Some(Grant::Admin));
        let ro = r#"{"policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}"#;
        assert_eq!(grant(ro, "AttachRolePolicy"), Some(Grant::Limited));
        let ver = r#"{"policyArn":"arn:aws:iam::1:policy/p","setAsDefault":true,"policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"iam:DeleteUser\",\"Resource\":\"*\"}]}"}"#;
        assert_eq!(grant(ver, "CreatePolicyVersion"), Some(Grant::Admin));
        let not_default = ver.replace("true", "false");
        assert_eq!(grant(&not_default, "CreatePolicyVersion"), None);
        assert_eq!(assess_cloudtrail("s3", "PutUserPolicy", Some(admin)), None);
        assert_eq!(grant("{\"policyDocument\":\"%zz\"}", "PutUserPolicy"), None);
    }

    #[test]
    fn trust_policies() {
        let t = |doc: &str| {
            let req = serde_json::json!({ "roleName": "r", "policyDocument": doc }).to_string();
            assess_cloudtrail_trust(
                "iam",
                "UpdateAssumeRolePolicy",
                Some(&req),
                Some("111122223333"),
            )
        };
        let any = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(t(any), Some(Trust::AnyPrincipal));
        let ext = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::999988887777:root"]},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(t(ext), Some(Trust::ExternalAccount));
        let own = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(t(own), Some(Trust::Internal));
        let cond = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#;
        assert_eq!(t(cond), Some(Trust::Internal));
    }
}
