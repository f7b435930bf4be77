//! The plumbing the model macros build on: how one JSON member is read into a typed
//! field, set aside verbatim when it does not fit, and written back.
//!
//! Every model type keeps the members it does not model in an [`Extra`] list of
//! `(key, raw JSON)` pairs. A member that the typed field cannot hold without losing
//! something (a `null`, an empty array, a second occurrence of the same key, a primitive
//! array with `null` holes) lands there too, so serialising gives back what was read.
//!
//! So does a member whose JSON shape does not fit the field, for every field of every
//! type: an array where one object belongs, an object where an array belongs, a number
//! where a string belongs, a string that is no number where a number belongs, `null`.
//! The field stays unset, the member is kept (marked, so `validate()` reports it with its
//! path), and the rest of the resource parses. Only JSON that is not JSON, or a document
//! of the wrong type at the top, fails to parse.
//!
//! "As sent" is exact for the member's value when the typed reader sees raw text (decimals,
//! integers) and for every element of a mismatched array or object; what the reader only
//! sees decoded is re-encoded: the separators inside a mismatched array or object become
//! compact, a string's escapes are re-encoded, and a fractional number where a string,
//! boolean or object belongs is written back by value (`1.50` as `1.5`).

use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
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

/// One kept JSON member: its key, its raw value and, when it is there because its JSON
/// shape did not fit the typed field, what the field expected.
#[derive(Debug, Clone)]
struct Member {
    key: String,
    value: Box<RawValue>,
    mismatch: Option<Mismatch>,
    /// For a second variant of a choice type (`valueString` after `valueQuantity`): the
    /// choice's base name (`value`).
    choice: Option<&'static str>,
}

