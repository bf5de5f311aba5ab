//! Action classes and targets: what kind of call an event is (a secret read, an enumeration
//! call, an IAM write, a denied call, a repository download, a token grant) and what it acted
//! on (the secret, parameter, user or role named in the request).
//!
//! Classes drive the per-identity rate statistics and the `burst` detector; targets feed the
//! `resource` baseline feature (novel secrets read slowly) and rule conditions. Both are computed
//! once per event after parsing. Only calls of a few known operations have their request
//! parameters read (a small typed parse of the raw request, no JSON tree).

use std::borrow::Cow;

use serde::Deserialize;

use super::{AuditEvent, Outcome, SourceKind};

/// A set of action classes (bit flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ActionClasses(pub u16);

/// One action class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ActionClass {
    /// Reading a secret value: Secrets Manager, SSM parameters, KMS Decrypt by the identity
    /// itself, Azure listKeys / Key Vault secret reads / app settings lists.
    SecretRead,
    /// Read-only discovery: List*, Describe*, Get* management calls, Azure `*/read`.
    Enumeration,
    /// Writes to identity and access management: IAM, STS federation, Azure authorization.
    IamWrite,
    /// Calls refused for lack of permission.
    Denied,
    /// Copying source code out: git clone/fetch, archive downloads.
    RepoDownload,
    /// OAuth token grants.
    TokenGrant,
}

impl ActionClass {
    /// All classes.
    pub const ALL: [ActionClass; 6] = [
        ActionClass::SecretRead,
        ActionClass::Enumeration,
        ActionClass::IamWrite,
        ActionClass::Denied,
        ActionClass::RepoDownload,
        ActionClass::TokenGrant,
    ];

    /// Name used in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionClass::SecretRead => "secret_read",
            ActionClass::Enumeration => "enumeration",
            ActionClass::IamWrite => "iam_write",
            ActionClass::Denied => "denied",
            ActionClass::RepoDownload => "repo_download",
            ActionClass::TokenGrant => "token_grant",
        }
    }

    /// Parses a class name.
    pub fn from_name(s: &str) -> Option<ActionClass> {
        ActionClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl ActionClasses {
    /// True if the set holds `c`.
    pub fn contains(self, c: ActionClass) -> bool {
        self.0 & c.bit() != 0
    }

    fn add(&mut self, c: ActionClass) {
        self.0 |= c.bit();
    }

    /// Names of the classes in the set.
    pub fn names(self) -> Vec<&'static str> {
        ActionClass::ALL
            .into_iter()
            .filter(|c| self.contains(*c))
            .map(ActionClass::as_str)
            .collect()
    }
}

/// Error codes that mean "not allowed" rather than "failed".
pub fn is_denial_code(code: &str) -> bool {
    let c = code.trim_start_matches("Client.");
    matches!(
        c,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedAccess"
            | "AuthorizationError"
            | "AuthorizationFailed"
            | "AuthorizationFailure"
            | "Forbidden"
            | "403"
            | "401"
            | "InvalidClientTokenId"
            | "NotAuthorized"
            | "AuthFailure"
            | "LinkedAuthorizationFailed"
    ) || c.ends_with("AccessDenied")
        || c.ends_with("AccessDeniedException")
}

/// Computes the classes of an event.
pub fn classify(ev: &AuditEvent<'_>) -> ActionClasses {
    let mut s = ActionClasses::default();
    if ev.outcome == Outcome::Failure && ev.error_code.as_deref().is_some_and(is_denial_code) {
        s.add(ActionClass::Denied);
    }
    let op = ev.operation.as_ref();
    match ev.source {
        SourceKind::Cloudtrail => {
            let svc = ev.service.as_ref();
            let secret = match svc {
                "secretsmanager" => matches!(op, "GetSecretValue" | "BatchGetSecretValue"),
                "ssm" => matches!(
                    op,
                    "GetParameter"
                        | "GetParameters"
                        | "GetParametersByPath"
                        | "GetParameterHistory"
                ),
                // KMS Decrypt by the identity itself; services decrypting for it do not count.
                "kms" => op == "Decrypt" && !ev.via_cloud_service(),
                "ec2" => op == "GetPasswordData",
                _ => false,
            };
            if secret {
                s.add(ActionClass::SecretRead);
            } else if (op.starts_with("List")
                || op.starts_with("Describe")
                || op.starts_with("Get"))
                && !matches!(
                    svc,
                    "s3" | "sts" | "logs" | "cloudwatch" | "dynamodb" | "sqs"
                )
            {
                s.add(ActionClass::Enumeration);
            } else if svc == "iam" && ev.read_only != Some(true) {
                s.add(ActionClass::IamWrite);
            }
        }
        SourceKind::AzureActivity => {
            // Operations are lower-cased by the parser.
            let secret = op.contains("listkeys")
                || op.contains("/secrets/read")
                || op.contains("listconnectionstrings")
                || op.contains("config/list/action")
                || op.contains("listcredentials")
                || op.ends_with("/listsecrets/action");
            if secret {
                s.add(ActionClass::SecretRead);
            } else if op.ends_with("/read") {
                s.add(ActionClass::Enumeration);
            } else if ev.service == "microsoft.authorization"
                || ev.service == "microsoft.managedidentity"
            {
                s.add(ActionClass::IamWrite);
            }
        }
        SourceKind::Okta => {
            if op.starts_with("app.oauth2") && op.contains("token.grant") {
                s.add(ActionClass::TokenGrant);
            }
        }
        SourceKind::GithubAudit => {
            if matches!(
                op,
                "git.clone" | "git.fetch" | "repo.download_zip" | "repo.download_tar"
            ) {
                s.add(ActionClass::RepoDownload);
            }
        }
    }
    s
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Req<'a> {
    #[serde(borrow, default)]
    secret_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    secret_id_list: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    names: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    role_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    trail_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    instance_id: Option<Cow<'a, str>>,
}

