// Test-only SMART-flavoured OAuth 2.0 server for smart-core's interoperability tests (tests/interop.rs).
//
// It is the real, OpenID-certified `oidc-provider` (pinned in package-lock.json) with just enough around it
// to look like a payer's SMART authorization server:
//   - a headless interaction route that logs the one test member in and consents to everything asked,
//     so a cookie-carrying HTTP client can walk the redirects without a browser;
//   - SMART `aud` checked on the authorize request (oidc-provider does not know the parameter);
//   - `prompt=consent` added to authorize requests, because without it oidc-provider drops offline_access
//     and the app would get no refresh token;
//   - the registered client authentication method enforced at the token, revocation and introspection
//     endpoints (oidc-provider accepts Basic and post interchangeably);
//   - `patient` added to token responses, as a SMART server does for a launch/patient grant;
//   - `GET /fhir/.well-known/smart-configuration` built from the provider's own endpoints, and a tiny
//     protected `GET /fhir/Patient/{id}` so tests can tell a live access token from a revoked one;
//   - `GET /_test/refreshes/{client_id}`: how many refresh_token grants that client sent, and how many were
//     refused with invalid_grant (the refresh-race tests count what really reached the server).
//
// Contract with the harness (tests/support/oidc_server.rs): it listens on 127.0.0.1, port 0 (a free port),
// prints exactly one JSON line on stdout, `{"issuer":"http://127.0.0.1:PORT", ...}`, logs only to stderr,
// and exits when its stdin closes, so it never outlives the test process that holds the other end.
//
// Run by hand: `node server.mjs` (Ctrl-D stops it).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as querystring from 'node:querystring';

import { Provider, errors } from 'oidc-provider';

// stdout carries the one JSON line the harness waits for; oidc-provider prints notices with console.info.
console.info = console.log = (...args) => console.error(...args);

// ---- Fixture data (mirrored by the harness's constants) ---------------------------------------------------

/** The member the headless login signs in as, and their FHIR Patient id. */
const ACCOUNT_ID = 'member-1';
const PATIENT_ID = 'pt-1001';

/** Redirect URI registered for every client: nothing listens there; the harness stops at it. */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** A secret full of characters that RFC 6749 §2.3.1 form-encoding must escape inside a Basic header. */
const SPECIAL_SECRET = 'p@ss w+rd/=:%';

/** FHIR bases whose URL is an acceptable `aud`. `/nofhir` serves no smart-configuration (discovery fallback).
 * `/fhir-v1` and `/fhir-v2` are the same FHIR server advertising (and accepting) only SMART v1 or only v2 scopes;
 * `/fhir` offers both. */
const FHIR_PATHS = ['/fhir', '/nofhir', '/fhir-v1', '/fhir-v2'];

/** SMART scopes granted on the FHIR resource (the provider's OIDC scopes are configured separately). */
const FHIR_SCOPES = [
  'launch/patient', 'patient/*.read', 'patient/*.rs', 'patient/Observation.rs?category=laboratory',
  'patient/Condition.rs',
];
const V1_SCOPES = FHIR_SCOPES.filter((s) => scopeForm(s) === 'v1');
const V2_SCOPES = FHIR_SCOPES.filter((s) => scopeForm(s) === 'v2');

/** Which scope syntax each FHIR base accepts: a server that speaks one form refuses the other (invalid_scope). */
const SCOPE_FORMS = { '/fhir': ['v1', 'v2'], '/fhir-v1': ['v1'], '/fhir-v2': ['v2'] };

/** `v1`, `v2`, or undefined (not a resource scope). */
function scopeForm(scope) {
  if (!/^(patient|user|system)\//.test(scope)) return undefined;
  if (/\.(read|write|\*)$/.test(scope)) return 'v1';
  if (/\.c?r?u?d?s?(\?.+)?$/.test(scope)) return 'v2';
  return undefined;
}

const ROUTES = {
  authorization: '/auth',
  token: '/token',
  revocation: '/token/revocation',
  introspection: '/token/introspection',
  jwks: '/jwks',
  userinfo: '/me',
  end_session: '/session/end',
};

/** The test-only client signing keys (../fixtures), registered by their public halves only. */
function publicJwk(file) {
  const { kty, n, e, crv, x, y, kid, alg } = JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url)));
  return Object.fromEntries(Object.entries({ kty, n, e, crv, x, y, kid, alg, use: 'sig' }).filter(([, v]) => v));
}
const RS384_CLIENT_KEY = publicJwk('rs384-test-key.jwk.json');
const ES384_CLIENT_KEY = publicJwk('es384-test-key.jwk.json');

