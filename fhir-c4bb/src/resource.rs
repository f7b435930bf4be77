//! [`Resource`]: any FHIR resource, typed when this crate models it, raw JSON otherwise,
//! chosen by `resourceType` while parsing in one pass.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::element::{AnyShape, Extra, Fill, Got, StrAccept};

macro_rules! define_resources {
    ($($variant:ident => $ty:ty, $as_fn:ident, $into_fn:ident, $doc:literal;)*) => {
        /// Any FHIR resource: the types this crate models are typed (claims: C4BB; clinical
        /// data: US Core, in [`clinical`](crate::clinical)), every other type is kept as raw
        /// JSON in [`Resource::Other`]. The variants come from one list,
        /// [`with_resource_types!`](crate::with_resource_types).
        ///
        /// ```
        /// use fhir_c4bb::Resource;
        /// let r: Resource = fhir_c4bb::from_str(r#"{"resourceType":"Patient","id":"p1"}"#)?;
        /// assert!(matches!(r, Resource::Patient(_)));
        /// assert_eq!(r.id(), Some("p1"));
        ///
        /// let r: Resource = fhir_c4bb::from_str(r#"{"id":"o1","resourceType":"Observation","valueQuantity":{"value":1.50}}"#)?;
        /// assert_eq!(r.resource_type(), "Observation");
        /// assert!(r.as_observation().is_some());
        /// assert_eq!(serde_json::to_string(&r).unwrap(),
        ///            r#"{"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.50}}"#);
        /// # Ok::<(), fhir_c4bb::ParseError>(())
        /// ```
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Resource {
            $( #[doc = $doc] $variant(Box<$ty>), )*
            /// Any other resource type, kept as raw JSON.
            Other(Box<OtherResource>),
        }

        impl Resource {
            /// Every `resourceType` this crate parses typed, in registry order.
            pub const TYPED: &'static [&'static str] = &[$(<$ty>::RESOURCE_TYPE),*];

            /// The `resourceType` (`""` for an object that had none).
            pub fn resource_type(&self) -> &str {
                match self {
                    $( Resource::$variant(_) => <$ty>::RESOURCE_TYPE, )*
                    Resource::Other(o) => o.resource_type(),
                }
            }

            /// The logical id.
            pub fn id(&self) -> Option<&str> {
                match self {
                    $( Resource::$variant(r) => r.id.as_deref(), )*
                    Resource::Other(o) => o.id(),
                }
            }

            /// Whether `resource_type` is one this crate parses typed.
            pub fn is_typed(resource_type: &str) -> bool {
                Self::TYPED.contains(&resource_type)
            }

            $(
                #[doc = concat!("The ", stringify!($variant), ", if this is one.")]
                pub fn $as_fn(&self) -> Option<&$ty> {
                    match self {
                        Resource::$variant(r) => Some(r),
                        _ => None,
                    }
                }

                #[doc = concat!("The ", stringify!($variant), ", if this is one; else the resource back.")]
                pub fn $into_fn(self) -> Result<$ty, Resource> {
                    match self {
                        Resource::$variant(r) => Ok(*r),
                        other => Err(other),
                    }
                }
            )*

            pub(crate) fn validate_into(
                &self,
                out: &mut Vec<crate::validate::ValidationIssue>,
                prefix: &str,
            ) {
                match self {
                    $( Resource::$variant(r) => r.validate_into(out, prefix), )*
                    Resource::Other(_) => {}
                }
            }
        }

        $(
            impl From<$ty> for Resource {
                fn from(r: $ty) -> Resource {
                    Resource::$variant(Box::new(r))
                }
            }
        )*

        impl Serialize for Resource {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Resource::$variant(r) => r.serialize(s), )*
                    Resource::Other(r) => r.serialize(s),
                }
            }
        }

        fn dispatch<'de, A: MapAccess<'de>>(rt: String, map: A) -> Result<Resource, A::Error> {
            // The match only picks a function: nested resources recurse through here, and
            // in a debug build a frame holds every arm's locals at once, so the arms must
            // not be inlined into one frame (one per typed resource type).
            type Read<A, E> = fn(A) -> Result<Resource, E>;
            let read: Read<A, A::Error> = match rt.as_str() {
                $( <$ty>::RESOURCE_TYPE => |map| Ok(Resource::$variant(boxed(map)?)), )*
                _ => return Ok(Resource::Other(Box::new(OtherResource::new(Some(rt), collect_rest(map)?)))),
            };
            read(map)
        }

        fn walk_resource(r: &Resource, path: &str, out: &mut Vec<crate::validate::ValidationIssue>) {
            match r {
                $( Resource::$variant(r) => r.walk_fields(path, out), )*
                Resource::Other(_) => {}
            }
        }
    };
}

