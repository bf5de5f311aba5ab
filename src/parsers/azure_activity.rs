//! Azure Activity Log records, in both shapes nhid meets:
//! - diagnostic settings / Event Hub (`{"records":[...]}` elements): `time`, `operationName` as a
//!   string, `identity.claims`, `identity.authorization.evidence`, `callerIpAddress`;
//! - the REST / Activity Log API shape: `eventTimestamp`, `operationName.value`, `caller`, `claims`,
//!   `httpRequest.clientIpAddress`, `status.value`.
//!
//! Identity: service principals and managed identities by application id (`azure:TENANT:APPID`,
//! with the object id kept), users by object id or UPN. The action is the lowercased resource
//! provider and operation: `microsoft.keyvault:vaults/secrets/read`.

use std::borrow::Cow;

use serde::Deserialize;

use super::flex::{cow, FlexStr, FlexTime};
use super::ParseError;
use crate::event::{AuditEvent, ClassReason, Identity, IdentityKind, Outcome, SourceKind};

const SRC: SourceKind = SourceKind::AzureActivity;

#[derive(Deserialize)]
#[serde(untagged)]
enum OperationName<'a> {
    Text(#[serde(borrow)] FlexStr<'a>),
    Object {
        #[serde(borrow)]
        value: FlexStr<'a>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StatusField<'a> {
    Text(#[serde(borrow)] FlexStr<'a>),
    Object {
        #[serde(borrow, default)]
        value: Option<FlexStr<'a>>,
    },
}

impl<'a> StatusField<'a> {
    fn value(self) -> Option<Cow<'a, str>> {
        match self {
            StatusField::Text(s) => Some(s.0),
            StatusField::Object { value } => cow(value),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow, default)]
    time: Option<FlexTime<'a>>,
    #[serde(borrow, default)]
    event_timestamp: Option<FlexTime<'a>>,
    #[serde(borrow, default)]
    operation_name: Option<OperationName<'a>>,
    #[serde(borrow, default)]
    resource_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    result_type: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    result_signature: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    status: Option<StatusField<'a>>,
    #[serde(borrow, default)]
    sub_status: Option<StatusField<'a>>,
    #[serde(borrow, default)]
    caller_ip_address: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    http_request: Option<HttpRequest<'a>>,
    #[serde(borrow, default)]
    event_data_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    tenant_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    location: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    caller: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    identity: Option<IdentityBlock<'a>>,
    #[serde(borrow, default)]
    claims: Option<Claims<'a>>,
    #[serde(borrow, default)]
    authorization: Option<Authorization<'a>>,
    #[serde(borrow, default)]
    properties: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct HttpRequest<'a> {
    #[serde(borrow, default)]
    client_ip_address: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IdentityBlock<'a> {
    #[serde(borrow, default)]
    claims: Option<Claims<'a>>,
    #[serde(borrow, default)]
    authorization: Option<Authorization<'a>>,
    /// Resource logs (e.g. storage): `AccountKey`, `SAS`, `OAuth`, `Anonymous`.
    #[serde(borrow, default, rename = "type")]
    kind: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    token_hash: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    requester: Option<Requester<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Requester<'a> {
    #[serde(borrow, default)]
    app_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    object_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    tenant_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    upn: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
struct Authorization<'a> {
    #[serde(borrow, default)]
    evidence: Option<Evidence<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Evidence<'a> {
    #[serde(borrow, default)]
    principal_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    principal_type: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
struct Claims<'a> {
    #[serde(borrow, default, alias = "azp")]
    appid: Option<FlexStr<'a>>,
    #[serde(
        borrow,
        default,
        rename = "http://schemas.microsoft.com/identity/claims/objectidentifier",
        alias = "oid"
    )]
    oid: Option<FlexStr<'a>>,
    #[serde(
        borrow,
        default,
        rename = "http://schemas.microsoft.com/identity/claims/tenantid",
        alias = "tid"
    )]
    tid: Option<FlexStr<'a>>,
    #[serde(
        borrow,
        default,
        rename = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
        alias = "upn"
    )]
    upn: Option<FlexStr<'a>>,
    #[serde(
        borrow,
        default,
        rename = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        alias = "email"
    )]
    email: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    name: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    idtyp: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    xms_mirid: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    ipaddr: Option<FlexStr<'a>>,
}

/// Lowercases only when needed.
fn lower(c: Cow<'_, str>) -> Cow<'_, str> {
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(c.to_ascii_lowercase())
    } else {
        c
    }
}

