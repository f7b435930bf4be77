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
// Boxed on purpose: one pointer (8 bytes) instead of a Vec (24) in every struct, since
// the list is almost always empty; see the note on `NONE` below.
#[allow(clippy::box_collection)]
pub struct Extra(Option<Box<Vec<Member>>>);

/// One kept JSON member: its key and its raw value.
type Member = (String, Box<RawValue>);

// Every model struct has an `Extra`, almost always empty: one pointer keeps the structs
// (and the vectors of them) small, which is most of the parsing speed.
const NONE: &[Member] = &[];

impl Extra {
    /// An empty list.
    pub const fn new() -> Self {
        Self(None)
    }

    fn slice(&self) -> &[Member] {
        self.0.as_deref().map_or(NONE, Vec::as_slice)
    }

    /// The raw JSON of the first member named `key`.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.slice()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| &**v)
    }

    /// Every kept member, in the order read.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.slice().iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// How many members are kept.
    pub fn len(&self) -> usize {
        self.slice().len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.slice().is_empty()
    }

    /// Keeps one more member; it is written after the modelled ones.
    pub fn push(&mut self, key: impl Into<String>, value: Box<RawValue>) {
        self.0
            .get_or_insert_with(Box::default)
            .push((key.into(), value));
    }

    /// Removes every member named `key`, returning how many were removed.
    pub fn remove(&mut self, key: &str) -> usize {
        let Some(v) = self.0.as_mut() else { return 0 };
        let before = v.len();
        v.retain(|(k, _)| k != key);
        before - v.len()
    }

    pub(crate) fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (k, v) in self.slice() {
            map.serialize_entry(k, v)?;
        }
        Ok(())
    }
}

/// Compares keys and JSON text; two spellings of the same number differ, on purpose.
impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .slice()
                .iter()
                .zip(other.slice())
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

    /// Reads the current member straight into `slot`; `false` when it is JSON `null`
    /// (then `slot` is left `None`). Model structs override this to fill themselves in
    /// place instead of being built on the stack and moved up each level.
    #[doc(hidden)]
    fn read_into<'de, A: MapAccess<'de>>(
        tag: u8,
        map: &mut A,
        slot: &mut Option<Self>,
    ) -> Result<bool, A::Error> {
        let v = Self::read_value(tag, map)?;
        let present = v.is_some();
        *slot = v;
        Ok(present)
    }

    /// Reads the next array element onto the end of `vec`.
    #[doc(hidden)]
    fn push_next<'de, S: SeqAccess<'de>>(seq: &mut S, vec: &mut Vec<Self>) -> Result<Next, S::Error>
    where
        Self: Deserialize<'de>,
    {
        Ok(match seq.next_element::<Nullable<Self>>()? {
            None => Next::End,
            Some(Nullable(None)) => Next::Null,
            Some(Nullable(Some(v))) => {
                vec.push(v);
                Next::Pushed
            }
        })
    }
}

/// What [`Element::push_next`] found.
#[doc(hidden)]
pub enum Next {
    /// The array ended.
    End,
    /// An element was pushed.
    Pushed,
    /// The element was JSON `null`; nothing was pushed.
    Null,
}

/// Deserializes an optional JSON object into an existing struct, via a visitor that fills
/// it; `false` for JSON `null`. Used by the generated in-place impls.
pub(crate) struct FillSeed<'a, T>(pub(crate) &'a mut T);

/// A struct that can fill itself from the members of a JSON object.
pub(crate) trait Fill {
    /// Reads every member of the object into `self`.
    fn fill<'de, A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;
    /// What to say when the JSON is not an object.
    const EXPECTING: &'static str;
}

impl<'de, T: Fill> serde::de::DeserializeSeed<'de> for FillSeed<'_, T> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        // `any` dispatches on the next token once; `option` then `map` would peek twice.
        d.deserialize_any(self)
    }
}

impl<'de, T: Fill> Visitor<'de> for FillSeed<'_, T> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(FillVisitor(self.0)).map(|()| true)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        self.0.fill(map).map(|()| true)
    }
}

/// Fills a struct from a JSON object.
pub(crate) struct FillVisitor<'a, T>(pub(crate) &'a mut T);

impl<'de, T: Fill> Visitor<'de> for FillVisitor<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.fill(map)
    }
}

