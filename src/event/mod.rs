//! The normalised event model every parser produces and every detector reads.
//!
//! An [`AuditEvent`] borrows its strings from the raw record bytes wherever the JSON has no escapes,
//! so parsing a record allocates little. Fields that come from enrichment (GeoIP, user-agent family)
//! are filled in by [`crate::enrich`] after parsing.

pub mod abused;
pub mod classify;
pub mod logging;
pub mod policy;
pub mod useragent;

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::geo::GeoInfo;

/// Which audit log a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// AWS CloudTrail management and data events.
    Cloudtrail,
    /// Azure Activity Log (diagnostic settings / Event Hub shape or REST shape).
    AzureActivity,
    /// Okta System Log.
    Okta,
    /// GitHub enterprise / organisation audit log (streaming or REST shape).
    GithubAudit,
}

impl SourceKind {
    /// All sources, in detection order.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Cloudtrail,
        SourceKind::AzureActivity,
        SourceKind::Okta,
        SourceKind::GithubAudit,
    ];

    /// Stable name used in rules, metrics and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Cloudtrail => "cloudtrail",
            SourceKind::AzureActivity => "azure_activity",
            SourceKind::Okta => "okta",
            SourceKind::GithubAudit => "github_audit",
        }
    }

    /// Cloud or SaaS provider of the source (OCSF `cloud.provider`).
    pub fn provider(self) -> &'static str {
        match self {
            SourceKind::Cloudtrail => "aws",
            SourceKind::AzureActivity => "azure",
            SourceKind::Okta => "okta",
            SourceKind::GithubAudit => "github",
        }
    }

    /// Parses a source name as written in rule files and config.
    pub fn from_name(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What sort of principal an identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An IAM role, reached through assumed-role sessions.
    AwsRole,
    /// An IAM user (long-lived access keys or console password).
    AwsIamUser,
    /// The AWS account root user.
    AwsRoot,
    /// An STS federated user (GetFederationToken).
    AwsFederatedUser,
    /// An AWS service principal acting on its own (e.g. `ec2.amazonaws.com`).
    AwsService,
    /// Another AWS account (cross-account access without a role ARN).
    AwsAccount,
    /// An Entra ID service principal (application identity).
    AzureServicePrincipal,
    /// An Azure managed identity.
    AzureManagedIdentity,
    /// An Entra ID user.
    AzureUser,
    /// An Okta OAuth client application.
    OktaClientApp,
    /// An Okta user.
    OktaUser,
    /// Okta itself (system principal) or another non-user actor.
    OktaSystem,
    /// A GitHub user account.
    GithubUser,
    /// A GitHub App or bot account.
    GithubApp,
}

impl IdentityKind {
    /// Stable snake_case name used in rules and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::AwsRole => "aws_role",
            IdentityKind::AwsIamUser => "aws_iam_user",
            IdentityKind::AwsRoot => "aws_root",
            IdentityKind::AwsFederatedUser => "aws_federated_user",
            IdentityKind::AwsService => "aws_service",
            IdentityKind::AwsAccount => "aws_account",
            IdentityKind::AzureServicePrincipal => "azure_service_principal",
            IdentityKind::AzureManagedIdentity => "azure_managed_identity",
            IdentityKind::AzureUser => "azure_user",
            IdentityKind::OktaClientApp => "okta_client_app",
            IdentityKind::OktaUser => "okta_user",
            IdentityKind::OktaSystem => "okta_system",
            IdentityKind::GithubUser => "github_user",
            IdentityKind::GithubApp => "github_app",
        }
    }

    /// True for principals that belong to the platform itself rather than to the customer
    /// (AWS service principals, Okta system). NHI rules skip them by default.
    pub fn is_platform(self) -> bool {
        matches!(self, IdentityKind::AwsService | IdentityKind::OktaSystem)
    }
}

/// Human or machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityClass {
    /// A person (evidence in [`ClassReason`]).
    Human,
    /// A workload, service or automation.
    NonHuman,
}

impl IdentityClass {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityClass::Human => "human",
            IdentityClass::NonHuman => "non_human",
        }
    }
}