/// Why a member was set aside: the typed field expected another JSON shape.
#[derive(Debug, Clone, Copy)]
struct Mismatch {
    expected: Shape,
    /// For an array whose element `index` has the wrong shape; `None` for the member itself.
    index: Option<u32>,
}

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
            .find(|m| m.key == key)
            .map(|m| &*m.value)
    }

    /// Every kept member, in the order read.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.slice().iter().map(|m| (m.key.as_str(), &*m.value))
    }

    /// The members kept because their JSON shape did not fit the typed field (an array
    /// where one object belongs, a number where a string belongs, `null`...), as sent.
    /// `validate()` reports each one with its path.
    ///
    /// ```
    /// let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(
    ///     r#"{"resourceType":"ExplanationOfBenefit","billablePeriod":[{"start":"2020"}]}"#)?;
    /// assert!(eob.billable_period.is_none());
    /// let kept: Vec<_> = eob.extra.mismatched().map(|(k, v)| (k, v.get())).collect();
    /// assert_eq!(kept, [("billablePeriod", r#"[{"start":"2020"}]"#)]);
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub fn mismatched(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.slice()
            .iter()
            .filter(|m| m.mismatch.is_some())
            .map(|m| (m.key.as_str(), &*m.value))
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
        // Outside a parse there is no budget; inside one, running out is sticky and the
        // parse reports it at its next charge.
        let _ = self.push_member(Member {
            key: key.into(),
            value,
            mismatch: None,
            choice: None,
        });
    }

    /// [`Extra::push`] during a parse: fails once the memory budget is gone.
    pub(crate) fn keep<E: serde::de::Error>(
        &mut self,
        key: impl Into<String>,
        value: Box<RawValue>,
    ) -> Result<(), E> {
        self.push_member(Member {
            key: key.into(),
            value,
            mismatch: None,
            choice: None,
        })
        .map_err(E::custom)
    }

    /// Keeps a member whose JSON shape did not fit the typed field.
    pub(crate) fn push_mismatch<E: serde::de::Error>(
        &mut self,
        key: &str,
        value: Box<RawValue>,
        expected: Shape,
        index: Option<u32>,
    ) -> Result<(), E> {
        self.push_member(Member {
            key: key.to_owned(),
            value,
            mismatch: Some(Mismatch { expected, index }),
            choice: None,
        })
        .map_err(E::custom)
    }

    /// Keeps the second variant of a choice type that already has a value.
    pub(crate) fn push_choice_conflict<E: serde::de::Error>(
        &mut self,
        key: &str,
        value: Box<RawValue>,
        base: &'static str,
    ) -> Result<(), E> {
        self.push_member(Member {
            key: key.to_owned(),
            value,
            mismatch: None,
            choice: Some(base),
        })
        .map_err(E::custom)
    }

    fn push_member(&mut self, m: Member) -> Result<(), crate::budget::Exceeded> {
        if self.0.is_none() {
            crate::budget::charge_box::<Vec<Member>>()?;
        }
        let v = self.0.get_or_insert_with(Box::default);
        crate::budget::reserve_one(v)?;
        v.push(m);
        Ok(())
    }

    /// Adds a `validate()` issue for every mismatched member, under `path`.
    pub(crate) fn report(&self, path: &str, out: &mut Vec<crate::validate::ValidationIssue>) {
        for m in self.slice() {
            if let Some(base) = m.choice {
                out.push(crate::validate::ValidationIssue::choice_conflict(
                    join_path(path, &m.key),
                    format!(
                        "{base}[x] has more than one value; `{}` is kept as sent in `extra`",
                        m.key
                    ),
                ));
                continue;
            }
            let Some(mm) = m.mismatch else { continue };
            let mut p = join_path(path, &m.key);
            let mut found = Shape::of(m.value.get());
            if let Some(i) = mm.index {
                p.push_str(&format!("[{i}]"));
                found = element_shape(m.value.get(), i).unwrap_or(found);
            }
            out.push(crate::validate::ValidationIssue::mismatch(
                p,
                format!(
                    "expected {}, found {}; kept as sent in `extra`",
                    mm.expected.name(),
                    found.name()
                ),
            ));
        }
    }

    /// Removes every member named `key`, returning how many were removed.
    pub fn remove(&mut self, key: &str) -> usize {
        let Some(v) = self.0.as_mut() else { return 0 };
        let before = v.len();
        v.retain(|m| m.key != key);
        before - v.len()
    }

    pub(crate) fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for m in self.slice() {
            map.serialize_entry(&m.key, &m.value)?;
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
                .all(|(a, b)| a.key == b.key && a.value.get() == b.value.get())
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

/// The JSON shape of a value, for saying what a field expected and what it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
    /// Any shape (raw JSON fields); never mismatches.
    Any,
}

impl Shape {
    /// The shape of JSON text, by its first byte.
    pub(crate) fn of(json: &str) -> Shape {
        match json.trim_start().as_bytes().first() {
            Some(b'{') => Shape::Object,
            Some(b'[') => Shape::Array,
            Some(b'"') => Shape::String,
            Some(b't' | b'f') => Shape::Boolean,
            Some(b'n') => Shape::Null,
            _ => Shape::Number,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Object => "object",
            Shape::Array => "array",
            Shape::String => "string",
            Shape::Number => "number",
            Shape::Boolean => "boolean",
            Shape::Null => "null",
            Shape::Any => "any JSON",
        }
    }
}

/// The shape of element `index` of a JSON array's text.
fn element_shape(array: &str, index: u32) -> Option<Shape> {
    let items: Vec<&RawValue> = serde_json::from_str(array).ok()?;
    items
        .get(usize::try_from(index).ok()?)
        .map(|v| Shape::of(v.get()))
}

/// `path.key`, or `key` at the top.
pub(crate) fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// What reading one JSON value into a typed field gave.
pub(crate) enum Got<T> {
    /// The value, typed.
    Value(T),
    /// JSON `null`.
    Null,
    /// A value of another JSON shape, as raw JSON.
    Mismatch(Box<RawValue>),
}