const CLIENTS = [
  { client_id: 'basic-client', client_secret: 'basic-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'post-client', client_secret: 'post-client-secret', token_endpoint_auth_method: 'client_secret_post' },
  { client_id: 'public-client', token_endpoint_auth_method: 'none' },
  { client_id: 'special-basic-client', client_secret: SPECIAL_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'special-post-client', client_secret: SPECIAL_SECRET, token_endpoint_auth_method: 'client_secret_post' },
  { client_id: 'fhiruser-client', client_secret: 'fhiruser-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
  // The refresh-race tests' own clients, so that their refresh counts (GET /_test/refreshes/{client_id}) are
  // not mixed with those of tests running in parallel.
  { client_id: 'race-memory-client', client_secret: 'race-memory-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'race-sqlite-client', client_secret: 'race-sqlite-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
  // SMART client-confidential-asymmetric: private_key_jwt with the algorithms SMART requires servers to support.
  {
    client_id: 'jwt-rs384-client', token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [RS384_CLIENT_KEY] },
  },
  {
    client_id: 'jwt-es384-client', token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES384', jwks: { keys: [ES384_CLIENT_KEY] },
  },
  // The many-process refresh races over the SDK's PostgreSQL and SQLite stores (smart-core/tests/store_processes.rs).
  { client_id: 'procs-postgres-client', client_secret: 'procs-postgres-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'procs-sqlite-client', client_secret: 'procs-sqlite-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
].map((c) => ({
  ...c,
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
}));

const REGISTERED_AUTH = new Map(CLIENTS.map((c) => [c.client_id, c.token_endpoint_auth_method]));

/** Clients whose token responses carry no `patient`: the app must find it in the id token's `fhirUser`. */
const NO_PATIENT_IN_TOKEN_RESPONSE = new Set(['fhiruser-client']);

// ---- Listen first: the issuer must carry the port ---------------------------------------------------------

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;
const fhirBases = FHIR_PATHS.map((p) => `${issuer}${p}`);
const fhirResource = `${issuer}/fhir`;

// A fresh signing key per run: the provider's built-in development key prints a warning, and a key
// committed to the repo would look like a real secret to scanners.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'interop', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: CLIENTS,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes: ROUTES,
  // fhirUser is the SMART identity claim; declaring it here makes it a scope the provider knows.
  claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
  scopes: ['openid', 'offline_access', 'fhirUser'],
  // PKCE on every client, confidential ones included (the SMART App Launch 2.0 rule), and S256 only.
  pkce: { required: () => true },
  // RS384 and ES384 for private_key_jwt, as SMART App Launch 2 requires of servers (not in the defaults).
  enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384'] },
  // Rotate on every refresh so a test can spend a refresh token and then try to reuse it.
  rotateRefreshToken: () => true,
  // Explicit lifetimes (the defaults work but print a notice each).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 24 * 3600,
    Grant: 24 * 3600,
    Interaction: 600,
    Session: 3600,
  },
  extraParams: {
    // SMART's `aud`: the FHIR server the app wants a token for. A real SMART server refuses a wrong one, so
    // that a token for one FHIR server cannot be replayed at another. Thrown here, the error goes back to
    // the app's (already validated) redirect_uri with `state` and `iss`, like any authorization error.
    aud(ctx, value) {
      if (value === undefined) {
        throw new errors.InvalidRequest('aud is required (the FHIR base URL)');
      }
      if (!fhirBases.includes(value)) {
        throw new errors.InvalidRequest(`aud ${value} is not a FHIR server of this authorization server`);
      }
      const forms = SCOPE_FORMS[value.slice(issuer.length)];
      const wrong = String(ctx.oidc.params.scope ?? '').split(' ')
        .filter((sc) => forms && scopeForm(sc) && !forms.includes(scopeForm(sc)));
      if (wrong.length > 0) {
        throw new errors.InvalidScope(`this server accepts only SMART ${forms.join('/')} scopes`, wrong.join(' '));
      }
    },
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => fhirResource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== fhirResource) {
          throw new errors.InvalidTarget();
        }
        return { scope: FHIR_SCOPES.join(' '), audience: fhirResource, accessTokenFormat: 'opaque' };
      },
    },
  },
  async findAccount(ctx, sub) {
    if (sub !== ACCOUNT_ID) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, fhirUser: `${fhirResource}/Patient/${PATIENT_ID}` };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// ---- Middleware, outermost first -------------------------------------------------------------------------

