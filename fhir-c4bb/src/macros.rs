//! `macro_rules!` that turn one field list into a model struct, its serde visitor and its
//! Serialize impl, so that the list of JSON keys is written once per type.
//!
//! Why hand-written visitors instead of `#[derive(Deserialize)]` + `#[serde(flatten)]`:
//! flatten buffers every object into an intermediate map before the struct sees it, which
//! costs more than parsing into `serde_json::Value`. These visitors match the known keys
//! directly and copy only the unknown members, as raw JSON, into [`Extra`](crate::Extra).

/// Defines a FHIR complex type or resource.
///
/// Each field is `Option<T>` or `Vec<T>` with its JSON key; a choice type (`value[x]`)
/// is an `Option<Choice>` whose key is the base name. `: resource "Patient"` makes it a
/// resource: it writes `resourceType` first and rejects a different one when read alone.
///
/// `: domain_resource "Condition"` is a resource with the DomainResource header (`id`,
/// `meta`, `implicitRules`, `language`, `text`, `contained`, `extension`,
/// `modifierExtension`) written for it, so the type lists only its own fields.
///
/// `: backbone` is a BackboneElement: `id`, `extension` and `modifierExtension` first.
///
/// Every field gets a doc line naming its JSON key, after any doc the field list gives.
macro_rules! fhir_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident : domain_resource $rt:literal {
            $($body:tt)*
        }
    ) => {
        $crate::macros::fhir_struct! {
            $(#[$meta])*
            pub struct $name: resource $rt {
                /// Logical id.
                pub id: Option<String> = "id",
                /// Metadata (profiles, lastUpdated).
                pub meta: Option<$crate::datatypes::Meta> = "meta",
                /// Rules the content was created under.
                pub implicit_rules: Option<String> = "implicitRules",
                /// Language of the resource.
                pub language: Option<String> = "language",
                /// Human-readable summary.
                pub text: Option<$crate::datatypes::Narrative> = "text",
                /// Contained resources (resolve references to them with `resolve_contained`).
                pub contained: Vec<$crate::Resource> = "contained",
                /// Extensions.
                pub extension: Vec<$crate::datatypes::Extension> = "extension",
                /// Extensions that change the meaning.
                pub modifier_extension: Vec<$crate::datatypes::Extension> = "modifierExtension",
                $($body)*
            }
        }

        impl $name {
            /// The resource in `contained` that `reference` points to (`#id`).
            pub fn resolve_contained(&self, reference: &$crate::Reference) -> Option<&$crate::Resource> {
                let id = reference.contained_id()?;
                self.contained.iter().find(|r| r.id() == Some(id))
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident : backbone {
            $($body:tt)*
        }
    ) => {
        $crate::macros::fhir_struct! {
            $(#[$meta])*
            pub struct $name {
                /// Element id.
                pub id: Option<String> = "id",
                /// Extensions.
                pub extension: Vec<$crate::datatypes::Extension> = "extension",
                /// Extensions that change the meaning.
                pub modifier_extension: Vec<$crate::datatypes::Extension> = "modifierExtension",
                $($body)*
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(: resource $rt:literal)? {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty = $key:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[doc = ""]
                #[doc = concat!("JSON: `", $key, "`.")]
                pub $field: $ty,
            )*
            /// JSON members not modelled here (unknown elements, `_primitive` extensions,
            /// values the typed fields cannot hold exactly), kept verbatim.
            pub extra: $crate::element::Extra,
        }

        $(
        impl $name {
            /// The FHIR `resourceType` of this resource.
            pub const RESOURCE_TYPE: &'static str = $rt;
        }
        )?

        const _: () = {
            use ::serde::de::{self, DeserializeSeed, MapAccess, Visitor};
            use ::serde::ser::SerializeMap;
            use $crate::element::Slot;

            #[allow(non_camel_case_types, dead_code)]
            enum __Field {
                $( $field(u8), )*
                __ResourceType,
                __Unknown(String),
            }

            #[inline]
            fn __match(s: &str) -> Option<__Field> {
                $(
                    if !<$ty as Slot>::IS_CHOICE && s == $key {
                        return Some(__Field::$field(0));
                    }
                )*
                $( if s == "resourceType" { let _ = $rt; return Some(__Field::__ResourceType); } )?
                $(
                    if <$ty as Slot>::IS_CHOICE {
                        if let Some(t) = <$ty as Slot>::match_choice(s) {
                            return Some(__Field::$field(t));
                        }
                    }
                )*
                None
            }

            struct __KeySeed;
            impl<'de> DeserializeSeed<'de> for __KeySeed {
                type Value = __Field;
                fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<__Field, D::Error> {
                    d.deserialize_identifier(__KeyVisitor)
                }
            }
            struct __KeyVisitor;
            impl<'de> Visitor<'de> for __KeyVisitor {
                type Value = __Field;
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("a member name")
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<__Field, E> {
                    Ok(__match(s).unwrap_or_else(|| __Field::__Unknown(s.to_owned())))
                }
                fn visit_string<E: de::Error>(self, s: String) -> Result<__Field, E> {
                    Ok(match __match(&s) {
                        Some(f) => f,
                        None => __Field::__Unknown(s),
                    })
                }
            }

            impl $crate::element::Fill for $name {
                const EXPECTING: &'static str = concat!("a JSON object (", stringify!($name), ")");

                fn fill<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
                    let out = self;
                    while let Some(key) = map.next_key_seed(__KeySeed)? {
                        match key {
                            $(
                                __Field::$field(tag) => {
                                    Slot::read(&mut out.$field, tag, $key, &mut map, &mut out.extra)?
                                }
                            )*
                            __Field::__ResourceType => {
                                let rt: String = map.next_value()?;
                                $(
                                    if rt != $rt {
                                        return Err(de::Error::custom(format_args!(
                                            "resourceType is {rt:?}, expected {:?}", $rt
                                        )));
                                    }
                                )?
                                let _ = rt;
                            }
                            __Field::__Unknown(k) => {
                                let v: Box<::serde_json::value::RawValue> = map.next_value()?;
                                out.extra.keep(k, v)?;
                            }
                        }
                    }
                    Ok(())
                }

                fn walk_fields(
                    &self,
                    path: &str,
                    out: &mut Vec<$crate::validate::ValidationIssue>,
                ) {
                    self.extra.report(path, out);
                    $( Slot::walk(&self.$field, $key, path, out); )*
                }
            }

            impl<'de> ::serde::Deserialize<'de> for $name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let mut out = Self::default();
                    d.deserialize_map($crate::element::FillVisitor(&mut out))?;
                    Ok(out)
                }
            }

            impl ::serde::Serialize for $name {
                fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    let mut m = s.serialize_map(None)?;
                    $( m.serialize_entry("resourceType", $rt)?; )?
                    $( Slot::write(&self.$field, $key, &mut m)?; )*
                    self.extra.write(&mut m)?;
                    m.end()
                }
            }
        };

        $crate::element::fill_element!($name);
    };
}
pub(crate) use fhir_struct;

