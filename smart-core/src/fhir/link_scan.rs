//! Finds a search Bundle's `link` array in the bytes of a page while they are still arriving, so that the next
//! page can be requested before the rest of this one (its entries) has arrived or been decoded.
//!
//! This is a tokenizer, not a parser: it follows strings, escapes and nesting only far enough to tell the
//! Bundle's own top-level `link` member from the many `link`s its entries may hold (`Patient.link`, nested
//! Bundles), then hands that one member to `serde_json`. Each byte is looked at once, however the body is cut
//! into chunks. Servers that write elements in the order the resource definition lists them (HAPI FHIR does)
//! send `link` before `entry`, so the link is known from the first chunk. Whatever it finds, the full decode of
//! the page still runs and still reports what is wrong with a bad page; on anything it does not understand the
//! scanner gives up, and the links are then read from the decoded page.
//!
//! Links read early are trusted (the decoded page's are not read again), so the scan must never report less than
//! the full decode would see. Two shapes need care. A member name with an escape (`"li\u006ek"`) is `link` to
//! `serde_json`: the scan decodes an escaped top-level name with `serde_json` itself. And a Bundle may
//! repeat `link`: the typed decode keeps the first non-empty one (a later one goes to `extra`), so a first
//! `link` that is `null` or `[]` says nothing about the links; the scan gives up on it rather than end the
//! stream early.

/// The links of a search page: `next` and `self`, as written (not yet resolved against the page URL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PageLinks {
    pub next: Option<String>,
    pub own: Option<String>,
}

/// What the scan has concluded so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    /// More bytes are needed.
    Pending,
    /// The Bundle's links (both `None` when the Bundle has no `link` member: it is the last page).
    Found(PageLinks),
    /// The body is not a JSON object this scanner can follow; the decoded page will say why.
    GaveUp,
}

/// Where the scanner is in the top-level object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the opening `{`.
    Start,
    /// Inside the top-level object, where a member name (or the closing `}`) comes next.
    Key,
    /// In a top-level member name that started at this offset.
    InKey(usize),
    /// After a member name, before its `:`; `true` when the name is `link`.
    Colon(bool),
    /// In a member's value, at top level between tokens; the offset is where a `link` value began.
    Value(Option<usize>),
}

/// An incremental scan of one response body. Feed it the whole body received so far after each chunk.
#[derive(Debug)]
pub(crate) struct LinkScanner {
    /// Bytes already looked at.
    pos: usize,
    at: At,
    /// Nesting inside the current top-level value (0 between its tokens).
    depth: usize,
    /// Inside a string of the current top-level value (or of a member name).
    in_string: bool,
    /// The previous byte in that string was an unescaped backslash.
    escaped: bool,
    outcome: Scan,
}

impl LinkScanner {
    pub(crate) fn new() -> Self {
        Self {
            pos: 0,
            at: At::Start,
            depth: 0,
            in_string: false,
            escaped: false,
            outcome: Scan::Pending,
        }
    }

    /// Scans the bytes of `body` not looked at yet (`body` is everything received so far: it only ever grows)
    /// and says what is known. Once the answer is not [`Scan::Pending`] it stays the same.
    pub(crate) fn feed(&mut self, body: &[u8]) -> &Scan {
        if self.outcome == Scan::Pending {
            self.outcome = self.scan(body);
        }
        &self.outcome
    }

