//! The simulator's FHIR server: read, search with `_count` paging and `next` links, `$everything`, `$userinfo`,
//! `metadata`, bearer-token checks, rate limiting, content negotiation, each payer's differences from
//! [`SimConfig`](super::config::SimConfig).

use std::time::Instant;

use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::config::Paging;
use super::engine::{Engine, Incoming, bump, json_response, lock, respond};

/// Paging parameters the engine understands, whatever the payer's style.
const PAGING_PARAMS: &[&str] = &[
    "_count",
    "page",
    "startIndex",
    "_page_token",
    "ct",
    "_getpages",
];

impl Engine {
    pub(crate) fn fhir(&self, req: &Incoming<'_>, rest: &str) -> Response {
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        if segments == ["metadata"] {
            bump(&self.counters.discovery);
            return self.fhir_json(StatusCode::OK, &self.capability_statement());
        }
        if segments.first() == Some(&".well-known") {
            // A discovery probe under the FHIR base where this payer serves none: a plain 404, no token needed.
            return self.operation_outcome(
                StatusCode::NOT_FOUND,
                "error",
                "not-found",
                &self.cfg.not_found_text,
            );
        }
        bump(&self.counters.fhir);
        if let Some(limit) = &self.opts.rate_limit {
            let now = Instant::now();
            let mut window = lock(&self.rate);
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) > limit.window)
            {
                window.pop_front();
            }
            if window.len() >= limit.burst as usize {
                drop(window);
                bump(&self.counters.rate_limited);
                // Aetna: no Retry-After, no RateLimit-* headers.
                return self.operation_outcome(
                    StatusCode::TOO_MANY_REQUESTS,
                    "error",
                    "transient",
                    &self.cfg.rate_limit_text,
                );
            }
            window.push_back(now);
        }
        if !self.bearer_ok(req) {
            bump(&self.counters.unauthorized);
            let mut r = self.operation_outcome(
                StatusCode::UNAUTHORIZED,
                "error",
                "login",
                "Invalid or expired access token",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return r;
        }
        if !self.cfg.accept_only.is_empty() {
            let accept = req.header(header::ACCEPT).unwrap_or("*/*");
            let ok = accept.split(',').any(|a| {
                let a = a.split(';').next().unwrap_or_default().trim();
                self.cfg.accept_only.iter().any(|x| x == a)
            });
            if !ok {
                return self.operation_outcome(
                    StatusCode::NOT_ACCEPTABLE,
                    "error",
                    "not-supported",
                    &format!(
                        "Not Acceptable: this API produces {}",
                        self.cfg.accept_only.join(", ")
                    ),
                );
            }
        }
        if !self.cfg.allowed_params.is_empty()
            && let Some((k, _)) = req
                .query
                .iter()
                .find(|(k, _)| !self.cfg.allowed_params.contains(k))
        {
            return self.operation_outcome(
                StatusCode::BAD_REQUEST,
                "error",
                "invalid",
                &format!("MSG_RESOURCE_ID_MISSING: unknown or unsupported query parameter {k}"),
            );
        }
        let count = match req.param("_count").or_else(|| req.param("count")) {
            None => self.opts.page_size.unwrap_or(self.cfg.default_count),
            Some(c) => match c.parse::<u32>() {
                Ok(n) if n >= 1 && self.cfg.max_count.is_none_or(|m| n <= m) => n,
                _ => {
                    return self.operation_outcome(
                        StatusCode::BAD_REQUEST,
                        "error",
                        "invalid",
                        &format!(
                            "_count must be a number between 1 and {}",
                            self.cfg
                                .max_count
                                .map_or("any".to_owned(), |m| m.to_string())
                        ),
                    );
                }
            },
        };
        match segments.as_slice() {
            ["$userinfo"] if self.cfg.fhir_userinfo => {
                json_response(StatusCode::OK, &self.userinfo_body())
            }
            [rtype] if !rtype.starts_with('$') => self.search(req, rtype, count),
            ["Patient", id, "$everything"] => self.everything(id),
            [rtype, id] => self.read(rtype, id),
            _ => self.operation_outcome(
                StatusCode::NOT_FOUND,
                "error",
                "not-found",
                &self.cfg.not_found_text,
            ),
        }
    }

    fn today(&self) -> u32 {
        self.day.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn fhir_json(&self, status: StatusCode, body: &Value) -> Response {
        respond(
            status,
            &[(header::CONTENT_TYPE, self.cfg.fhir_content_type.clone())],
            body.to_string(),
        )
    }

    fn capability_statement(&self) -> Value {
        let resources: Vec<Value> = self
            .cfg
            .resources
            .iter()
            .map(|t| {
                let mut r =
                    json!({"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}]});
                if !super::config::CORE_RESOURCES.contains(&t.as_str())
                    && let Some(param) = smart_core::fhir::patient_search_parameter(t)
                {
                    r["searchParam"] = json!([{"name": param, "type": "reference"}]);
                    if CATEGORY_TYPES.contains(&t.as_str()) {
                        r["searchParam"]
                            .as_array_mut()
                            .into_iter()
                            .for_each(|a| a.push(json!({"name": "category", "type": "token"})));
                    }
                }
                if *t == "ExplanationOfBenefit" && self.cfg.eob_profile_search {
                    r["searchParam"] = json!([
                        {"name": "patient", "type": "reference"},
                        {"name": "_lastUpdated", "type": "date"},
                        {"name": "_profile", "type": "uri"},
                    ]);
                }
                r
            })
            .collect();
        let mut rest = json!({"mode": "server", "resource": resources});
        if self.cfg.metadata_oauth_uris {
            rest["security"] = json!({
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"
                }]}],
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": self.url(&self.cfg.authorize_path)},
                        {"url": "token", "valueUri": self.url(&self.cfg.token_path)},
                        {"url": "revoke", "valueUri": self.url(&self.cfg.revoke_path)},
                    ]
                }]
            });
        }
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [rest],
        })
    }

    /// True when a `patient`/`beneficiary` search value names the member (`id`, `Patient/id` or a full URL).
    fn names_member(&self, value: &str) -> bool {
        let id = &self.cfg.patient_id;
        value == id
            || value == format!("Patient/{id}")
            || value.ends_with(&format!("/Patient/{id}"))
    }

    fn search(&self, req: &Incoming<'_>, rtype: &str, count: u32) -> Response {
        self.count_resource(rtype);
        let data = &self.data;
        let subject = req.param("patient").or_else(|| req.param("beneficiary"));
        if let Some(s) = subject
            && !self.names_member(s)
        {
            return self.operation_outcome(
                StatusCode::FORBIDDEN,
                "error",
                "forbidden",
                "The access token does not grant access to this patient",
            );
        }
        let mut matches: Vec<Value> = match rtype {
            "Patient" => {
                let mut all = vec![data.patient.clone()];
                if self.cfg.extra_patient_records {
                    // Cigna: one record per source system, with id prefixes, besides the member's own.
                    for prefix in ["ifp-", "c16-", "esi-"] {
                        let mut p = data.patient.clone();
                        p["id"] = Value::String(format!("{prefix}{}", self.cfg.patient_id));
                        all.push(p);
                    }
                }
                match req.param("_id") {
                    Some(id) => all.into_iter().filter(|p| p["id"] == id).collect(),
                    None => all,
                }
            }
            "Coverage" => data.coverages.clone(),
            "ExplanationOfBenefit" => data.eobs_on(self.today()),
            // The member's US Core records (only the types the payer's module lists were loaded).
            _ => data.clinical_of(rtype),
        };
        if let Some(wanted) = req.param("category")
            && CATEGORY_TYPES.contains(&rtype)
        {
            matches.retain(|r| has_token(&r["category"], wanted));
        }
        if rtype == "ExplanationOfBenefit"
            && self.cfg.eob_profile_search
            && let Some(wanted) = req.param("_profile")
        {
            let wanted = wanted.split('|').next().unwrap_or_default();
            matches.retain(|r| {
                r["meta"]["profile"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .filter_map(Value::as_str)
                        .any(|p| p.split('|').next() == Some(wanted))
                })
            });
        }
        if let Some(lu) = req.param("_lastUpdated") {
            let (op, value) = split_prefix(lu);
            if op.is_none() && self.cfg.last_updated_needs_prefix {
                return self.operation_outcome(
                    StatusCode::BAD_REQUEST,
                    "error",
                    "invalid",
                    "_lastUpdated must start with lt, le, gt or ge",
                );
            }
            matches.retain(|r| {
                let updated = r["meta"]["lastUpdated"].as_str().unwrap_or_default();
                compare_prefix(updated, op.unwrap_or("eq"), value)
            });
        }
        let paging = if rtype == "ExplanationOfBenefit" {
            self.cfg.eob_paging.unwrap_or(self.cfg.paging)
        } else {
            self.cfg.paging
        };
        let offset = match parse_cursor(req, paging) {
            Ok(o) => o,
            Err(msg) => {
                return self.operation_outcome(StatusCode::BAD_REQUEST, "error", "invalid", msg);
            }
        };
        let count = count as usize;
        let page_index = offset / count.max(1);
        let total = matches.len();
        let page: Vec<Value> = matches.into_iter().skip(offset).take(count).collect();
        let mut entries: Vec<Value> = page.iter().map(|r| self.entry(r, "match")).collect();
        if self.cfg.searchset_warning && rtype == "ExplanationOfBenefit" && page_index == 1 {
            // Cigna: a partial failure reported inside a 200, as an entry without fullUrl.
            entries.push(json!({
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "fatal", "code": "exception",
                               "diagnostics": "Error code CLCOM-006; x-request-id 5f1c0a7e-sim"}]
                },
                "search": {"mode": "outcome"}
            }));
        }
        let self_link = self.url(&format!(
            "{}{}",
            req.path,
            req.raw_query.map(|q| format!("?{q}")).unwrap_or_default()
        ));
        let mut links = vec![json!({"relation": "self", "url": self_link})];
        if offset + count < total {
            links.push(json!({"relation": "next", "url": self.next_link(req, rtype, count, offset + count, paging)}));
        }
        let bundle = json!({
            "resourceType": "Bundle",
            "id": super::engine::random_token(12),
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": entries,
        });
        self.fhir_json(StatusCode::OK, &bundle)
    }

    fn entry(&self, resource: &Value, mode: &str) -> Value {
        json!({
            "fullUrl": format!("{}/{}/{}", self.fhir_base(), resource["resourceType"].as_str().unwrap_or_default(), resource["id"].as_str().unwrap_or_default()),
            "resource": resource,
            "search": {"mode": mode},
        })
    }

    fn next_link(
        &self,
        req: &Incoming<'_>,
        rtype: &str,
        count: usize,
        offset: usize,
        paging: Paging,
    ) -> String {
        let mut pairs: Vec<(String, String)> = req
            .query
            .iter()
            .filter(|(k, _)| !PAGING_PARAMS.contains(&k.as_str()) && k != "count")
            .cloned()
            .collect();
        pairs.push(("_count".into(), count.to_string()));
        let cursor = match paging {
            Paging::PageNumber => (offset / count.max(1) + 1).to_string(),
            Paging::StartIndex => offset.to_string(),
            Paging::Token(_) => URL_SAFE_NO_PAD.encode(format!("sim-offset:{offset}")),
        };
        pairs.push((paging.param().into(), cursor));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{}/{rtype}?{query}", self.fhir_base())
    }

    fn read(&self, rtype: &str, id: &str) -> Response {
        self.count_resource(rtype);
        match self.data.find(rtype, id, self.today()) {
            Some(r) => self.fhir_json(StatusCode::OK, r),
            None => self.unknown(rtype, id),
        }
    }

    fn unknown(&self, rtype: &str, id: &str) -> Response {
        let status = StatusCode::from_u16(self.cfg.unknown_reference_status)
            .unwrap_or(StatusCode::NOT_FOUND);
        let text = if status == StatusCode::INTERNAL_SERVER_ERROR {
            format!("HAPI-2001: Resource {rtype}/{id} is not known")
        } else {
            format!("Resource {rtype}/{id} is not known")
        };
        let code = if status == StatusCode::NOT_FOUND {
            "not-found"
        } else {
            "exception"
        };
        self.operation_outcome(status, "error", code, &text)
    }

    fn everything(&self, id: &str) -> Response {
        self.count_resource("Patient/$everything");
        if !self.cfg.everything {
            return self.operation_outcome(
                StatusCode::NOT_FOUND,
                "error",
                "not-supported",
                "Operation $everything is not supported",
            );
        }
        if id != self.cfg.patient_id {
            return self.unknown("Patient", id);
        }
        let data = &self.data;
        let eobs = data.eobs_on(self.today());
        let entries: Vec<Value> = std::iter::once(&data.patient)
            .chain(&data.coverages)
            .chain(&eobs)
            .map(|r| self.entry(r, "match"))
            .collect();
        let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
        let self_id = if self.cfg.everything_odd_links {
            // Humana: the self link names another id than the one asked for, and there is no total.
            format!("{}-alias", self.cfg.patient_id)
        } else {
            bundle["total"] = Value::from(data.coverages.len() + data.eobs.len() + 1);
            self.cfg.patient_id.clone()
        };
        bundle["link"] = json!([{"relation": "self", "url": format!("{}/Patient/{self_id}/$everything", self.fhir_base())}]);
        self.fhir_json(StatusCode::OK, &bundle)
    }
}