/// Why an identity was classed as it was. Human reasons are evidence of a person; non-human
/// reasons say what kind of workload identity it is (the default when no person is in evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassReason {
    // Human evidence.
    /// Console sign-in event.
    ConsoleLogin,
    /// Session credentials issued to the AWS console.
    ConsoleSession,
    /// MFA was used for the session.
    MfaAuthenticated,
    /// An IAM Identity Center (SSO) reserved role (`AWSReservedSSO_*`).
    SsoReservedRole,
    /// The session's `sourceIdentity` is an e-mail address.
    EmailSourceIdentity,
    /// The role session name is an e-mail address.
    EmailSessionName,
    /// The client is a web browser.
    BrowserUserAgent,
    /// An Entra ID user principal (UPN / user token).
    AzureUserPrincipal,
    /// An Okta user actor.
    OktaUserActor,
    /// A GitHub user acting without programmatic access (web or SSH session).
    GithubUserInteractive,
    /// The AWS root user (a person holds its password).
    RootUser,
    /// An AWS SAML-federated user (a person signed in at the IdP).
    SamlUser,
    // Non-human.
    /// An IAM role session with no evidence of a person.
    RoleSession,
    /// An IAM user (access key) with no evidence of a person.
    AccessKeyUser,
    /// STS federated user with no evidence of a person.
    FederatedSession,
    /// An OIDC web-identity federated workload (CI/CD, Kubernetes service account).
    WebIdentity,
    /// An Okta user acting through an API token.
    OktaApiToken,
    /// An AWS service principal.
    AwsServicePrincipal,
    /// Another AWS account's principal.
    CrossAccountPrincipal,
    /// An Entra ID service principal (app-only token).
    ServicePrincipal,
    /// An Azure managed identity.
    ManagedIdentity,
    /// A shared key or SAS token (e.g. a storage account key) used directly.
    SharedKey,
    /// An Okta OAuth client application.
    OktaClientApp,
    /// Okta's own system principal.
    OktaSystemPrincipal,
    /// A GitHub App / bot account.
    GithubBot,
    /// A GitHub actor using a token (PAT, OAuth, App, deploy key).
    GithubProgrammaticAccess,
}

impl ClassReason {
    /// Stable snake_case name used in alerts and the identity table.
    pub fn as_str(self) -> &'static str {
        match self {
            ClassReason::ConsoleLogin => "console_login",
            ClassReason::ConsoleSession => "console_session",
            ClassReason::MfaAuthenticated => "mfa_authenticated",
            ClassReason::SsoReservedRole => "sso_reserved_role",
            ClassReason::EmailSourceIdentity => "email_source_identity",
            ClassReason::EmailSessionName => "email_session_name",
            ClassReason::BrowserUserAgent => "browser_user_agent",
            ClassReason::AzureUserPrincipal => "azure_user_principal",
            ClassReason::OktaUserActor => "okta_user_actor",
            ClassReason::GithubUserInteractive => "github_user_interactive",
            ClassReason::RootUser => "root_user",
            ClassReason::SamlUser => "saml_user",
            ClassReason::WebIdentity => "web_identity",
            ClassReason::OktaApiToken => "okta_api_token",
            ClassReason::RoleSession => "role_session",
            ClassReason::AccessKeyUser => "access_key_user",
            ClassReason::FederatedSession => "federated_session",
            ClassReason::AwsServicePrincipal => "aws_service_principal",
            ClassReason::CrossAccountPrincipal => "cross_account_principal",
            ClassReason::ServicePrincipal => "service_principal",
            ClassReason::ManagedIdentity => "managed_identity",
            ClassReason::SharedKey => "shared_key",
            ClassReason::OktaClientApp => "okta_client_app",
            ClassReason::OktaSystemPrincipal => "okta_system_principal",
            ClassReason::GithubBot => "github_bot",
            ClassReason::GithubProgrammaticAccess => "github_programmatic_access",
        }
    }

    /// True for evidence of a person that a caller cannot simply claim (console sessions, MFA,
    /// SSO roles, identity-provider facts). Only strong evidence makes an identity human for good;
    /// a browser user agent is attacker-controlled and counts for its own event only.
    pub fn is_strong_human_evidence(self) -> bool {
        self.class() == IdentityClass::Human && self != ClassReason::BrowserUserAgent
    }

    /// The class this reason implies.
    pub fn class(self) -> IdentityClass {
        use ClassReason::*;
        match self {
            ConsoleLogin
            | ConsoleSession
            | MfaAuthenticated
            | SsoReservedRole
            | EmailSourceIdentity
            | EmailSessionName
            | BrowserUserAgent
            | AzureUserPrincipal
            | OktaUserActor
            | GithubUserInteractive
            | RootUser
            | SamlUser => IdentityClass::Human,
            _ => IdentityClass::NonHuman,
        }
    }
}

/// The principal behind an event.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    /// Stable identity key (see CONTRACTS.md: role ARN, user ARN, `azure:TENANT:APPID`, ...).
    pub key: Cow<'a, str>,
    /// Principal kind.
    pub kind: IdentityKind,
    /// Display name (role or user name, app name, actor login).
    pub name: Cow<'a, str>,
    /// Reason for the class (the class itself is [`ClassReason::class`]).
    pub reason: ClassReason,
    /// The credential to revoke: access key id, app id, OAuth client id, token id.
    pub credential: Option<Cow<'a, str>>,
    /// Role session name (AWS), or another per-credential session marker.
    pub session: Option<Cow<'a, str>>,
    /// When the session's credentials were issued (epoch ms), where the source says.
    pub session_created_ms: Option<i64>,
    /// The platform's own id of the principal: AWS `principalId`, Entra object id, Okta actor
    /// id, GitHub `actor_id`.
    pub principal_id: Option<Cow<'a, str>>,
    /// AWS account id, Azure tenant id, Okta org, GitHub organisation.
    pub account: Option<Cow<'a, str>>,
}

