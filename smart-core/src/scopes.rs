//! SMART scopes, typed: v1 (`patient/*.read`) and v2 (`patient/Observation.rs?category=laboratory`) resource
//! scopes, and every other scope (`openid`, `launch/patient`, ...) as sent.
//!
//! A [`ScopeSet`] answers the question an app actually has ("may I read Condition?") whichever form the payer
//! granted, and [`ScopeForm`] picks the form to *request* from what discovery advertises.
//!
//! ```
//! use smart_core::ScopeSet;
//! let granted = ScopeSet::parse("openid patient/Observation.rs?category=laboratory patient/Condition.read");
//! assert!(granted.allows_read("Condition"));
//! assert!(!granted.allows_read("Coverage"));
//! // Observation is readable only with a filter: `allows_read` says no, `allows_read_some` says yes.
//! assert!(!granted.allows_read("Observation"));
//! assert!(granted.allows_read_some("Observation"));
//! ```

use std::fmt;

use crate::discovery::SmartConfiguration;

/// Which scope syntax to request: SMART App Launch 1 (`.read`/`.write`/`.*`) or 2 (`.cruds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ScopeForm {
    /// Decide from discovery: v2 when the server advertises `permission-v2` or a v2 scope in
    /// `scopes_supported` (even when it offers v1 too), else v1.
    #[default]
    Auto,
    /// Always request v1 scopes (`patient/*.read`).
    V1,
    /// Always request v2 scopes (`patient/*.rs`).
    V2,
}

impl ScopeForm {
    /// The form to request at a server with configuration `cfg`: `self` unless it is [`ScopeForm::Auto`].
    pub fn resolve(self, cfg: &SmartConfiguration) -> ScopeForm {
        match self {
            ScopeForm::Auto => {
                let capability = |c: &str| cfg.capabilities.iter().any(|x| x == c);
                let advertised_v2 = cfg.scopes_supported.iter().any(
                    |s| matches!(Scope::parse(s), Scope::Resource(r) if r.version == ScopeForm::V2),
                );
                if capability("permission-v2") || advertised_v2 {
                    ScopeForm::V2
                } else {
                    ScopeForm::V1
                }
            }
            form => form,
        }
    }
}

/// Who a resource scope speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeContext {
    /// `patient/`: the data of the patient in context.
    Patient,
    /// `user/`: whatever the signed-in user may see.
    User,
    /// `system/`: backend services.
    System,
}

impl ScopeContext {
    fn as_str(self) -> &'static str {
        match self {
            ScopeContext::Patient => "patient",
            ScopeContext::User => "user",
            ScopeContext::System => "system",
        }
    }
}

/// The interactions a resource scope grants (v1 `read` = v2 `rs`, v1 `write` = v2 `cud`, v1 `*` = v2 `cruds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Permissions {
    /// `c`: create.
    pub create: bool,
    /// `r`: read.
    pub read: bool,
    /// `u`: update.
    pub update: bool,
    /// `d`: delete.
    pub delete: bool,
    /// `s`: search.
    pub search: bool,
}

impl Permissions {
    /// True when every permission of `other` is in `self`.
    pub fn contains(&self, other: &Permissions) -> bool {
        (!other.create || self.create)
            && (!other.read || self.read)
            && (!other.update || self.update)
            && (!other.delete || self.delete)
            && (!other.search || self.search)
    }

    fn v2_letters(&self) -> String {
        [
            (self.create, 'c'),
            (self.read, 'r'),
            (self.update, 'u'),
            (self.delete, 'd'),
            (self.search, 's'),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect()
    }

    /// v2 letters in the required order `c r u d s`, each at most once, at least one.
    fn parse_v2(s: &str) -> Option<Permissions> {
        let mut p = Permissions::default();
        let mut last = 0;
        for ch in s.chars() {
            let (slot, rank) = match ch {
                'c' => (&mut p.create, 1),
                'r' => (&mut p.read, 2),
                'u' => (&mut p.update, 3),
                'd' => (&mut p.delete, 4),
                's' => (&mut p.search, 5),
                _ => return None,
            };
            if rank <= last {
                return None;
            }
            last = rank;
            *slot = true;
        }
        (last > 0).then_some(p)
    }
}

/// A SMART resource scope such as `patient/*.read` or `patient/Observation.rs?category=laboratory`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ResourceScope {
    /// `patient`, `user` or `system`.
    pub context: ScopeContext,
    /// The resource type, or `*` for all.
    pub resource: String,
    /// What may be done.
    pub permissions: Permissions,
    /// A v2 search filter (`category=laboratory`), narrowing the scope to matching resources.
    pub filter: Option<String>,
    /// The syntax it was written in ([`ScopeForm::V1`] or [`ScopeForm::V2`]).
    pub version: ScopeForm,
}