    fn scan(&mut self, body: &[u8]) -> Scan {
        while self.pos < body.len() {
            if self.in_string {
                // Jump to the next quote or backslash: strings are most of a FHIR page.
                if self.escaped {
                    self.escaped = false;
                    self.pos += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &body[self.pos..]) {
                    None => self.pos = body.len(),
                    Some(i) => {
                        self.pos += i;
                        if body[self.pos] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if let At::InKey(start) = self.at {
                                let key = &body[start..self.pos];
                                let is_link = if key.contains(&b'\\') {
                                    // `"li\u006ek"` is `link` once decoded: decode it as serde_json does
                                    // (with the quotes around it).
                                    match serde_json::from_slice::<String>(
                                        &body[start - 1..=self.pos],
                                    ) {
                                        Ok(name) => name == "link",
                                        Err(_) => return Scan::GaveUp,
                                    }
                                } else {
                                    key == b"link"
                                };
                                self.at = At::Colon(is_link);
                            }
                        }
                        self.pos += 1;
                    }
                }
                continue;
            }
            let byte = body[self.pos];
            if let Some(done) = self.token(byte, body) {
                return done;
            }
            self.pos += 1;
        }
        Scan::Pending
    }

    /// Handles one byte outside strings; `Some` ends the scan.
    fn token(&mut self, byte: u8, body: &[u8]) -> Option<Scan> {
        let space = matches!(byte, b' ' | b'\n' | b'\r' | b'\t');
        match self.at {
            At::Start => match byte {
                b'{' => self.at = At::Key,
                _ if space => {}
                _ => return Some(Scan::GaveUp),
            },
            At::Key => match byte {
                b'"' => {
                    self.in_string = true;
                    self.at = At::InKey(self.pos + 1);
                }
                // An empty object, or a trailing comma's neighbour: no `link` member at all.
                b'}' => return Some(Scan::Found(PageLinks::default())),
                _ if space => {}
                _ => return Some(Scan::GaveUp),
            },
            // Member names are strings, which `scan` reads before any byte gets here.
            At::InKey(_) => return Some(Scan::GaveUp),
            At::Colon(is_link) => match byte {
                b':' => self.at = At::Value(is_link.then_some(self.pos + 1)),
                _ if space => {}
                _ => return Some(Scan::GaveUp),
            },
            At::Value(link_start) => match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => self.depth -= 1,
                b',' | b'}' if self.depth == 0 => {
                    if let Some(start) = link_start {
                        return Some(read_links(&body[start..self.pos]));
                    }
                    if byte == b'}' {
                        // The object ended without a `link` member.
                        return Some(Scan::Found(PageLinks::default()));
                    }
                    self.at = At::Key;
                }
                b']' => return Some(Scan::GaveUp),
                _ => {}
            },
        }
        None
    }
}

