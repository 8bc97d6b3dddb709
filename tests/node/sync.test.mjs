// Real PouchDB replicating through couchgate's /sync/{db}, as an app does: local in-memory databases,
// the remote at the sync URL with a bearer added by `fetch`. Run by tests/e2e/test_sync_pouchdb.py,
// which starts the stack and the control server these tests ask about what happened upstream.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import {
  DB,
  ELSEWHERE_KEY,
  OTHER_DB,
  PREFIX_KEY,
  PREFIX_KEY_PREFIX,
  READ_ONLY_KEY,
  RUN,
  TOKENS,
  WRITE_ONLY_KEY,
  counts,
  destroy,
  eventually,
  freshUser,
  killWeb,
  localDb,
  localIds,
  raw,
  rejection,
  remoteDb,
  resetCounts,
  startWeb,
  upstreamDoc,
  upstreamIds,
} from './helpers.mjs';

const ALICE = 'u:alice:';
const BOB = 'u:bob:';
const STEP = { timeout: 120_000 };

/** `promise`, or a failure naming `what` if it takes longer than `ms`. */
async function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const strip = (prefix, ids) => ids.map((id) => id.slice(prefix.length)).sort();

/** The live documents of a local database, as {id: body without _rev}. */
async function contents(db) {
  const { rows } = await db.allDocs({ include_docs: true });
  return Object.fromEntries(
    rows.map(({ doc }) => {
      const { _rev, ...body } = doc;
      return [doc._id, body];
    }),
  );
}

test('push: local documents land upstream in the user\'s prefix, and the client sees them without it', STEP, async () => {
  const tag = `push-${RUN}`;
  const local = localDb('push');
  const remote = remoteDb(TOKENS.alice);
  const docs = range(5).map((n) => ({ _id: `${tag}-${n}`, n, text: `document ${n}` }));
  await local.bulkDocs(docs);

  const result = await local.replicate.to(remote);

  assert.equal(result.ok, true);
  assert.equal(result.docs_written, docs.length);
  assert.equal(result.doc_write_failures, 0);
  const stored = (await upstreamIds()).filter((id) => id.includes(tag)).sort();
  assert.deepEqual(stored, docs.map((doc) => ALICE + doc._id).sort(), 'stored upstream as u:alice:<id>, only so');
  const { status, doc } = await upstreamDoc(`${ALICE}${tag}-3`);
  assert.equal(status, 200);
  assert.equal(doc.n, 3);
  assert.equal(doc.text, 'document 3');
  // The client's view: its own id, no prefix anywhere.
  const seen = await remote.get(`${tag}-3`);
  assert.equal(seen._id, `${tag}-3`);
  assert.equal(seen.n, 3);
  await destroy(local, remote);
});

test('pull: documents pushed from one device arrive in an empty one, the same, ids without prefix', STEP, async () => {
  const user = await freshUser('pull');
  const deviceA = localDb('pullA');
  const deviceB = localDb('pullB');
  await deviceA.bulkDocs(range(20).map((n) => ({ _id: `pull-${n}`, n, nested: { list: [n, `${n}`], ok: true } })));
  await deviceA.replicate.to(remoteDb(user.token));

  const result = await deviceB.replicate.from(remoteDb(user.token));

  assert.equal(result.ok, true);
  assert.equal(result.docs_written, 20);
  assert.deepEqual(await localIds(deviceB), await localIds(deviceA));
  assert.deepEqual(await contents(deviceB), await contents(deviceA));
  const revsA = (await deviceA.allDocs()).rows.map((row) => [row.id, row.value.rev]);
  const revsB = (await deviceB.allDocs()).rows.map((row) => [row.id, row.value.rev]);
  assert.deepEqual(revsB, revsA, 'the same revisions');
  assert.ok((await localIds(deviceB)).every((id) => !id.startsWith('u:')), 'no prefix seen by the client');
  assert.deepEqual(strip(user.prefix, await upstreamIds(user.prefix)), await localIds(deviceA));
  await destroy(deviceA, deviceB);
});