impl ResourceScope {
    /// True when this scope covers resources of type `resource` (its own type, or `*`).
    pub fn applies_to(&self, resource: &str) -> bool {
        self.resource == "*" || self.resource == resource
    }

    /// This scope written in `form` (a v1 scope has no filter; a filtered v2 scope stays v2).
    pub fn to_form(&self, form: ScopeForm) -> String {
        let base = format!("{}/{}", self.context.as_str(), self.resource);
        let p = &self.permissions;
        let v1 = match (p.read && p.search, p.create && p.update && p.delete) {
            _ if self.filter.is_some() => None,
            (true, true) => Some("*"),
            (true, false) if !p.create && !p.update && !p.delete => Some("read"),
            (false, true) if !p.read && !p.search => Some("write"),
            _ => None,
        };
        match (form, v1) {
            (ScopeForm::V1, Some(v1)) => format!("{base}.{v1}"),
            _ => {
                let mut s = format!("{base}.{}", p.v2_letters());
                if let Some(f) = &self.filter {
                    s.push('?');
                    s.push_str(f);
                }
                s
            }
        }
    }

    fn parse(s: &str) -> Option<ResourceScope> {
        let (context, rest) = s.split_once('/')?;
        let context = match context {
            "patient" => ScopeContext::Patient,
            "user" => ScopeContext::User,
            "system" => ScopeContext::System,
            _ => return None,
        };
        let (rest, filter) = match rest.split_once('?') {
            Some((r, f)) if !f.is_empty() => (r, Some(f.to_owned())),
            Some(_) => return None,
            None => (rest, None),
        };
        let (resource, perms) = rest.rsplit_once('.')?;
        let valid_type = resource == "*"
            || (resource.starts_with(|c: char| c.is_ascii_uppercase())
                && resource.chars().all(|c| c.is_ascii_alphanumeric()));
        if !valid_type {
            return None;
        }
        let all = Permissions {
            create: true,
            read: true,
            update: true,
            delete: true,
            search: true,
        };
        let (permissions, version) = match perms {
            "read" => (
                Permissions {
                    read: true,
                    search: true,
                    ..Permissions::default()
                },
                ScopeForm::V1,
            ),
            "write" => (
                Permissions {
                    create: true,
                    update: true,
                    delete: true,
                    ..Permissions::default()
                },
                ScopeForm::V1,
            ),
            "*" => (all, ScopeForm::V1),
            letters => (Permissions::parse_v2(letters)?, ScopeForm::V2),
        };
        if filter.is_some() && version == ScopeForm::V1 {
            return None;
        }
        Some(ResourceScope {
            context,
            resource: resource.to_owned(),
            permissions,
            filter,
            version,
        })
    }
}

/// One scope: a resource scope, or any other scope kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// A SMART resource scope.
    Resource(ResourceScope),
    /// Anything else (`openid`, `fhirUser`, `launch/patient`, `offline_access`, a payer's own), as sent.
    Other(String),
}

impl Scope {
    /// Parses one scope; what is not a well-formed resource scope is [`Scope::Other`].
    pub fn parse(s: &str) -> Scope {
        match ResourceScope::parse(s) {
            Some(r) => Scope::Resource(r),
            None => Scope::Other(s.to_owned()),
        }
    }

    /// The scope written in `form` (only resource scopes change).
    pub fn to_form(&self, form: ScopeForm) -> String {
        match self {
            Scope::Resource(r) => r.to_form(form),
            Scope::Other(s) => s.clone(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Resource(r) => f.write_str(&r.to_form(r.version)),
            Scope::Other(s) => f.write_str(s),
        }
    }
}

/// A set of granted (or requested) scopes, queryable by resource type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet {
    scopes: Vec<Scope>,
}

