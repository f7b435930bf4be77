//! The simulator's OAuth 2.0 authorization server: authorize, login and consent pages, code issuance with PKCE
//! S256 verification, the token endpoint with client authentication, refresh (rotating, absent or forbidden),
//! revocation and userinfo. Each payer's differences come from [`SimConfig`](super::config::SimConfig).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::config::{AudRule, ClientAuthRule, ErrorPage, RedirectRule, RefreshRule};
use super::engine::{
    AccessGrant, AuthSession, CodeGrant, Engine, Incoming, RefreshGrant, bump, escape, form_value,
    html_response, json_response, lock, random_token, redirect, respond,
};

/// Authorization codes live this long (CMS Blue Button's DOT default; others are similar or single use).
const CODE_TTL: Duration = Duration::from_secs(60);
/// The cookie Cigna-style `/authorize` sets and the login checks.
const AUTH_COOKIE: &str = "sim_authz";

/// The authenticated client at the token endpoint.
struct ClientCredentials {
    client_id: String,
    public: bool,
}

impl Engine {
    /// An authorize-step error that cannot go back to the app (unknown client or redirect URI, malformed request).
    fn authorize_error_page(&self, status: StatusCode, message: &str) -> Response {
        match self.cfg.error_page {
            ErrorPage::Xml => respond(
                status,
                &[(header::CONTENT_TYPE, "application/xml".into())],
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><status><code>{}</code><message>{}</message></status>",
                    status.as_u16(),
                    escape(message)
                ),
            ),
            ErrorPage::Html => html_response(
                status,
                &format!(
                    "<!doctype html><html><head><title>Error</title></head><body><h1>{}</h1><p>{}</p></body></html>",
                    escape(&self.cfg.payer_name),
                    escape(message)
                ),
            ),
        }
    }

    /// Sends the browser back to the app with an OAuth error.
    fn error_redirect(
        &self,
        redirect_uri: &str,
        error: &str,
        description: &str,
        state: Option<&str>,
    ) -> Response {
        let Ok(mut url) = Url::parse(redirect_uri) else {
            return self.authorize_error_page(StatusCode::BAD_REQUEST, "invalid redirect_uri");
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("error", error);
            q.append_pair("error_description", description);
            if let Some(s) = state {
                q.append_pair("state", s);
            }
        }
        redirect(url.as_str())
    }

    pub(crate) fn authorize(&self, req: &Incoming<'_>) -> Response {
        bump(&self.counters.authorize);
        let cfg = &self.cfg;
        let opts = &self.opts;
        let Some(client_id) = req.param("client_id") else {
            return self
                .authorize_error_page(StatusCode::BAD_REQUEST, "Missing client_id in Request");
        };
        if client_id != opts.client_id {
            return self.authorize_error_page(StatusCode::UNAUTHORIZED, "Unknown client_id");
        }
        let registered = opts.redirect_uri.as_str();
        let redirect_uri = match (cfg.redirect, req.param("redirect_uri")) {
            (_, None) => {
                return self.authorize_error_page(
                    StatusCode::BAD_REQUEST,
                    "Missing redirect_uri in Request",
                );
            }
            (RedirectRule::Exact, Some(r)) if r != registered => {
                return self.authorize_error_page(
                    StatusCode::BAD_REQUEST,
                    "The redirect_uri does not match the redirect_uri registered for this client",
                );
            }
            (RedirectRule::Exact, Some(r)) => r.to_owned(),
            // Aetna: required, then ignored in favour of the portal's registered callback.
            (RedirectRule::RequiredButIgnored, Some(_)) => registered.to_owned(),
        };
        let state = req.param("state");
        if cfg.forbid_secret_in_authorize && req.param("client_secret").is_some() {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "Illegal query parameter: client_secret must never be sent in the authorization request",
            );
        }
        if req.param("response_type") != Some("code") {
            return self.error_redirect(
                &redirect_uri,
                "unsupported_response_type",
                "response_type must be code",
                state,
            );
        }
        let challenge = req.param("code_challenge");
        let method = req.param("code_challenge_method");
        if cfg.pkce_required && (challenge.is_none() || method.is_none()) {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "code_challenge and code_challenge_method are required",
            );
        }
        if challenge.is_some() && method != Some("S256") {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "code_challenge_method must be S256",
            );
        }
        if let Some(min) = cfg.min_state_len
            && state.is_none_or(|s| s.len() < min)
        {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                &format!("state is required and must be at least {min} characters"),
            );
        }
        let aud = req.param("aud");
        match (&cfg.aud, aud) {
            (AudRule::Ignored, _) => {}
            (AudRule::Absent, None) => {}
            (AudRule::Absent, Some(_)) => {
                return self.error_redirect(
                    &redirect_uri,
                    "invalid_request",
                    "The aud parameter is not supported",
                    state,
                );
            }
            (AudRule::Equals(expected), Some(a)) if a == expected => {}
            (AudRule::Equals(_), _) => {
                return self.error_redirect(
                    &redirect_uri,
                    "invalid_request",
                    "Invalid aud: not a resource server of this authorization server",
                    state,
                );
            }
        }
        let scope = req.param("scope").unwrap_or_default().to_owned();
        if cfg.reject_wildcard_scopes && scope.split_whitespace().any(|s| s.contains('*')) {
            return self.error_redirect(
                &redirect_uri,
                "invalid_scope",
                "Wildcard scopes are not supported; request each resource scope explicitly",
                state,
            );
        }
        for required in &cfg.required_scopes {
            if !scope.split_whitespace().any(|s| s == required) {
                return self.error_redirect(
                    &redirect_uri,
                    "invalid_scope",
                    &format!("The {required} scope is required"),
                    state,
                );
            }
        }
        let login_param_ok = cfg
            .login_needs_param
            .as_ref()
            .is_none_or(|(k, v)| req.param(k) == Some(v.as_str()));
        let session_id = random_token(24);
        let cookie = cfg.authorize_cookie.then(|| random_token(32));
        lock(&self.state).sessions.insert(
            session_id.clone(),
            AuthSession {
                client_id: client_id.to_owned(),
                redirect_uri,
                scope,
                state: state.map(str::to_owned),
                code_challenge: challenge.map(str::to_owned),
                login_param_ok,
                cookie: cookie.clone(),
                user: None,
            },
        );
        let mut response = redirect(&format!("{}?session={session_id}", self.cfg.login_path()));
        if let Some(value) = cookie
            && let Ok(v) = header::HeaderValue::from_str(&format!(
                "{AUTH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"
            ))
        {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    }

    fn session(&self, id: Option<&str>) -> Option<AuthSession> {
        let id = id?;
        lock(&self.state).sessions.get(id).cloned()
    }

    pub(crate) fn login_page(&self, req: &Incoming<'_>) -> Response {
        bump(&self.counters.login_pages);
        let sid = req.param("session");
        let Some(session) = self.session(sid) else {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "Your sign-in session has expired. Start again from the app.",
            );
        };
        if !self.opts.subscribed {
            // Aetna: an app without an active product subscription gets a page that says only this.
            return html_response(StatusCode::OK, "null");
        }
        if !session.login_param_ok {
            // Aetna without skin=skin13: the page loads, and nothing is on it.
            return html_response(
                StatusCode::OK,
                "<!doctype html><html><head></head><body></body></html>",
            );
        }
        let sid = sid.unwrap_or_default();
        // The "Cancel" link on the sign-in page: back to the app, as a member who gave up.
        if req.param("cancel").is_some() {
            lock(&self.state).sessions.remove(sid);
            return self.error_redirect(
                &session.redirect_uri,
                "access_denied",
                "The member cancelled the sign-in",
                session.state.as_deref(),
            );
        }
        self.login_form(StatusCode::OK, sid, "", None)
    }

    /// The sign-in form; after a failed attempt, with what went wrong and the username kept. It always has a way
    /// back to the app, so a member who cannot sign in is never stuck on the payer's page.
    fn login_form(
        &self,
        status: StatusCode,
        sid: &str,
        username: &str,
        error: Option<&str>,
    ) -> Response {
        let error = error.map_or_else(String::new, |e| {
            format!("<p role=\"alert\" data-login-error>{}</p>", escape(e))
        });
        html_response(
            status,
            &format!(
                "<!doctype html><html><head><title>{name}: sign in</title></head><body>\
                 <h1>{name}</h1><p>Sign in to share your health plan data.</p>{error}\
                 <form method=\"post\" action=\"{action}\">\
                 <input type=\"hidden\" name=\"session\" value=\"{sid}\">\
                 <label>Username <input type=\"text\" name=\"username\" value=\"{username}\"></label>\
                 <label>Password <input type=\"password\" name=\"password\"></label>\
                 <input type=\"submit\" value=\"Sign in\">\
                 </form>\
                 <p><a href=\"{action}?session={sid_query}&amp;cancel=1\" data-cancel>Cancel and return to the app</a></p>\
                 </body></html>",
                name = escape(&self.cfg.payer_name),
                action = escape(&self.cfg.login_path()),
                sid = escape(sid),
                sid_query = escape(
                    &url::form_urlencoded::byte_serialize(sid.as_bytes()).collect::<String>()
                ),
                username = escape(username),
            ),
        )
    }

    pub(crate) fn login_submit(&self, req: &Incoming<'_>) -> Response {
        let form = req.form();
        let sid = form_value(&form, "session");
        let Some(session) = self.session(sid) else {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "Your sign-in session has expired. Start again from the app.",
            );
        };
        if let Some(expected) = &session.cookie
            && req.cookie(AUTH_COOKIE).as_ref() != Some(expected)
        {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "We could not verify your session: the cookie set when this sign-in started is missing. \
                 Open the sign-in link in your browser again.",
            );
        }
        let username = form_value(&form, "username").unwrap_or_default();
        let password = form_value(&form, "password").unwrap_or_default();
        if let Some(refused) = self
            .cfg
            .refused_users
            .iter()
            .find(|u| u.username == username && u.password == password)
        {
            return self.error_redirect(
                &session.redirect_uri,
                &refused.error,
                &refused.description,
                session.state.as_deref(),
            );
        }
        if username != self.cfg.username || password != self.cfg.password {
            // The form again, not a dead end: the member can retry or go back to the app.
            return self.login_form(
                StatusCode::UNAUTHORIZED,
                sid.unwrap_or_default(),
                username,
                Some("That username and password did not match. Try again, or cancel and return to the app."),
            );
        }
        bump(&self.counters.logins);
        let sid = sid.unwrap_or_default().to_owned();
        if let Some(s) = lock(&self.state).sessions.get_mut(&sid) {
            s.user = Some(username.to_owned());
        }
        redirect(&format!("{}?session={sid}", self.cfg.consent_path()))
    }

    pub(crate) fn consent_page(&self, req: &Incoming<'_>) -> Response {
        let sid = req.param("session");
        match self.session(sid) {
            Some(s) if s.user.is_some() => {}
            _ => return self.authorize_error_page(StatusCode::BAD_REQUEST, "Sign in first."),
        }
        html_response(
            StatusCode::OK,
            &format!(
                "<!doctype html><html><head><title>{name}: share your data</title></head><body>\
                 <p>An app wants to read your claims and coverage.</p>\
                 <form method=\"post\" action=\"{action}\">\
                 <input type=\"hidden\" name=\"session\" value=\"{sid}\">\
                 <label><input type=\"checkbox\" name=\"terms\" value=\"accepted\"> I accept the terms</label>\
                 <input type=\"submit\" name=\"decision\" value=\"allow\">\
                 <input type=\"submit\" name=\"decision\" value=\"deny\">\
                 </form></body></html>",
                name = escape(&self.cfg.payer_name),
                action = escape(&self.cfg.consent_path()),
                sid = escape(sid.unwrap_or_default()),
            ),
        )
    }

    pub(crate) fn consent_submit(&self, req: &Incoming<'_>) -> Response {
        let form = req.form();
        let sid = form_value(&form, "session").unwrap_or_default().to_owned();
        let Some(session) = lock(&self.state).sessions.remove(&sid) else {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "Your sign-in session has expired.",
            );
        };
        if session.user.is_none() {
            return self.authorize_error_page(StatusCode::BAD_REQUEST, "Sign in first.");
        }
        if form_value(&form, "decision") != Some("allow") {
            return self.error_redirect(
                &session.redirect_uri,
                "access_denied",
                "The member declined to share their data",
                session.state.as_deref(),
            );
        }
        if form_value(&form, "terms") != Some("accepted") {
            return self.authorize_error_page(
                StatusCode::BAD_REQUEST,
                "Please accept the terms to continue.",
            );
        }
        let code = random_token(32);
        lock(&self.state).codes.insert(
            code.clone(),
            CodeGrant {
                client_id: session.client_id.clone(),
                redirect_uri: session.redirect_uri.clone(),
                scope: session.scope.clone(),
                code_challenge: session.code_challenge.clone(),
                issued: Instant::now(),
            },
        );
        bump(&self.counters.codes_issued);
        let Ok(mut url) = Url::parse(&session.redirect_uri) else {
            return self.authorize_error_page(StatusCode::BAD_REQUEST, "invalid redirect_uri");
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("code", &code);
            if let Some(s) = &session.state {
                q.append_pair("state", s);
            }
            if self.cfg.send_iss {
                q.append_pair("iss", self.cfg.issuer.as_str().trim_end_matches('/'));
            }
        }
        redirect(url.as_str())
    }

    fn oauth_error(&self, status: StatusCode, error: &str, description: &str) -> Response {
        bump(&self.counters.token_rejected);
        json_response(
            status,
            &json!({"error": error, "error_description": description}),
        )
    }

    /// Authenticates the client at the token or revocation endpoint.
    fn client_credentials(
        &self,
        req: &Incoming<'_>,
        form: &[(String, String)],
    ) -> Result<ClientCredentials, Box<Response>> {
        let opts = &self.opts;
        let basic = req
            .header(header::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Basic "))
            .map(|b64| decode_basic(b64.trim()));
        let body_id = form_value(form, "client_id");
        let body_secret = form_value(form, "client_secret");
        let invalid = |msg: &str| {
            Err(Box::new(self.oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                msg,
            )))
        };
        if let Some(decoded) = basic {
            return match decoded {
                Some((id, secret)) if id == opts.client_id && secret == opts.client_secret => {
                    Ok(ClientCredentials {
                        client_id: id,
                        public: false,
                    })
                }
                _ => invalid("Client authentication failed"),
            };
        }
        if self.cfg.client_auth == ClientAuthRule::BasicOnly {
            return invalid(
                "Client authentication failed: credentials must be sent with HTTP Basic",
            );
        }
        match (body_id, body_secret) {
            (Some(id), Some(secret)) if id == opts.client_id && secret == opts.client_secret => {
                Ok(ClientCredentials {
                    client_id: id.to_owned(),
                    public: false,
                })
            }
            (Some(id), None) if id == opts.client_id => Ok(ClientCredentials {
                client_id: id.to_owned(),
                public: true,
            }),
            _ => invalid("Client authentication failed"),
        }
    }

    pub(crate) fn token(&self, req: &Incoming<'_>) -> Response {
        let form = req.form();
        let client = match self.client_credentials(req, &form) {
            Ok(c) => c,
            Err(resp) => return *resp,
        };
        match form_value(&form, "grant_type") {
            Some("authorization_code") => self.token_from_code(&form, &client),
            Some("refresh_token") => self.token_from_refresh(&form, &client),
            _ => self.oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            ),
        }
    }

    fn token_from_code(&self, form: &[(String, String)], client: &ClientCredentials) -> Response {
        let Some(code) = form_value(form, "code") else {
            return self.oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "code is required",
            );
        };
        // Single use: removed whatever happens next.
        let Some(grant) = lock(&self.state).codes.remove(code) else {
            return self.oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The authorization code is invalid, expired or already used",
            );
        };
        if grant.issued.elapsed() > CODE_TTL {
            return self.oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The authorization code expired",
            );
        }
        if grant.client_id != client.client_id {
            return self.oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The code was issued to another client",
            );
        }
        if self.cfg.redirect == RedirectRule::Exact
            && form_value(form, "redirect_uri") != Some(grant.redirect_uri.as_str())
        {
            return self.oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "redirect_uri does not match the authorization request",
            );
        }
        match (&grant.code_challenge, form_value(form, "code_verifier")) {
            (Some(challenge), Some(verifier)) => {
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if &computed != challenge {
                    return self.oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "PKCE verification failed",
                    );
                }
            }
            (Some(_), None) => {
                return self.oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code_verifier is required",
                );
            }
            (None, _) if client.public => {
                return self.oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "A public client must use PKCE",
                );
            }
            (None, _) => {}
        }
        bump(&self.counters.token_code);
        let family = {
            let mut st = lock(&self.state);
            st.next_family += 1;
            st.next_family
        };
        self.issue(family, &grant.scope, &client.client_id)
    }

    fn token_from_refresh(
        &self,
        form: &[(String, String)],
        client: &ClientCredentials,
    ) -> Response {
        match self.refresh {
            RefreshRule::None => {
                return self.oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Refresh tokens are not supported",
                );
            }
            RefreshRule::Forbidden => {
                return self.oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_client",
                    "This application is not allowed to refresh tokens",
                );
            }
            RefreshRule::Rotate => {}
        }
        let Some(token) = form_value(form, "refresh_token") else {
            return self.oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "refresh_token is required",
            );
        };
        let (family, scope) = {
            let mut st = lock(&self.state);
            let Some(grant) = st.refresh.get_mut(token) else {
                drop(st);
                return self.oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid",
                );
            };
            if grant.client_id != client.client_id {
                drop(st);
                return self.oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token was issued to another client",
                );
            }
            if grant.spent || grant.revoked {
                // Reuse of a rotated refresh token: assume theft, revoke everything issued from this grant.
                let family = grant.family;
                st.revoke_family(family);
                drop(st);
                return self.oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token was already used or revoked",
                );
            }
            grant.spent = true;
            (grant.family, grant.scope.clone())
        };
        bump(&self.counters.token_refresh);
        self.issue(family, &scope, &client.client_id)
    }

    /// Issues an access token (and a refresh token when offered) for one authorization.
    fn issue(&self, family: u64, scope: &str, client_id: &str) -> Response {
        let access = random_token(40);
        let ttl = self.opts.access_token_ttl;
        let refresh = (self.refresh != RefreshRule::None).then(|| random_token(40));
        {
            let mut st = lock(&self.state);
            st.access.insert(
                access.clone(),
                AccessGrant {
                    expires_at: Instant::now() + ttl,
                    revoked: false,
                    family,
                },
            );
            if let Some(r) = &refresh {
                st.refresh.insert(
                    r.clone(),
                    RefreshGrant {
                        family,
                        spent: false,
                        revoked: false,
                        client_id: client_id.to_owned(),
                        scope: scope.to_owned(),
                    },
                );
            }
        }
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl.as_secs(),
            "scope": scope,
        });
        if let Some(r) = refresh {
            body["refresh_token"] = Value::String(r);
        }
        if self.cfg.patient_in_token {
            body["patient"] = Value::String(self.cfg.patient_id.clone());
        }
        if let Some(secs) = self.cfg.grant_expiration_secs {
            let at = SystemTime::now() + Duration::from_secs(secs);
            let unix = at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            // CMS sends a date string; integer unix seconds carry the same instant without a date library.
            body["access_grant_expiration"] = Value::from(unix);
        }
        json_response(StatusCode::OK, &body)
    }

    pub(crate) fn revoke(&self, req: &Incoming<'_>) -> Response {
        let form = req.form();
        if let Err(resp) = self.client_credentials(req, &form) {
            return *resp;
        }
        bump(&self.counters.revocations);
        if let Some(token) = form_value(&form, "token") {
            let mut st = lock(&self.state);
            let family = st
                .access
                .get(token)
                .map(|g| g.family)
                .or_else(|| st.refresh.get(token).map(|g| g.family));
            if let Some(f) = family {
                st.revoke_family(f);
            }
        }
        // RFC 7009: 200 whether or not the token was known.
        respond(StatusCode::OK, &[], "")
    }

    /// The access token on `req`, if it is live.
    pub(crate) fn bearer_ok(&self, req: &Incoming<'_>) -> bool {
        let Some(token) = req
            .header(header::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        lock(&self.state)
            .access
            .get(token.trim())
            .is_some_and(|g| !g.revoked && g.expires_at > Instant::now())
    }

    pub(crate) fn userinfo(&self, req: &Incoming<'_>) -> Response {
        if !self.bearer_ok(req) {
            bump(&self.counters.unauthorized);
            return json_response(StatusCode::UNAUTHORIZED, &json!({"error": "invalid_token"}));
        }
        json_response(StatusCode::OK, &self.userinfo_body())
    }

    pub(crate) fn userinfo_body(&self) -> Value {
        json!({
            "sub": self.cfg.username,
            "patient": self.cfg.patient_id,
            "fhirUser": format!("{}/Patient/{}", self.fhir_base(), self.cfg.patient_id),
        })
    }

    /// Marks every access token expired (tests of refresh-on-expiry).
    pub(crate) fn expire_access_tokens(&self) {
        let now = Instant::now();
        lock(&self.state)
            .access
            .values_mut()
            .for_each(|g| g.expires_at = now);
    }
}

/// Decodes `Basic` credentials: base64 of `urlencode(id):urlencode(secret)` (RFC 6749 §2.3.1).
fn decode_basic(b64: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let enc = STANDARD.encode("my%20app:p%40ss+w%2Brd");
        assert_eq!(
            decode_basic(&enc),
            Some(("my app".to_owned(), "p@ss w+rd".to_owned()))
        );
        assert_eq!(decode_basic("%%%"), None);
    }
}