impl<T> Got<T> {
    /// Maps the value, keeping `Null` and `Mismatch`.
    pub(crate) fn map_value<U>(self, f: impl FnOnce(T) -> U) -> Got<U> {
        match self {
            Got::Value(v) => Got::Value(f(v)),
            Got::Null => Got::Null,
            Got::Mismatch(r) => Got::Mismatch(r),
        }
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

fn raw_from<E: serde::de::Error>(text: String) -> Result<Box<RawValue>, E> {
    RawValue::from_string(text).map_err(E::custom)
}

/// The handler of [`AnyShape`]: what a field does with each JSON shape. Every shape it
/// does not take is rebuilt as raw JSON and handed back as a [`Got::Mismatch`].
pub(crate) trait Accept<'de>: Sized {
    /// What a matching value gives.
    type Out;

    /// A JSON object.
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Got<Self::Out>, A::Error> {
        let mut text = String::from("{");
        while let Some(k) = map.next_key::<String>()? {
            let v: Box<RawValue> = map.next_value()?;
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(&k).map_err(A::Error::custom)?);
            text.push(':');
            text.push_str(v.get());
        }
        text.push('}');
        raw_from(text).map(Got::Mismatch)
    }

    /// A JSON array.
    fn seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Got<Self::Out>, S::Error> {
        let mut text = String::from("[");
        while let Some(v) = seq.next_element::<Box<RawValue>>()? {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(v.get());
        }
        text.push(']');
        raw_from(text).map(Got::Mismatch)
    }

    /// A JSON string (borrowed or decoded).
    fn str<E: serde::de::Error>(self, v: &str) -> Result<Got<Self::Out>, E> {
        raw_from(serde_json::to_string(v).map_err(E::custom)?).map(Got::Mismatch)
    }

    /// A JSON string, owned.
    fn string<E: serde::de::Error>(self, v: String) -> Result<Got<Self::Out>, E> {
        self.str(&v)
    }

    /// A JSON boolean.
    fn bool<E: serde::de::Error>(self, v: bool) -> Result<Got<Self::Out>, E> {
        Ok(Got::Mismatch(raw_literal(if v { "true" } else { "false" })))
    }

    /// A JSON number, as text.
    fn number<E: serde::de::Error>(self, text: String) -> Result<Got<Self::Out>, E> {
        raw_from(text).map(Got::Mismatch)
    }
}

/// Reads one JSON value of any shape with one token dispatch, handing it to an [`Accept`].
pub(crate) struct AnyShape<H>(pub(crate) H);