crate::with_resource_types!(define_resources);

/// Fills a boxed default in place: a big resource is never built on the stack and moved.
fn boxed<'de, T: Fill + Default, A: MapAccess<'de>>(map: A) -> Result<Box<T>, A::Error> {
    crate::budget::charge_box::<T>().map_err(de::Error::custom)?;
    let mut b = Box::<T>::default();
    b.fill(map)?;
    Ok(b)
}

/// A resource of a type this crate does not model, kept as raw JSON members.
///
/// ```
/// let r: fhir_c4bb::Resource = fhir_c4bb::from_str(
///     r#"{"resourceType":"Questionnaire","id":"q1","item":[{"linkId":"1"}]}"#,
/// )?;
/// let fhir_c4bb::Resource::Other(other) = &r else { panic!() };
/// assert_eq!(other.get("item").map(|v| v.get()), Some(r#"[{"linkId":"1"}]"#));
/// let v: serde_json::Value = other.to_value()?;
/// assert_eq!(v["id"], "q1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtherResource {
    resource_type: Option<String>,
    id: Option<String>,
    members: Extra,
}

impl OtherResource {
    /// The `resourceType` (`""` if the object had none).
    pub fn resource_type(&self) -> &str {
        self.resource_type.as_deref().unwrap_or("")
    }

    /// The `id`, when it is a string.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The raw JSON of a member other than `resourceType`.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.members.get(key)
    }

    /// Every member other than `resourceType`, raw, in input order.
    pub fn members(&self) -> &Extra {
        &self.members
    }

    /// Converts to a `serde_json::Value` (numbers become `f64`/integers there).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Deserializes into your own type, e.g. a Questionnaire model.
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&serde_json::to_string(self)?)
    }

    fn new(resource_type: Option<String>, members: Vec<(String, Box<RawValue>)>) -> Self {
        let mut out = OtherResource {
            resource_type,
            id: None,
            members: Extra::new(),
        };
        for (k, v) in members {
            if k == "id" && out.id.is_none() {
                out.id = serde_json::from_str::<String>(v.get()).ok();
            }
            out.members.push(k, v);
        }
        out
    }
}

impl Serialize for OtherResource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(rt) = &self.resource_type {
            m.serialize_entry("resourceType", rt)?;
        }
        self.members.write(&mut m)?;
        m.end()
    }
}

/// The first key of a resource object: `resourceType` or anything else.
enum FirstKey {
    ResourceType,
    Other(String),
}

struct FirstKeySeed;