impl ScopeSet {
    /// Parses a space-separated `scope` string.
    pub fn parse(scope: &str) -> ScopeSet {
        Self::from_strs(scope.split_whitespace())
    }

    /// Parses scopes one by one.
    pub fn from_strs<I, S>(scopes: I) -> ScopeSet
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeSet {
            scopes: scopes
                .into_iter()
                .map(|s| Scope::parse(s.as_ref()))
                .collect(),
        }
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.scopes.iter()
    }

    /// True when no scope is in the set.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// True when the non-resource scope `name` (`openid`, `offline_access`...) is in the set.
    pub fn has(&self, name: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| matches!(s, Scope::Other(o) if o == name))
    }

    fn resource_scopes(&self, resource: &str) -> impl Iterator<Item = &ResourceScope> {
        self.scopes.iter().filter_map(move |s| match s {
            Scope::Resource(r) if r.applies_to(resource) => Some(r),
            _ => None,
        })
    }

    /// True when every `resource` may be read and searched, without a filter (a `patient/` or `user/` scope
    /// with `r` and `s`, for that type or `*`).
    pub fn allows_read(&self, resource: &str) -> bool {
        let want = Permissions {
            read: true,
            search: true,
            ..Permissions::default()
        };
        self.allows(resource, &want)
    }

    /// True when at least some `resource`s may be read (a filtered scope such as
    /// `patient/Observation.rs?category=laboratory` counts).
    pub fn allows_read_some(&self, resource: &str) -> bool {
        self.resource_scopes(resource)
            .any(|r| r.permissions.read || r.permissions.search)
    }

    /// True when the unfiltered scopes for `resource` together grant every permission in `want`.
    pub fn allows(&self, resource: &str, want: &Permissions) -> bool {
        let mut have = Permissions::default();
        for r in self
            .resource_scopes(resource)
            .filter(|r| r.filter.is_none())
        {
            let p = r.permissions;
            have.create |= p.create;
            have.read |= p.read;
            have.update |= p.update;
            have.delete |= p.delete;
            have.search |= p.search;
        }
        have.contains(want)
    }

    /// True when `scope` is granted: the same scope, or (for a resource scope) scopes of the same context that
    /// grant at least its permissions on its type (with the same filter, or none).
    pub fn covers(&self, scope: &Scope) -> bool {
        match scope {
            Scope::Other(name) => self.has(name),
            Scope::Resource(want) => {
                let mut have = Permissions::default();
                for r in self.scopes.iter().filter_map(|s| match s {
                    Scope::Resource(r) => Some(r),
                    Scope::Other(_) => None,
                }) {
                    let type_ok = r.resource == "*" || r.resource == want.resource;
                    let filter_ok = r.filter.is_none() || r.filter == want.filter;
                    if r.context == want.context && type_ok && filter_ok {
                        let p = r.permissions;
                        have.create |= p.create;
                        have.read |= p.read;
                        have.update |= p.update;
                        have.delete |= p.delete;
                        have.search |= p.search;
                    }
                }
                have.contains(&want.permissions)
            }
        }
    }

    /// The scopes of `requested` this set does not cover, as written in `requested`.
    pub fn missing<S: AsRef<str>>(&self, requested: &[S]) -> Vec<String> {
        requested
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| !self.covers(&Scope::parse(s)))
            .map(str::to_owned)
            .collect()
    }
}

