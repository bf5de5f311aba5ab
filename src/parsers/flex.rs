//! Lenient field types: real exports disagree on whether a flag is `true` or `"true"`, an id a
//! number or a string, a time a number or a string. These accept both without a DOM.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A boolean written as `true`, `"true"`, `"True"`, `1` or `"1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlexBool(pub bool);

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean or a boolean string")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FlexBool, E> {
                Ok(FlexBool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexBool, E> {
                Ok(FlexBool(v.eq_ignore_ascii_case("true") || v == "1"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexBool, E> {
                Ok(FlexBool(v != 0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexBool, E> {
                Ok(FlexBool(v != 0))
            }
            fn visit_unit<E: de::Error>(self) -> Result<FlexBool, E> {
                Ok(FlexBool(false))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string that may also be written as a number (ids, token ids). Borrowed when possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlexStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for FlexStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FlexStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<FlexStr<'a>, E> {
                Ok(FlexStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexStr<'a>, E> {
                Ok(FlexStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FlexStr<'a>, E> {
                Ok(FlexStr(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexStr<'a>, E> {
                Ok(FlexStr(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexStr<'a>, E> {
                Ok(FlexStr(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FlexStr<'a>, E> {
                Ok(FlexStr(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A timestamp as an RFC 3339 string or an epoch number (seconds or milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub enum FlexTime<'a> {
    /// Text form.
    Text(Cow<'a, str>),
    /// Numeric epoch form.
    Number(f64),
}

impl FlexTime<'_> {
    /// Epoch milliseconds of a plausible event time (2000–2100), or the offending text.
    pub fn to_ms(&self) -> Result<i64, String> {
        let ms = self.to_ms_unchecked()?;
        if crate::time::plausible_event_ms(ms) {
            Ok(ms)
        } else {
            Err(match self {
                FlexTime::Text(s) => s.chars().take(64).collect(),
                FlexTime::Number(n) => n.to_string(),
            })
        }
    }

    fn to_ms_unchecked(&self) -> Result<i64, String> {
        match self {
            FlexTime::Text(s) => {
                let t = s.trim();
                if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    if let Some(ms) = t
                        .parse::<f64>()
                        .ok()
                        .and_then(crate::time::epoch_number_to_ms)
                    {
                        return Ok(ms);
                    }
                }
                crate::time::parse_rfc3339_ms(t).ok_or_else(|| t.chars().take(64).collect())
            }
            FlexTime::Number(n) => crate::time::epoch_number_to_ms(*n).ok_or_else(|| n.to_string()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FlexTime<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FlexTime<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp string or epoch number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<FlexTime<'a>, E> {
                Ok(FlexTime::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexTime<'a>, E> {
                Ok(FlexTime::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexTime<'a>, E> {
                Ok(FlexTime::Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexTime<'a>, E> {
                Ok(FlexTime::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FlexTime<'a>, E> {
                Ok(FlexTime::Number(v))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Unwraps an optional [`FlexStr`].
pub fn cow(v: Option<FlexStr<'_>>) -> Option<Cow<'_, str>> {
    v.map(|f| f.0)
}

/// A nested object that some exports replace with a placeholder (`""`, `null`, a string): the
/// placeholder is ignored instead of failing the record.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Lenient<T> {
    /// The expected shape.
    Value(T),
    /// Anything else.
    Other(serde::de::IgnoredAny),
}

impl<T> Lenient<T> {
    /// The value, if it had the expected shape.
    pub fn get(self) -> Option<T> {
        match self {
            Lenient::Value(v) => Some(v),
            Lenient::Other(_) => None,
        }
    }
}
