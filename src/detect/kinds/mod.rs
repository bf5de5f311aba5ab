//! Detector kinds. Each is a pure function of the rule, the event and the identity's profile as
//! it was *before* the event.

pub mod new_value;