/// Defines a FHIR choice type (`serviced[x]`, `value[x]`...): one enum variant per JSON key.
macro_rules! fhir_choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident($ty:ty) = $key:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // A choice sits in an `Option` field of a struct that already lives on the heap;
        // boxing the big variants would add an allocation per value for nothing.
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        const _: () = {
            const __KEYS: &[&str] = &[$($key),*];

            impl $crate::element::Element for $name {
                const IS_CHOICE: bool = true;
                const SHAPE: $crate::element::Shape = $crate::element::Shape::Any;
                fn match_choice(key: &str) -> Option<u8> {
                    __KEYS.iter().position(|k| *k == key).and_then(|i| u8::try_from(i).ok())
                }
                fn key_for(tag: u8, name: &'static str) -> &'static str {
                    __KEYS.get(usize::from(tag)).copied().unwrap_or(name)
                }
                fn shape_for(tag: u8) -> $crate::element::Shape {
                    match __KEYS.get(usize::from(tag)).copied() {
                        $( Some($key) => <$ty as $crate::element::Element>::SHAPE, )*
                        _ => $crate::element::Shape::Any,
                    }
                }
                fn deserialize_got<'de, D: ::serde::Deserializer<'de>>(
                    _d: D,
                ) -> Result<$crate::element::Got<Self>, D::Error> {
                    // Only fields read a choice, by the key that names the variant.
                    Err(<D::Error as ::serde::de::Error>::custom(concat!(
                        stringify!($name), " is read by its member name"
                    )))
                }
                fn read_value<'de, A: ::serde::de::MapAccess<'de>>(
                    tag: u8,
                    map: &mut A,
                ) -> Result<$crate::element::Got<Self>, A::Error> {
                    match __KEYS.get(usize::from(tag)).copied() {
                        $(
                            Some($key) => Ok(
                                <$ty as $crate::element::Element>::read_value(0, map)?
                                    .map_value($name::$variant)
                            ),
                        )*
                        _ => Err(<A::Error as ::serde::de::Error>::custom("unknown choice variant")),
                    }
                }
                fn walk(&self, path: &str, out: &mut Vec<$crate::validate::ValidationIssue>) {
                    match self {
                        $( $name::$variant(v) => $crate::element::Element::walk(v, path, out), )*
                    }
                }
                fn walk_at(
                    &self,
                    _name: &str,
                    path: &str,
                    out: &mut Vec<$crate::validate::ValidationIssue>,
                ) {
                    match self {
                        $( $name::$variant(v) => $crate::element::Element::walk_at(v, $key, path, out), )*
                    }
                }
                fn write_entry<M: ::serde::ser::SerializeMap>(
                    &self,
                    _name: &'static str,
                    map: &mut M,
                ) -> Result<(), M::Error> {
                    match self {
                        $( $name::$variant(v) => map.serialize_entry($key, v), )*
                    }
                }
            }
        };
    };
}
pub(crate) use fhir_choice;
