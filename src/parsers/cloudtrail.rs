//! AWS CloudTrail records (one element of an S3 delivery file's `Records`, an EventBridge
//! `detail`, or a line of a JSONL export).
//!
//! Identity: an assumed-role session resolves to its role (`sessionContext.sessionIssuer.arn`, or
//! the role rebuilt from the session ARN); the access key id is the credential and the session name
//! is kept, so an instance-profile session (`i-...`) can be tracked on its own.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::flex::{cow, FlexBool, FlexStr, FlexTime};
use super::ParseError;
use crate::event::{
    AuditEvent, ClassReason, EventGeo, Identity, IdentityKind, Outcome, SourceKind,
};

/// Visitor methods that accept any scalar (string, null, bool, number) as `$v`: the lenient
/// shapes below skip what is not the expected structure instead of failing the record.
macro_rules! skip_scalars {
    ($v:expr) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($v)
        }
    };
}

const SRC: SourceKind = SourceKind::Cloudtrail;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow, default)]
    event_time: Option<FlexTime<'a>>,
    #[serde(borrow, default, rename = "@timestamp")]
    at_timestamp: Option<FlexTime<'a>>,
    #[serde(borrow, default)]
    event_name: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    event_source: Option<FlexStr<'a>>,
    #[serde(borrow, default, rename = "eventID")]
    event_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    event_type: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    source_ip_address: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    user_agent: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    error_code: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    aws_region: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    recipient_account_id: Option<FlexStr<'a>>,
    #[serde(default)]
    read_only: Option<FlexBool>,
    #[serde(default)]
    session_credential_from_console: Option<FlexBool>,
    #[serde(borrow, default)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resources: Option<Resources<'a>>,
    #[serde(borrow, default)]
    additional_event_data: Option<AdditionalData<'a>>,
    /// Kept raw: read for console sign-in outcomes and for credentials a call minted.
    #[serde(borrow, default)]
    response_elements: Option<&'a RawValue>,
}

/// Names the one key a [`KeyOf`] keeps.
trait KeyName {
    const NAME: &'static str;
}

/// `responseElements.ConsoleLogin` ("Success" / "Failure"): the outcome of a console sign-in,
/// which carries no `errorCode`.
struct ConsoleLoginKey;
impl KeyName for ConsoleLoginKey {
    const NAME: &'static str = "ConsoleLogin";
}

/// `resources[].ARN`.
struct ArnKey;
impl KeyName for ArnKey {
    const NAME: &'static str = "ARN";
}

/// The value of one key of an object. Anything that is not an object, or lacks the key, gives
/// `None` instead of failing the record (some exports flatten these objects to strings).
struct KeyOf<'a, K>(Option<FlexStr<'a>>, std::marker::PhantomData<K>);

impl<'de: 'a, 'a, K: KeyName> Deserialize<'de> for KeyOf<'a, K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, K>(std::marker::PhantomData<(&'a (), K)>);
        impl<'de: 'a, 'a, K: KeyName> serde::de::Visitor<'de> for V<'a, K> {
            type Value = KeyOf<'a, K>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an object with {}", K::NAME)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut v = None;
                while let Some(k) = map.next_key::<FlexStr<'de>>()? {
                    if k.0 == K::NAME {
                        v = map.next_value::<Option<FlexStr<'a>>>()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(KeyOf(v, std::marker::PhantomData))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(KeyOf(None, std::marker::PhantomData))
            }
            skip_scalars!(KeyOf(None, std::marker::PhantomData));
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    principal_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    arn: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    account_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    access_key_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    user_name: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    invoked_by: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    identity_provider: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow, default)]
    attributes: Option<Attributes<'a>>,
    #[serde(borrow, default)]
    session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow, default)]
    source_identity: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Attributes<'a> {
    #[serde(borrow, default)]
    creation_date: Option<FlexTime<'a>>,
    #[serde(default)]
    mfa_authenticated: Option<FlexBool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    arn: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    account_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    user_name: Option<FlexStr<'a>>,
}

/// `resources` is a list of objects in CloudTrail; some exports flatten it to a string. Anything
/// but a list is ignored rather than failing the record (without buffering, unlike an untagged
/// enum).
enum Resources<'a> {
    List(Vec<FlexStr<'a>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Resources<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Resources<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of resources")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(r) = seq.next_element::<KeyOf<'a, ArnKey>>()? {
                    v.extend(r.0);
                }
                Ok(Resources::List(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Resources::Other)
            }
            skip_scalars!(Resources::Other);
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize, Default)]
struct AdditionalData<'a> {
    #[serde(borrow, default, rename = "MFAUsed")]
    mfa_used: Option<FlexStr<'a>>,
}