/// Parses one Azure Activity Log record.
pub fn parse(raw: &[u8]) -> Result<AuditEvent<'_>, ParseError> {
    let r: Record = serde_json::from_slice(raw).map_err(|e| ParseError::from_json(SRC, e))?;
    let time = r
        .time
        .as_ref()
        .or(r.event_timestamp.as_ref())
        .ok_or(ParseError::MissingTime(SRC))?;
    let time_ms = time
        .to_ms()
        .map_err(|value| ParseError::BadTime { src: SRC, value })?;
    let op = match r.operation_name {
        Some(OperationName::Text(s)) | Some(OperationName::Object { value: s }) => s.0,
        None => return Err(ParseError::MissingAction(SRC)),
    };
    if op.is_empty() {
        return Err(ParseError::MissingAction(SRC));
    }
    let op = lower(op);
    let (service, operation) = match &op {
        Cow::Borrowed(s) => match s.split_once('/') {
            Some((a, b)) => (Cow::Borrowed(a), Cow::Borrowed(b)),
            None => (Cow::Borrowed("azure"), Cow::Borrowed(*s)),
        },
        Cow::Owned(s) => match s.split_once('/') {
            Some((a, b)) => (Cow::Owned(a.to_owned()), Cow::Owned(b.to_owned())),
            None => (Cow::Borrowed("azure"), Cow::Owned(s.clone())),
        },
    };

    let (id_claims, id_auth, shared_key) = match r.identity {
        Some(b) => {
            let kind = cow(b.kind);
            let claims = b.claims.or_else(|| {
                b.requester.map(|q| Claims {
                    appid: q.app_id,
                    oid: q.object_id,
                    tid: q.tenant_id,
                    upn: q.upn,
                    ..Claims::default()
                })
            });
            let shared = match kind.as_deref() {
                Some("AccountKey" | "SAS") if claims.is_none() => {
                    Some((kind.unwrap_or_default(), cow(b.token_hash)))
                }
                _ => None,
            };
            (claims, b.authorization, shared)
        }
        None => (None, None, None),
    };
    let claims = id_claims.or(r.claims).unwrap_or_default();
    let evidence = id_auth
        .or(r.authorization)
        .and_then(|a| a.evidence)
        .unwrap_or_default();
    let tenant = cow(claims.tid.clone())
        .or_else(|| cow(r.tenant_id.clone()))
        .unwrap_or(Cow::Borrowed("unknown"));
    let resource_id = cow(r.resource_id);
    let identity = match shared_key {
        Some((kind, token)) => shared_key_identity(kind, token, resource_id.as_deref(), tenant)?,
        None => resolve_identity(claims.clone_refs(), evidence, cow(r.caller), tenant)?,
    };

    let ip_text = cow(r.caller_ip_address)
        .or_else(|| r.http_request.and_then(|h| cow(h.client_ip_address)))
        .or_else(|| cow(claims.ipaddr));
    let (src_ip, src_host) = super::split_source(ip_text);
    let status = cow(r.result_type).or_else(|| r.status.and_then(StatusField::value));
    let outcome = match status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        // Start / Accepted records precede the final Success or Failure of the same operation.
        Some("success" | "succeeded" | "active") => Outcome::Success,
        Some("failure" | "failed" | "fail") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let error_code = if outcome == Outcome::Failure {
        r.sub_status
            .and_then(StatusField::value)
            .filter(|s| !s.is_empty())
            .or_else(|| cow(r.result_signature))
    } else {
        None
    };
    let resources = resource_id.into_iter().collect();
    Ok(AuditEvent {
        source: SRC,
        time_ms,
        // correlationId is shared by the Start and Success records of one operation, so it is
        // not a record id: without eventDataId the raw bytes identify the record (alert uid).
        record_id: cow(r.event_data_id),
        identity,
        service,
        operation,
        resources,
        src_ip,
        src_host,
        user_agent: Cow::Borrowed(""),
        ua_family: None,
        outcome,
        error_code,
        region: cow(r.location),
        invoked_by: None,
        read_only: None,
        event_geo: None,
        geo: None,
        request: r.properties,
        response: None,
        classes: Default::default(),
        target: None,
        federation: None,
        inventory: Default::default(),
        raw,
    })
}

impl<'a> Claims<'a> {
    fn clone_refs(&self) -> Claims<'a> {
        Claims {
            appid: self.appid.clone(),
            oid: self.oid.clone(),
            tid: self.tid.clone(),
            upn: self.upn.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            idtyp: self.idtyp.clone(),
            xms_mirid: self.xms_mirid.clone(),
            ipaddr: None,
        }
    }
}

