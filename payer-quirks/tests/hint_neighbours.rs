//! Every hint a payer adapter gives explains one failure and only that one: for each hint, the failure it
//! explains triggers it, and a neighbouring failure (same code or status, different description or body) does
//! not. A hint added without a case here fails `every_hint_of_every_payer_has_a_case`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use payer_quirks::PayerProfile;
use smart_core::PayerAdapter;

/// A failure as an adapter sees it.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// An OAuth error: the `error` code and the `error_description`.
    OAuth(&'static str, Option<&'static str>),
    /// An unexpected HTTP response: status and body excerpt.
    Response(u16, &'static str),
}

use Failure::{OAuth, Response};

/// One hint: the failure it explains (with a piece of the hint's text to recognise it) and its neighbours.
struct Case {
    payer: &'static str,
    explains: Failure,
    hint_says: &'static str,
    neighbours: &'static [Failure],
}

const CASES: &[Case] = &[
    // Aetna
    Case {
        payer: "aetna-sandbox",
        explains: OAuth(
            "invalid_client",
            Some("Client authentication failed: credentials must be sent with HTTP Basic"),
        ),
        hint_says: "HTTP Basic",
        neighbours: &[
            OAuth("invalid_client", Some("Client authentication failed")),
            OAuth("invalid_client", None),
        ],
    },
    Case {
        payer: "aetna-sandbox",
        explains: OAuth("invalid_client", Some("Client authentication failed")),
        hint_says: "subscribed",
        neighbours: &[
            OAuth("invalid_client", Some("unknown client")),
            OAuth("invalid_grant", Some("Client authentication failed")),
        ],
    },
    Case {
        payer: "aetna-sandbox",
        explains: OAuth("access_denied", Some("Member eligibility failed")),
        hint_says: "government-program",
        // The member clicked Deny.
        neighbours: &[
            OAuth(
                "access_denied",
                Some("The member declined to share their data"),
            ),
            OAuth("access_denied", None),
        ],
    },
    Case {
        payer: "aetna-sandbox",
        explains: OAuth(
            "invalid_request",
            Some("Invalid aud: not a resource server"),
        ),
        hint_says: "auth root",
        neighbours: &[OAuth("invalid_request", Some("redirect_uri is required"))],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(200, " null\n"),
        hint_says: "subscription",
        neighbours: &[Response(200, "<html>sign in</html>"), Response(500, "null")],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(404, "No resources match requested URI"),
        hint_says: "/v2/patientaccess",
        neighbours: &[Response(404, "Resource Patient/x not found")],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(429, "Assembly Rate Limit exceeded"),
        hint_says: "per IP",
        neighbours: &[
            Response(429, "quota for this app exhausted"),
            Response(503, "Assembly Rate Limit exceeded"),
        ],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(429, "Detected excessive traffic coming from this IP"),
        hint_says: "per IP",
        neighbours: &[Response(429, "")],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(
            400,
            "MSG_RESOURCE_ID_MISSING: unknown or unsupported query parameter _format",
        ),
        hint_says: "CapabilityStatement",
        neighbours: &[Response(400, "Invalid date format in service-date")],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(406, "Not Acceptable: this API produces application/json"),
        hint_says: "application/json",
        neighbours: &[Response(400, "Not Acceptable"), Response(406, "")],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(401, "The application is not subscribed to this product"),
        hint_says: "subscription",
        // An expired token is refreshed by the session; the subscription is not the cause.
        neighbours: &[Response(401, "Invalid or expired access token")],
    },
    Case {
        payer: "aetna-sandbox",
        explains: Response(
            400,
            "<status><message>Missing client_id in Request</message></status>",
        ),
        hint_says: "XML",
        neighbours: &[Response(400, "{\"error\":\"invalid_request\"}")],
    },
    // Cigna
    Case {
        payer: "cigna-sandbox",
        explains: OAuth(
            "invalid_request",
            Some("The aud parameter is not supported"),
        ),
        hint_says: "omit",
        neighbours: &[
            OAuth("invalid_request", Some("missing state")),
            OAuth("invalid_scope", Some("aud")),
        ],
    },
    Case {
        payer: "cigna-sandbox",
        explains: OAuth("invalid_request", Some("redirect_uri does not match")),
        hint_says: "exactly",
        neighbours: &[OAuth("invalid_request", Some("missing state"))],
    },
    Case {
        payer: "cigna-sandbox",
        explains: OAuth("invalid_request", Some("session cookie missing")),
        hint_says: "cookie",
        neighbours: &[OAuth("invalid_request", Some("missing state"))],
    },
    Case {
        payer: "cigna-sandbox",
        explains: Response(500, "HAPI-2001: Resource Organization/ifp-1 is not known"),
        hint_says: "not found",
        neighbours: &[
            Response(500, "Internal Server Error"),
            Response(404, "is not known"),
        ],
    },
    Case {
        payer: "cigna-sandbox",
        explains: Response(400, "session cookie missing"),
        hint_says: "cookie",
        neighbours: &[Response(400, "Bad Request")],
    },
    Case {
        payer: "cigna-sandbox",
        explains: Response(400, "redirect_uri mismatch"),
        hint_says: "exactly",
        neighbours: &[Response(400, "Bad Request")],
    },
    Case {
        payer: "cigna-sandbox",
        explains: Response(200, "Error code CLCOM-006; x-request-id 5f1c"),
        hint_says: "partial failure",
        neighbours: &[Response(200, "Error code HAPI-1996")],
    },
    // UnitedHealthcare
    Case {
        payer: "unitedhealthcare-sandbox",
        explains: OAuth(
            "access_denied",
            Some("Member eligibility failed - no eligible membership found."),
        ),
        hint_says: "not a bug",
        neighbours: &[
            OAuth(
                "access_denied",
                Some("The member declined to share their data"),
            ),
            OAuth("access_denied", None),
        ],
    },
    Case {
        payer: "unitedhealthcare-sandbox",
        explains: OAuth("invalid_scope", Some("Wildcard scopes are not supported")),
        hint_says: "wildcard",
        neighbours: &[
            OAuth("invalid_scope", Some("The openid scope is required")),
            OAuth("invalid_scope", None),
        ],
    },
    Case {
        payer: "unitedhealthcare-sandbox",
        explains: OAuth("invalid_request", Some("redirect_uri mismatch")),
        hint_says: "Optum FLEX",
        neighbours: &[OAuth("invalid_request", Some("missing state"))],
    },
    Case {
        payer: "unitedhealthcare-sandbox",
        explains: Response(400, "redirect_uri mismatch"),
        hint_says: "Optum FLEX",
        neighbours: &[Response(400, "Bad Request")],
    },
    Case {
        payer: "unitedhealthcare-sandbox",
        explains: Response(404, "Operation $everything is not supported"),
        hint_says: "each resource type",
        neighbours: &[Response(404, "Resource Patient/x not found")],
    },
    // CMS Blue Button
    Case {
        payer: "bluebutton-sandbox",
        explains: OAuth(
            "invalid_client",
            Some("This application is not allowed to refresh tokens"),
        ),
        hint_says: "one-time",
        neighbours: &[OAuth(
            "invalid_client",
            Some("Client authentication failed"),
        )],
    },
    Case {
        payer: "bluebutton-sandbox",
        explains: OAuth("invalid_grant", Some("User access has timed out")),
        hint_says: "13 months",
        neighbours: &[OAuth(
            "invalid_grant",
            Some("The authorization code expired"),
        )],
    },
    Case {
        payer: "bluebutton-sandbox",
        explains: Response(400, "_count must be a number between 1 and 50"),
        hint_says: "up to 50",
        neighbours: &[Response(400, "Invalid patient id"), Response(500, "_count")],
    },
    Case {
        payer: "bluebutton-sandbox",
        explains: Response(400, "_lastUpdated must start with lt, le, gt or ge"),
        hint_says: "prefix",
        neighbours: &[Response(400, "Invalid patient id")],
    },
    Case {
        payer: "bluebutton-sandbox",
        explains: Response(400, "state is required and must be at least 16 characters"),
        hint_says: "16 characters",
        neighbours: &[Response(400, "Invalid patient id")],
    },
    Case {
        payer: "bluebutton-sandbox",
        explains: Response(400, "client_secret must not be sent to authorize"),
        hint_says: "token request",
        neighbours: &[Response(400, "Invalid patient id")],
    },
    // Humana
    Case {
        payer: "humana-sandbox",
        explains: OAuth(
            "invalid_client",
            Some("credentials must be sent with HTTP Basic"),
        ),
        hint_says: "HTTP Basic",
        neighbours: &[
            OAuth("invalid_client", Some("Client authentication failed")),
            OAuth("invalid_client", None),
        ],
    },
    Case {
        payer: "humana-sandbox",
        explains: OAuth("invalid_scope", Some("The internal scope is required")),
        hint_says: "`internal`",
        neighbours: &[OAuth("invalid_scope", Some("The openid scope is required"))],
    },
    Case {
        payer: "humana-sandbox",
        explains: Response(
            403,
            "<H1>Access Denied</H1> You don't have permission to access",
        ),
        hint_says: "bot manager",
        // A token without the scope for a resource is a plain 403 too.
        neighbours: &[Response(
            403,
            "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"code\":\"forbidden\"}]}",
        )],
    },
    // Elevance
    Case {
        payer: "elevance-sandbox",
        explains: OAuth(
            "invalid_request",
            Some("code_challenge and code_challenge_method are required"),
        ),
        hint_says: "PKCE",
        neighbours: &[
            OAuth("invalid_request", Some("missing state")),
            OAuth("invalid_request", None),
        ],
    },
    Case {
        payer: "elevance-sandbox",
        explains: OAuth(
            "invalid_request",
            Some("Invalid aud: not a resource server of this authorization server"),
        ),
        hint_says: "trailing slash",
        neighbours: &[OAuth("invalid_request", Some("missing state"))],
    },
    Case {
        payer: "elevance-sandbox",
        explains: OAuth("invalid_grant", Some("The refresh token is invalid")),
        hint_says: "90 days",
        // A spent or expired authorization code says nothing about the consent.
        neighbours: &[
            OAuth("invalid_grant", Some("The authorization code expired")),
            OAuth("invalid_grant", None),
        ],
    },
    Case {
        payer: "elevance-sandbox",
        explains: Response(
            406,
            "Not Acceptable: this API produces application/json+fhir",
        ),
        hint_says: "application/json+fhir",
        neighbours: &[Response(406, "")],
    },
    Case {
        payer: "elevance-sandbox",
        explains: Response(403, "{\"error\":\"invalid_brand\"}"),
        hint_says: "member's brand",
        neighbours: &[Response(403, "{\"error\":\"forbidden\"}")],
    },
    Case {
        payer: "elevance-sandbox",
        explains: Response(
            401,
            "{\"status_code\":401,\"status\":\"failed\",\"error\":\"unauthorized\"}",
        ),
        hint_says: "gateway",
        neighbours: &[Response(401, "{\"resourceType\":\"OperationOutcome\"}")],
    },
];

