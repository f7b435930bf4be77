//! The web app's HTML: a page layout, the home page, the claims table, and the error pages.
//!
//! Everything a payer sends (names, dates, provider names, diagnostics) and everything from configuration is
//! HTML-escaped with [`escape`] where it is put in a page; only the fixed markup of this file is not.

use fhir_c4bb::Money;
use fhir_c4bb::money::{ClaimRow, ClaimsTable};
use fhir_c4bb::prior_auth::{PriorAuthStatus, PriorAuthorization};

/// The stylesheet, served at `/style.css` (the Content-Security-Policy allows no inline style).
pub const STYLE: &str = r#"
:root { --fg: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #0b6bcb; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
header.top { background: #fff; border-bottom: 1px solid var(--line); }
header.top div { max-width: 1040px; margin: 0 auto; padding: 14px 24px; display: flex; justify-content: space-between;
  align-items: center; }
header.top a.brand { font-weight: 650; color: var(--fg); text-decoration: none; }
header.top span { color: var(--muted); font-size: 13px; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
p.sub { color: var(--muted); margin: 0 0 22px; }
ul.payers, ul.brands { list-style: none; padding: 0; margin: 0; display: grid; gap: 12px; }
form.picker { display: flex; gap: 8px; margin: 8px 0; }
form.picker input { flex: 1; padding: 8px 10px; border: 1px solid var(--line); border-radius: 8px; font: inherit; }
li.payer, li.brand { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; display: flex;
  justify-content: space-between; align-items: center; gap: 16px; }
li.payer h2, li.brand h3 { font-size: 17px; margin: 0; }
.status { font-size: 13px; color: var(--muted); }
.status.connected { color: #0f7b3f; }
.actions { display: flex; gap: 8px; align-items: center; }
.actions form { margin: 0; }
.button { display: inline-block; padding: 7px 14px; border-radius: 6px; background: var(--accent); color: #fff;
  text-decoration: none; border: 1px solid var(--accent); font: inherit; cursor: pointer; }
.button.secondary { background: #fff; color: var(--accent); }
.hint { font-size: 13px; color: var(--muted); margin: 4px 0 0; }
code { background: #eef2f6; padding: 1px 5px; border-radius: 4px; font-size: 13px; }
.summary { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 0 0 18px; }
.summary div { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.summary .label { display: block; font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.summary .value { font-size: 21px; font-weight: 650; font-variant-numeric: tabular-nums; }
table.claims { width: 100%; border-collapse: separate; border-spacing: 0; background: #fff;
  border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
table.claims th, table.claims td { padding: 8px 14px; text-align: left; border-bottom: 1px solid var(--line); }
table.claims thead th { background: #f0f4f8; font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); font-weight: 600; }
table.claims tbody tr:nth-child(even) { background: #fafbfc; }
table.claims .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.claims .date { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.claims tfoot td { font-weight: 650; border-bottom: 0; border-top: 2px solid var(--fg); }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; background: #e6f0fb; color: #0b4f99;
  font-size: 12px; white-space: nowrap; }
.notice { border-left: 4px solid #f0b429; background: #fffbea; padding: 10px 14px; border-radius: 6px;
  margin: 0 0 18px; }
.notice.error { border-left-color: #d64545; background: #fff5f5; }
.badge.status-pending { background: #fff3c4; color: #8d5b00; }
.badge.status-approved { background: #e3f9e5; color: #0f7b3f; }
.badge.status-partially-approved { background: #e0fcff; color: #0e5f6e; }
.badge.status-modified { background: #eae2f8; color: #44277a; }
.badge.status-denied { background: #ffe3e3; color: #a61b1b; }
.badge.status-cancelled, .badge.status-other { background: #eef2f6; color: #52606d; }
.why { font-size: 13px; color: var(--muted); margin: 2px 0 0; }
.notice p { margin: 4px 0; }
"#;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An amount for people: `$1,234.50` for US dollars (and amounts without a currency, which US payers send),
/// `1,234.50 EUR` otherwise, `—` when unknown. Exact: digits beyond the cents are shown, never rounded away.
pub fn format_money(money: Option<&Money>) -> String {
    let Some((value, currency)) = money.and_then(|m| m.value.as_ref().map(|v| (v, &m.currency)))
    else {
        return "—".to_owned();
    };
    // `to_parts` offers no scale above `Decimal::MAX_SCALE` (1e-4000000000 would be 4 GB of
    // zeros here); the filter keeps this function bounded whatever `to_parts` allows.
    let parts = value
        .to_parts()
        .filter(|&(_, scale)| scale <= fhir_c4bb::Decimal::MAX_SCALE);
    let Some((mantissa, scale)) = parts else {
        // Beyond i128 or an absurd exponent (a payer's garbage): show the number as sent.
        return format!("{value} {}", currency.as_deref().unwrap_or_default())
            .trim()
            .to_owned();
    };
    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
    let digits = mantissa.unsigned_abs().to_string();
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut frac = frac.to_owned();
    while frac.len() < 2 {
        frac.push('0');
    }
    let sign = if mantissa < 0 { "-" } else { "" };
    match currency.as_deref() {
        None | Some("USD") => format!("{sign}${grouped}.{frac}"),
        Some(code) => format!("{sign}{grouped}.{frac} {code}"),
    }
}

/// A whole page: the app's header, `body`, and the stylesheet.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · My Health Record</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body><header class=\"top\"><div><a class=\"brand\" href=\"/\">My Health Record</a>\
         <span>patient-access web-app example</span></div></header><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// One payer on the home page.
#[derive(Debug)]
pub struct PayerItem<'a> {
    /// The payer's key in URLs.
    pub key: &'a str,
    /// The name shown.
    pub name: &'a str,
    /// Tokens are stored for this member and payer.
    pub connected: bool,
    /// Shown under the name (the simulators' test login).
    pub login_hint: Option<&'a str>,
}

/// At most this many lines in the insurer picker.
pub const PICKER_LIMIT: usize = 50;

/// One line of the "find your insurer" picker.
#[derive(Debug)]
pub struct BrandItem<'a> {
    /// The brand (or payer) name.
    pub name: &'a str,
    /// Other names it is known by.
    pub aliases: &'a [String],
    /// The payer module's adapter id, or `None` for the standard SMART adapter.
    pub adapter: Option<&'a str>,
    /// The configured payer key serving this brand's FHIR base, if any.
    pub connect: Option<&'a str>,
}

/// The picker: the search and what matched.
#[derive(Debug)]
pub struct Picker<'a> {
    /// The search, as typed.
    pub query: &'a str,
    /// The first [`PICKER_LIMIT`] matches.
    pub items: &'a [BrandItem<'a>],
    /// How many matched in all.
    pub total: usize,
}

fn picker(p: &Picker<'_>) -> String {
    let mut lines = String::new();
    for b in p.items {
        let aliases = if b.aliases.is_empty() {
            String::new()
        } else {
            format!(
                "<p class=\"hint\">Also: {}</p>",
                escape(&b.aliases.join(", "))
            )
        };
        let adapter = match b.adapter {
            Some(id) => format!("payer module <code>{}</code>", escape(id)),
            None => "standard SMART on FHIR".to_owned(),
        };
        let action = match b.connect {
            Some(key) => format!(
                "<a class=\"button\" data-brand-connect=\"{k}\" href=\"/connect/{k}\">Connect</a>",
                k = escape(key)
            ),
            None => "<span class=\"status\">Not offered by this app</span>".to_owned(),
        };
        lines.push_str(&format!(
            "<li class=\"brand\" data-brand=\"{name}\"><div><h3>{name}</h3>{aliases}\
             <p class=\"hint\">{adapter}</p></div><div class=\"actions\">{action}</div></li>",
            name = escape(b.name),
        ));
    }
    if p.items.is_empty() {
        lines.push_str("<li class=\"brand\" data-brand-none>No insurer matches.</li>");
    }
    let more = if p.total > p.items.len() {
        format!(
            "<p class=\"hint\">{} more: refine the search.</p>",
            p.total - p.items.len()
        )
    } else {
        String::new()
    };
    format!(
        "<h2>Find your insurer</h2><form class=\"picker\" method=\"get\" action=\"/\">\
         <input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"Insurer or plan name\" data-brand-search>\
         <button class=\"button\" type=\"submit\" data-brand-find>Find</button></form>\
         <p class=\"hint\" data-brand-count=\"{total}\">{total} found</p><ul class=\"brands\">{lines}</ul>{more}",
        q = escape(p.query),
        total = p.total,
    )
}

/// The home page: every configured payer, with Connect, View claims and Disconnect, and the insurer picker.
pub fn home(payers: &[PayerItem<'_>], brands: &Picker<'_>) -> String {
    let mut items = String::new();
    for p in payers {
        let key = escape(p.key);
        let status = if p.connected {
            "<span class=\"status connected\">Connected</span>"
        } else {
            "<span class=\"status\">Not connected</span>"
        };
        let hint = p
            .login_hint
            .map(|h| format!("<p class=\"hint\">{}</p>", escape(h)))
            .unwrap_or_default();
        let actions = if p.connected {
            format!(
                "<a class=\"button\" data-claims=\"{key}\" href=\"/claims/{key}\">View claims</a>\
                 <form method=\"post\" action=\"/disconnect/{key}\">\
                 <button class=\"button secondary\" data-disconnect=\"{key}\" type=\"submit\">Disconnect</button></form>"
            )
        } else {
            format!(
                "<a class=\"button\" data-connect=\"{key}\" href=\"/connect/{key}\">Connect my insurer</a>"
            )
        };
        items.push_str(&format!(
            "<li class=\"payer\" data-payer=\"{key}\"><div><h2>{name}</h2>{status}{hint}</div>\
             <div class=\"actions\">{actions}</div></li>",
            name = escape(p.name),
        ));
    }
    if payers.is_empty() {
        items.push_str("<li class=\"payer\">No payer is configured.</li>");
    }
    layout(
        "Your health plans",
        &format!(
            "<h1>Your health plans</h1><p class=\"sub\">Connect your insurer to see your claims. You sign in at \
             the insurer; this app never sees your password.</p><ul class=\"payers\">{items}</ul>{picker}",
            picker = picker(brands),
        ),
    )
}

/// A warning the payer put inside its answer, with the SDK's explanation when it knows one.
#[derive(Debug)]
pub struct Warning {
    /// What the payer said.
    pub message: String,
    /// What it means, when known.
    pub hint: Option<String>,
}

/// The claims page.
#[derive(Debug)]
pub struct ClaimsPage<'a> {
    /// The payer's key in URLs.
    pub payer_key: &'a str,
    /// The payer's name.
    pub payer_name: &'a str,
    /// The member's name, from their Patient resource.
    pub member_name: Option<&'a str>,
    /// One row per EOB, with totals.
    pub table: &'a ClaimsTable,
    /// Problems the payer reported inside its answers.
    pub warnings: &'a [Warning],
}

/// The member's claims as a table, newest first, with a totals row.
pub fn claims(page: &ClaimsPage<'_>) -> String {
    let table = page.table;
    let mut rows: Vec<&ClaimRow> = table.rows.iter().collect();
    // Newest first; claims without a service date last. FHIR dates compare correctly as text at equal precision.
    rows.sort_by(|a, b| {
        let date = |r: &ClaimRow| r.service_date.as_ref().map(|d| d.as_str().to_owned());
        date(b).cmp(&date(a))
    });
    let mut body = String::new();
    for r in &rows {
        let date = r
            .service_date
            .as_ref()
            .map(|d| escape(d.date().unwrap_or(d.as_str())))
            .unwrap_or_else(|| "<span class=\"muted\">—</span>".to_owned());
        let provider = r
            .provider
            .as_deref()
            .map(escape)
            .unwrap_or_else(|| "<span class=\"muted\">Not given</span>".to_owned());
        body.push_str(&format!(
            "<tr data-eob-id=\"{id}\"><td class=\"date\">{date}</td><td><span class=\"badge\">{kind}</span></td>\
             <td>{provider}</td><td class=\"num\">{billed}</td><td class=\"num\">{paid}</td>\
             <td class=\"num\">{owes}</td></tr>",
            id = escape(r.id.as_deref().unwrap_or_default()),
            kind = escape(&r.claim_type),
            billed = escape(&format_money(r.billed.as_ref())),
            paid = escape(&format_money(r.plan_paid.as_ref())),
            owes = escape(&format_money(r.member_owes.as_ref())),
        ));
    }
    let billed = escape(&format_money(table.billed_total.as_ref()));
    let paid = escape(&format_money(table.plan_paid_total.as_ref()));
    let owes = escape(&format_money(table.member_owes_total.as_ref()));
    let count = rows.len();
    let plural = if count == 1 { "claim" } else { "claims" };
    let mut notices = String::new();
    for w in page.warnings {
        notices.push_str(&format!(
            "<div class=\"notice\" data-warning><p><strong>{payer} reported a problem:</strong> {message}</p>{hint}</div>",
            payer = escape(page.payer_name),
            message = escape(&w.message),
            hint = w
                .hint
                .as_deref()
                .map(|h| format!("<p class=\"hint\">{}</p>", escape(h)))
                .unwrap_or_default(),
        ));
    }
    let heading = match page.member_name {
        Some(name) => format!("Claims for {}", escape(name)),
        None => "Your claims".to_owned(),
    };
    layout(
        &format!("Claims · {}", page.payer_name),
        &format!(
            "<h1>{heading}</h1><p class=\"sub\">From <strong data-payer-name>{payer}</strong>: \
             {count} {plural}, newest first. <a href=\"/prior-authorizations/{key}\" data-prior-auths-link>Prior \
             authorizations</a> · <a href=\"/health-record/{key}\" data-health-record-link>Health record</a> · \
             <a href=\"/\">All plans</a></p>{notices}\
             <div class=\"summary\"><div><span class=\"label\">Claims</span><span class=\"value\">{count}</span></div>\
             <div><span class=\"label\">Billed</span><span class=\"value\">{billed}</span></div>\
             <div><span class=\"label\">Plan paid</span><span class=\"value\">{paid}</span></div>\
             <div><span class=\"label\">You owe</span><span class=\"value\">{owes}</span></div></div>\
             <table class=\"claims\" data-payer=\"{key}\"><thead><tr><th>Service date</th><th>Type</th>\
             <th>Provider</th><th class=\"num\">Billed</th><th class=\"num\">Plan paid</th>\
             <th class=\"num\">You owe</th></tr></thead><tbody>{body}</tbody><tfoot><tr>\
             <td colspan=\"3\">Total ({count} {plural})</td><td class=\"num\" data-total=\"billed\">{billed}</td>\
             <td class=\"num\" data-total=\"plan-paid\">{paid}</td>\
             <td class=\"num\" data-total=\"member-owes\">{owes}</td></tr></tfoot></table>",
            payer = escape(page.payer_name),
            key = escape(page.payer_key),
        ),
    )
}

/// One prior authorization as the page shows it, read from the EOB through fhir-c4bb's view.
#[derive(Debug, Clone)]
pub struct PriorAuthRow {
    /// The EOB id.
    pub id: String,
    /// The authorization number.
    pub number: Option<String>,
    /// The service asked for.
    pub service: Option<String>,
    /// The decision.
    pub status: PriorAuthStatus,
    /// When it was asked for.
    pub requested: Option<String>,
    /// When the plan last acted on it.
    pub reviewed: Option<String>,
    /// The authorized period, start and end.
    pub authorized: Option<(Option<String>, Option<String>)>,
    /// Why it is pending, denied or only partly approved.
    pub reasons: Vec<String>,
}

impl PriorAuthRow {
    /// The row for one prior authorization.
    pub fn new(pa: &PriorAuthorization<'_>) -> Self {
        let date =
            |d: Option<&fhir_c4bb::DateTime>| d.map(|d| d.date().unwrap_or(d.as_str()).to_owned());
        PriorAuthRow {
            id: pa.id().unwrap_or_default().to_owned(),
            number: pa.authorization_number().map(str::to_owned),
            service: pa.service().and_then(|s| s.display()).map(str::to_owned),
            status: pa.status(),
            requested: date(pa.requested()),
            reviewed: date(pa.decision_date()),
            authorized: pa
                .authorized_period()
                .map(|p| (date(p.start.as_ref()), date(p.end.as_ref()))),
            reasons: pa
                .reasons()
                .filter_map(|r| r.display())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The prior authorizations page.
#[derive(Debug)]
pub struct PriorAuthsPage<'a> {
    /// The payer's key in URLs.
    pub payer_key: &'a str,
    /// The payer's name.
    pub payer_name: &'a str,
    /// The member's name, from their Patient resource.
    pub member_name: Option<&'a str>,
    /// One row per prior authorization.
    pub rows: &'a [PriorAuthRow],
    /// Problems the payer reported inside its answers.
    pub warnings: &'a [Warning],
}

/// What the member waits for first, then what was refused, then the rest; newest request first within each.
fn status_rank(s: &PriorAuthStatus) -> u8 {
    match s {
        PriorAuthStatus::Pending => 0,
        PriorAuthStatus::Denied => 1,
        PriorAuthStatus::PartiallyApproved => 2,
        PriorAuthStatus::Modified => 3,
        PriorAuthStatus::Approved => 4,
        PriorAuthStatus::Cancelled => 5,
        _ => 6,
    }
}

/// The member's prior authorizations with a status badge each: pending and denied first, with the reason.
pub fn prior_authorizations(page: &PriorAuthsPage<'_>) -> String {
    let mut rows: Vec<&PriorAuthRow> = page.rows.iter().collect();
    rows.sort_by(|a, b| {
        status_rank(&a.status)
            .cmp(&status_rank(&b.status))
            .then_with(|| b.requested.cmp(&a.requested))
    });
    let dash = || "<span class=\"muted\">—</span>".to_owned();
    let text = |t: &Option<String>| t.as_deref().map(escape).unwrap_or_else(dash);
    let mut body = String::new();
    for r in &rows {
        let why: String = r
            .reasons
            .iter()
            .map(|w| format!("<p class=\"why\" data-reason>{}</p>", escape(w)))
            .collect();
        let authorized = match &r.authorized {
            Some((start, end)) => format!("{} – {}", text(start), text(end)),
            None => dash(),
        };
        body.push_str(&format!(
            "<tr data-prior-auth-id=\"{id}\" data-status=\"{slug}\"><td class=\"date\">{number}</td><td>{service}{why}</td>\
             <td><span class=\"badge status-{slug}\">{label}</span></td><td class=\"date\">{requested}</td>\
             <td class=\"date\">{reviewed}</td><td class=\"date\">{authorized}</td></tr>",
            id = escape(&r.id),
            slug = r.status.slug(),
            number = text(&r.number),
            service = text(&r.service),
            label = escape(r.status.label()),
            requested = text(&r.requested),
            reviewed = text(&r.reviewed),
        ));
    }
    let count_of = |slug: &str| rows.iter().filter(|r| r.status.slug() == slug).count();
    let mut notices = String::new();
    for w in page.warnings {
        notices.push_str(&format!(
            "<div class=\"notice\" data-warning><p><strong>{payer} reported a problem:</strong> {message}</p></div>",
            payer = escape(page.payer_name),
            message = escape(&w.message),
        ));
    }
    let heading = match page.member_name {
        Some(name) => format!("Prior authorizations for {}", escape(name)),
        None => "Your prior authorizations".to_owned(),
    };
    let key = escape(page.payer_key);
    layout(
        &format!("Prior authorizations · {}", page.payer_name),
        &format!(
            "<h1>{heading}</h1><p class=\"sub\">From <strong data-payer-name>{payer}</strong>: the services your \
             plan must approve before you get them, pending and denied first. \
             <a href=\"/claims/{key}\">Claims</a> · <a href=\"/\">All plans</a></p>{notices}\
             <div class=\"summary\"><div><span class=\"label\">Requests</span><span class=\"value\" \
             data-count=\"all\">{all}</span></div>\
             <div><span class=\"label\">Pending</span><span class=\"value\" data-count=\"pending\">{pending}</span></div>\
             <div><span class=\"label\">Denied</span><span class=\"value\" data-count=\"denied\">{denied}</span></div>\
             <div><span class=\"label\">Approved</span><span class=\"value\" data-count=\"approved\">{approved}</span></div></div>\
             <table class=\"claims prior-auths\" data-payer=\"{key}\"><thead><tr><th>Number</th><th>Service</th>\
             <th>Status</th><th>Requested</th><th>Reviewed</th><th>Authorized</th></tr></thead>\
             <tbody>{body}</tbody></table>",
            payer = escape(page.payer_name),
            all = rows.len(),
            pending = count_of("pending"),
            denied = count_of("denied"),
            approved = count_of("approved") + count_of("partially-approved") + count_of("modified"),
        ),
    )
}

/// The member's health record: one table per kind (conditions, medications, allergies, immunizations, recent
/// labs and vital signs with units), and the kinds this payer does not serve.
pub fn health_record(
    payer_key: &str,
    payer_name: &str,
    member_name: Option<&str>,
    record: &super::health_record::HealthRecord,
) -> String {
    let dash = "<span class=\"muted\">—</span>";
    let cell = |t: &str| {
        if t.is_empty() {
            dash.to_owned()
        } else {
            escape(t)
        }
    };
    let mut body = String::new();
    for (title, lines) in record.sections() {
        let slug = title.to_ascii_lowercase().replace(' ', "-");
        body.push_str(&format!(
            "<h2>{} <span class=\"muted\">({})</span></h2>",
            escape(title),
            lines.len()
        ));
        if lines.is_empty() {
            body.push_str(&format!(
                "<p class=\"muted\" data-section=\"{slug}\" data-empty>None on file.</p>"
            ));
            continue;
        }
        body.push_str(&format!(
            "<table class=\"claims\" data-section=\"{slug}\"><thead><tr><th>What</th><th>Detail</th>\
             <th>Date</th></tr></thead><tbody>"
        ));
        for line in lines {
            body.push_str(&format!(
                "<tr data-row><td data-text>{}</td><td data-detail>{}</td><td class=\"date\">{}</td></tr>",
                cell(&line.text),
                cell(&line.detail),
                cell(&line.date),
            ));
        }
        body.push_str("</tbody></table>");
    }
    let unavailable = if record.unavailable.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"hint\" data-unavailable>Not served by {}: {}.</p>",
            escape(payer_name),
            escape(&record.unavailable.join(", "))
        )
    };
    let heading = match member_name {
        Some(name) => format!("Health record for {}", escape(name)),
        None => "Your health record".to_owned(),
    };
    let key = escape(payer_key);
    layout(
        &format!("Health record · {payer_name}"),
        &format!(
            "<h1>{heading}</h1><p class=\"sub\">From <strong data-payer-name>{payer}</strong>: what your plan \
             holds of your clinical record. <a href=\"/claims/{key}\">Claims</a> · <a href=\"/\">All plans</a></p>\
             {unavailable}{body}",
            payer = escape(payer_name),
        ),
    )
}

/// The member has no usable connection to this payer (never connected, disconnected, or consent ended).
pub fn not_connected(payer_key: &str, payer_name: &str, reason: Option<&str>) -> String {
    let key = escape(payer_key);
    let reason = reason
        .map(|r| format!("<p class=\"hint\">{}</p>", escape(r)))
        .unwrap_or_default();
    layout(
        &format!("Connect {payer_name}"),
        &format!(
            "<h1>{name} is not connected</h1><div class=\"notice\" data-not-connected><p>Connect your \
             {name} account to see your claims here.</p>{reason}</div>\
             <a class=\"button\" data-connect=\"{key}\" href=\"/connect/{key}\">Connect my insurer</a>",
            name = escape(payer_name),
        ),
    )
}

/// Something went wrong: what, and what to do.
pub fn error_page(title: &str, message: &str, hint: Option<&str>) -> String {
    let hint = hint
        .map(|h| format!("<p class=\"hint\">{}</p>", escape(h)))
        .unwrap_or_default();
    layout(
        title,
        &format!(
            "<h1>{title}</h1><div class=\"notice error\" data-error><p>{message}</p>{hint}</div>\
             <a class=\"button secondary\" href=\"/\">Back to your plans</a>",
            title = escape(title),
            message = escape(message),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(value: &str, currency: Option<&str>) -> Money {
        let mut m = Money::default();
        m.value = Some(value.parse().unwrap());
        m.currency = currency.map(str::to_owned);
        m
    }

    #[test]
    fn escapes_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("Dr. Ä Müller"), "Dr. Ä Müller");
    }

    #[test]
    fn money_is_exact_grouped_and_padded_to_cents() {
        let usd = |v: &str| format_money(Some(&money(v, Some("USD"))));
        assert_eq!(usd("7147.2"), "$7,147.20");
        assert_eq!(usd("1234567.891"), "$1,234,567.891");
        assert_eq!(usd("0"), "$0.00");
        assert_eq!(usd("0.05"), "$0.05");
        assert_eq!(usd("-120"), "-$120.00");
        assert_eq!(usd("100"), "$100.00");
        assert_eq!(usd("999.99"), "$999.99");
        assert_eq!(format_money(Some(&money("10.5", None))), "$10.50");
        assert_eq!(
            format_money(Some(&money("1000", Some("EUR")))),
            "1,000.00 EUR"
        );
        assert_eq!(format_money(None), "—");
        assert_eq!(format_money(Some(&Money::default())), "—");
    }

    /// A hostile exponent is shown as sent, without allocating by the exponent.
    #[test]
    fn money_with_absurd_exponents_shows_the_number_as_sent() {
        let usd = |v: &str| format_money(Some(&money(v, Some("USD"))));
        assert_eq!(usd("1e-4000000000"), "1e-4000000000 USD");
        assert_eq!(usd("1e4000000000"), "1e4000000000 USD");
        let long = "9".repeat(100_000);
        assert_eq!(usd(&long), format!("{long} USD"));
        assert_eq!(usd("1.5e2"), "$150.00");
    }

    /// A payer's strings go into the page as text, whatever they contain.
    #[test]
    fn payer_strings_are_escaped_on_the_claims_page() {
        let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(
            r#"{"resourceType":"ExplanationOfBenefit","id":"x\"><img src=x onerror=alert(1)>",
              "provider":{"display":"<script>alert('provider')</script>"},
              "billablePeriod":{"start":"2024-01-02<b>"},
              "total":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":250.00,"currency":"USD"}}]}"#,
        )
        .unwrap();
        let table = ClaimsTable::from_eobs([&eob]);
        let warnings = [Warning {
            message: "<iframe src=//evil>".into(),
            hint: Some("<b>hint</b>".into()),
        }];
        let html = claims(&ClaimsPage {
            payer_key: "aetna",
            payer_name: "Aetna <sim>",
            member_name: Some("<i>Johnny</i>"),
            table: &table,
            warnings: &warnings,
        });
        for raw in [
            "<script>",
            "<img",
            "<iframe",
            "<b>",
            "<i>Johnny",
            "<sim>",
            "x\">",
        ] {
            assert!(!html.contains(raw), "{raw} leaked into {html}");
        }
        assert!(html.contains("&lt;script&gt;alert(&#39;provider&#39;)&lt;/script&gt;"));
        assert!(html.contains("data-total=\"billed\">$250.00<"));
        assert_eq!(html.matches("<tr data-eob-id=").count(), 1);
    }

    #[test]
    fn claims_are_sorted_newest_first_with_undated_last() {
        let eob = |id: &str, date: Option<&str>| -> fhir_c4bb::ExplanationOfBenefit {
            let period = date
                .map(|d| format!(r#","billablePeriod":{{"start":"{d}"}}"#))
                .unwrap_or_default();
            fhir_c4bb::from_str(&format!(
                r#"{{"resourceType":"ExplanationOfBenefit","id":"{id}"{period}}}"#
            ))
            .unwrap()
        };
        let eobs = [
            eob("old", Some("2019-01-01")),
            eob("none", None),
            eob("new", Some("2024-05-01")),
        ];
        let table = ClaimsTable::from_eobs(&eobs);
        let html = claims(&ClaimsPage {
            payer_key: "k",
            payer_name: "P",
            member_name: None,
            table: &table,
            warnings: &[],
        });
        let pos = |id: &str| html.find(&format!("data-eob-id=\"{id}\"")).unwrap();
        assert!(pos("new") < pos("old") && pos("old") < pos("none"));
        assert!(html.contains("Total (3 claims)"));
    }

    #[test]
    fn prior_authorizations_show_a_badge_each_pending_and_denied_first_with_escaped_reasons() {
        let pa = |id: &str, code: &str, created: &str| -> fhir_c4bb::ExplanationOfBenefit {
            fhir_c4bb::from_str(&format!(
                r#"{{"resourceType":"ExplanationOfBenefit","id":"{id}","use":"preauthorization","created":"{created}",
                  "item":[{{"sequence":1,"productOrService":{{"text":"<b>MRI</b>"}},"adjudication":[{{"extension":[{{
                    "url":"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction","extension":[
                    {{"url":"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewActionCode",
                      "valueCodeableConcept":{{"coding":[{{"code":"{code}"}}]}}}},
                    {{"url":"reasonCode","valueCodeableConcept":{{"text":"<script>why</script>"}}}}]}}]}}]}}]}}"#
            ))
            .unwrap()
        };
        let eobs = [
            pa("ok", "A1", "2026-01-01"),
            pa("no", "A3", "2026-01-02"),
            pa("wait", "A4", "2025-12-01"),
        ];
        let rows: Vec<PriorAuthRow> = eobs
            .iter()
            .filter_map(|e| e.prior_authorization())
            .map(|p| PriorAuthRow::new(&p))
            .collect();
        let html = prior_authorizations(&PriorAuthsPage {
            payer_key: "k",
            payer_name: "P",
            member_name: None,
            rows: &rows,
            warnings: &[],
        });
        let pos = |id: &str| html.find(&format!("data-prior-auth-id=\"{id}\"")).unwrap();
        assert!(pos("wait") < pos("no") && pos("no") < pos("ok"));
        assert!(html.contains("<span class=\"badge status-denied\">Denied</span>"));
        assert!(html.contains("<span class=\"badge status-pending\">Pending</span>"));
        assert!(html.contains("<span class=\"badge status-approved\">Approved</span>"));
        assert!(!html.contains("<script>") && !html.contains("<b>MRI"));
        assert!(html.contains("&lt;script&gt;why&lt;/script&gt;"));
        assert!(html.contains("data-count=\"pending\">1<"));
    }
}