/// A storage account key or SAS token used directly: the key is the non-human identity.
fn shared_key_identity<'a>(
    kind: Cow<'a, str>,
    token: Option<Cow<'a, str>>,
    resource_id: Option<&str>,
    tenant: Cow<'a, str>,
) -> Result<Identity<'a>, ParseError> {
    // .../providers/Microsoft.Storage/storageAccounts/NAME/...
    let account = resource_id
        .and_then(|r| {
            let low = r.to_ascii_lowercase();
            low.find("/storageaccounts/").map(|i| {
                r[i + "/storageaccounts/".len()..]
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
        })
        .filter(|a| !a.is_empty())
        .ok_or(ParseError::MissingActor(SRC))?;
    // tokenHash "key1(HASH)": the key name is the credential.
    let key_name = token
        .as_deref()
        .map(|t| t.split('(').next().unwrap_or(t).to_string())
        .filter(|k| !k.is_empty());
    Ok(Identity {
        key: Cow::Owned(format!("azure:{tenant}:storage/{account}/{kind}")),
        kind: IdentityKind::AzureServicePrincipal,
        name: Cow::Owned(format!("{account} {kind}")),
        reason: ClassReason::SharedKey,
        credential: key_name.map(Cow::Owned).or(token),
        session: None,
        session_created_ms: None,
        principal_id: None,
        account: Some(tenant),
    })
}

fn resolve_identity<'a>(
    claims: Claims<'a>,
    evidence: Evidence<'a>,
    caller: Option<Cow<'a, str>>,
    tenant: Cow<'a, str>,
) -> Result<Identity<'a>, ParseError> {
    let appid = cow(claims.appid).filter(|s| !s.is_empty());
    let oid = cow(claims.oid)
        .or_else(|| cow(evidence.principal_id))
        .filter(|s| !s.is_empty());
    let upn = cow(claims.upn).filter(|s| !s.is_empty());
    let principal_type = cow(evidence.principal_type);
    let idtyp = cow(claims.idtyp);
    let mirid = cow(claims.xms_mirid);
    let display = cow(claims.name);
    let user_like = upn.is_some()
        || display.as_deref().is_some_and(|n| n.contains('@'))
        || idtyp.as_deref() == Some("user")
        || principal_type.as_deref() == Some("User");
    let object_id = oid.clone();
    let id = |key: String, kind, name: Cow<'a, str>, reason, credential: Option<Cow<'a, str>>| {
        Identity {
            key: Cow::Owned(key),
            kind,
            name,
            reason,
            credential,
            session: None,
            session_created_ms: None,
            principal_id: object_id.clone(),
            account: Some(tenant.clone()),
        }
    };
    if let (Some(mirid), Some(app)) = (&mirid, &appid) {
        let name = mirid.rsplit('/').next().unwrap_or(mirid).to_owned();
        return Ok(id(
            format!("azure:{tenant}:{app}"),
            IdentityKind::AzureManagedIdentity,
            Cow::Owned(name),
            ClassReason::ManagedIdentity,
            Some(app.clone()),
        ));
    }
    if user_like {
        let who = oid
            .clone()
            .or_else(|| upn.clone())
            .or_else(|| caller.clone())
            .or_else(|| display.clone())
            .ok_or(ParseError::MissingActor(SRC))?;
        let name = upn.or(display).unwrap_or_else(|| who.clone());
        return Ok(id(
            format!("azure:{tenant}:{who}"),
            IdentityKind::AzureUser,
            name,
            ClassReason::AzureUserPrincipal,
            None,
        ));
    }
    if let Some(app) = appid {
        let name = display.unwrap_or_else(|| app.clone());
        return Ok(id(
            format!("azure:{tenant}:{app}"),
            IdentityKind::AzureServicePrincipal,
            name,
            ClassReason::ServicePrincipal,
            Some(app),
        ));
    }
    // No app id: the caller (REST shape), the object id, or the e-mail claim Azure services use.
    let who = caller
        .or(oid)
        .or_else(|| cow(claims.email))
        .filter(|s| !s.is_empty())
        .ok_or(ParseError::MissingActor(SRC))?;
    if who.contains('@') {
        Ok(id(
            format!("azure:{tenant}:{who}"),
            IdentityKind::AzureUser,
            who,
            ClassReason::AzureUserPrincipal,
            None,
        ))
    } else {
        Ok(id(
            format!("azure:{tenant}:{who}"),
            IdentityKind::AzureServicePrincipal,
            who.clone(),
            ClassReason::ServicePrincipal,
            Some(who),
        ))
    }
}