fn profile(id: &str) -> PayerProfile {
    payer_quirks::by_id(id)
        .unwrap_or_else(|| panic!("{id}"))
        .profile
}

fn explain(p: &PayerProfile, f: Failure) -> Option<String> {
    match f {
        OAuth(code, description) => p.explain_oauth_error(code, description),
        Response(status, body) => p.explain_response(status, body),
    }
}

#[test]
fn each_hint_explains_its_failure_and_not_its_neighbours() {
    for case in CASES {
        let p = profile(case.payer);
        let hint = explain(&p, case.explains)
            .unwrap_or_else(|| panic!("{}: no hint for {:?}", case.payer, case.explains));
        assert!(
            hint.contains(case.hint_says),
            "{}: {:?} gave {hint:?}",
            case.payer,
            case.explains
        );
        for neighbour in case.neighbours {
            let other = explain(&p, *neighbour);
            assert!(
                other.as_deref() != Some(hint.as_str()),
                "{}: the hint for {:?} also fires for {neighbour:?}",
                case.payer,
                case.explains
            );
        }
    }
}

/// Each hint of every payer is the first match of at least one case above, in every deployment.
#[test]
fn every_hint_of_every_payer_has_a_case() {
    for payer in payer_quirks::directory() {
        let sandbox_id = payer.environments[0].id.clone();
        for env in &payer.environments {
            let p = profile(&env.id);
            let cases: Vec<&Case> = CASES.iter().filter(|c| c.payer == sandbox_id).collect();
            let covered: Vec<String> = cases
                .iter()
                .filter_map(|c| explain(&p, c.explains))
                .collect();
            for h in &p.oauth_hints {
                assert!(
                    covered.iter().any(|c| *c == h.hint),
                    "{}: no case for OAuth hint {:?}",
                    env.id,
                    h.hint
                );
            }
            for h in &p.response_hints {
                assert!(
                    covered.iter().any(|c| *c == h.hint),
                    "{}: no case for response hint {:?}",
                    env.id,
                    h.hint
                );
            }
        }
    }
}

/// What the issue reported: Aetna's plan-eligibility hint fired when the member simply clicked Deny.
#[test]
fn a_member_who_clicks_deny_is_not_told_their_plan_is_ineligible() {
    for id in [
        "aetna-sandbox",
        "aetna-production",
        "unitedhealthcare-sandbox",
    ] {
        let p = profile(id);
        assert_eq!(
            p.explain_oauth_error(
                "access_denied",
                Some("The member declined to share their data")
            ),
            None,
            "{id}"
        );
        assert_eq!(p.explain_oauth_error("access_denied", None), None, "{id}");
    }
}