/// Parses one CloudTrail record.
pub fn parse(raw: &[u8]) -> Result<AuditEvent<'_>, ParseError> {
    let r: Record = serde_json::from_slice(raw).map_err(|e| ParseError::from_json(SRC, e))?;
    let time = r
        .event_time
        .as_ref()
        .or(r.at_timestamp.as_ref())
        .ok_or(ParseError::MissingTime(SRC))?;
    let time_ms = time
        .to_ms()
        .map_err(|value| ParseError::BadTime { src: SRC, value })?;
    let operation = cow(r.event_name).ok_or(ParseError::MissingAction(SRC))?;
    let service = match cow(r.event_source) {
        Some(Cow::Borrowed(s)) => Cow::Borrowed(s.split('.').next().unwrap_or(s)),
        Some(Cow::Owned(s)) => Cow::Owned(s.split('.').next().unwrap_or(&s).to_owned()),
        None => return Err(ParseError::MissingAction(SRC)),
    };
    let user_agent = cow(r.user_agent).unwrap_or(Cow::Borrowed(""));
    let ui = r.user_identity.ok_or(ParseError::MissingActor(SRC))?;
    let console = r.session_credential_from_console.is_some_and(|b| b.0);
    let console_login = operation == "ConsoleLogin"
        || r.event_type
            .as_ref()
            .is_some_and(|t| t.0 == "AwsConsoleSignIn");
    let mfa_login = r
        .additional_event_data
        .as_ref()
        .and_then(|a| a.mfa_used.as_ref())
        .is_some_and(|m| m.0 == "Yes");
    let account = cow(ui.account_id.clone()).or_else(|| cow(r.recipient_account_id.clone()));
    let hints = HumanHints {
        console,
        console_login,
        mfa: mfa_login,
        browser: user_agent.starts_with("Mozilla/"),
    };
    let mut identity = resolve_identity(ui, account, hints)?;
    let federation = if matches!(
        operation.as_ref(),
        "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML"
    ) {
        federate(&mut identity.0, r.request_parameters)
    } else {
        None
    };

    let (src_ip, src_host) = super::split_source(cow(r.source_ip_address));
    let console_failed = operation == "ConsoleLogin"
        && r.response_elements
            .and_then(|raw| serde_json::from_str::<KeyOf<'_, ConsoleLoginKey>>(raw.get()).ok())
            .and_then(|c| c.0)
            .is_some_and(|v| v.0 == "Failure");
    let error_code = cow(r.error_code);
    let outcome = if error_code.is_some() || console_failed {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let resources = match r.resources {
        Some(Resources::List(v)) => v.into_iter().map(|x| x.0).collect(),
        _ => Vec::new(),
    };
    let invoked_by = identity.1;
    Ok(AuditEvent {
        source: SRC,
        time_ms,
        record_id: cow(r.event_id),
        identity: identity.0,
        service,
        operation,
        resources,
        src_ip,
        src_host,
        user_agent,
        ua_family: None,
        outcome,
        error_code,
        region: cow(r.aws_region),
        invoked_by,
        read_only: r.read_only.map(|b| b.0),
        event_geo: None::<EventGeo>,
        geo: None,
        request: r.request_parameters,
        response: r.response_elements,
        classes: Default::default(),
        target: None,
        federation,
        inventory: Default::default(),
        raw,
    })
}

#[derive(Clone, Copy)]
struct HumanHints {
    console: bool,
    console_login: bool,
    mfa: bool,
    browser: bool,
}

impl HumanHints {
    fn reason(self) -> Option<ClassReason> {
        if self.console_login {
            Some(ClassReason::ConsoleLogin)
        } else if self.console {
            Some(ClassReason::ConsoleSession)
        } else if self.mfa {
            Some(ClassReason::MfaAuthenticated)
        } else if self.browser {
            Some(ClassReason::BrowserUserAgent)
        } else {
            None
        }
    }
}

type Resolved<'a> = (Identity<'a>, Option<Cow<'a, str>>);

fn resolve_identity<'a>(
    ui: UserIdentity<'a>,
    account: Option<Cow<'a, str>>,
    mut hints: HumanHints,
) -> Result<Resolved<'a>, ParseError> {
    let kind = cow(ui.kind);
    let arn = cow(ui.arn).filter(|a| !a.is_empty());
    let invoked_by = cow(ui.invoked_by);
    let credential = cow(ui.access_key_id).filter(|k| !k.is_empty());
    let principal_id = cow(ui.principal_id.clone()).filter(|p| !p.is_empty());
    let ctx = ui.session_context.unwrap_or_default();
    let attrs = ctx.attributes.unwrap_or_default();
    hints.mfa |= attrs.mfa_authenticated.is_some_and(|b| b.0);
    let session_created_ms = attrs.creation_date.and_then(|t| t.to_ms().ok());
    let source_identity = cow(ctx.source_identity);
    let issuer = ctx.session_issuer.unwrap_or_default();
    let mk = |key: Cow<'a, str>, kind, name: Cow<'a, str>, reason, session| Identity {
        key,
        kind,
        name,
        reason,
        credential: credential.clone(),
        session,
        session_created_ms,
        principal_id: principal_id.clone(),
        account: account.clone(),
    };
    // A record with no identity type but an invoking service is that service's own call.
    let kind = kind.or_else(|| invoked_by.is_some().then_some(Cow::Borrowed("AWSService")));
    let id = match kind.as_deref() {
        Some("AssumedRole") => {
            // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
            let arn_s = arn.unwrap_or_default();
            let (role_name, session) = split_assumed_role(&arn_s);
            let session = session.map(|s| project(&arn_s, s)).or_else(|| {
                // principalId is ROLEID:SESSION
                cow(ui.principal_id.clone())
                    .and_then(|p| p.split_once(':').map(|(_, s)| Cow::Owned(s.to_owned())))
            });
            let issuer_name = cow(issuer.user_name).or_else(|| cow(ui.user_name.clone()));
            let name: Cow<'a, str> = match (&issuer_name, role_name.is_empty()) {
                (Some(n), _) => n.clone(),
                (None, false) => project(&arn_s, role_name),
                (None, true) => return Err(ParseError::MissingActor(SRC)),
            };
            let key: Cow<'a, str> = match cow(issuer.arn).filter(|a| !a.is_empty()) {
                Some(k) => k,
                None => match role_arn_from_session_arn(&arn_s) {
                    Some(k) => Cow::Owned(k),
                    None => {
                        let acct = cow(issuer.account_id)
                            .or_else(|| account.clone())
                            .unwrap_or(Cow::Borrowed("unknown"));
                        Cow::Owned(format!("arn:aws:iam::{acct}:role/{name}"))
                    }
                },
            };
            let reason = if name.starts_with("AWSReservedSSO_") {
                ClassReason::SsoReservedRole
            } else if source_identity.as_deref().is_some_and(|s| s.contains('@')) {
                ClassReason::EmailSourceIdentity
            } else if session.as_deref().is_some_and(|s| s.contains('@')) {
                ClassReason::EmailSessionName
            } else {
                // A browser user agent is no evidence for a role session: console use of a role
                // carries sessionCredentialFromConsole, and a thief can send any user agent.
                HumanHints {
                    browser: false,
                    ..hints
                }
                .reason()
                .unwrap_or(ClassReason::RoleSession)
            };
            mk(key, IdentityKind::AwsRole, name, reason, session)
        }
        Some("IAMUser") => {
            let name = cow(ui.user_name);
            let pid = cow(ui.principal_id.clone());
            let key = match (arn, &account, &name, &pid) {
                (Some(a), _, _, _) => a,
                (None, Some(acct), Some(n), _) => {
                    Cow::Owned(format!("arn:aws:iam::{acct}:user/{n}"))
                }
                (None, acct, _, Some(p)) => Cow::Owned(format!(
                    "aws:principal:{}:{p}",
                    acct.as_deref().unwrap_or("unknown")
                )),
                _ => return Err(ParseError::MissingActor(SRC)),
            };
            let name =
                name.unwrap_or_else(|| Cow::Owned(key.rsplit('/').next().unwrap_or("").to_owned()));
            let reason = hints.reason().unwrap_or(ClassReason::AccessKeyUser);
            mk(key, IdentityKind::AwsIamUser, name, reason, None)
        }
        Some("Root") => {
            let key = match (arn, &account) {
                (Some(a), _) => a,
                (None, Some(acct)) => Cow::Owned(format!("arn:aws:iam::{acct}:root")),
                _ => return Err(ParseError::MissingActor(SRC)),
            };
            mk(
                key,
                IdentityKind::AwsRoot,
                Cow::Borrowed("root"),
                ClassReason::RootUser,
                None,
            )
        }
        Some("FederatedUser") => {
            let key = arn.ok_or(ParseError::MissingActor(SRC))?;
            let session = key.rsplit('/').next().map(|s| Cow::Owned(s.to_owned()));
            let name = cow(issuer.user_name).unwrap_or_else(|| session.clone().unwrap_or_default());
            let reason = if session.as_deref().is_some_and(|s| s.contains('@')) {
                ClassReason::EmailSessionName
            } else {
                hints.reason().unwrap_or(ClassReason::FederatedSession)
            };
            mk(key, IdentityKind::AwsFederatedUser, name, reason, session)
        }
        Some("SAMLUser") | Some("WebIdentityUser") => {
            let saml = kind.as_deref() == Some("SAMLUser");
            let provider = cow(ui.identity_provider).unwrap_or(Cow::Borrowed("unknown"));
            let user = cow(ui.user_name)
                .or_else(|| cow(ui.principal_id.clone()))
                .ok_or(ParseError::MissingActor(SRC))?;
            let key = Cow::Owned(format!(
                "aws:{}:{provider}:{user}",
                if saml { "saml" } else { "web_identity" }
            ));
            let reason = if saml || user.contains('@') {
                ClassReason::SamlUser
            } else {
                ClassReason::WebIdentity
            };
            mk(key, IdentityKind::AwsFederatedUser, user, reason, None)
        }
        Some("AWSService") => {
            let svc = invoked_by.clone().ok_or(ParseError::MissingActor(SRC))?;
            let key = Cow::Owned(format!("aws:service:{svc}"));
            mk(
                key,
                IdentityKind::AwsService,
                svc,
                ClassReason::AwsServicePrincipal,
                None,
            )
        }
        Some("AWSAccount") => {
            let who = cow(ui.principal_id)
                .or_else(|| account.clone())
                .ok_or(ParseError::MissingActor(SRC))?;
            let key = Cow::Owned(format!("aws:account:{who}"));
            mk(
                key,
                IdentityKind::AwsAccount,
                who,
                ClassReason::CrossAccountPrincipal,
                None,
            )
        }
        _ => {
            // IdentityCenterUser, Unknown and future types: keep the ARN or principal id.
            let key = arn
                .or_else(|| cow(ui.principal_id))
                .ok_or(ParseError::MissingActor(SRC))?;
            let name = cow(ui.user_name).unwrap_or_else(|| key.clone());
            let reason = hints.reason().unwrap_or(ClassReason::AccessKeyUser);
            mk(key, IdentityKind::AwsIamUser, name, reason, None)
        }
    };
    // A service acting for the identity: mark it, unless the identity is the service itself.
    let on_behalf = if id.kind == IdentityKind::AwsService {
        None
    } else {
        invoked_by
    };
    Ok((id, on_behalf))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FederationRequest<'a> {
    #[serde(borrow, default)]
    role_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    role_session_name: Option<Cow<'a, str>>,
}