impl<'de, H: Accept<'de>> serde::de::DeserializeSeed<'de> for AnyShape<H> {
    type Value = Got<H::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, H: Accept<'de>> Visitor<'de> for AnyShape<H> {
    type Value = Got<H::Out>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.map(map)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
        self.0.seq(seq)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.0.str(v)
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.0.string(v)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.0.bool(v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.0.number(v.to_string())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.0.number(v.to_string())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.0.number(f64_text(v).map_err(E::custom)?)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Got::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Got::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// JSON text for a fraction serde_json decoded before we saw it (its text is gone): its
/// shortest spelling. This crate turns on serde_json's `float_roundtrip`, so that spelling
/// reads back as exactly the same value and writing it out is a fixed point (with the
/// default reader, `6e+27` would read back as 6.000000000000001e27).
fn f64_text(v: f64) -> Result<String, serde_json::Error> {
    serde_json::to_string(&v)
}

/// Reads a value as raw text, for types that classify the text themselves (numbers).
pub(crate) fn read_raw<'de, D: Deserializer<'de>>(
    d: D,
    accept: impl FnOnce(Box<RawValue>) -> Result<Got<Box<RawValue>>, String>,
) -> Result<Got<Box<RawValue>>, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    if raw.get() == "null" {
        return Ok(Got::Null);
    }
    accept(raw).map_err(serde::de::Error::custom)
}

/// Deserializes a [`Got`] for an [`Element`] type.
pub(crate) struct GotSeed<T>(std::marker::PhantomData<T>);

impl<T> GotSeed<T> {
    pub(crate) fn new() -> Self {
        GotSeed(std::marker::PhantomData)
    }
}

impl<'de, T: Element> serde::de::DeserializeSeed<'de> for GotSeed<T> {
    type Value = Got<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Got<T>, D::Error> {
        T::deserialize_got(d)
    }
}

/// A type that can sit in a modelled field: a leaf (string, datatype, resource) or a
/// choice type (`value[x]`), which answers to several keys.
pub(crate) trait Element: Sized {
    /// Whether this is a choice type, matched by [`Element::match_choice`].
    #[doc(hidden)]
    const IS_CHOICE: bool = false;

    /// The JSON shape this type is read from.
    #[doc(hidden)]
    const SHAPE: Shape;

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

    /// The JSON shape the variant `tag` is read from (the type's own for a leaf).
    #[doc(hidden)]
    fn shape_for(_tag: u8) -> Shape {
        Self::SHAPE
    }

    /// Reads one JSON value of this type; another shape comes back as a mismatch.
    #[doc(hidden)]
    fn deserialize_got<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Self>, D::Error>;

    /// Reads the value of the current member.
    #[doc(hidden)]
    fn read_value<'de, A: MapAccess<'de>>(_tag: u8, map: &mut A) -> Result<Got<Self>, A::Error> {
        map.next_value_seed(GotSeed::<Self>::new())
    }

    /// Writes this value as one member.
    #[doc(hidden)]
    fn write_entry<M: SerializeMap>(&self, name: &'static str, map: &mut M)
    -> Result<(), M::Error>;

    /// Reads the current member's value into `slot` (set only for a value). Structs fill
    /// themselves in place instead of being built on the stack and moved up each level.
    #[doc(hidden)]
    fn read_into<'de, A: MapAccess<'de>>(
        tag: u8,
        map: &mut A,
        slot: &mut Option<Self>,
    ) -> Result<Got<()>, A::Error> {
        Ok(Self::read_value(tag, map)?.map_value(|v| {
            *slot = Some(v);
        }))
    }

    /// Reads the next array element onto the end of `vec`.
    #[doc(hidden)]
    fn push_next<'de, S: SeqAccess<'de>>(
        seq: &mut S,
        vec: &mut Vec<Self>,
    ) -> Result<Next, S::Error> {
        Ok(match seq.next_element_seed(GotSeed::<Self>::new())? {
            None => Next::End,
            Some(Got::Null) => Next::Null,
            Some(Got::Mismatch(raw)) => Next::Mismatch(raw),
            Some(Got::Value(v)) => {
                crate::budget::reserve_one(vec).map_err(S::Error::custom)?;
                vec.push(v);
                Next::Pushed
            }
        })
    }

    /// Reports mismatched members kept anywhere inside this value, under `path`.
    #[doc(hidden)]
    fn walk(&self, _path: &str, _out: &mut Vec<crate::validate::ValidationIssue>) {}

    /// [`Element::walk`] for the value of member `name` under `path`.
    #[doc(hidden)]
    fn walk_at(&self, name: &str, path: &str, out: &mut Vec<crate::validate::ValidationIssue>) {
        self.walk(&join_path(path, name), out);
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
    /// The element had another JSON shape; nothing was pushed.
    Mismatch(Box<RawValue>),
}

/// Fills an existing struct from a JSON object; other shapes are handed back raw.
pub(crate) struct FillSeed<'a, T>(pub(crate) &'a mut T);

/// A struct that can fill itself from the members of a JSON object.
pub(crate) trait Fill {
    /// Reads every member of the object into `self`.
    fn fill<'de, A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;
    /// Reports mismatched members kept in this struct and inside its fields.
    fn walk_fields(&self, path: &str, out: &mut Vec<crate::validate::ValidationIssue>);
    /// What to say when the JSON is not an object.
    const EXPECTING: &'static str;
}

impl<'de, T: Fill> Accept<'de> for FillSeed<'_, T> {
    type Out = ();
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Got<()>, A::Error> {
        self.0.fill(map).map(Got::Value)
    }
}

impl<'de, T: Fill> serde::de::DeserializeSeed<'de> for FillSeed<'_, T> {
    type Value = Got<()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Got<()>, D::Error> {
        // `any` dispatches on the next token once; `option` then `map` would peek twice.
        d.deserialize_any(AnyShape(self))
    }
}