/// The `next` and `self` URLs of a `link` member's value.
fn read_links(value: &[u8]) -> Scan {
    #[derive(serde::Deserialize)]
    struct Link {
        relation: Option<String>,
        url: Option<String>,
    }
    let Ok(Some(links)) = serde_json::from_slice::<Option<Vec<Link>>>(value) else {
        return Scan::GaveUp;
    };
    // `null` or `[]` here may be followed by a second `link` member, which the typed decode would take.
    if links.is_empty() {
        return Scan::GaveUp;
    }
    let find = |rel: &str| {
        links
            .iter()
            .find(|l| l.relation.as_deref() == Some(rel))
            .and_then(|l| l.url.clone())
    };
    Scan::Found(PageLinks {
        next: find("next"),
        own: find("self"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(next: Option<&str>, own: Option<&str>) -> Scan {
        Scan::Found(PageLinks {
            next: next.map(str::to_owned),
            own: own.map(str::to_owned),
        })
    }

    /// Scans `body` whole, and cut at every byte, and checks both give the same answer.
    fn scan(body: &str) -> Scan {
        let whole = LinkScanner::new().feed(body.as_bytes()).clone();
        for cut in 0..body.len() {
            let mut scanner = LinkScanner::new();
            let first = scanner.feed(&body.as_bytes()[..cut]).clone();
            let then = scanner.feed(body.as_bytes()).clone();
            if first != Scan::Pending {
                assert_eq!(first, whole, "cut at {cut} of {body}");
            }
            assert_eq!(then, whole, "cut at {cut} of {body}");
        }
        // Byte by byte, as a slow connection would deliver it.
        let mut scanner = LinkScanner::new();
        let mut last = Scan::Pending;
        for end in 1..=body.len() {
            last = scanner.feed(&body.as_bytes()[..end]).clone();
        }
        assert_eq!(last, whole, "byte by byte: {body}");
        whole
    }

    #[test]
    fn finds_a_link_written_before_the_entries_without_waiting_for_them() {
        let head = r#"{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"EOB?p=1"},{"relation":"next","url":"EOB?p=2"}],"entry":["#;
        assert_eq!(scan(head), links(Some("EOB?p=2"), Some("EOB?p=1")));
    }

    #[test]
    fn finds_a_link_written_after_the_entries() {
        let body = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"ExplanationOfBenefit","id":"1"}}],"link":[{"relation":"next","url":"https://x/EOB?p=2"}]}"#;
        assert_eq!(scan(body), links(Some("https://x/EOB?p=2"), None));
    }

    #[test]
    fn ignores_the_links_of_entries_and_of_nested_bundles() {
        // Patient.link, a nested Bundle's link, and "link" as a string value: none is the page's.
        let body = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","link":[{"other":{"reference":"Patient/2"},"type":"seealso"}]}},{"resource":{"resourceType":"Bundle","link":[{"relation":"next","url":"WRONG"}]}},{"fullUrl":"link"}],"total":2,"link":[{"relation":"next","url":"RIGHT"}]}"#;
        assert_eq!(scan(body), links(Some("RIGHT"), None));
    }

    #[test]
    fn follows_escapes_and_structural_characters_inside_strings() {
        let body = r#"{"a":"}]\"{[\\","b\"link":[{"relation":"next","url":"WRONG"}],"c":{"d":"\\\""},"link":[{"relation":"next","url":"EOB?q=\"}\""}]}"#;
        assert_eq!(scan(body), links(Some(r#"EOB?q="}""#), None));
    }

    #[test]
    fn a_bundle_without_a_link_member_is_the_last_page() {
        assert_eq!(
            scan(r#"{"resourceType":"Bundle","entry":[{"x":[1,2,{"y":null}]}],"total":0}"#),
            links(None, None)
        );
        assert_eq!(scan(" { } "), links(None, None));
        assert_eq!(
            scan(r#"{"link":[{"relation":"self","url":"EOB"}]}"#),
            links(None, Some("EOB"))
        );
    }

    #[test]
    fn escaped_names_are_decoded_and_an_empty_first_link_gives_up() {
        // An escaped member name is `link` to serde_json, and to the scan.
        assert_eq!(
            scan(r#"{"li\u006ek":[{"relation":"next","url":"EOB?p=2"}],"entry":[]}"#),
            links(Some("EOB?p=2"), None)
        );
        assert_eq!(
            scan(r#"{"\u006cink":[{"relation":"next","url":"EOB?p=2"}]}"#),
            links(Some("EOB?p=2"), None)
        );
        // An escape serde_json refuses (a lone surrogate) ends the early scan, not the page.
        assert_eq!(scan(r#"{"li\ud800nk":[]}"#), Scan::GaveUp);
        // An empty or null first `link`, then the one the typed decode keeps.
        for body in [
            r#"{"link":[],"entry":[],"link":[{"relation":"next","url":"EOB?p=2"}]}"#,
            r#"{"link":null,"entry":[],"link":[{"relation":"next","url":"EOB?p=2"}]}"#,
            r#"{"link":null}"#,
            r#"{"link":[]}"#,
        ] {
            assert_eq!(scan(body), Scan::GaveUp, "{body}");
        }
        // Escapes inside values and inside nested names stay fine.
        assert_eq!(
            scan(
                r#"{"entry":[{"a\u0062":"\u0041"}],"link":[{"relation":"next","url":"EOB?p=\u0032"}]}"#
            ),
            links(Some("EOB?p=2"), None)
        );
    }

    /// What the full (typed) decode of a page sees as its links, as the pager would read them from it.
    fn decoded(body: &str) -> PageLinks {
        match fhir_c4bb::from_str::<fhir_c4bb::Resource>(body).unwrap() {
            fhir_c4bb::Resource::Bundle(b) => PageLinks {
                next: b.link("next").map(str::to_owned),
                own: b.link("self").map(str::to_owned),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whatever_it_finds_the_full_decode_finds_too() {
        let next = r#"[{"relation":"next","url":"EOB?p=2"}]"#;
        let own = r#"[{"relation":"self","url":"EOB?p=1"}]"#;
        let bodies = [
            format!(r#"{{"resourceType":"Bundle","li\u006ek":{next}}}"#),
            format!(r#"{{"resourceType":"Bundle","link":[],"link":{next}}}"#),
            format!(r#"{{"resourceType":"Bundle","link":null,"entry":[],"link":{next}}}"#),
            format!(r#"{{"resourceType":"Bundle","link":{own},"link":{next}}}"#),
            format!(r#"{{"resourceType":"Bundle","link":{next},"link":{own}}}"#),
            format!(r#"{{"resourceType":"Bundle","entry":[],"link":{next}}}"#),
            r#"{"resourceType":"Bundle","entry":[]}"#.to_owned(),
        ];
        for body in &bodies {
            match scan(body) {
                Scan::Found(found) => assert_eq!(found, decoded(body), "{body}"),
                Scan::GaveUp => {}
                Scan::Pending => panic!("pending on a whole page: {body}"),
            }
        }
    }

    #[test]
    fn gives_up_on_what_is_not_an_object_or_not_a_link_array() {
        assert_eq!(scan("[1,2]"), Scan::GaveUp);
        assert_eq!(scan("<html><body>Bad gateway</body></html>"), Scan::GaveUp);
        assert_eq!(scan(r#"{"link":"next"}"#), Scan::GaveUp);
        assert_eq!(scan(r#"{"link":[{"url":7}]}"#), Scan::GaveUp);
        assert_eq!(scan(r#"{"a" 1}"#), Scan::GaveUp);
        assert_eq!(scan(r#"{"a":1]}"#), Scan::GaveUp);
    }

    #[test]
    fn agrees_with_a_full_parse_on_real_c4bb_pages_however_they_are_cut_and_laid_out() {
        let resources: Vec<serde_json::Value> = [
            include_str!("../../benches/data/eob-professional1.json"),
            include_str!("../../benches/data/coverage1.json"),
            include_str!("../../benches/data/patient1.json"),
        ]
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect();
        let entries: Vec<serde_json::Value> = resources
            .iter()
            .map(|r| serde_json::json!({"fullUrl": "urn:x", "resource": r, "search": {"mode": "match"}}))
            .collect();
        let links = serde_json::json!([
            {"relation": "self", "url": "ExplanationOfBenefit?patient=1&_count=3"},
            {"relation": "next", "url": "https://payer.example/fhir/ExplanationOfBenefit?patient=1&page=\"2\""}
        ]);
        let head = r#"{"resourceType":"Bundle","type":"searchset","total":3"#;
        let bodies = [
            format!(
                r#"{head},"link":{links},"entry":{}}}"#,
                serde_json::Value::from(entries.clone())
            ),
            format!(
                r#"{head},"entry":{},"link":{links}}}"#,
                serde_json::Value::from(entries.clone())
            ),
            format!(
                r#"{head},"entry":{}}}"#,
                serde_json::Value::from(entries.clone())
            ),
            serde_json::to_string_pretty(&serde_json::json!({
                "resourceType": "Bundle", "entry": entries, "link": links
            }))
            .unwrap(),
        ];
        for body in &bodies {
            let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
            let url_of = |rel: &str| {
                parsed["link"].as_array().and_then(|l| {
                    l.iter()
                        .find(|l| l["relation"] == rel)
                        .and_then(|l| l["url"].as_str().map(str::to_owned))
                })
            };
            let want = Scan::Found(PageLinks {
                next: url_of("next"),
                own: url_of("self"),
            });
            for chunk in [1, 7, 1024, body.len()] {
                let mut scanner = LinkScanner::new();
                let mut end = 0;
                let mut got = Scan::Pending;
                while end < body.len() && got == Scan::Pending {
                    end = (end + chunk).min(body.len());
                    got = scanner.feed(&body.as_bytes()[..end]).clone();
                }
                assert_eq!(got, want, "chunks of {chunk}: {}", &body[..80]);
            }
        }
    }

    #[test]
    fn a_truncated_body_stays_pending() {
        for body in [
            "",
            "{",
            r#"{"entry":[{"a":"}"#,
            r#"{"link":[{"relation":"next""#,
        ] {
            assert_eq!(scan(body), Scan::Pending, "{body}");
        }
    }
}
