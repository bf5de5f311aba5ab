//! Inspection helpers behind `nhid parse` (normalised events) and `nhid identities` (the
//! distinct identities in a set of inputs, with their human/non-human class and its reason).

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::enrich::Enricher;
use crate::event::{ClassReason, IdentityClass, IdentityKind};
use crate::parsers::{Format, Parsers};
use crate::sources::file::{read_input, InputError, Item, ReadLimits};

/// One identity as seen across inputs.
#[derive(Debug, Clone)]
pub struct IdentitySummary {
    /// Kind.
    pub kind: IdentityKind,
    /// Reason of the class: the first evidence of a person if any event carried one, else the
    /// non-human reason of its first event.
    pub reason: ClassReason,
    /// Events.
    pub events: u64,
}

impl IdentitySummary {
    /// Class.
    pub fn class(&self) -> IdentityClass {
        self.reason.class()
    }
}

/// Calls `f` with every parsed event of the inputs (after enrichment); bad records are counted.
/// Returns the number of skipped records, or the first input that could not be read.
pub fn for_each_event(
    inputs: &[String],
    format: Format,
    enricher: &mut Enricher,
    mut f: impl FnMut(&crate::event::AuditEvent<'_>),
) -> Result<u64, InputError> {
    let parsers = Parsers::default();
    let mut skipped = 0;
    for input in inputs {
        read_input(input, ReadLimits::default(), |item| match item {
            Item::Record(bytes, origin) => match parsers.parse(bytes, format) {
                Ok(mut ev) => {
                    enricher.enrich(&mut ev);
                    f(&ev)
                }
                Err(e) => {
                    skipped += 1;
                    eprintln!("nhid: skipped {origin}: {}: {e}", e.reason());
                }
            },
            Item::Unframed { origin, error, .. } => {
                skipped += 1;
                eprintln!("nhid: skipped {origin}: {error}");
            }
        })?;
    }
    Ok(skipped)
}

/// Distinct identities of the inputs, by key.
pub fn identities(
    inputs: &[String],
    format: Format,
    enricher: &mut Enricher,
) -> Result<BTreeMap<String, IdentitySummary>, InputError> {
    let mut map: BTreeMap<String, IdentitySummary> = BTreeMap::new();
    for_each_event(inputs, format, enricher, |ev| {
        let e = map
            .entry(ev.identity.key.to_string())
            .or_insert(IdentitySummary {
                kind: ev.identity.kind,
                reason: ev.identity.reason,
                events: 0,
            });
        e.events += 1;
        if e.class() == IdentityClass::NonHuman && ev.identity.class() == IdentityClass::Human {
            e.reason = ev.identity.reason;
        }
    })?;
    Ok(map)
}

/// Writes the identity table as TSV: key, kind, class, reason, events.
pub fn write_identity_table(
    map: &BTreeMap<String, IdentitySummary>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "identity\tkind\tclass\treason\tevents")?;
    for (k, s) in map {
        writeln!(
            out,
            "{k}\t{}\t{}\t{}\t{}",
            s.kind.as_str(),
            s.class().as_str(),
            s.reason.as_str(),
            s.events
        )?;
    }
    Ok(())
}
