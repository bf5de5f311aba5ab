//! Okta System Log events (`/api/v1/logs` and event hooks / log streaming: same shape).
//!
//! Identity: OAuth client apps (`actor.type` `PublicClientApp`, `AppInstance`, ...) by client id
//! (`okta:CLIENT_ID`), users by user id. A user acting through an API token is non-human usage;
//! any other user actor is a person. The action is `okta:<eventType>`.

use std::borrow::Cow;

use serde::Deserialize;

use super::flex::{cow, FlexStr, FlexTime, Lenient};
use super::ParseError;
use crate::event::{
    AuditEvent, ClassReason, EventGeo, Identity, IdentityKind, Outcome, SourceKind,
};

const SRC: SourceKind = SourceKind::Okta;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow, default)]
    published: Option<FlexTime<'a>>,
    #[serde(borrow, default, alias = "eventtype")]
    event_type: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    uuid: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    actor: Option<Actor<'a>>,
    #[serde(borrow, default)]
    client: Option<Client<'a>>,
    #[serde(borrow, default)]
    outcome: Option<OutcomeBlock<'a>>,
    #[serde(borrow, default)]
    target: Option<Vec<Target<'a>>>,
    #[serde(borrow, default, alias = "debugcontext")]
    debug_context: Option<Lenient<DebugContext<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Actor<'a> {
    #[serde(borrow, default)]
    id: Option<FlexStr<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<FlexStr<'a>>,
    #[serde(borrow, default, alias = "alternateid")]
    alternate_id: Option<FlexStr<'a>>,
    #[serde(borrow, default, alias = "displayname")]
    display_name: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Client<'a> {
    #[serde(borrow, default, alias = "ipaddress")]
    ip_address: Option<FlexStr<'a>>,
    #[serde(borrow, default, alias = "useragent")]
    user_agent: Option<UserAgent<'a>>,
    #[serde(borrow, default, alias = "geographicalcontext")]
    geographical_context: Option<GeoContext<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UserAgent<'a> {
    #[serde(borrow, default, alias = "rawuseragent")]
    raw_user_agent: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
struct GeoContext<'a> {
    #[serde(borrow, default)]
    country: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    city: Option<FlexStr<'a>>,
    #[serde(default)]
    geolocation: Option<GeoPoint>,
}

#[derive(Deserialize, Default)]
struct GeoPoint {
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
}

#[derive(Deserialize, Default)]
struct OutcomeBlock<'a> {
    #[serde(borrow, default)]
    result: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    reason: Option<FlexStr<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target<'a> {
    #[serde(borrow, default, alias = "alternateid")]
    alternate_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    id: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DebugContext<'a> {
    #[serde(borrow, default, alias = "debugdata")]
    debug_data: Option<Lenient<DebugData<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DebugData<'a> {
    #[serde(borrow, default, alias = "requestapitokenid")]
    request_api_token_id: Option<FlexStr<'a>>,
}

/// Parses one Okta System Log event.
pub fn parse(raw: &[u8]) -> Result<AuditEvent<'_>, ParseError> {
    let r: Record = serde_json::from_slice(raw).map_err(|e| ParseError::from_json(SRC, e))?;
    let time_ms = r
        .published
        .as_ref()
        .ok_or(ParseError::MissingTime(SRC))?
        .to_ms()
        .map_err(|value| ParseError::BadTime { src: SRC, value })?;
    let operation = cow(r.event_type)
        .filter(|s| !s.is_empty())
        .ok_or(ParseError::MissingAction(SRC))?;
    let actor = r.actor.unwrap_or_default();
    let actor_id = cow(actor.id)
        .filter(|s| !s.is_empty())
        .ok_or(ParseError::MissingActor(SRC))?;
    let actor_type = cow(actor.kind).unwrap_or(Cow::Borrowed(""));
    let alt = cow(actor.alternate_id);
    let display = cow(actor.display_name);
    let client = r.client.unwrap_or_default();
    let user_agent = client
        .user_agent
        .and_then(|u| cow(u.raw_user_agent))
        .unwrap_or(Cow::Borrowed(""));
    let api_token = r
        .debug_context
        .and_then(Lenient::get)
        .and_then(|d| d.debug_data)
        .and_then(Lenient::get)
        .and_then(|d| cow(d.request_api_token_id));

    let (kind, reason, credential) = match actor_type.as_ref() {
        "User" => {
            if api_token.is_some() && !user_agent.starts_with("Mozilla/") {
                (IdentityKind::OktaUser, ClassReason::OktaApiToken, api_token)
            } else {
                (IdentityKind::OktaUser, ClassReason::OktaUserActor, None)
            }
        }
        "PublicClientApp" | "AppInstance" | "Application" | "OAuth2Client" | "Client" => (
            IdentityKind::OktaClientApp,
            ClassReason::OktaClientApp,
            Some(actor_id.clone()),
        ),
        _ => (
            IdentityKind::OktaSystem,
            ClassReason::OktaSystemPrincipal,
            None,
        ),
    };
    let name = display
        .filter(|d| !d.is_empty() && kind != IdentityKind::OktaUser)
        .or(alt)
        .unwrap_or_else(|| actor_id.clone());
    let identity = Identity {
        key: Cow::Owned(format!("okta:{actor_id}")),
        kind,
        name,
        reason,
        credential,
        session: None,
        session_created_ms: None,
        principal_id: Some(actor_id.clone()),
        account: None,
    };
    let (src_ip, src_host) = super::split_source(cow(client.ip_address));
    let event_geo = client.geographical_context.map(|g| {
        let pt = g.geolocation.unwrap_or_default();
        EventGeo {
            country: cow(g.country),
            city: cow(g.city),
            lat: pt.lat,
            lon: pt.lon,
        }
    });
    let out = r.outcome.unwrap_or_default();
    let result = cow(out.result);
    let outcome = match result.as_deref() {
        Some("SUCCESS" | "ALLOW" | "success" | "allow") => Outcome::Success,
        Some("FAILURE" | "DENY" | "failure" | "deny") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let error_code = if outcome == Outcome::Failure {
        cow(out.reason)
    } else {
        None
    };
    let resources = r
        .target
        .map(|t| {
            t.into_iter()
                .filter_map(|t| cow(t.alternate_id).or_else(|| cow(t.id)))
                .collect()
        })
        .unwrap_or_default();
    Ok(AuditEvent {
        source: SRC,
        time_ms,
        record_id: cow(r.uuid),
        identity,
        service: Cow::Borrowed("okta"),
        operation,
        resources,
        src_ip,
        src_host,
        user_agent,
        ua_family: None,
        outcome,
        error_code,
        region: None,
        invoked_by: None,
        read_only: None,
        event_geo,
        geo: None,
        request: None,
        response: None,
        classes: Default::default(),
        target: None,
        federation: None,
        inventory: Default::default(),
        raw,
    })
}
