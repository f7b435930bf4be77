//! The plumbing the model macros build on: how one JSON member is read into a typed
//! field, set aside verbatim when it does not fit, and written back.
//!
//! Every model type keeps the members it does not model in an [`Extra`] list of
//! `(key, raw JSON)` pairs. A member that the typed field cannot hold without losing
//! something (a `null`, an empty array, a second occurrence of the same key, a primitive
//! array with `null` holes) lands there too, so serialising gives back what was read.

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// JSON members of an object that this crate does not model, kept verbatim in input order.
///
/// Keys are the JSON member names (for example `"_birthDate"` or an element a later FHIR
/// version added); values are the exact JSON text that was read, digits included.
///
/// ```
/// let p: fhir_c4bb::Patient = fhir_c4bb::from_str(
///     r#"{"resourceType":"Patient","_birthDate":{"extension":[]},"photoOfPet":1.50}"#,
/// )?;
/// assert_eq!(p.extra.get("photoOfPet").map(|v| v.get()), Some("1.50"));
/// assert!(p.extra.get("_birthDate").is_some());
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Extra(Vec<(String, Box<RawValue>)>);

impl Extra {
    /// An empty list.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The raw JSON of the first member named `key`.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Every kept member, in the order read.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// How many members are kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps one more member; it is written after the modelled ones.
    pub fn push(&mut self, key: impl Into<String>, value: Box<RawValue>) {
        self.0.push((key.into(), value));
    }

    /// Removes every member named `key`, returning how many were removed.
    pub fn remove(&mut self, key: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|(k, _)| k != key);
        before - self.0.len()
    }

    pub(crate) fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        Ok(())
    }
}

/// Compares keys and JSON text; two spellings of the same number differ, on purpose.
impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((ka, va), (kb, vb))| ka == kb && va.get() == vb.get())
    }
}

/// A JSON value kept verbatim (exact text, digits included), comparable by its text.
///
/// ```
/// let raw: fhir_c4bb::RawJson = serde_json::from_str(r#"{"a": 1.50}"#)?;
/// assert_eq!(raw.get(), r#"{"a": 1.50}"#);
/// assert_eq!(serde_json::to_string(&raw)?, r#"{"a": 1.50}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawJson(pub Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(RawJson)
    }
}

/// `Option<T>` that tells a JSON `null` apart (as `None`) so it can be kept raw.
pub(crate) struct Nullable<T>(pub(crate) Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(Nullable)
    }
}

/// Raw JSON for a literal we write ourselves; the inputs are constant valid JSON.
pub(crate) fn raw_literal(json: &str) -> Box<RawValue> {
    match RawValue::from_string(json.to_owned()) {
        Ok(v) => v,
        // Unreachable for the constants we pass; `null` keeps this total without a panic.
        Err(_) => RawValue::NULL.to_owned(),
    }
}

/// A type that can sit in a modelled field: a leaf (string, datatype, resource) or a
/// choice type (`value[x]`), which answers to several keys.
pub(crate) trait Element: Sized {
    /// Whether this is a choice type, matched by [`Element::match_choice`].
    #[doc(hidden)]
    const IS_CHOICE: bool = false;

    /// For a choice type: which variant `key` names (`valueString` → its tag).
    #[doc(hidden)]
    fn match_choice(_key: &str) -> Option<u8> {
        None
    }

    /// The JSON key for a tag returned by `match_choice` (or `name` for a leaf).
    #[doc(hidden)]
    fn key_for(_tag: u8, name: &'static str) -> &'static str {
        name
    }

    /// Reads the value of the current member; `None` when it is JSON `null`.
    #[doc(hidden)]
    fn read_value<'de, A: MapAccess<'de>>(tag: u8, map: &mut A) -> Result<Option<Self>, A::Error>;

    /// Writes this value as one member.
    #[doc(hidden)]
    fn write_entry<M: SerializeMap>(&self, name: &'static str, map: &mut M)
    -> Result<(), M::Error>;
}

/// Implements [`Element`] for a type that is a plain JSON value under one key.
macro_rules! leaf_element {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::element::Element for $t {
            fn read_value<'de, A: ::serde::de::MapAccess<'de>>(
                _tag: u8,
                map: &mut A,
            ) -> Result<Option<Self>, A::Error> {
                map.next_value::<$crate::element::Nullable<Self>>().map(|n| n.0)
            }
            fn write_entry<M: ::serde::ser::SerializeMap>(
                &self,
                name: &'static str,
                map: &mut M,
            ) -> Result<(), M::Error> {
                map.serialize_entry(name, self)
            }
        }
    )*};
}
pub(crate) use leaf_element;