/// An AssumeRoleWithWebIdentity / WithSAML call is made by the federated subject on behalf of the
/// role it assumes: the identity becomes that role (whose baseline learns which issuers and
/// subjects assume it), and the issuer and subject are returned as the federation source.
fn federate<'a>(id: &mut Identity<'a>, req: Option<&'a RawValue>) -> Option<Cow<'a, str>> {
    // The key is `aws:web_identity:PROVIDER:SUBJECT` (or `aws:saml:...`).
    let full = id
        .key
        .strip_prefix("aws:web_identity:")
        .or_else(|| id.key.strip_prefix("aws:saml:"))
        .unwrap_or(&id.key);
    // A CI subject names the repository and then the branch, environment or pull request: the
    // repository is what the trust is about (new branches are not new issuers).
    let cut = [
        ":ref:",
        ":pull_request",
        ":environment:",
        ":job_workflow_ref:",
    ]
    .iter()
    .filter_map(|m| full.find(m))
    .min()
    .unwrap_or(full.len());
    let from = full[..cut].to_owned();
    let Some(r) = req.and_then(|r| serde_json::from_str::<FederationRequest<'a>>(r.get()).ok())
    else {
        return Some(Cow::Owned(from));
    };
    if let Some(role) = r.role_arn.filter(|a| a.contains(":role/")) {
        let name = role.rsplit('/').next().unwrap_or("").to_owned();
        id.key = role;
        id.kind = IdentityKind::AwsRole;
        id.name = Cow::Owned(name);
        if let Some(s) = r.role_session_name {
            id.session = Some(s);
        }
    }
    Some(Cow::Owned(from))
}

/// A sub-slice of a borrowed string stays borrowed; of an owned one, it is copied.
fn project<'a>(c: &Cow<'a, str>, sub: &str) -> Cow<'a, str> {
    match c {
        Cow::Borrowed(s) => {
            let start = sub.as_ptr() as usize - s.as_ptr() as usize;
            Cow::Borrowed(&s[start..start + sub.len()])
        }
        Cow::Owned(_) => Cow::Owned(sub.to_owned()),
    }
}