/// Types whose `category` search the simulator honours.
const CATEGORY_TYPES: &[&str] = &[
    "Condition",
    "Observation",
    "DiagnosticReport",
    "DocumentReference",
];

/// Whether a CodeableConcept (or a list of them) has one of the comma-separated `code` or `system|code`
/// tokens in `wanted`.
fn has_token(concepts: &Value, wanted: &str) -> bool {
    let list: Vec<&Value> = match concepts {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    };
    wanted.split(',').any(|token| {
        let (system, code) = match token.split_once('|') {
            Some((s, c)) => (Some(s), c),
            None => (None, token),
        };
        list.iter().any(|cc| {
            cc["coding"].as_array().into_iter().flatten().any(|c| {
                c["code"] == code && system.is_none_or(|s| s.is_empty() || c["system"] == s)
            })
        })
    })
}

/// Reads the page cursor of `paging` from the query: the offset of the first result.
fn parse_cursor(req: &Incoming<'_>, paging: Paging) -> Result<usize, &'static str> {
    let Some(raw) = req.param(paging.param()) else {
        return Ok(0);
    };
    match paging {
        Paging::PageNumber => {
            let page: usize = raw.parse().map_err(|_| "page must be a positive number")?;
            let count: usize = req
                .param("_count")
                .and_then(|c| c.parse().ok())
                .ok_or("page needs _count")?;
            Ok(page.saturating_sub(1) * count)
        }
        Paging::StartIndex => raw.parse().map_err(|_| "startIndex must be a number"),
        Paging::Token(_) => URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("sim-offset:").and_then(|n| n.parse().ok()))
            .ok_or("invalid page token"),
    }
}

/// Splits a FHIR date search value into its comparison prefix and the date.
fn split_prefix(v: &str) -> (Option<&str>, &str) {
    for p in ["lt", "le", "gt", "ge", "eq", "ne"] {
        if let Some(rest) = v.strip_prefix(p) {
            return (Some(p), rest);
        }
    }
    (None, v)
}

/// Compares two ISO-8601 timestamps by their common prefix (enough for the simulator's data).
fn compare_prefix(actual: &str, op: &str, wanted: &str) -> bool {
    let n = wanted.len().min(actual.len());
    let (Some(a), Some(w)) = (actual.get(..n), wanted.get(..n)) else {
        return false;
    };
    match op {
        "lt" => a < w,
        "le" => a <= w,
        "gt" => a > w,
        "ge" => a >= w,
        "ne" => a != w,
        _ => a == w,
    }
}