/// Pushes a default struct and fills it in place, only once the array is known to have
/// another element (no placeholder pushed and popped at the end of every array).
pub(crate) struct PushSeed<'a, T>(pub(crate) &'a mut Vec<T>);

impl<'de, T: Fill + Default> serde::de::DeserializeSeed<'de> for PushSeed<'_, T> {
    type Value = Got<()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Got<()>, D::Error> {
        crate::budget::reserve_one(self.0).map_err(D::Error::custom)?;
        self.0.push(T::default());
        let Some(place) = self.0.last_mut() else {
            return Ok(Got::Null);
        };
        let got = FillSeed(place).deserialize(d)?;
        if !matches!(got, Got::Value(())) {
            self.0.pop();
        }
        Ok(got)
    }
}

/// Fills a struct from a JSON object (a document's top level: other shapes are errors).
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

/// Implements [`Element`] for a [`Fill`] struct, filling in place.
macro_rules! fill_element {
    ($t:ty) => {
        impl $crate::element::Element for $t {
            const SHAPE: $crate::element::Shape = $crate::element::Shape::Object;
            fn deserialize_got<'de, D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> Result<$crate::element::Got<Self>, D::Error> {
                let mut v = Self::default();
                let got = ::serde::de::DeserializeSeed::deserialize(
                    $crate::element::FillSeed(&mut v),
                    d,
                )?;
                Ok(match got {
                    $crate::element::Got::Value(()) => $crate::element::Got::Value(v),
                    $crate::element::Got::Null => $crate::element::Got::Null,
                    $crate::element::Got::Mismatch(r) => $crate::element::Got::Mismatch(r),
                })
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
            ) -> Result<$crate::element::Got<()>, A::Error> {
                let place = slot.insert(Self::default());
                let got = map.next_value_seed($crate::element::FillSeed(place))?;
                if !matches!(got, $crate::element::Got::Value(())) {
                    *slot = None;
                }
                Ok(got)
            }
            fn push_next<'de, S: ::serde::de::SeqAccess<'de>>(
                seq: &mut S,
                vec: &mut Vec<Self>,
            ) -> Result<$crate::element::Next, S::Error> {
                Ok(
                    match seq.next_element_seed($crate::element::PushSeed(vec))? {
                        None => $crate::element::Next::End,
                        Some($crate::element::Got::Value(())) => $crate::element::Next::Pushed,
                        Some($crate::element::Got::Null) => $crate::element::Next::Null,
                        Some($crate::element::Got::Mismatch(r)) => {
                            $crate::element::Next::Mismatch(r)
                        }
                    },
                )
            }
            fn walk(&self, path: &str, out: &mut Vec<$crate::validate::ValidationIssue>) {
                $crate::element::Fill::walk_fields(self, path, out);
            }
        }
    };
}
pub(crate) use fill_element;

/// A JSON string.
pub(crate) struct StrAccept;

impl Accept<'_> for StrAccept {
    type Out = String;
    fn str<E: serde::de::Error>(self, v: &str) -> Result<Got<String>, E> {
        Ok(Got::Value(v.to_owned()))
    }
    fn string<E: serde::de::Error>(self, v: String) -> Result<Got<String>, E> {
        Ok(Got::Value(v))
    }
}

impl Element for String {
    const SHAPE: Shape = Shape::String;
    fn deserialize_got<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Self>, D::Error> {
        AnyShape(StrAccept).deserialize(d)
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
}

/// A JSON boolean.
struct BoolAccept;

impl Accept<'_> for BoolAccept {
    type Out = bool;
    fn bool<E: serde::de::Error>(self, v: bool) -> Result<Got<bool>, E> {
        Ok(Got::Value(v))
    }
}