/** A JSON answer in the shape of an OAuth error. */
function oauthError(ctx, status, error, description) {
  ctx.status = status;
  ctx.type = 'json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

// The headless "login page": signs the member in, then consents to whatever the client asked.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: ACCOUNT_ID } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

// Without prompt=consent, oidc-provider silently drops offline_access (so no refresh token): a real payer
// shows its consent page every time, which is what prompt=consent asks for.
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === ROUTES.authorization && ctx.query.prompt === undefined) {
    ctx.querystring = `${ctx.querystring}&prompt=consent`;
  }
  return next();
});

// Enforce the client authentication method each client registered. oidc-provider accepts Basic and post
// interchangeably; real payers do not, and the SDK must send what the payer expects. The form body is read
// here and handed to the provider as an already-read body (a path it supports), parsed as it would itself.
/** refresh_token grants that reached the token endpoint, per client id, and how many were refused. */
const REFRESHES = new Map();
function refreshCounts(clientId) {
  const key = String(clientId);
  if (!REFRESHES.has(key)) REFRESHES.set(key, { requests: 0, invalid_grant: 0 });
  return REFRESHES.get(key);
}

const AUTHENTICATED_ROUTES = new Set([ROUTES.token, ROUTES.revocation, ROUTES.introspection]);
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || !AUTHENTICATED_ROUTES.has(ctx.path) || !ctx.is('application/x-www-form-urlencoded')) {
    return next();
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 64 * 1024) return oauthError(ctx, 413, 'invalid_request', 'request body too large');
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  ctx.req.body = raw;
  const body = querystring.parse(raw);

  let used = 'none';
  let clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
  const authorization = ctx.get('authorization');
  if (/^basic /i.test(authorization)) {
    used = 'client_secret_basic';
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon !== -1) {
      try {
        clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
      } catch {
        // Malformed: the provider reports it.
      }
    }
  } else if (body.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    used = 'private_key_jwt';
    if (clientId === undefined && typeof body.client_assertion === 'string') {
      try {
        clientId = JSON.parse(Buffer.from(body.client_assertion.split('.')[1], 'base64url').toString('utf8')).iss;
      } catch {
        // Malformed: the provider reports it.
      }
    }
  } else if (body.client_secret !== undefined) {
    used = 'client_secret_post';
  }
  const registered = REGISTERED_AUTH.get(clientId);
  if (registered !== undefined && registered !== used) {
    if (used === 'client_secret_basic') {
      ctx.set('WWW-Authenticate', `Basic realm="${issuer}", error="invalid_client"`);
    }
    return oauthError(ctx, 401, 'invalid_client',
      `client authentication failed: ${clientId} is registered for ${registered}, not ${used}`);
  }
  if (ctx.path === ROUTES.token && body.grant_type === 'refresh_token') {
    const counts = refreshCounts(clientId);
    counts.requests += 1;
    await next();
    if (ctx.body?.error === 'invalid_grant') counts.invalid_grant += 1;
    return undefined;
  }
  return next();
});

