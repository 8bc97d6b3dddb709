// What tests/node/sync.test.mjs shares: PouchDB with in-memory local databases, remote databases at
// couchgate's /sync/{db} with a bearer, and the pytest control server (tests/e2e/test_sync_pouchdb.py).
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import PouchDB from 'pouchdb';
import memory from 'pouchdb-adapter-memory';

PouchDB.plugin(memory);

export { PouchDB };

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/e2e/test_sync_pouchdb.py`);
  }
  return value;
}

export const BASE = required('SYNC_BASE_URL');
export const CONTROL = required('SYNC_CONTROL_URL');
export const DB = required('SYNC_DB');
export const OTHER_DB = required('SYNC_OTHER_DB');
export const TOKENS = { alice: required('SYNC_TOKEN_ALICE'), bob: required('SYNC_TOKEN_BOB') };
export const PREFIX_KEY = required('SYNC_PREFIX_KEY');
export const PREFIX_KEY_PREFIX = required('SYNC_PREFIX_KEY_PREFIX');
export const READ_ONLY_KEY = required('SYNC_READ_ONLY_KEY');
export const ELSEWHERE_KEY = required('SYNC_ELSEWHERE_KEY');
export const WRITE_ONLY_KEY = required('SYNC_WRITE_ONLY_KEY');

// Unique per run, so that ids and users of one run never meet another's.
export const RUN = crypto.randomBytes(4).toString('hex');

let locals = 0;

/** A fresh local database of a device, in memory. */
export function localDb(tag) {
  locals += 1;
  return new PouchDB(`local-${tag}-${RUN}-${locals}`, { adapter: 'memory' });
}

/** The remote database as an app opens it: the sync URL and a fetch adding the bearer (or none).
 *  `before(url, opts)`, if given, is awaited before each request (a test holding requests back). */
export function remoteDb(bearer, { db = DB, before } = {}) {
  return new PouchDB(`${BASE}/sync/${db}`, {
    fetch: async (url, opts) => {
      if (before) {
        await before(url, opts);
      }
      if (bearer) {
        opts.headers.set('Authorization', `Bearer ${bearer}`);
      }
      return PouchDB.fetch(url, opts);
    },
  });
}

async function control(method, path) {
  const answer = await fetch(CONTROL + path, { method });
  const text = await answer.text();
  if (!answer.ok) {
    throw new Error(`control ${method} ${path}: ${answer.status} ${text}`);
  }
  return JSON.parse(text);
}

/** A token of a fresh user of the issuer (id prefix u:<sub>:), for a test whose user must be new. */
export async function freshUser(tag) {
  const sub = `${tag}-${RUN}`;
  const { token } = await control('GET', `/token?sub=${encodeURIComponent(sub)}`);
  return { sub, token, prefix: `u:${sub}:` };
}

/** The ids stored upstream (deleted documents aside), those starting with `prefix` if given. */
export async function upstreamIds(prefix = '', db = DB) {
  const query = new URLSearchParams({ db, prefix });
  return (await control('GET', `/upstream?${query}`)).ids;
}

/** A document as stored upstream, with its conflicts: {status, doc}. */
export async function upstreamDoc(id, db = DB) {
  return control('GET', `/doc?${new URLSearchParams({ db, id })}`);
}

/** What the TLS front before the database saw since the last resetCounts(). */
export async function counts(prefix = '') {
  return control('GET', `/counts?${new URLSearchParams({ prefix })}`);
}

export const resetCounts = () => control('POST', '/reset-counts');
export const killWeb = () => control('POST', '/kill-web');
export const startWeb = () => control('POST', '/start-web');

/** The ids of a local database's live documents (design documents included), sorted. */
export async function localIds(db) {
  const { rows } = await db.allDocs();
  return rows.map((row) => row.id).sort();
}

/** Poll `check` until it returns a truthy value (or stops throwing); fail after `timeoutMs`. */
export async function eventually(check, what, timeoutMs = 15000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last && (last.stack || JSON.stringify(last))})`);
    }
    await sleep(intervalMs);
  }
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejection(promise, what) {
  try {
    const value = await promise;
    throw Object.assign(new Error(`${what}: resolved, expected a rejection: ${JSON.stringify(value)}`), {
      resolvedUnexpectedly: true,
    });
  } catch (error) {
    if (error.resolvedUnexpectedly) {
      throw error;
    }
    return error;
  }
}

/** A plain HTTP request to couchgate (not through PouchDB), for the exact status and body. */
export async function raw(method, path, { bearer, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (bearer) {
    headers.Authorization = `Bearer ${bearer}`;
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const answer = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: answer.status, headers: answer.headers, text, json };
}

/** Destroy local databases (in memory) at the end of a test; a remote one is only closed, never
 *  destroyed (that would be a DELETE of the shared database). */
export async function destroy(...dbs) {
  await Promise.all(
    dbs.map((db) => (db.adapter === 'memory' ? db.destroy() : db.close()).catch(() => {})),
  );
}