impl Element for bool {
    const SHAPE: Shape = Shape::Boolean;
    fn deserialize_got<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Self>, D::Error> {
        AnyShape(BoolAccept).deserialize(d)
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
}

impl Element for RawJson {
    const SHAPE: Shape = Shape::Any;
    fn deserialize_got<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Self>, D::Error> {
        Ok(read_raw(d, |raw| Ok(Got::Value(raw)))?.map_value(RawJson))
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
    const SHAPE: Shape = T::SHAPE;
    fn match_choice(key: &str) -> Option<u8> {
        T::match_choice(key)
    }
    fn key_for(tag: u8, name: &'static str) -> &'static str {
        T::key_for(tag, name)
    }
    fn shape_for(tag: u8) -> Shape {
        T::shape_for(tag)
    }
    fn deserialize_got<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Self>, D::Error> {
        Ok(T::deserialize_got(d)?.map_value(crate::budget::boxed))
    }
    fn read_value<'de, A: MapAccess<'de>>(tag: u8, map: &mut A) -> Result<Got<Self>, A::Error> {
        Ok(T::read_value(tag, map)?.map_value(crate::budget::boxed))
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        (**self).write_entry(name, map)
    }
    fn walk(&self, path: &str, out: &mut Vec<crate::validate::ValidationIssue>) {
        (**self).walk(path, out);
    }
    fn walk_at(&self, name: &str, path: &str, out: &mut Vec<crate::validate::ValidationIssue>) {
        (**self).walk_at(name, path, out);
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

    /// Reports mismatched members kept inside this field's values.
    #[doc(hidden)]
    fn walk(&self, name: &'static str, path: &str, out: &mut Vec<crate::validate::ValidationIssue>);
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
            if T::IS_CHOICE {
                // Two `value[x]` keys: the resource is off-spec, and `validate()` says so.
                return extra.push_choice_conflict(key, raw, name);
            }
            return extra.keep(key, raw);
        }
        match T::read_into(tag, map, self)? {
            Got::Value(()) => Ok(()),
            Got::Null => extra.push_mismatch(key, raw_literal("null"), T::shape_for(tag), None),
            Got::Mismatch(raw) => extra.push_mismatch(key, raw, T::shape_for(tag), None),
        }
    }

    fn write<M: SerializeMap>(&self, name: &'static str, map: &mut M) -> Result<(), M::Error> {
        match self {
            Some(v) => v.write_entry(name, map),
            None => Ok(()),
        }
    }

    fn walk(
        &self,
        name: &'static str,
        path: &str,
        out: &mut Vec<crate::validate::ValidationIssue>,
    ) {
        if let Some(v) = self {
            v.walk_at(name, path, out);
        }
    }
}

impl<T: Element + Serialize> Slot for Vec<T> {
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
            return extra.keep(name, raw);
        }
        match map.next_value_seed(AnyShape(VecSeed(self)))? {
            Got::Null => extra.push_mismatch(name, raw_literal("null"), Shape::Array, None),
            Got::Mismatch(raw) => extra.push_mismatch(name, raw, Shape::Array, None),
            Got::Value(VecRead::Items) if self.is_empty() => extra.keep(name, raw_literal("[]")),
            Got::Value(VecRead::Items) => Ok(()),
            Got::Value(VecRead::Kept { raw, bad: None }) => extra.keep(name, raw),
            Got::Value(VecRead::Kept { raw, bad }) => extra.push_mismatch(name, raw, T::SHAPE, bad),
        }
    }

    fn write<M: SerializeMap>(&self, name: &'static str, map: &mut M) -> Result<(), M::Error> {
        if self.is_empty() {
            Ok(())
        } else {
            map.serialize_entry(name, self)
        }
    }