/// `scopes` with every resource scope rewritten in `form` (v1 scopes that have no v1 equivalent stay v2).
pub(crate) fn in_form(scopes: &[String], form: ScopeForm) -> Vec<String> {
    if form == ScopeForm::Auto {
        return scopes.to_vec();
    }
    scopes
        .iter()
        .map(|s| Scope::parse(s).to_form(form))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_parse_to_the_same_permissions() {
        let v1 = ScopeSet::parse("patient/*.read");
        let v2 = ScopeSet::parse("patient/*.rs");
        for set in [&v1, &v2] {
            assert!(set.allows_read("Condition"));
            assert!(set.allows_read("ExplanationOfBenefit"));
            assert!(!set.allows(
                "Condition",
                &Permissions {
                    create: true,
                    ..Permissions::default()
                }
            ));
        }
        assert!(v1.covers(&Scope::parse("patient/Condition.rs")));
        assert!(v2.covers(&Scope::parse("patient/*.read")));
    }

    #[test]
    fn filtered_v2_scope_is_partial_read() {
        let s = ScopeSet::parse("patient/Observation.rs?category=laboratory openid");
        let Some(Scope::Resource(r)) = s.iter().next() else {
            unreachable!()
        };
        assert_eq!(r.filter.as_deref(), Some("category=laboratory"));
        assert_eq!(r.version, ScopeForm::V2);
        assert!(!s.allows_read("Observation"));
        assert!(s.allows_read_some("Observation"));
        assert!(!s.allows_read_some("Condition"));
        assert!(s.covers(&Scope::parse("patient/Observation.rs?category=laboratory")));
        assert!(!s.covers(&Scope::parse("patient/Observation.rs")));
        assert!(s.has("openid"));
    }

    #[test]
    fn malformed_resource_scopes_are_other() {
        for s in [
            "patient/*.rx",
            "patient/*.sr",
            "patient/*.rr",
            "patient/*.",
            "patient/observation.rs",
            "patient/*.read?x=1",
            "launch/patient",
            "openid",
            "admin/*.read",
        ] {
            assert!(
                matches!(Scope::parse(s), Scope::Other(ref o) if o == s),
                "{s}"
            );
        }
    }

    #[test]
    fn forms_convert_both_ways() {
        let cases = [
            ("patient/*.read", "patient/*.rs"),
            ("user/Observation.write", "user/Observation.cud"),
            ("patient/Coverage.*", "patient/Coverage.cruds"),
        ];
        for (v1, v2) in cases {
            assert_eq!(Scope::parse(v1).to_form(ScopeForm::V2), v2);
            assert_eq!(Scope::parse(v2).to_form(ScopeForm::V1), v1);
        }
        // No v1 equivalent: stays v2.
        assert_eq!(
            Scope::parse("patient/Patient.r").to_form(ScopeForm::V1),
            "patient/Patient.r"
        );
        assert_eq!(
            in_form(&["openid".into(), "patient/*.read".into()], ScopeForm::V2),
            ["openid", "patient/*.rs"]
        );
    }

    #[test]
    fn missing_lists_what_was_not_granted() {
        let granted = ScopeSet::parse("openid patient/Condition.rs patient/Coverage.read");
        let missing = granted.missing(&[
            "openid",
            "offline_access",
            "patient/Condition.read",
            "patient/*.rs",
            "patient/Coverage.rs",
        ]);
        assert_eq!(missing, ["offline_access", "patient/*.rs"]);
    }

    fn cfg(capabilities: &[&str], scopes: &[&str]) -> SmartConfiguration {
        let mut doc = serde_json::json!({
            "authorization_endpoint": "https://a.example/auth",
            "token_endpoint": "https://a.example/token",
        });
        doc["capabilities"] = serde_json::json!(capabilities);
        doc["scopes_supported"] = serde_json::json!(scopes);
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn auto_form_follows_discovery_and_prefers_v2() {
        let auto = ScopeForm::Auto;
        assert_eq!(auto.resolve(&cfg(&[], &[])), ScopeForm::V1);
        assert_eq!(
            auto.resolve(&cfg(&["permission-v1"], &["patient/*.read"])),
            ScopeForm::V1
        );
        assert_eq!(auto.resolve(&cfg(&["permission-v2"], &[])), ScopeForm::V2);
        assert_eq!(
            auto.resolve(&cfg(&[], &["openid", "patient/*.rs"])),
            ScopeForm::V2
        );
        assert_eq!(
            auto.resolve(&cfg(
                &["permission-v1", "permission-v2"],
                &["patient/*.read", "patient/*.rs"]
            )),
            ScopeForm::V2
        );
        assert_eq!(
            ScopeForm::V1.resolve(&cfg(&["permission-v2"], &[])),
            ScopeForm::V1
        );
    }
}