impl Identity<'_> {
    /// Human or non-human, from the reason.
    pub fn class(&self) -> IdentityClass {
        self.reason.class()
    }

    /// True if the session name looks like an EC2 instance id (`i-` followed by hex): the
    /// credentials of an instance profile.
    pub fn is_instance_session(&self) -> bool {
        self.session.as_deref().is_some_and(is_instance_id)
    }
}

/// `i-` followed by 8 or 17 hex digits.
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17) && h.bytes().all(|c| c.is_ascii_hexdigit())
    })
}

/// Success or failure of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed (denied, error).
    Failure,
    /// The source did not say.
    Unknown,
}

impl Outcome {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

/// Location the event itself reports (Okta, GitHub), used when GeoIP has none.
#[derive(Debug, Clone, Default)]
pub struct EventGeo<'a> {
    /// ISO 3166 alpha-2 country code, or a country name if that is all the source gives.
    pub country: Option<Cow<'a, str>>,
    /// City name.
    pub city: Option<Cow<'a, str>>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// One normalised audit event.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// Which log the record came from.
    pub source: SourceKind,
    /// Event time, epoch milliseconds UTC.
    pub time_ms: i64,
    /// The record's own id (eventID, correlationId/eventDataId, uuid, `_document_id`).
    pub record_id: Option<Cow<'a, str>>,
    /// The principal.
    pub identity: Identity<'a>,
    /// Service part of the action (`iam`, `microsoft.keyvault`, `okta`, `github`).
    pub service: Cow<'a, str>,
    /// Operation part of the action (`CreateAccessKey`, `vaults/secrets/read`, ...).
    pub operation: Cow<'a, str>,
    /// Resources named by the record (ARNs, resource ids, repositories).
    pub resources: Vec<Cow<'a, str>>,
    /// Caller IP address, when the source field holds one.
    pub src_ip: Option<IpAddr>,
    /// Caller as written when it is not an IP (e.g. `kms.amazonaws.com`).
    pub src_host: Option<Cow<'a, str>>,
    /// Raw user agent.
    pub user_agent: Cow<'a, str>,
    /// Normalised client family (`boto3`, `terraform`, `browser`), filled by enrichment.
    pub ua_family: Option<Arc<str>>,
    /// Outcome.
    pub outcome: Outcome,
    /// Error code for failures (`AccessDenied`, `403`, ...).
    pub error_code: Option<Cow<'a, str>>,
    /// Region / location of the call.
    pub region: Option<Cow<'a, str>>,
    /// The AWS service that made the call on the identity's behalf (`invokedBy`).
    pub invoked_by: Option<Cow<'a, str>>,
    /// Read-only call, where the source says.
    pub read_only: Option<bool>,
    /// Location reported by the event itself.
    pub event_geo: Option<EventGeo<'a>>,
    /// GeoIP result for `src_ip`, filled by enrichment.
    pub geo: Option<Arc<GeoInfo>>,
    /// Request parameters as raw JSON, for evidence.
    pub request: Option<&'a RawValue>,
    /// The raw response (CloudTrail `responseElements`): read only for the few calls whose
    /// answer matters to detection (the access key `CreateAccessKey` minted).
    pub response: Option<&'a RawValue>,
    /// Action classes, filled by enrichment ([`classify::classify`]).
    pub classes: classify::ActionClasses,
    /// The resource a sensitive call names (secret, parameter, user, role), filled by enrichment.
    pub target: Option<Cow<'a, str>>,
    /// For federation calls (AssumeRoleWithWebIdentity / WithSAML): the issuer and subject the
    /// role was assumed from (`ISSUER SUBJECT`).
    pub federation: Option<Cow<'a, str>>,
    /// The identity's owner of record, filled by the pipeline when an inventory is loaded.
    pub inventory: InventoryMatch,
    /// The whole raw record.
    pub raw: &'a [u8],
}

/// What the NHI inventory says about an event's identity.
#[derive(Debug, Clone, Default)]
pub enum InventoryMatch {
    /// No inventory is loaded: ownership is unknown (rules on `inventory.*` do not match).
    #[default]
    NotLoaded,
    /// An inventory is loaded and has no entry for the identity.
    Unowned,
    /// The identity's entry.
    Owned(Arc<crate::inventory::Entry>),
}

