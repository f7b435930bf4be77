//! A headless "member's browser" for driving a simulator's login and consent pages in tests.
//!
//! It keeps cookies (Cigna's `/authorize` sets one the login checks), follows the payer's redirects by hand,
//! fills in the login form and the consent form, and stops at the first redirect that leaves the simulator: the
//! callback URL the real browser would be sent to, which the app then hands to `SmartClient::exchange_code`.

use url::Url;

use super::SimError;

/// The most redirects and form posts one login may take.
const MAX_STEPS: usize = 16;

/// A scripted browser for one simulator. Build it with [`Simulator::browser`](super::Simulator::browser).
#[derive(Debug, Clone)]
pub struct Browser {
    pub(crate) origin: Url,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) approve: bool,
    pub(crate) cookies: bool,
    pub(crate) lenient_headers: bool,
}

/// One HTML form found on a page.
#[derive(Debug)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
    submits: Vec<(String, String)>,
}

impl Browser {
    /// Log in as someone else (the simulator's member is the default).
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }

    /// Press "deny" on the consent page.
    pub fn deny_consent(mut self) -> Self {
        self.approve = false;
        self
    }

    /// A browser that keeps no cookies: what the member's browser looks like to a payer when the app's server
    /// fetched the authorize URL itself (the cookie went to the server, not to the member).
    pub fn without_cookies(mut self) -> Self {
        self.cookies = false;
        self
    }

    /// Strict HTTP parsing: fail on a malformed response header line, as hyper does by default. Real browsers are
    /// tolerant, so the default is tolerant.
    pub fn strict_headers(mut self) -> Self {
        self.lenient_headers = false;
        self
    }

    fn client(&self) -> Result<reqwest::Client, SimError> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(self.cookies)
            .timeout(std::time::Duration::from_secs(30));
        if self.lenient_headers {
            b = b
                .http1_only()
                .http1_ignore_invalid_headers_in_responses(true);
        }
        b.build()
            .map_err(|e| SimError::http("building the browser", e))
    }

    /// Opens `authorize_url`, signs in, answers the consent page, and returns the callback URL the payer
    /// redirects to (with `code` and `state`, or with `error`).
    pub async fn login(&self, authorize_url: &Url) -> Result<Url, SimError> {
        let client = self.client()?;
        let mut next: (reqwest::Method, Url, Vec<(String, String)>) =
            (reqwest::Method::GET, authorize_url.clone(), Vec::new());
        for _ in 0..MAX_STEPS {
            let (method, url, form) = next;
            let mut request = client.request(method.clone(), url.clone());
            if method == reqwest::Method::POST {
                request = request.form(&form);
            }
            let response = request
                .send()
                .await
                .map_err(|e| SimError::http(url.path(), e))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| SimError::UnexpectedPage {
                        url: url.path().to_owned(),
                        status: status.as_u16(),
                        excerpt: "redirect without Location".into(),
                    })?;
                let target = url.join(location).map_err(|e| SimError::UnexpectedPage {
                    url: url.path().to_owned(),
                    status: status.as_u16(),
                    excerpt: format!("bad Location: {e}"),
                })?;
                if target.origin() != self.origin.origin() {
                    return Ok(target);
                }
                next = (reqwest::Method::GET, target, Vec::new());
                continue;
            }
            let body = response
                .text()
                .await
                .map_err(|e| SimError::http(url.path(), e))?;
            if !status.is_success() {
                return Err(SimError::UnexpectedPage {
                    url: url.path().to_owned(),
                    status: status.as_u16(),
                    excerpt: excerpt(&body),
                });
            }
            let Some(form) = parse_form(&body) else {
                if strip_tags(&body).trim().is_empty() {
                    return Err(SimError::BlankPage {
                        url: url.path().to_owned(),
                    });
                }
                return Err(SimError::UnexpectedPage {
                    url: url.path().to_owned(),
                    status: status.as_u16(),
                    excerpt: excerpt(&body),
                });
            };
            let mut fields = form.fields;
            for (name, value) in &mut fields {
                match name.as_str() {
                    "username" => *value = self.username.clone(),
                    "password" => *value = self.password.clone(),
                    _ => {}
                }
            }
            let wanted = if self.approve { "allow" } else { "deny" };
            if let Some(submit) = form
                .submits
                .iter()
                .find(|(_, v)| v == wanted)
                .or_else(|| form.submits.first())
            {
                fields.push(submit.clone());
            }
            let action = url
                .join(&form.action)
                .map_err(|e| SimError::UnexpectedPage {
                    url: url.path().to_owned(),
                    status: status.as_u16(),
                    excerpt: format!("bad form action: {e}"),
                })?;
            next = (reqwest::Method::POST, action, fields);
        }
        Err(SimError::TooManySteps(MAX_STEPS))
    }
}

/// A short, single-line excerpt of a page.
fn excerpt(body: &str) -> String {
    let text = strip_tags(body);
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = collapsed.chars().take(300).collect();
    if out.is_empty() {
        out = body.chars().take(300).collect();
    }
    out
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Finds the first `<form>` and its inputs. Enough for the simulators' own pages; not a general HTML parser.
fn parse_form(html: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |e| start + e);
    let form_html = &html[start..end];
    let open_end = form_html.find('>')?;
    let action = attr(&form_html[..open_end], "action").unwrap_or_default();
    let mut fields = Vec::new();
    let mut submits = Vec::new();
    let mut rest = &form_html[open_end..];
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let tag = &rest[i..tag_end];
        let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
        let name = attr(tag, "name");
        let value = attr(tag, "value").unwrap_or_default();
        match (kind.as_str(), name) {
            ("submit", Some(n)) => submits.push((n, value)),
            ("submit", None) => {}
            // A real member ticks the terms box.
            ("checkbox", Some(n)) => fields.push((n, value)),
            (_, Some(n)) => fields.push((n, value)),
            (_, None) => {}
        }
        rest = &rest[tag_end..];
    }
    Some(Form {
        action,
        fields,
        submits,
    })
}

/// The value of attribute `name="..."` in `tag`, unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(
        tag[start..start + len]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_form_its_fields_and_its_buttons() {
        let html = r#"<html><form method="post" action="/a/consent"><input type="hidden" name="session" value="s&amp;1">
            <input type="checkbox" name="terms" value="accepted"><input type="submit" name="decision" value="allow">
            <input type="submit" name="decision" value="deny"></form></html>"#;
        let f = parse_form(html).unwrap();
        assert_eq!(f.action, "/a/consent");
        assert_eq!(
            f.fields,
            vec![
                ("session".to_owned(), "s&1".to_owned()),
                ("terms".to_owned(), "accepted".to_owned())
            ]
        );
        assert_eq!(f.submits.len(), 2);
        assert!(parse_form("<html><body></body></html>").is_none());
        assert_eq!(excerpt("<p>a\n  b</p>"), "a b");
    }
}