leaf_element!(String, bool, RawJson);

impl<T: Element> Element for Box<T> {
    const IS_CHOICE: bool = T::IS_CHOICE;
    fn match_choice(key: &str) -> Option<u8> {
        T::match_choice(key)
    }
    fn key_for(tag: u8, name: &'static str) -> &'static str {
        T::key_for(tag, name)
    }
    fn read_value<'de, A: MapAccess<'de>>(tag: u8, map: &mut A) -> Result<Option<Self>, A::Error> {
        T::read_value(tag, map).map(|v| v.map(Box::new))
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        (**self).write_entry(name, map)
    }
}

/// A modelled field: `Option<T>` or `Vec<T>`. Generated visitors call these.
pub(crate) trait Slot {
    /// Whether the field is a choice type.
    #[doc(hidden)]
    const IS_CHOICE: bool;

    /// Which choice variant, if this field is a choice type and `key` names one.
    #[doc(hidden)]
    fn match_choice(key: &str) -> Option<u8>;

    /// Reads the current member into this field, or into `extra` when the field cannot
    /// hold it exactly.
    #[doc(hidden)]
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        tag: u8,
        name: &'static str,
        map: &mut A,
        extra: &mut Extra,
    ) -> Result<(), A::Error>;

    /// Writes the field unless it is absent.
    #[doc(hidden)]
    fn write<M: SerializeMap>(&self, name: &'static str, map: &mut M) -> Result<(), M::Error>;
}

impl<T: Element> Slot for Option<T> {
    const IS_CHOICE: bool = T::IS_CHOICE;

    fn match_choice(key: &str) -> Option<u8> {
        T::match_choice(key)
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        tag: u8,
        name: &'static str,
        map: &mut A,
        extra: &mut Extra,
    ) -> Result<(), A::Error> {
        let key = T::key_for(tag, name);
        if self.is_some() {
            // A repeated key (or a second variant of one choice): keep the later one raw.
            let raw: Box<RawValue> = map.next_value()?;
            extra.push(key, raw);
            return Ok(());
        }
        match T::read_value(tag, map)? {
            Some(v) => *self = Some(v),
            None => extra.push(key, raw_literal("null")),
        }
        Ok(())
    }

    fn write<M: SerializeMap>(&self, name: &'static str, map: &mut M) -> Result<(), M::Error> {
        match self {
            Some(v) => v.write_entry(name, map),
            None => Ok(()),
        }
    }
}

impl<T: Element + DeserializeOwned + Serialize> Slot for Vec<T> {
    const IS_CHOICE: bool = false;

    fn match_choice(_key: &str) -> Option<u8> {
        None
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        _tag: u8,
        name: &'static str,
        map: &mut A,
        extra: &mut Extra,
    ) -> Result<(), A::Error> {
        if !self.is_empty() {
            let raw: Box<RawValue> = map.next_value()?;
            extra.push(name, raw);
            return Ok(());
        }
        match map.next_value::<Nullable<LenientVec<T>>>()?.0 {
            None => extra.push(name, raw_literal("null")),
            Some(LenientVec::Items(v)) if v.is_empty() => extra.push(name, raw_literal("[]")),
            Some(LenientVec::Items(v)) => *self = v,
            Some(LenientVec::WithNulls(v)) => {
                // FHIR puts nulls in primitive arrays to line them up with `_name`
                // extensions. The typed field cannot hold the holes, so keep it all raw.
                let raw = serde_json::to_string(&v)
                    .ok()
                    .and_then(|s| RawValue::from_string(s).ok())
                    .unwrap_or_else(|| raw_literal("[]"));
                extra.push(name, raw);
            }
        }
        Ok(())
    }

    fn write<M: SerializeMap>(&self, name: &'static str, map: &mut M) -> Result<(), M::Error> {
        if self.is_empty() {
            Ok(())
        } else {
            map.serialize_entry(name, self)
        }
    }
}

/// A JSON array read element by element, tolerating `null` holes.
enum LenientVec<T> {
    Items(Vec<T>),
    WithNulls(Vec<Option<T>>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientVec<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = LenientVec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                loop {
                    match seq.next_element::<Nullable<T>>()? {
                        None => return Ok(LenientVec::Items(items)),
                        Some(Nullable(Some(v))) => items.push(v),
                        Some(Nullable(None)) => {
                            let mut holes: Vec<Option<T>> = items.into_iter().map(Some).collect();
                            holes.push(None);
                            while let Some(Nullable(v)) = seq.next_element::<Nullable<T>>()? {
                                holes.push(v);
                            }
                            return Ok(LenientVec::WithNulls(holes));
                        }
                    }
                }
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}
