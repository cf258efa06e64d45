// A local OpenID Connect provider for Sportello's tests and demo, built on the npm
// package oidc-provider. NOT for production: fictional accounts with passwords in
// accounts.json, keys made fresh at every start, everything in memory.
//
// Environment:
//   REDIRECT_URIS  the relying party's redirect URI(s), comma separated (required),
//                  e.g. http://127.0.0.1:8080/login/callback
//   CLIENT_ID      default sportello-hub
//   CLIENT_SECRET  default sportello-test-secret
//   PORT           default 0 (a free port); HOST default 127.0.0.1
//   EXIT_ON_STDIN_CLOSE=1  exit when standard input closes (tests: no orphan process)
//
// On start it prints one line of JSON to stdout: {"issuer":"http://127.0.0.1:PORT"}.
//
// Sign-in is a plain HTML form (login + password) at /interaction/<uid>; consent is
// granted without a page (the hub is the office's own relying party). Each account's
// `acr` is stamped on its ID token, so an account at SPID level 1 can be refused.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const accounts = JSON.parse(fs.readFileSync(new URL('./accounts.json', import.meta.url), 'utf8'));
const redirectUris = (process.env.REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (redirectUris.length === 0) {
  console.error('oidc-provider: set REDIRECT_URIS (e.g. http://127.0.0.1:8080/login/callback)');
  process.exit(2);
}
const clientId = process.env.CLIENT_ID || 'sportello-hub';
const clientSecret = process.env.CLIENT_SECRET || 'sportello-test-secret';
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 0);

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, resolve);
});
const issuer = `http://${host}:${server.address().port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'local-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  claims: {
    acr: null,
    auth_time: null,
    openid: ['sub'],
    profile: ['given_name', 'family_name', 'fiscal_number'],
  },
  acrValues: ['https://www.spid.gov.it/SpidL1', 'https://www.spid.gov.it/SpidL2'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    const account = Object.hasOwn(accounts, sub) ? accounts[sub] : undefined;
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginForm(uid, error) {
  const message = error ? `<p role="alert">${escape(error)}</p>` : '';
  return page('Sign in (local test identity provider)', `${message}
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escape(uid)}/abort">Cancel</a></p>`);
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function grantConsent(req, res, details) {
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<p>This sign-in page is out of date.</p>'));
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'the user cancelled the sign-in',
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (details.prompt.name === 'consent') {
    await grantConsent(req, res, details);
    return;
  }
  if (details.prompt.name !== 'login') {
    send(res, 501, page('Error', '<p>Unsupported prompt.</p>'));
    return;
  }
  if (req.method === 'GET') {
    send(res, 200, loginForm(uid));
    return;
  }
  const form = await readForm(req);
  const login = form.get('login') || '';
  const account = Object.hasOwn(accounts, login) ? accounts[login] : undefined;
  if (!account || account.password !== form.get('password')) {
    send(res, 401, loginForm(uid, 'Wrong login or password.'));
    return;
  }
  await provider.interactionFinished(req, res, {
    login: { accountId: login, acr: account.acr, amr: ['pwd'] },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  const match = path.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/abort)?$/);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1], match[2] ? 'abort' : undefined).catch((err) => {
    if (!res.headersSent) send(res, 400, page('Error', `<p>${escape(err.message)}</p>`));
  });
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);

if (process.env.EXIT_ON_STDIN_CLOSE === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