// SMART servers put the member's Patient id next to the tokens, and report every granted scope. oidc-provider
// reports only the access token's (FHIR resource) scopes; openid, fhirUser and offline_access live on the
// grant, and an app checks `scope` for offline_access to know whether it may keep refreshing.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.access_token) {
    const { AuthorizationCode, RefreshToken, Grant } = ctx.oidc.entities;
    const accountId = (AuthorizationCode ?? RefreshToken)?.accountId;
    const requested = new Set(((AuthorizationCode ?? RefreshToken)?.scope ?? '').split(' '));
    const oidcScopes = (Grant?.getOIDCScope() ?? '').split(' ').filter((s) => s && requested.has(s));
    const scope = [...new Set([...oidcScopes, ...(ctx.body.scope ?? '').split(' ').filter(Boolean)])];
    ctx.body = {
      ...ctx.body,
      scope: scope.join(' '),
      ...(accountId === ACCOUNT_ID && !NO_PATIENT_IN_TOKEN_RESPONSE.has(ctx.oidc.client?.clientId)
        ? { patient: PATIENT_ID } : {}),
    };
  }
});

// The FHIR side: SMART discovery at the FHIR base, and one protected read.
provider.use(async (ctx, next) => {
  const smartConfig = /^(\/fhir(?:-v1|-v2)?)\/\.well-known\/smart-configuration$/.exec(ctx.path);
  if (ctx.method === 'GET' && smartConfig) {
    const forms = SCOPE_FORMS[smartConfig[1]];
    const resourceScopes = [
      'launch/patient',
      ...(forms.includes('v1') ? V1_SCOPES : []),
      ...(forms.includes('v2') ? V2_SCOPES : []),
    ];
    const url = (name) => `${issuer}${ROUTES[name]}`;
    ctx.type = 'json';
    ctx.body = {
      issuer,
      jwks_uri: url('jwks'),
      authorization_endpoint: url('authorization'),
      token_endpoint: url('token'),
      revocation_endpoint: url('revocation'),
      introspection_endpoint: url('introspection'),
      userinfo_endpoint: url('userinfo'),
      grant_types_supported: ['authorization_code', 'refresh_token'],
      response_types_supported: ['code'],
      scopes_supported: ['openid', 'fhirUser', 'offline_access', ...resourceScopes],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      code_challenge_methods_supported: ['S256'],
      capabilities: [
        'launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric',
        'context-standalone-patient',
        'permission-offline', 'permission-patient', 'sso-openid-connect',
        ...forms.map((f) => `permission-${f}`),
      ],
    };
    return undefined;
  }
  // Test-only: how many refresh_token grants a client sent (the refresh-race tests read it).
  const refreshes = /^\/_test\/refreshes\/([^/]+)$/.exec(ctx.path);
  if (ctx.method === 'GET' && refreshes) {
    ctx.type = 'json';
    ctx.body = refreshCounts(decodeURIComponent(refreshes[1]));
    return undefined;
  }
  const read = /^\/fhir\/Patient\/([^/]+)$/.exec(ctx.path);
  if (ctx.method === 'GET' && read) {
    const bearer = /^Bearer (.+)$/i.exec(ctx.get('authorization') ?? '')?.[1];
    const token = bearer ? await provider.AccessToken.find(bearer) : undefined;
    if (!token || token.isExpired) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return oauthError(ctx, 401, 'invalid_token', 'the access token is missing, expired or revoked');
    }
    const grant = await provider.Grant.find(token.grantId);
    if (!grant || token.accountId !== ACCOUNT_ID || read[1] !== PATIENT_ID) {
      return oauthError(ctx, 403, 'insufficient_scope', 'this token does not grant that patient');
    }
    ctx.type = 'application/fhir+json';
    ctx.body = { resourceType: 'Patient', id: PATIENT_ID };
    return undefined;
  }
  return next();
});

server.on('request', provider.callback());

// ---- Lifetime ---------------------------------------------------------------------------------------------

let stopping = false;
function stop(reason) {
  if (stopping) return;
  stopping = true;
  console.error(`oidc interop server: stopping (${reason})`);
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
// The harness holds our stdin open for as long as the test process lives; EOF means it is gone.
process.stdin.on('end', () => stop('stdin closed'));
process.stdin.on('close', () => stop('stdin closed'));
process.stdin.on('error', () => stop('stdin error'));
process.stdin.resume();
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

process.stdout.write(`${JSON.stringify({
  issuer,
  fhir_base: fhirResource,
  patient: PATIENT_ID,
  redirect_uri: REDIRECT_URI,
})}\n`);
