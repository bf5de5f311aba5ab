//! GitHub audit log events: audit-log streaming (`@timestamp`, `_document_id`) and the REST API
//! (`created_at`), enterprise or organisation.
//!
//! Identity: `github:ACTOR`; the token (`token_id`, else `hashed_token`) is the credential. Bots
//! and actors using programmatic access (PATs, OAuth and App tokens, deploy keys) are non-human
//! usage; a user without programmatic access is a person (web or SSH session).

use std::borrow::Cow;

use serde::Deserialize;

use super::flex::{cow, FlexBool, FlexStr, FlexTime};
use super::ParseError;
use crate::event::{
    AuditEvent, ClassReason, EventGeo, Identity, IdentityKind, Outcome, SourceKind,
};

const SRC: SourceKind = SourceKind::GithubAudit;

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default, rename = "@timestamp")]
    at_timestamp: Option<FlexTime<'a>>,
    #[serde(borrow, default)]
    at_sign_timestamp: Option<FlexTime<'a>>,
    #[serde(borrow, default)]
    created_at: Option<FlexTime<'a>>,
    #[serde(borrow, default)]
    _document_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    action: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    actor: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    actor_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    actor_ip: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    user_agent: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    programmatic_access_type: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    token_id: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    hashed_token: Option<FlexStr<'a>>,
    #[serde(default)]
    actor_is_bot: Option<FlexBool>,
    #[serde(borrow, default)]
    actor_location: Option<Location<'a>>,
    #[serde(borrow, default)]
    org: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    business: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    repo: Option<FlexStr<'a>>,
    #[serde(borrow, default)]
    repository: Option<FlexStr<'a>>,
}

#[derive(Deserialize, Default)]
struct Location<'a> {
    #[serde(borrow, default)]
    country_code: Option<FlexStr<'a>>,
}

/// Parses one GitHub audit log event.
pub fn parse(raw: &[u8]) -> Result<AuditEvent<'_>, ParseError> {
    let r: Record = serde_json::from_slice(raw).map_err(|e| ParseError::from_json(SRC, e))?;
    let time_ms = r
        .at_timestamp
        .as_ref()
        .or(r.created_at.as_ref())
        .or(r.at_sign_timestamp.as_ref())
        .ok_or(ParseError::MissingTime(SRC))?
        .to_ms()
        .map_err(|value| ParseError::BadTime { src: SRC, value })?;
    let operation = cow(r.action)
        .filter(|s| !s.is_empty())
        .ok_or(ParseError::MissingAction(SRC))?;
    let actor = cow(r.actor)
        .filter(|s| !s.is_empty())
        .ok_or(ParseError::MissingActor(SRC))?;
    let access = cow(r.programmatic_access_type).filter(|s| !s.is_empty());
    let bot = r.actor_is_bot.is_some_and(|b| b.0) || actor.ends_with("[bot]");
    let (kind, reason) = if bot {
        (IdentityKind::GithubApp, ClassReason::GithubBot)
    } else if access.is_some() {
        (
            IdentityKind::GithubUser,
            ClassReason::GithubProgrammaticAccess,
        )
    } else {
        (IdentityKind::GithubUser, ClassReason::GithubUserInteractive)
    };
    let credential = cow(r.token_id)
        .or_else(|| cow(r.hashed_token))
        .filter(|s| !s.is_empty());
    let identity = Identity {
        key: Cow::Owned(format!("github:{actor}")),
        kind,
        name: actor,
        reason,
        credential,
        session: None,
        session_created_ms: None,
        principal_id: cow(r.actor_id).filter(|s| !s.is_empty()),
        account: cow(r.org).or_else(|| cow(r.business)),
    };
    let (src_ip, src_host) = super::split_source(cow(r.actor_ip));
    let event_geo = r
        .actor_location
        .and_then(|l| cow(l.country_code))
        .map(|c| EventGeo {
            country: Some(c),
            ..EventGeo::default()
        });
    Ok(AuditEvent {
        source: SRC,
        time_ms,
        record_id: cow(r._document_id),
        identity,
        service: Cow::Borrowed("github"),
        operation,
        resources: cow(r.repo)
            .or_else(|| cow(r.repository))
            .into_iter()
            .collect(),
        src_ip,
        src_host,
        user_agent: cow(r.user_agent).unwrap_or(Cow::Borrowed("")),
        ua_family: None,
        outcome: Outcome::Unknown,
        error_code: None,
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