test('two users of one database never see each other\'s documents, even under the same ids', STEP, async () => {
  const shared = `note-${RUN}`;
  const alice = localDb('alice');
  const bob = localDb('bob');
  await alice.bulkDocs([{ _id: shared, owner: 'alice' }, { _id: `alice-only-${RUN}`, owner: 'alice' }]);
  await bob.bulkDocs([{ _id: shared, owner: 'bob' }, { _id: `bob-only-${RUN}`, owner: 'bob' }]);
  await alice.replicate.to(remoteDb(TOKENS.alice));
  await bob.replicate.to(remoteDb(TOKENS.bob));

  const upstream = await upstreamIds();
  assert.ok(upstream.includes(ALICE + shared) && upstream.includes(BOB + shared), 'one document per user');
  assert.ok(upstream.includes(`${ALICE}alice-only-${RUN}`) && upstream.includes(`${BOB}bob-only-${RUN}`));
  assert.ok(!upstream.includes(shared), 'never stored without a prefix');
  assert.equal((await upstreamDoc(ALICE + shared)).doc.owner, 'alice');
  assert.equal((await upstreamDoc(BOB + shared)).doc.owner, 'bob');

  for (const [name, prefix, other] of [['alice', ALICE, 'bob'], ['bob', BOB, 'alice']]) {
    const fresh = localDb(`${name}-pull`);
    await fresh.replicate.from(remoteDb(TOKENS[name]));
    const ids = await localIds(fresh);
    // Exactly the user's part of the database, whatever other tests wrote there.
    assert.deepEqual(ids, strip(prefix, await upstreamIds(prefix)), `${name} pulls exactly their own documents`);
    assert.ok(!ids.includes(`${other}-only-${RUN}`), `${name} never sees ${other}'s documents`);
    assert.equal((await fresh.get(shared)).owner, name, `${name}'s ${shared} is their own`);
    const { rows } = await fresh.allDocs({ include_docs: true });
    assert.ok(rows.every(({ doc }) => doc.owner === undefined || doc.owner === name));
    // Asked directly, the remote database shows the same part only.
    const remote = remoteDb(TOKENS[name]);
    assert.deepEqual((await remote.allDocs()).rows.map((row) => row.id).sort(), ids, `${name}'s _all_docs`);
    const { results } = await remote.changes();
    assert.deepEqual([...new Set(results.filter((r) => !r.deleted).map((r) => r.id))].sort(), ids, `${name}'s _changes`);
    await destroy(fresh);
  }
  const notFound = await rejection(remoteDb(TOKENS.alice).get(`bob-only-${RUN}`), 'alice reading bob\'s id');
  assert.equal(notFound.status, 404);
  await destroy(alice, bob);
});