impl InventoryMatch {
    /// `owned` / `unowned`, or None without an inventory.
    pub fn status(&self) -> Option<&'static str> {
        match self {
            InventoryMatch::NotLoaded => None,
            InventoryMatch::Unowned => Some("unowned"),
            InventoryMatch::Owned(_) => Some("owned"),
        }
    }

    /// The entry, if owned.
    pub fn entry(&self) -> Option<&crate::inventory::Entry> {
        match self {
            InventoryMatch::Owned(e) => Some(e),
            _ => None,
        }
    }
}

impl AuditEvent<'_> {
    /// The client family, or `""` before enrichment.
    pub fn client(&self) -> &str {
        self.ua_family.as_deref().unwrap_or("")
    }

    /// `service:Operation` (allocates: for alerts and explanations, not the hot path).
    pub fn action(&self) -> String {
        let mut s = String::with_capacity(self.service.len() + 1 + self.operation.len());
        s.push_str(&self.service);
        s.push(':');
        s.push_str(&self.operation);
        s
    }

    /// True when an AWS service made the call on the identity's behalf, so the source address
    /// and client are the service's, not the identity holder's.
    pub fn via_cloud_service(&self) -> bool {
        self.invoked_by.is_some()
            || self
                .src_host
                .as_deref()
                .is_some_and(|h| h.ends_with(".amazonaws.com") || h == "AWS Internal")
    }

    /// The caller's network: /24 for IPv4, /48 for IPv6, as a comparable key.
    pub fn network_key(&self) -> Option<u128> {
        self.src_ip.map(network_key)
    }
}

/// Network key of an address: IPv4 /24 or IPv6 /48 (IPv4-mapped IPv6 counts as IPv4).
pub fn network_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) & 0xffff_ff00) as u128,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4) & 0xffff_ff00) as u128,
            // The low 80 bits of a /48 are zero: bit 0 marks the key as IPv6.
            None => (u128::from(v6) & !((1u128 << 80) - 1)) | 1,
        },
    }
}

/// Renders a network key back to CIDR text.
pub fn network_to_string(key: u128) -> String {
    if key & 1 == 1 {
        let v6 = std::net::Ipv6Addr::from(key & !1);
        format!("{v6}/48")
    } else {
        let v4 = std::net::Ipv4Addr::from(key as u32);
        format!("{v4}/24")
    }
}

impl AuditEvent<'_> {
    /// The normalised event as JSON (for `nhid parse`, golden tests and debugging; not used on
    /// the hot path).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source.as_str(),
            "time": crate::time::format_rfc3339_ms(self.time_ms),
            "time_ms": self.time_ms,
            "record_id": self.record_id.as_deref(),
            "identity": {
                "key": self.identity.key.as_ref(),
                "kind": self.identity.kind.as_str(),
                "name": self.identity.name.as_ref(),
                "class": self.identity.class().as_str(),
                "reason": self.identity.reason.as_str(),
                "credential": self.identity.credential.as_deref(),
                "session": self.identity.session.as_deref(),
                "session_created": self.identity.session_created_ms.map(crate::time::format_rfc3339_ms),
                "principal_id": self.identity.principal_id.as_deref(),
                "account": self.identity.account.as_deref(),
            },
            "action": self.action(),
            "resources": self.resources.iter().map(|r| r.as_ref()).collect::<Vec<_>>(),
            "src_ip": self.src_ip.map(|i| i.to_string()),
            "src_host": self.src_host.as_deref(),
            "user_agent": self.user_agent.as_ref(),
            "client": self.ua_family.as_deref(),
            "outcome": self.outcome.as_str(),
            "error_code": self.error_code.as_deref(),
            "region": self.region.as_deref(),
            "invoked_by": self.invoked_by.as_deref(),
            "read_only": self.read_only,
            "classes": self.classes.names(),
            "target": self.target.as_deref(),
            "federation": self.federation.as_deref(),
            "geo": self.geo.as_deref(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let a: IpAddr = "3.225.16.109".parse().unwrap();
        let b: IpAddr = "3.225.16.7".parse().unwrap();
        let c: IpAddr = "3.225.17.7".parse().unwrap();
        assert_eq!(network_key(a), network_key(b));
        assert_ne!(network_key(a), network_key(c));
        assert_eq!(network_to_string(network_key(a)), "3.225.16.0/24");
        let m: IpAddr = "::ffff:3.225.16.1".parse().unwrap();
        assert_eq!(network_key(m), network_key(a));
        let v6: IpAddr = "2600:1f00:1234:5678::1".parse().unwrap();
        assert_eq!(network_to_string(network_key(v6)), "2600:1f00:1234::/48");
    }

    #[test]
    fn instance_ids() {
        assert!(is_instance_id("i-0dbc91f429e48eeed"));
        assert!(is_instance_id("i-1234abcd"));
        assert!(!is_instance_id("i-am-a-session"));
        assert!(!is_instance_id("botocore-session-1"));
    }
}