impl<'de> DeserializeSeed<'de> for FirstKeySeed {
    type Value = FirstKey;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FirstKey, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FirstKeySeed {
    type Value = FirstKey;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<FirstKey, E> {
        Ok(if s == "resourceType" {
            FirstKey::ResourceType
        } else {
            FirstKey::Other(s.to_owned())
        })
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<FirstKey, E> {
        Ok(if s == "resourceType" {
            FirstKey::ResourceType
        } else {
            FirstKey::Other(s)
        })
    }
}

struct ResourceVisitor;

impl<'de> Visitor<'de> for ResourceVisitor {
    type Value = Resource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a FHIR resource (a JSON object with resourceType)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Resource, A::Error> {
        // Fast path: `resourceType` comes first, so the typed visitor takes over the live
        // map. Otherwise the members before it are kept raw and replayed in front.
        let mut before: Vec<(String, Box<RawValue>)> = Vec::new();
        // A `resourceType` that is no string leaves the object an untyped resource.
        let mut untyped = false;
        loop {
            match map.next_key_seed(FirstKeySeed)? {
                Some(FirstKey::ResourceType) if !untyped => {
                    let rt = match map.next_value_seed(AnyShape(StrAccept))? {
                        Got::Value(rt) => rt,
                        Got::Null => {
                            untyped = true;
                            before.push(("resourceType".to_owned(), RawValue::NULL.to_owned()));
                            continue;
                        }
                        Got::Mismatch(raw) => {
                            untyped = true;
                            before.push(("resourceType".to_owned(), raw));
                            continue;
                        }
                    };
                    return if before.is_empty() {
                        dispatch(rt, map)
                    } else {
                        dispatch(
                            rt,
                            Replay {
                                before: before.into_iter(),
                                pending: None,
                                key: None,
                                rest: map,
                            },
                        )
                    };
                }
                Some(FirstKey::ResourceType) => {
                    let v: Box<RawValue> = map.next_value()?;
                    crate::budget::reserve_one(&mut before).map_err(de::Error::custom)?;
                    before.push(("resourceType".to_owned(), v));
                }
                Some(FirstKey::Other(k)) => {
                    let v: Box<RawValue> = map.next_value()?;
                    crate::budget::reserve_one(&mut before).map_err(de::Error::custom)?;
                    before.push((k, v));
                }
                None => return Ok(Resource::Other(Box::new(OtherResource::new(None, before)))),
            }
        }
    }
}

fn collect_rest<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<Vec<(String, Box<RawValue>)>, A::Error> {
    let mut out = Vec::new();
    while let Some(k) = map.next_key::<String>()? {
        let v: Box<RawValue> = map.next_value()?;
        crate::budget::reserve_one(&mut out).map_err(de::Error::custom)?;
        out.push((k, v));
    }
    Ok(out)
}

/// How many replays are running on this thread, each holding a fresh recursion budget.
struct ReplayDepth;

thread_local! {
    static REPLAY_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl ReplayDepth {
    /// Nested replays allowed; with serde_json's 128 levels each, this bounds the stack.
    const MAX: u32 = 3;

    fn enter() -> Option<ReplayDepth> {
        REPLAY_DEPTH.with(|d| {
            let n = d.get();
            (n < Self::MAX).then(|| {
                d.set(n + 1);
                ReplayDepth
            })
        })
    }
}

impl Drop for ReplayDepth {
    fn drop(&mut self) {
        REPLAY_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A map that yields members already read (kept raw) before the rest of a live map.
struct Replay<A> {
    before: std::vec::IntoIter<(String, Box<RawValue>)>,
    pending: Option<Box<RawValue>>,
    key: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.before.next() {
            Some((k, v)) => {
                self.pending = Some(v);
                self.key = Some(k.clone());
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.pending.take() {
            Some(raw) => {
                // Each replay parses with a fresh serde_json deserializer, whose recursion
                // limit starts again at zero: without a budget of our own, resources
                // nested with a late resourceType would recurse until the stack overflows.
                let Some(_depth) = ReplayDepth::enter() else {
                    return Err(de::Error::custom(
                        "resources nested too deeply (resourceType not first at every level)",
                    ));
                };
                // A reader-based deserializer works for any 'de; the raw text is valid JSON.
                // The outer path tracker cannot see inside this replay, so the error text
                // carries the path within the member.
                let mut de = serde_json::Deserializer::from_reader(raw.get().as_bytes());
                let mut track = serde_path_to_error::Track::new();
                seed.deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
                    .map_err(|e| {
                        let key = self.key.take().unwrap_or_default();
                        let inner = track.path().to_string();
                        let sep = if inner.starts_with('[') { "" } else { "." };
                        let path = if inner == "." {
                            key
                        } else {
                            format!("{key}{sep}{inner}")
                        };
                        de::Error::custom(format_args!("{path}: {e}"))
                    })
            }
            None => self.rest.next_value_seed(seed),
        }
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ResourceVisitor)
    }
}

/// A resource as a field value (`contained`, `entry.resource`): any JSON that is no object
/// is a mismatch, kept as sent.
struct ResourceAccept;

impl<'de> crate::element::Accept<'de> for ResourceAccept {
    type Out = Resource;
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<crate::element::Got<Resource>, A::Error> {
        ResourceVisitor
            .visit_map(map)
            .map(crate::element::Got::Value)
    }
}

fn read_resource<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<crate::element::Got<Resource>, D::Error> {
    crate::element::AnyShape(ResourceAccept).deserialize(d)
}

impl crate::element::Element for Resource {
    const SHAPE: crate::element::Shape = crate::element::Shape::Object;
    fn deserialize_got<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<crate::element::Got<Self>, D::Error> {
        read_resource(d)
    }
    fn write_entry<M: SerializeMap>(
        &self,
        name: &'static str,
        map: &mut M,
    ) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
    fn walk(&self, path: &str, out: &mut Vec<crate::validate::ValidationIssue>) {
        walk_resource(self, path, out);
    }
}