/// `arn:aws:sts::123:assumed-role/Role/Session` -> (`Role`, Some(`Session`)).
fn split_assumed_role(arn: &str) -> (&str, Option<&str>) {
    let rest = arn.split_once(":assumed-role/").map(|x| x.1).unwrap_or("");
    match rest.split_once('/') {
        Some((role, session)) => (role, Some(session)),
        None => (rest, None),
    }
}

/// Rebuilds the IAM role ARN from an assumed-role session ARN (the role path is not in it).
fn role_arn_from_session_arn(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, partition, _, _, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let (role, _) = split_assumed_role(arn);
    (!role.is_empty()).then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_in_any_shape() {
        let base = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"X","eventSource":"s3.amazonaws.com","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},"resources":RES}"#;
        let cases = [
            (
                r#"[{"ARN":"arn:a","type":"T"},{"accountId":"1"},{"ARN":"arn:b"}]"#,
                vec!["arn:a", "arn:b"],
            ),
            (r#"["{'arn': 'x'}", 3, null, [1]]"#, vec![]),
            (r#""[{'ARN': 'x'}]""#, vec![]),
            (r#"null"#, vec![]),
            (r#"{"ARN":"arn:a"}"#, vec![]),
        ];
        for (res, want) in cases {
            let raw = base.replace("RES", res);
            let ev = parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{res}: {e}"));
            let got: Vec<&str> = ev.resources.iter().map(|r| r.as_ref()).collect();
            assert_eq!(got, want, "{res}");
        }
    }

    #[test]
    fn console_login_failure_is_a_failure() {
        let raw = br#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},"responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication"}"#;
        let ev = parse(raw).unwrap();
        assert_eq!(ev.outcome, Outcome::Failure);
        assert_eq!(ev.identity.reason, ClassReason::ConsoleLogin);
        let ok = String::from_utf8_lossy(raw).replace("Failure", "Success");
        assert_eq!(parse(ok.as_bytes()).unwrap().outcome, Outcome::Success);
        let odd =
            String::from_utf8_lossy(raw).replace(r#"{"ConsoleLogin":"Failure"}"#, r#""text""#);
        assert_eq!(parse(odd.as_bytes()).unwrap().outcome, Outcome::Success);
    }

    #[test]
    fn browser_user_agent_does_not_make_a_role_session_human() {
        let raw = br#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"GetCallerIdentity","eventSource":"sts.amazonaws.com","userAgent":"Mozilla/5.0 (X11; Linux x86_64)","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/i-0123456789abcdef0","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/r","userName":"r"}}}}"#;
        assert_eq!(
            parse(raw).unwrap().identity.reason,
            ClassReason::RoleSession
        );
        let user = String::from_utf8_lossy(raw).replace(
            r#""type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/i-0123456789abcdef0""#,
            r#""type":"IAMUser","arn":"arn:aws:iam::1:user/u""#,
        );
        assert_eq!(
            parse(user.as_bytes()).unwrap().identity.reason,
            ClassReason::BrowserUserAgent
        );
    }

    #[test]
    fn implausible_times_are_bad_times() {
        for t in [
            "\"0001-01-01T00:00:00Z\"",
            "\"2999-01-01T00:00:00Z\"",
            "1e300",
            "99999999999999999999",
        ] {
            let raw = format!(
                r#"{{"eventTime":{t},"eventName":"X","eventSource":"s3.amazonaws.com","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}}}}"#
            );
            let e = parse(raw.as_bytes())
                .err()
                .unwrap_or_else(|| panic!("{t} accepted"));
            assert_eq!(e.reason(), "bad_time", "{t}");
        }
    }

    #[test]
    fn role_arns() {
        let s = "arn:aws:sts::123456789012:assumed-role/my-role/i-0abc";
        assert_eq!(split_assumed_role(s), ("my-role", Some("i-0abc")));
        assert_eq!(
            role_arn_from_session_arn(s).as_deref(),
            Some("arn:aws:iam::123456789012:role/my-role")
        );
        assert_eq!(
            role_arn_from_session_arn("arn:aws-cn:sts::1:assumed-role/r/s").as_deref(),
            Some("arn:aws-cn:iam::1:role/r")
        );
    }
}