test('two-way sync, then live sync: a document written on one device appears on the other', STEP, async () => {
  const user = await freshUser('live');
  const deviceA = localDb('liveA');
  const deviceB = localDb('liveB');
  await deviceA.put({ _id: 'from-a', by: 'A' });
  await deviceB.put({ _id: 'from-b', by: 'B' });
  await deviceA.sync(remoteDb(user.token));
  await deviceB.sync(remoteDb(user.token));
  await deviceA.sync(remoteDb(user.token));
  assert.deepEqual(await localIds(deviceA), ['from-a', 'from-b']);
  assert.deepEqual(await localIds(deviceB), ['from-a', 'from-b']);

  const errors = [];
  const live = [deviceA, deviceB].map((device) => {
    const handle = device.sync(remoteDb(user.token), { live: true, retry: true });
    handle.on('error', (error) => errors.push(error));
    handle.on('denied', (error) => errors.push(error));
    const ended = new Promise((resolve) => handle.on('complete', resolve));
    return { handle, ended };
  });
  try {
    await deviceA.put({ _id: 'live-1', by: 'A' });
    await eventually(async () => (await deviceB.get('live-1')).by === 'A', 'live-1 on device B');
    await deviceB.put({ _id: 'live-2', by: 'B' });
    await eventually(async () => (await deviceA.get('live-2')).by === 'B', 'live-2 on device A');
    const first = await deviceA.get('live-1');
    await deviceA.put({ ...first, by: 'A again' });
    await eventually(async () => (await deviceB.get('live-1')).by === 'A again', 'the update of live-1 on device B');
  } finally {
    for (const { handle } of live) {
      handle.cancel();
    }
    await within(10_000, Promise.all(live.map(({ ended }) => ended)), 'the live syncs ending once cancelled');
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(strip(user.prefix, await upstreamIds(user.prefix)), ['from-a', 'from-b', 'live-1', 'live-2']);
  await destroy(deviceA, deviceB);
});

test('deletions replicate both ways', STEP, async () => {
  const user = await freshUser('del');
  const deviceA = localDb('delA');
  const deviceB = localDb('delB');
  await deviceA.bulkDocs(range(3).map((n) => ({ _id: `del-${n}`, n })));
  await deviceA.replicate.to(remoteDb(user.token));
  await deviceB.replicate.from(remoteDb(user.token));
  assert.deepEqual(await localIds(deviceB), ['del-0', 'del-1', 'del-2']);

  for (const id of ['del-0', 'del-1']) {
    await deviceA.remove(await deviceA.get(id));
  }
  await deviceA.replicate.to(remoteDb(user.token));
  await deviceB.replicate.from(remoteDb(user.token));

  assert.deepEqual(await localIds(deviceB), ['del-2']);
  const gone = await rejection(deviceB.get('del-0'), 'get of a deleted document');
  assert.equal(gone.status, 404);
  assert.equal(gone.reason, 'deleted');
  assert.deepEqual(await upstreamIds(user.prefix), [`${user.prefix}del-2`]);
  assert.equal((await upstreamDoc(`${user.prefix}del-1`)).status, 404);

  await deviceB.remove(await deviceB.get('del-2'));
  await deviceB.replicate.to(remoteDb(user.token));
  await deviceA.replicate.from(remoteDb(user.token));
  assert.deepEqual(await localIds(deviceA), []);
  assert.deepEqual(await upstreamIds(user.prefix), []);
  await destroy(deviceA, deviceB);
});

test('conflicts made offline on two devices reach both; resolved on one, they are gone on both', STEP, async () => {
  const user = await freshUser('conflict');
  const deviceA = localDb('conflictA');
  const deviceB = localDb('conflictB');
  const id = 'contested';
  await deviceA.put({ _id: id, value: 'original' });
  await deviceA.sync(remoteDb(user.token));
  await deviceB.sync(remoteDb(user.token));
  // Offline: each device edits the same revision its own way.
  await deviceA.put({ ...(await deviceA.get(id)), value: 'edited on A' });
  await deviceB.put({ ...(await deviceB.get(id)), value: 'edited on B', more: true });
  await deviceA.replicate.to(remoteDb(user.token));
  await deviceB.replicate.to(remoteDb(user.token));
  await deviceA.sync(remoteDb(user.token));
  await deviceB.sync(remoteDb(user.token));

  const onA = await deviceA.get(id, { conflicts: true });
  const onB = await deviceB.get(id, { conflicts: true });
  assert.equal(onA._conflicts?.length, 1, 'device A sees the conflict');
  assert.equal(onB._conflicts?.length, 1, 'device B sees the conflict');
  assert.equal(onA._rev, onB._rev, 'the same winner on both');
  assert.deepEqual(onA._conflicts, onB._conflicts);
  const stored = await upstreamDoc(user.prefix + id);
  assert.equal(stored.doc._rev, onA._rev);
  assert.deepEqual(stored.doc._conflicts, onA._conflicts, 'the database holds the same conflict');

  // Resolved on A: the losing revision removed.
  await deviceA.remove(id, onA._conflicts[0]);
  await deviceA.sync(remoteDb(user.token));
  await deviceB.sync(remoteDb(user.token));

  const resolvedA = await deviceA.get(id, { conflicts: true });
  const resolvedB = await deviceB.get(id, { conflicts: true });
  assert.equal(resolvedA._conflicts, undefined, 'no conflict left on A');
  assert.equal(resolvedB._conflicts, undefined, 'no conflict left on B');
  assert.equal(resolvedA._rev, resolvedB._rev);
  assert.equal(resolvedB.value, onA.value);
  const after = await upstreamDoc(user.prefix + id);
  assert.equal(after.doc._conflicts, undefined, 'none left in the database');
  await destroy(deviceA, deviceB);
});

test('attachments round-trip: pushed from one device, pulled into another, byte for byte', STEP, async () => {
  const user = await freshUser('attach');
  const deviceA = localDb('attachA');
  const deviceB = localDb('attachB');
  const text = Buffer.from(`hello from couchgate ${RUN}\n`, 'utf8');
  const binary = crypto.randomBytes(64 * 1024);
  await deviceA.put({
    _id: 'with-files',
    title: 'attachments',
    _attachments: {
      'hello.txt': { content_type: 'text/plain', data: text.toString('base64') },
      'photo.bin': { content_type: 'application/octet-stream', data: binary.toString('base64') },
    },
  });
  await deviceA.replicate.to(remoteDb(user.token));
  const pulled = await deviceB.replicate.from(remoteDb(user.token));
  assert.equal(pulled.docs_written, 1);

  assert.ok(Buffer.from(await deviceB.getAttachment('with-files', 'hello.txt')).equals(text));
  assert.ok(Buffer.from(await deviceB.getAttachment('with-files', 'photo.bin')).equals(binary));
  const stubsA = (await deviceA.get('with-files'))._attachments;
  const stubsB = (await deviceB.get('with-files'))._attachments;
  for (const name of ['hello.txt', 'photo.bin']) {
    assert.equal(stubsB[name].content_type, stubsA[name].content_type);
    assert.equal(stubsB[name].digest, stubsA[name].digest);
    assert.equal(stubsB[name].length, stubsA[name].length);
  }
  const stored = await upstreamDoc(`${user.prefix}with-files`);
  assert.deepEqual(Object.keys(stored.doc._attachments).sort(), ['hello.txt', 'photo.bin']);
  await destroy(deviceA, deviceB);
});

test('10,000 small documents push and pull', { timeout: 400_000 }, async () => {
  const user = await freshUser('many');
  const deviceA = localDb('manyA');
  const deviceB = localDb('manyB');
  const N = 10_000;
  for (let start = 0; start < N; start += 1000) {
    await deviceA.bulkDocs(range(1000).map((i) => ({ _id: `many-${String(start + i).padStart(5, '0')}`, n: start + i })));
  }

  const pushed = await deviceA.replicate.to(remoteDb(user.token));
  assert.equal(pushed.docs_written, N);
  assert.equal(pushed.doc_write_failures, 0);
  assert.equal((await upstreamIds(user.prefix)).length, N);

  const pulled = await deviceB.replicate.from(remoteDb(user.token));
  assert.equal(pulled.docs_written, N);
  assert.equal((await deviceB.info()).doc_count, N);
  assert.deepEqual(await localIds(deviceB), await localIds(deviceA));
  assert.equal((await deviceB.get('many-09999')).n, 9999);
  await destroy(deviceA, deviceB);
});

test('a design document is refused (denied) and replication carries on with the others', STEP, async () => {
  const user = await freshUser('design');
  const local = localDb('design');
  await local.bulkDocs([
    { _id: '_design/x', views: { all: { map: 'function (doc) { emit(doc._id); }' } } },
    ...range(3).map((n) => ({ _id: `plain-${n}`, n })),
  ]);
  const denied = [];
  const replication = local.replicate.to(remoteDb(user.token));
  replication.on('denied', (error) => denied.push(error));

  const result = await replication;

  assert.equal(denied.length, 1, `one denied event: ${JSON.stringify(denied)}`);
  assert.equal(denied[0].id, '_design/x');
  assert.equal(denied[0].error, 'forbidden');
  assert.equal(typeof denied[0].reason, 'string');
  assert.equal(result.docs_written, 3);
  assert.equal(result.doc_write_failures, 1);
  assert.deepEqual(strip(user.prefix, await upstreamIds(user.prefix)), ['plain-0', 'plain-1', 'plain-2']);
  const everything = await upstreamIds();
  assert.ok(!everything.some((id) => id.includes('_design/x')), 'no design document stored, prefixed or not');

  // The row itself, as CouchDB writes a refused document's.
  const bulk = await raw('POST', `/sync/${DB}/_bulk_docs`, {
    bearer: user.token,
    body: { docs: [{ _id: '_design/y', views: {} }, { _id: 'plain-raw' }] },
  });
  assert.equal(bulk.status, 201, bulk.text);
  assert.equal(bulk.json[0].id, '_design/y');
  assert.equal(bulk.json[0].error, 'forbidden');
  assert.equal(bulk.json[1].id, 'plain-raw');
  assert.equal(bulk.json[1].ok, true);
  await destroy(local);
});

test('a key with an id prefix replicates as a signed-in user does, in the key\'s prefix', STEP, async () => {
  const deviceA = localDb('keyA');
  const deviceB = localDb('keyB');
  const ids = range(5).map((n) => `keyed-${RUN}-${n}`);
  await deviceA.bulkDocs(ids.map((id) => ({ _id: id, by: 'key' })));

  const pushed = await deviceA.replicate.to(remoteDb(PREFIX_KEY));
  assert.equal(pushed.docs_written, ids.length);
  assert.deepEqual(await upstreamIds(PREFIX_KEY_PREFIX), ids.map((id) => PREFIX_KEY_PREFIX + id).sort());

  const pulled = await deviceB.replicate.from(remoteDb(PREFIX_KEY));
  assert.equal(pulled.docs_written, ids.length);
  assert.deepEqual(await localIds(deviceB), [...ids].sort(), 'exactly the key\'s documents, without its prefix');
  await destroy(deviceA, deviceB);
});

test('a replication cut by a crash resumes from its last checkpoint', { timeout: 300_000 }, async (t) => {
  const user = await freshUser('resume');
  const local = localDb('resume');
  const N = 2000;
  const BATCH = 100;
  const KILL_AFTER = 5; // checkpoints written before the web process is killed
  await local.bulkDocs(range(N).map((n) => ({ _id: `resume-${String(n).padStart(4, '0')}`, n })));

  // Once the 5th checkpoint is written, hold every later request until the web process is dead, so
  // the cut falls at a known place: 5 batches upstream and checkpointed, the 6th not sent.
  let gate = null;
  let checkpoints = 0;
  const remote = remoteDb(user.token, { before: () => gate });
  const first = local.replicate.to(remote, { batch_size: BATCH });
  first.on('checkpoint', (event) => {
    if ('checkpoint' in event && ++checkpoints === KILL_AFTER) {
      gate = killWeb();
    }
  });
  let before;
  try {
    const failed = await rejection(first, 'the replication cut by the crash');
    assert.ok(gate, `the web process was killed (${checkpoints} checkpoints written first; the error: ${failed})`);
    await gate;
    before = (await upstreamIds(user.prefix)).length;
    assert.ok(before >= KILL_AFTER * BATCH && before < N, `${before} documents upstream at the crash`);
  } finally {
    // Whatever happened, the tests after this one need the web process: started after the kill.
    await gate?.catch(() => {});
    await startWeb();
  }
  await resetCounts();
  let examined = 0;
  const second = local.replicate.to(remoteDb(user.token), { batch_size: BATCH });
  second.on('checkpoint', (event) => {
    if ('revs_diff' in event) {
      examined += 1;
    }
  });
  const result = await second;

  assert.equal(result.ok, true);
  assert.deepEqual((await upstreamIds(user.prefix)).length, N, 'every document upstream in the end');
  const missing = N - before;
  const { bulk_docs_docs: resent, revs_diff_ids: diffed } = await counts(user.prefix);
  t.diagnostic(
    `${N} documents, ${before} upstream at the crash; after the restart: ${examined} changes examined, ` +
      `${diffed} ids to _revs_diff and ${resent} documents to _bulk_docs upstream, ${result.docs_written} written`,
  );
  assert.ok(resent >= missing, `${resent} documents sent in _bulk_docs after the restart, ${missing} were missing`);
  assert.ok(resent <= missing + BATCH, `${resent} documents sent again after the restart: more than the ${missing} missing + one batch`);
  assert.ok(
    examined <= missing + BATCH,
    `${examined} changes examined after the restart: the checkpoint was not used (${missing} were missing)`,
  );
  assert.ok(diffed <= missing + BATCH, `${diffed} ids sent to _revs_diff upstream after the restart`);
  await destroy(local);
});

test('a database that is not the principal\'s is not found (404 not_found), to PouchDB too', STEP, async () => {
  // Every check runs and every miss is listed: a refusal has several faces.
  const problems = [];
  const expect = (ok, what) => ok || problems.push(what);
  const shape = (answer) => `${answer.status} ${answer.text}`;

  const notMine = await raw('GET', `/sync/${DB}`, { bearer: ELSEWHERE_KEY });
  expect(notMine.status === 404 && notMine.json?.error === 'not_found' && typeof notMine.json?.reason === 'string',
    `GET /sync/{db} with a key of another database: ${shape(notMine)}`);
  const theirs = await raw('GET', `/sync/${OTHER_DB}`, { bearer: ELSEWHERE_KEY });
  expect(theirs.status === 200, `GET /sync/{its own db} with that key: ${shape(theirs)}`);
  const missing = await raw('GET', `/sync/nosuchdb${RUN}`, { bearer: TOKENS.alice });
  expect(missing.status === 404 && missing.json?.error === 'not_found', `GET /sync/{missing db}: ${shape(missing)}`);

  // As an app opens it: PouchDB's setup is a GET, then a PUT creating the database it did not find.
  const elsewhere = await rejection(remoteDb(ELSEWHERE_KEY).info(), 'info() with a key of another database');
  expect(elsewhere.status === 404, `PouchDB info() with a key of another database: ${elsewhere.status} ${elsewhere.name} ${elsewhere.reason ?? elsewhere.message}`);
  const absent = await rejection(remoteDb(TOKENS.alice, { db: `nosuchdb${RUN}` }).info(), 'info() of a missing database');
  expect(absent.status === 404, `PouchDB info() of a missing database: ${absent.status} ${absent.name} ${absent.reason ?? absent.message}`);
  const local = localDb('elsewhere');
  const pull = await rejection(local.replicate.from(remoteDb(ELSEWHERE_KEY)), 'pull with a key of another database');
  expect(pull.status === 404, `PouchDB pull with a key of another database: ${pull.status} ${pull.name} ${pull.reason ?? pull.message}`);
  const put = await raw('PUT', `/sync/${DB}/`, { bearer: ELSEWHERE_KEY });
  expect(put.status === 404 && put.json?.error === 'not_found', `PUT /sync/{db}/ (PouchDB's setup) with a key of another database: ${shape(put)}`);
  await destroy(local);
  assert.deepEqual(problems, []);
});

test('a read-only key pulls but cannot push (401/403, CouchDB\'s error shape)', STEP, async () => {
  const reader = localDb('reader');
  const pulled = await reader.replicate.from(remoteDb(READ_ONLY_KEY));
  assert.equal(pulled.ok, true);
  await reader.put({ _id: `read-only-${RUN}`, n: 1 });
  const refused = await rejection(reader.replicate.to(remoteDb(READ_ONLY_KEY)), 'push with a read-only key');
  assert.ok([401, 403].includes(refused.status), `push with a read-only key: status ${refused.status} (${refused})`);
  const write = await raw('POST', `/sync/${DB}/_bulk_docs`, { bearer: READ_ONLY_KEY, body: { docs: [{ _id: 'x' }] } });
  assert.ok([401, 403].includes(write.status), `_bulk_docs with a read-only key: ${write.status} ${write.text}`);
  assert.equal(typeof write.json?.error, 'string', write.text);
  assert.equal(typeof write.json?.reason, 'string', write.text);
  assert.ok(!(await upstreamIds()).some((id) => id.includes(`read-only-${RUN}`) || id.startsWith('ro:')), 'nothing written');
  await destroy(reader);
});

test('a key without the read scope cannot pull', STEP, async () => {
  const local = localDb('writer');
  const refused = await rejection(local.replicate.from(remoteDb(WRITE_ONLY_KEY)), 'pull with a write-only key');
  assert.ok([401, 403].includes(refused.status), `pull with a write-only key: status ${refused.status} (${refused})`);
  assert.deepEqual(await localIds(local), []);
  const changes = await raw('GET', `/sync/${DB}/_changes`, { bearer: WRITE_ONLY_KEY });
  assert.ok([401, 403].includes(changes.status), `_changes with a write-only key: ${changes.status} ${changes.text}`);
  assert.equal(typeof changes.json?.error, 'string', changes.text);
  assert.equal(typeof changes.json?.reason, 'string', changes.text);
  await destroy(local);
});

test('no bearer, or one nobody issued: 401 unauthorized', STEP, async () => {
  const problems = [];
  const expect = (ok, what) => ok || problems.push(what);
  const shape = (answer) => `${answer.status} ${answer.text}`;
  const outcome = async (promise) => {
    try {
      return `resolved: ${JSON.stringify(await promise, (key, value) => (key === 'docs' ? undefined : value))}`;
    } catch (error) {
      return error.status;
    }
  };

  const noBearer = await raw('GET', `/sync/${DB}`);
  expect(noBearer.status === 401 && noBearer.json?.error === 'unauthorized' && typeof noBearer.json?.reason === 'string',
    `GET /sync/{db} without a bearer: ${shape(noBearer)}`);
  const forged = await raw('GET', `/sync/${DB}`, { bearer: `not-a-key-anyone-knows-${RUN}` });
  expect(forged.status === 401 && forged.json?.error === 'unauthorized', `GET /sync/{db} with an unknown bearer: ${shape(forged)}`);
  const info = await outcome(remoteDb(null).info());
  expect(info === 401, `PouchDB info() without a bearer: ${info}`);
  const local = localDb('anonymous');
  await local.put({ _id: `anonymous-${RUN}` });
  const push = await outcome(local.replicate.to(remoteDb(null)));
  expect(push === 401, `PouchDB push without a bearer: ${push}`);
  const empty = localDb('anonymous-pull');
  const pull = await outcome(empty.replicate.from(remoteDb(null)));
  const leaked = (await localIds(empty)).length;
  expect(pull === 401 && leaked === 0, `PouchDB pull without a bearer: ${pull}; ${leaked} documents pulled, e.g. ${(await localIds(empty)).slice(0, 3)}`);
  await destroy(local, empty);
  assert.deepEqual(problems, []);
});

test('nothing was stored outside the principals\' prefixes', STEP, async () => {
  const outside = (await upstreamIds()).filter((id) => !/^u:[^:]+:/.test(id) && !id.startsWith(PREFIX_KEY_PREFIX));
  assert.deepEqual(outside, []);
});