    fn walk(
        &self,
        name: &'static str,
        path: &str,
        out: &mut Vec<crate::validate::ValidationIssue>,
    ) {
        for (i, v) in self.iter().enumerate() {
            v.walk(&format!("{}[{i}]", join_path(path, name)), out);
        }
    }
}

/// How a JSON array member was read by [`VecSeed`].
enum VecRead {
    /// Every element is in the vector.
    Items,
    /// The array had `null` holes or elements of another shape: the vector is empty and
    /// this is the array, raw; `bad` is the first element of the wrong shape.
    Kept {
        raw: Box<RawValue>,
        bad: Option<u32>,
    },
}

/// Reads a JSON array into a vector, element by element in place, tolerating `null` holes.
struct VecSeed<'a, T>(&'a mut Vec<T>);

impl<'de, T: Element + Serialize> Accept<'de> for VecSeed<'_, T> {
    type Out = VecRead;

    fn seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Got<VecRead>, S::Error> {
        // Most FHIR arrays hold one element (one coding, one identifier...). Start with
        // room for exactly one instead of Vec's default four: a quarter of the memory
        // for the common case, and small blocks the allocator serves fastest.
        if self.0.capacity() == 0 {
            crate::budget::reserve_exact(self.0, seq.size_hint().unwrap_or(1).clamp(1, 64))
                .map_err(S::Error::custom)?;
        }
        let first = loop {
            match T::push_next(&mut seq, self.0)? {
                Next::End => return Ok(Got::Value(VecRead::Items)),
                Next::Pushed => {}
                other => break other,
            }
        };
        // FHIR puts nulls in primitive arrays to line them up with `_name` extensions,
        // and payers put a wrong shape in arrays. The typed field cannot hold either, so
        // the whole array is kept raw: typed elements written back, the others as sent.
        // One buffer for the whole array: it holds about the bytes the array was read from.
        let mut text: Vec<u8> = vec![b'['];
        let put = |text: &mut Vec<u8>, v: Option<&T>, raw: &str| -> Result<(), S::Error> {
            if text.len() > 1 {
                text.push(b',');
            }
            match v {
                Some(v) => serde_json::to_writer(&mut *text, v).map_err(S::Error::custom),
                None => {
                    text.extend_from_slice(raw.as_bytes());
                    Ok(())
                }
            }
        };
        let mut index: u32 = 0;
        for v in std::mem::take(self.0) {
            put(&mut text, Some(&v), "")?;
            index = index.saturating_add(1);
        }
        let mut bad = None;
        let mut next = first;
        loop {
            match next {
                Next::End => break,
                Next::Pushed => {
                    if let Some(v) = self.0.pop() {
                        put(&mut text, Some(&v), "")?;
                    }
                }
                Next::Null => put(&mut text, None, "null")?,
                Next::Mismatch(raw) => {
                    bad = bad.or(Some(index));
                    put(&mut text, None, raw.get())?;
                }
            }
            index = index.saturating_add(1);
            next = T::push_next(&mut seq, self.0)?;
        }
        text.push(b']');
        let text = String::from_utf8(text).map_err(S::Error::custom)?;
        let raw = raw_from(text)?;
        Ok(Got::Value(VecRead::Kept { raw, bad }))
    }
}

/// Implements [`Element`] for a type read by a function returning [`Got`].
macro_rules! leaf_element {
    ($t:ty, $shape:ident, $read:path) => {
        impl $crate::element::Element for $t {
            const SHAPE: $crate::element::Shape = $crate::element::Shape::$shape;
            fn deserialize_got<'de, D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> Result<$crate::element::Got<Self>, D::Error> {
                $read(d)
            }
            fn write_entry<M: ::serde::ser::SerializeMap>(
                &self,
                name: &'static str,
                map: &mut M,
            ) -> Result<(), M::Error> {
                map.serialize_entry(name, self)
            }
        }
    };
}
pub(crate) use leaf_element;

/// Reads a JSON string into any `From<String>` type.
pub(crate) fn read_string<'de, D: Deserializer<'de>, T: From<String>>(
    d: D,
) -> Result<Got<T>, D::Error> {
    Ok(AnyShape(StrAccept).deserialize(d)?.map_value(T::from))
}