/// Implements the in-place hooks of [`Element`] for a [`Fill`] struct.
macro_rules! fill_element {
    ($t:ty) => {
        impl $crate::element::Element for $t {
            fn read_value<'de, A: ::serde::de::MapAccess<'de>>(
                tag: u8,
                map: &mut A,
            ) -> Result<Option<Self>, A::Error> {
                let mut slot = None;
                Self::read_into(tag, map, &mut slot)?;
                Ok(slot)
            }
            fn write_entry<M: ::serde::ser::SerializeMap>(
                &self,
                name: &'static str,
                map: &mut M,
            ) -> Result<(), M::Error> {
                map.serialize_entry(name, self)
            }
            fn read_into<'de, A: ::serde::de::MapAccess<'de>>(
                _tag: u8,
                map: &mut A,
                slot: &mut Option<Self>,
            ) -> Result<bool, A::Error> {
                let place = slot.insert(Self::default());
                let present = map.next_value_seed($crate::element::FillSeed(place))?;
                if !present {
                    *slot = None;
                }
                Ok(present)
            }
            fn push_next<'de, S: ::serde::de::SeqAccess<'de>>(
                seq: &mut S,
                vec: &mut Vec<Self>,
            ) -> Result<$crate::element::Next, S::Error> {
                vec.push(Self::default());
                let Some(place) = vec.last_mut() else {
                    return Ok($crate::element::Next::End);
                };
                match seq.next_element_seed($crate::element::FillSeed(place))? {
                    Some(true) => Ok($crate::element::Next::Pushed),
                    Some(false) => {
                        vec.pop();
                        Ok($crate::element::Next::Null)
                    }
                    None => {
                        vec.pop();
                        Ok($crate::element::Next::End)
                    }
                }
            }
        }
    };
}
pub(crate) use fill_element;

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

leaf_element!(RawJson);

/// A JSON string or `null`, read with one token dispatch (strings are most values).
struct StringOrNull;

impl<'de> serde::de::DeserializeSeed<'de> for StringOrNull {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringOrNull {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl Element for String {
    fn read_value<'de, A: MapAccess<'de>>(_tag: u8, map: &mut A) -> Result<Option<Self>, A::Error> {
        map.next_value_seed(StringOrNull)
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
    fn push_next<'de, S: SeqAccess<'de>>(
        seq: &mut S,
        vec: &mut Vec<Self>,
    ) -> Result<Next, S::Error> {
        Ok(match seq.next_element_seed(StringOrNull)? {
            None => Next::End,
            Some(None) => Next::Null,
            Some(Some(v)) => {
                vec.push(v);
                Next::Pushed
            }
        })
    }
}

/// A JSON boolean or `null`.
struct BoolOrNull;

impl<'de> serde::de::DeserializeSeed<'de> for BoolOrNull {
    type Value = Option<bool>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoolOrNull {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl Element for bool {
    fn read_value<'de, A: MapAccess<'de>>(_tag: u8, map: &mut A) -> Result<Option<Self>, A::Error> {
        map.next_value_seed(BoolOrNull)
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
}

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
        if !T::read_into(tag, map, self)? {
            extra.push(key, raw_literal("null"));
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
        match map.next_value_seed(VecSeed(self))? {
            VecRead::Null => extra.push(name, raw_literal("null")),
            VecRead::Items if self.is_empty() => extra.push(name, raw_literal("[]")),
            VecRead::Items => {}
            VecRead::WithNulls(raw) => extra.push(name, raw),
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

/// How a JSON array member was read by [`VecSeed`].
enum VecRead {
    /// JSON `null` instead of an array.
    Null,
    /// Every element is in the vector.
    Items,
    /// The array had `null` holes: the vector is empty and this is the array, raw.
    WithNulls(Box<RawValue>),
}

/// Reads a JSON array into a vector, element by element in place, tolerating `null` holes.
struct VecSeed<'a, T>(&'a mut Vec<T>);

impl<'de, T: Element + Deserialize<'de> + Serialize> serde::de::DeserializeSeed<'de>
    for VecSeed<'_, T>
{
    type Value = VecRead;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<VecRead, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: Element + Deserialize<'de> + Serialize> Visitor<'de> for VecSeed<'_, T> {
    type Value = VecRead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<VecRead, E> {
        Ok(VecRead::Null)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<VecRead, E> {
        Ok(VecRead::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<VecRead, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<VecRead, S::Error> {
        // Most FHIR arrays hold one element (one coding, one identifier...). Start with
        // room for exactly one instead of Vec's default four: a quarter of the memory
        // for the common case, and small blocks the allocator serves fastest.
        if self.0.capacity() == 0 {
            self.0
                .reserve_exact(seq.size_hint().unwrap_or(1).clamp(1, 64));
        }
        loop {
            match T::push_next(&mut seq, self.0)? {
                Next::End => return Ok(VecRead::Items),
                Next::Pushed => {}
                Next::Null => break,
            }
        }
        // FHIR puts nulls in primitive arrays to line them up with `_name` extensions.
        // The typed field cannot hold the holes, so the whole array is kept raw.
        let mut holes: Vec<Option<T>> = std::mem::take(self.0).into_iter().map(Some).collect();
        holes.push(None);
        while let Some(Nullable(v)) = seq.next_element::<Nullable<T>>()? {
            holes.push(v);
        }
        let raw = serde_json::to_string(&holes)
            .ok()
            .and_then(|s| RawValue::from_string(s).ok())
            .unwrap_or_else(|| raw_literal("[]"));
        Ok(VecRead::WithNulls(raw))
    }
}
