'use strict';
/*
 * PouchDB clients for bench/sync.py (PouchDB 9, memory adapter), talking JSON lines on stdout.
 *
 *   node bench/sync_client.cjs pull URL [TOKEN]
 *       One pull of the database at URL into a fresh, empty in-memory PouchDB; prints
 *       {"ms", "docs_written", "doc_count", "requests", "connections", "statuses", "paths"} when it
 *       is complete.
 *   node bench/sync_client.cjs live URL TOKEN COUNT
 *       COUNT live pulls (replicate.from with live and retry), each into its own empty database;
 *       prints {"event": "idle", ...} once every one has caught up (its `paused` event), then answers
 *       `stats` on stdin with the same counts; `stop` cancels them all and exits.
 *
 * Every request goes through one keep-alive agent per protocol without a socket limit. With TOKEN,
 * each request carries `Authorization: Bearer TOKEN`. An HTTPS URL needs NODE_EXTRA_CA_CERTS for a
 * private CA.
 */

const http = require('http');
const https = require('https');
const readline = require('readline');
const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

const agents = {
  'http:': new http.Agent({keepAlive: true, maxSockets: Infinity}),
  'https:': new https.Agent({keepAlive: true, maxSockets: Infinity}),
};

const counts = {requests: 0, in_flight: 0, failed: 0, connections: 0, statuses: {}, paths: {}};
for (const agent of Object.values(agents)) {
  const connect = agent.createConnection.bind(agent);
  agent.createConnection = (...args) => {
    counts.connections += 1; // every new TCP connection (and TLS handshake) to the server
    return connect(...args);
  };
}

/* `_changes?feed=longpoll` -> `_changes longpoll`, `_local/...` -> `_local`, as bench/sync.py's kind(). */
function kind(method, url) {
  const {pathname, searchParams} = new URL(url);
  let path = pathname.split('/').filter(Boolean);
  path = path[0] === 'sync' ? path.slice(1) : path;
  let name = path[1] === '_local' ? '_local' : ({0: 'server', 1: 'db'})[path.length] || path[path.length - 1];
  if (searchParams.get('feed')) {
    name += ' ' + searchParams.get('feed');
  }
  return method + ' ' + name;
}

function remote(url, token) {
  const fetch = async (target, opts) => {
    if (token) {
      opts.headers.set('Authorization', 'Bearer ' + token);
    }
    opts.agent = (parsed) => agents[parsed.protocol];
    const name = kind(opts.method || 'GET', target);
    counts.requests += 1;
    counts.in_flight += 1;
    counts.paths[name] = (counts.paths[name] || 0) + 1;
    try {
      const response = await PouchDB.fetch(target, opts);
      counts.statuses[response.status] = (counts.statuses[response.status] || 0) + 1;
      return response;
    } catch (error) {
      counts.failed += 1;
      throw error;
    } finally {
      counts.in_flight -= 1;
    }
  };
  return new PouchDB(url, {fetch});
}

function emit(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

async function pull(url, token) {
  const local = new PouchDB(`pull-${process.pid}`, {adapter: 'memory'});
  const started = process.hrtime.bigint();
  const result = await local.replicate.from(remote(url, token));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const info = await local.info();
  emit({ms, docs_written: result.docs_written, doc_count: info.doc_count, status: result.status, ...counts});
}

async function live(url, token, count) {
  const states = new Array(count).fill('starting');
  const errors = {};
  const replications = [];
  const started = process.hrtime.bigint();
  let reported = false;
  const tally = () => {
    const by = {};
    for (const state of states) {
      by[state] = (by[state] || 0) + 1;
    }
    return by;
  };
  const check = () => {
    if (!reported && states.every((state) => state === 'idle')) {
      reported = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      emit({event: 'idle', ms, states: tally(), errors, ...counts});
    }
  };
  const note = (error) => {
    const name = (error && (error.status || error.name || error.message)) || String(error);
    errors[name] = (errors[name] || 0) + 1;
  };
  for (let i = 0; i < count; i++) {
    const local = new PouchDB(`live-${process.pid}-${i}`, {adapter: 'memory'});
    const replication = local.replicate.from(remote(url, token), {live: true, retry: true});
    replication.on('active', () => { states[i] = 'active'; });
    replication.on('paused', (error) => {
      if (error) {
        note(error);
      }
      states[i] = error ? 'retrying' : 'idle';
      check();
    });
    replication.on('denied', note);
    replication.on('error', (error) => { note(error); states[i] = 'failed'; });
    replications.push(replication);
  }
  const lines = readline.createInterface({input: process.stdin});
  for await (const line of lines) {
    if (line.trim() === 'stats') {
      emit({event: 'stats', states: tally(), errors, ...counts});
    } else if (line.trim() === 'stop') {
      break;
    }
  }
  for (const replication of replications) {
    replication.cancel();
  }
  process.exit(0);
}

const [mode, url, token, count] = process.argv.slice(2);
const run = mode === 'pull' ? pull(url, token) : live(url, token, Number(count));
run.catch((error) => {
  emit({event: 'error', error: String(error && (error.stack || error.message || error))});
  process.exit(1);
});
