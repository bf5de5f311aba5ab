//! Decoding what a change to audit logging does, so tampering is judged on its effect rather
//! than on the API name: `PutEventSelectors` that adds S3 data events to a trail widens logging,
//! the same call with `includeManagementEvents: false` blinds the defenders (Stratus
//! `cloudtrail-event-selectors`); `UpdateTrail` that turns on log-file validation is hygiene,
//! `isMultiRegionTrail: false` drops every other region.
//!
//! Only logging-configuration calls (a handful per day) get here, so a small JSON tree is fine.

use serde_json::Value;

/// The effect of a logging-configuration call, from most to least harmful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Logging stopped or its configuration deleted (StopLogging, DeleteTrail, DeleteFlowLogs,
    /// DeleteDetector, StopConfigurationRecorder...).
    Stopped,
    /// Logging narrowed: management events off, read or write events dropped, event sources
    /// excluded, a multi-region trail made single-region, global events or validation off.
    Reduced,
    /// A configuration change that keeps or widens what is logged.
    Kept,
}

impl Change {
    /// The value rules compare (`logging.change`).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Stopped => "stopped",
            Change::Reduced => "reduced",
            Change::Kept => "kept",
        }
    }
}

/// A decoded change: its effect and a line an analyst can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The effect.
    pub change: Change,
    /// E.g. `management events off, read-only` or `trail deleted`.
    pub summary: String,
}

/// Calls that stop or delete audit logging outright, with what they do.
const STOPS: &[(&str, &str, &str)] = &[
    ("cloudtrail", "StopLogging", "trail logging stopped"),
    ("cloudtrail", "DeleteTrail", "trail deleted"),
    ("ec2", "DeleteFlowLogs", "VPC flow logs deleted"),
    (
        "route53resolver",
        "DeleteResolverQueryLogConfig",
        "DNS query logging deleted",
    ),
    (
        "route53resolver",
        "DisassociateResolverQueryLogConfig",
        "DNS query logging detached from a VPC",
    ),
    ("guardduty", "DeleteDetector", "GuardDuty detector deleted"),
    (
        "config",
        "StopConfigurationRecorder",
        "AWS Config recorder stopped",
    ),
    (
        "config",
        "DeleteConfigurationRecorder",
        "AWS Config recorder deleted",
    ),
    (
        "config",
        "DeleteDeliveryChannel",
        "AWS Config delivery channel deleted",
    ),
];

/// Assesses a CloudTrail record's call, or `None` when it does not configure audit logging.
pub fn assess_cloudtrail(
    service: &str,
    operation: &str,
    request: Option<&str>,
) -> Option<Assessment> {
    if let Some((_, _, what)) = STOPS
        .iter()
        .find(|(s, o, _)| *s == service && *o == operation)
    {
        return Some(Assessment {
            change: Change::Stopped,
            summary: (*what).to_string(),
        });
    }
    let decode = match (service, operation) {
        ("cloudtrail", "PutEventSelectors") => event_selectors,
        ("cloudtrail", "UpdateTrail") => update_trail,
        ("guardduty", "UpdateDetector") => update_detector,
        _ => return None,
    };
    // A request that cannot be read is judged by the call alone: narrowing is possible.
    let req: Value = request
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    let reasons = decode(&req);
    Some(if reasons.is_empty() {
        Assessment {
            change: Change::Kept,
            summary: "logging kept or widened".to_string(),
        }
    } else {
        Assessment {
            change: Change::Reduced,
            summary: reasons.join(", "),
        }
    })
}

/// What a `PutEventSelectors` request narrows. Basic selectors: management events must stay on,
/// for reads and writes, with no source excluded. Advanced selectors: some selector must log the
/// `Management` category without a `readOnly` filter or excluded event sources.
fn event_selectors(req: &Value) -> Vec<&'static str> {
    let mut why = Vec::new();
    if let Some(list) = req.get("advancedEventSelectors").and_then(Value::as_array) {
        if !list.iter().any(advanced_logs_all_management) {
            why.push("no advanced selector logs all management events");
        }
        return why;
    }
    let Some(list) = req.get("eventSelectors").and_then(Value::as_array) else {
        why.push("event selectors unreadable");
        return why;
    };
    let logs_all = |s: &Value| {
        s.get("includeManagementEvents").and_then(Value::as_bool) != Some(false)
            && s.get("readWriteType")
                .and_then(Value::as_str)
                .is_none_or(|t| t.eq_ignore_ascii_case("all"))
    };
    if !list.iter().any(logs_all) {
        let mgmt_off = list
            .iter()
            .all(|s| s.get("includeManagementEvents").and_then(Value::as_bool) == Some(false));
        why.push(if mgmt_off {
            "management events off"
        } else {
            "only read-only or write-only events logged"
        });
    }
    let excludes = list.iter().any(|s| {
        s.get("excludeManagementEventSources")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    });
    if excludes {
        why.push("management event sources excluded");
    }
    why
}