/// The resource an AWS call of a known sensitive operation names in its request (the secret,
/// the parameter, the user or role acted on), with how many it names in all.
pub fn target<'a>(ev: &AuditEvent<'a>) -> Option<(Cow<'a, str>, usize)> {
    if ev.source != SourceKind::Cloudtrail {
        return match ev.source {
            SourceKind::AzureActivity if ev.operation.contains("secrets") => {
                ev.resources.first().cloned().map(|r| (r, 1))
            }
            SourceKind::GithubAudit => ev.resources.first().cloned().map(|r| (r, 1)),
            _ => None,
        };
    }
    let interesting = matches!(
        ev.operation.as_ref(),
        "GetSecretValue"
            | "BatchGetSecretValue"
            | "GetParameter"
            | "GetParameters"
            | "GetParametersByPath"
            | "GetParameterHistory"
            | "GetPasswordData"
            | "Decrypt"
            | "CreateAccessKey"
            | "DeleteAccessKey"
            | "UpdateAccessKey"
            | "CreateLoginProfile"
            | "UpdateLoginProfile"
            | "AttachUserPolicy"
            | "PutUserPolicy"
            | "AddUserToGroup"
            | "AttachRolePolicy"
            | "PutRolePolicy"
            | "UpdateAssumeRolePolicy"
            | "CreateTrail"
            | "StartLogging"
            | "StopLogging"
            | "DeleteTrail"
            | "UpdateTrail"
            | "PutEventSelectors"
    );
    if !interesting {
        return None;
    }
    let raw = ev.request?.get();
    let r: Req<'a> = serde_json::from_str(raw).ok()?;
    if let Some(list) = r.secret_id_list.or(r.names) {
        let n = list.len();
        return list.into_iter().next().map(|v| (v, n));
    }
    r.secret_id
        .or(r.name)
        .or(r.path)
        .or(r.user_name)
        .or(r.role_name)
        .or(r.trail_name)
        .or(r.key_id)
        .or(r.instance_id)
        .map(|v| {
            if ev.service == "cloudtrail" {
                (trail_short_name(v), 1)
            } else {
                (v, 1)
            }
        })
}

/// CloudTrail accepts a trail by name or by ARN: both name the same trail, so the resource
/// baseline keeps the name (`arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME` -> `NAME`).
fn trail_short_name(v: Cow<'_, str>) -> Cow<'_, str> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.rsplit_once(":trail/").map_or(s, |(_, n)| n)),
        Cow::Owned(s) => match s.rsplit_once(":trail/") {
            Some((_, n)) => Cow::Owned(n.to_owned()),
            None => Cow::Owned(s),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::{Format, Parsers};

    fn ev(op: &str, svc: &str, req: &str, err: &str) -> String {
        format!(
            r#"{{"eventTime":"2024-01-01T00:00:00Z","eventName":"{op}","eventSource":"{svc}.amazonaws.com","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}},"requestParameters":{req}{err}}}"#
        )
    }

    #[test]
    fn classes_and_targets() {
        let p = Parsers::default();
        let raw = ev(
            "GetSecretValue",
            "secretsmanager",
            r#"{"secretId":"prod/db"}"#,
            "",
        );
        let e = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        assert!(classify(&e).contains(ActionClass::SecretRead));
        assert_eq!(target(&e).unwrap().0, "prod/db");
        let raw = ev(
            "GetParameters",
            "ssm",
            r#"{"names":["/a","/b"],"withDecryption":true}"#,
            "",
        );
        let e = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        assert_eq!(target(&e).unwrap(), (Cow::Borrowed("/a"), 2));
        let raw = ev(
            "ListUsers",
            "iam",
            "null",
            r#","errorCode":"AccessDenied","errorMessage":"no""#,
        );
        let e = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        let c = classify(&e);
        assert!(c.contains(ActionClass::Denied) && c.contains(ActionClass::Enumeration));
        assert_eq!(c.names(), vec!["enumeration", "denied"]);
        let raw = ev("CreateAccessKey", "iam", r#"{"userName":"other"}"#, "");
        let e = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        assert!(classify(&e).contains(ActionClass::IamWrite));
        assert_eq!(target(&e).unwrap().0, "other");
        let raw = ev("GetObject", "s3", r#"{"bucketName":"b"}"#, "");
        let e = p.parse(raw.as_bytes(), Format::Auto).unwrap();
        assert_eq!(classify(&e), ActionClasses::default());
        assert!(target(&e).is_none());
        // A trail named by ARN and by name is one resource.
        for name in [
            "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail",
            "org-trail",
        ] {
            let raw = ev(
                "DeleteTrail",
                "cloudtrail",
                &format!(r#"{{"name":"{name}"}}"#),
                "",
            );
            let e = p.parse(raw.as_bytes(), Format::Auto).unwrap();
            assert_eq!(target(&e).unwrap().0, "org-trail");
        }
    }
}