/// True if an advanced selector logs every management event.
fn advanced_logs_all_management(sel: &Value) -> bool {
    let Some(fields) = sel.get("fieldSelectors").and_then(Value::as_array) else {
        return false;
    };
    let field = |name: &'static str| {
        fields
            .iter()
            .filter(move |f| f.get("field").and_then(Value::as_str) == Some(name))
    };
    let management = field("eventCategory").any(|f| {
        f.get("equals")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("Management")))
    });
    management && field("readOnly").next().is_none() && field("eventSource").next().is_none()
}

/// What an `UpdateTrail` request turns off. Moving delivery to another bucket is not judged here:
/// the previous bucket is not in the record.
fn update_trail(req: &Value) -> Vec<&'static str> {
    let off = |k: &str| req.get(k).and_then(Value::as_bool) == Some(false);
    let mut why = Vec::new();
    if off("isMultiRegionTrail") {
        why.push("trail made single-region");
    }
    if off("includeGlobalServiceEvents") {
        why.push("global service events (IAM, STS) off");
    }
    if off("enableLogFileValidation") {
        why.push("log file validation off");
    }
    why
}

/// What a GuardDuty `UpdateDetector` request turns off.
fn update_detector(req: &Value) -> Vec<&'static str> {
    if req.get("enable").and_then(Value::as_bool) == Some(false) {
        vec!["GuardDuty detector disabled"]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(req: &str) -> Assessment {
        assess_cloudtrail("cloudtrail", "PutEventSelectors", Some(req)).expect("assessed")
    }

    #[test]
    fn stratus_event_selectors_are_reduced_and_its_setup_is_kept() {
        // Request shapes of the Stratus Red Team detonation (setup, then detonation).
        let setup = r#"{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"dataResources":[],"excludeManagementEventSources":[]}]}"#;
        let attack = r#"{"trailName":"t","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":false,"dataResources":[{"type":"AWS::S3::Object","values":[]}],"excludeManagementEventSources":[]}]}"#;
        assert_eq!(put(setup).change, Change::Kept);
        let a = put(attack);
        assert_eq!(a.change, Change::Reduced);
        assert_eq!(a.summary, "management events off");
    }

    #[test]
    fn adding_data_events_keeps_and_excluding_sources_reduces() {
        let widen = r#"{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3:::b/"]}]}]}"#;
        assert_eq!(put(widen).change, Change::Kept);
        let exclude = r#"{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"excludeManagementEventSources":["kms.amazonaws.com"]}]}"#;
        assert_eq!(put(exclude).summary, "management event sources excluded");
        let write_only =
            r#"{"eventSelectors":[{"readWriteType":"WriteOnly","includeManagementEvents":true}]}"#;
        assert_eq!(put(write_only).change, Change::Reduced);
    }

    #[test]
    fn advanced_selectors() {
        let all = r#"{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}"#;
        assert_eq!(put(all).change, Change::Kept);
        let reads_only = r#"{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}]}"#;
        assert_eq!(put(reads_only).change, Change::Reduced);
        let data_only = r#"{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Data"]}]}]}"#;
        assert_eq!(put(data_only).change, Change::Reduced);
    }

    #[test]
    fn unreadable_selectors_count_as_reduced() {
        assert_eq!(put("not json").change, Change::Reduced);
        let none = assess_cloudtrail("cloudtrail", "PutEventSelectors", None).expect("assessed");
        assert_eq!(none.change, Change::Reduced);
    }

    #[test]
    fn update_trail_and_stops() {
        let single = assess_cloudtrail(
            "cloudtrail",
            "UpdateTrail",
            Some(r#"{"name":"management-events","isMultiRegionTrail":false}"#),
        )
        .expect("assessed");
        assert_eq!(single.change, Change::Reduced);
        let hygiene = assess_cloudtrail(
            "cloudtrail",
            "UpdateTrail",
            Some(r#"{"name":"t","isMultiRegionTrail":true,"enableLogFileValidation":true}"#),
        )
        .expect("assessed");
        assert_eq!(hygiene.change, Change::Kept);
        let stop = assess_cloudtrail("cloudtrail", "StopLogging", None).expect("assessed");
        assert_eq!(stop.change, Change::Stopped);
        assert!(assess_cloudtrail("cloudtrail", "GetTrailStatus", None).is_none());
        let gd = assess_cloudtrail("guardduty", "UpdateDetector", Some(r#"{"enable":false}"#));
        assert_eq!(gd.map(|a| a.change), Some(Change::Reduced));
    }
}
