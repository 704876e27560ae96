#!/usr/bin/env node
// An old-style WeBaaS client in JavaScript, written the way clients of the
// original service were: axios calls with the parameters in the query
// string, records as raw protobuf bytes (encoded by hand here: no protoc),
// JSON bodies as plain objects, and the notification socket opened with
// `new WebSocket(url)` from the ws package and read through `onmessage`,
// whose text frames arrive as strings that are re-encoded to bytes with
// Buffer.from and decoded as the NotificationMessage protobuf.
//
// It runs the whole WeBaaS contract end to end against one server:
//
//     node old_client.js http://127.0.0.1:8080
//
// One line per step; on the first failure it says what went wrong and
// exits with status 1. Needs the node-ws and node-axios Debian packages
// (NODE_PATH=/usr/share/nodejs if this node does not search there).
'use strict';

const axios = require('axios');
const WebSocket = require('ws');

const TIMEOUT = 10000; // ms, for every HTTP call and every frame awaited

const SCHEMA = `syntax = "proto3";
package compatjs;
import "record_metadata_options.proto";

message Item {
  int32 id = 1 [(webaas.db.record.field).primary_key = true];
  string name = 2 [(webaas.db.record.field).index = {}];
  string text = 3;
}
`;
const SCHEMA_NAME = 'compatjs.Item';

class Failure extends Error {}

function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}

function step(msg) {
  console.log('ok   ' + msg);
}

// --- protobuf by hand ---

function varint(n) { // n: BigInt, already two's-complement for negatives
  const out = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

function stringField(num, s) {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([varint(BigInt((num << 3) | 2)), varint(BigInt(b.length)), b]);
}

function int32Field(num, n) { // int32 negatives are 10-byte varints
  return Buffer.concat([varint(BigInt((num << 3) | 0)), varint(BigInt(n))]);
}

// item encodes compatjs.Item; proto3 leaves default values out. With
// nameFirst the fields go out of field-number order, which is valid
// protobuf that a server must store and return as it came.
function item(id, name, text, nameFirst) {
  const parts = [];
  if (id !== 0) parts.push(int32Field(1, id));
  if (name) parts[nameFirst ? 'unshift' : 'push'](stringField(2, name));
  if (text) parts.push(stringField(3, text));
  return Buffer.concat(parts);
}

// decode reads a message into {fieldNumber: [values]}: varints as BigInt,
// length-delimited fields as Buffers.
function decode(buf) {
  const fields = {};
  let i = 0;
  const readVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      check(i < buf.length, 'protobuf: truncated varint');
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      check(shift < 70n, 'protobuf: varint too long');
    }
  };
  while (i < buf.length) {
    const key = readVarint();
    const num = Number(key >> 3n);
    const wt = Number(key & 7n);
    let val;
    if (wt === 0) {
      val = readVarint();
    } else if (wt === 2) {
      const n = Number(readVarint());
      check(i + n <= buf.length, 'protobuf: truncated field ' + num);
      val = buf.subarray(i, i + n);
      i += n;
    } else {
      throw new Failure('protobuf: unexpected wire type ' + wt + ' for field ' + num);
    }
    (fields[num] = fields[num] || []).push(val);
  }
  return fields;
}

function decodeItem(buf) {
  const f = decode(buf);
  const id = f[1] ? Number(BigInt.asIntN(32, f[1][f[1].length - 1])) : 0;
  const name = f[2] ? f[2][f[2].length - 1].toString('utf8') : '';
  return { id, name };
}

function decodeNotification(buf) {
  const f = decode(buf);
  const str = (n) => (f[n] ? f[n][f[n].length - 1].toString('utf8') : '');
  return {
    notificationId: str(1),
    appId: str(2),
    schemaName: str(3),
    recordKeys: (f[4] || []).map((b) => b.toString('utf8')),
  };
}

// --- HTTP, as an old client wrote it ---

class Client {
  constructor(base) {
    this.base = base.replace(/\/+$/, '');
    this.wsBase = 'ws' + this.base.slice('http'.length);
    this.http = axios.create({ baseURL: this.base, timeout: TIMEOUT });
    this.appId = null;
  }

  // call makes one request and returns the response whatever its status;
  // the way old clients caught axios errors and looked at err.response.
  async call(config) {
    try {
      return await this.http.request(config);
    } catch (err) {
      if (err.response) return err.response;
      throw new Failure(`${config.method.toUpperCase()} ${config.url}: ${err.message}`);
    }
  }

  bytes(config) {
    return this.call({ ...config, responseType: 'arraybuffer' });
  }

  registerApp(name) {
    return this.call({ method: 'post', url: '/app', params: { appName: name } });
  }

  deleteApp(name) {
    return this.call({ method: 'delete', url: '/app', params: { appName: name, appID: this.appId } });
  }

  putSchema(fileName, version, text) {
    return this.call({ method: 'put', url: '/schema', params: { appID: this.appId, fileName, version }, data: text });
  }

  activate(version) {
    return this.call({ method: 'post', url: '/schema', params: { appID: this.appId, version } });
  }

  upsert(record, headers) {
    return this.call({
      method: 'post', url: '/record', params: { appID: this.appId, schemaName: SCHEMA_NAME }, data: record, headers,
    });
  }

  del(key) {
    return this.bytes({ method: 'delete', url: '/record', params: { appID: this.appId, schemaName: SCHEMA_NAME, recordKey: key } });
  }

  get(key) {
    return this.bytes({ method: 'get', url: '/query', params: { appID: this.appId, schemaName: SCHEMA_NAME, recordKey: key } });
  }

  range(beginKey, endKey, iteration) {
    return this.bytes({
      method: 'get',
      url: '/query',
      params: { appID: this.appId, schemaName: SCHEMA_NAME, range: 'True', beginKey, endKey, iteration },
    });
  }

  registerNotification(recordKeys) {
    return this.call({ method: 'post', url: '/notification', data: { appID: this.appId, schemaName: SCHEMA_NAME, recordKeys } });
  }

  deleteNotification(id) {
    return this.call({ method: 'delete', url: '/notification', params: { appID: this.appId, notificationID: id } });
  }

  wsURL(id) {
    return `${this.wsBase}/notification?appID=${this.appId}&notificationID=${id}`;
  }

  txn(action, transactionID) {
    const params = { action };
    if (transactionID !== undefined) params.transactionID = transactionID;
    return this.call({ method: 'post', url: '/transaction', params });
  }

  txnGet(transactionID, key) {
    return this.bytes({
      method: 'get',
      url: '/query/transactional',
      params: { appID: this.appId, schemaName: SCHEMA_NAME, recordKey: key, transactionID },
    });
  }

  txnUpsert(transactionID, record) {
    return this.call({
      method: 'post', url: '/record/transactional', params: { appID: this.appId, schemaName: SCHEMA_NAME, transactionID }, data: record,
    });
  }
}

function snippet(data) {
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return JSON.stringify(Buffer.from(data).toString('latin1').slice(0, 300));
  return JSON.stringify(data).slice(0, 300);
}

function expectOK(r, what) {
  check(r.status === 200, `${what}: want HTTP 200, got ${r.status}: ${snippet(r.data)}`);
  return r;
}

// expectError checks a client error: HTTP 400 and a JSON body with an
// integer code, returned parsed.
function expectError(r, what, code) {
  check(r.status === 400, `${what}: want HTTP 400, got ${r.status}: ${snippet(r.data)}`);
  let body = r.data;
  if (Buffer.isBuffer(body) || body instanceof ArrayBuffer) {
    try {
      body = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch (e) {
      throw new Failure(`${what}: error body is not JSON: ${snippet(r.data)}`);
    }
  }
  check(body && typeof body === 'object' && Number.isInteger(body.code), `${what}: error body has no integer code: ${snippet(body)}`);
  check(typeof body.message === 'string', `${what}: error body has no message: ${snippet(body)}`);
  if (code !== undefined) check(body.code === code, `${what}: want code ${code}, got ${snippet(body)}`);
  return body;
}

function same(got, want, what) {
  const g = Buffer.from(got);
  check(g.equals(want), `${what}: got bytes ${g.toString('hex')}, want ${want.toString('hex')}`);
}

function parseRange(body, what) {
  const b = Buffer.from(body);
  check(b.length >= 1, `${what}: empty body, want at least the has-more byte`);
  check(b[0] === 0 || b[0] === 1, `${what}: first byte is ${b[0]}, want 0 or 1`);
  const records = [];
  let i = 1;
  while (i < b.length) {
    check(i + 2 <= b.length, `${what}: truncated length at offset ${i}`);
    const n = b.readUInt16BE(i);
    i += 2;
    check(i + n <= b.length, `${what}: record at offset ${i} claims ${n} bytes, only ${b.length - i} left`);
    records.push(b.subarray(i, i + n));
    i += n;
  }
  return { more: b[0] === 1, records };
}

// Socket wraps a ws WebSocket used the way a browser-era client did:
// onmessage/onclose handlers; frames and the close are queued for await.
class Socket {
  constructor(url) {
    this.events = [];
    this.waiter = null;
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = (e) => reject(new Failure(`websocket ${url}: ${e.message}`));
    });
    this.ws.onmessage = (event) => this.push({ type: 'message', data: event.data });
    this.ws.onclose = (event) => this.push({ type: 'close', code: event.code, reason: event.reason });
  }

  push(ev) {
    this.events.push(ev);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  async next(what) {
    if (this.events.length === 0) {
      let timer;
      await Promise.race([
        new Promise((resolve) => { this.waiter = resolve; }),
        new Promise((resolve) => { timer = setTimeout(resolve, TIMEOUT); }),
      ]);
      clearTimeout(timer);
      this.waiter = null;
      check(this.events.length > 0, `${what}: nothing from the websocket within ${TIMEOUT / 1000}s`);
    }
    return this.events.shift();
  }

  // frame awaits one notification and decodes it as an old client did.
  async frame(nid, appId, what) {
    const ev = await this.next(what);
    check(ev.type === 'message', `${what}: socket closed (${ev.code} ${ev.reason}) instead of a frame`);
    check(typeof ev.data === 'string', `${what}: want a text frame (string), got ${typeof ev.data}`);
    const n = decodeNotification(Buffer.from(ev.data));
    check(n.notificationId === nid, `${what}: notification_id ${n.notificationId}, want ${nid}`);
    check(n.appId === appId, `${what}: app_id ${n.appId}, want ${appId}`);
    check(n.schemaName === SCHEMA_NAME, `${what}: schema_name ${n.schemaName}, want ${SCHEMA_NAME}`);
    return n.recordKeys;
  }
}

async function run(base) {
  const c = new Client(base);

  // Apps.
  let r = expectOK(await c.registerApp('compat-js'), 'POST /app');
  const appId = r.data && r.data.appID;
  check(typeof appId === 'string' && appId.length >= 32, `POST /app: bad appID in ${snippet(r.data)}`);
  c.appId = appId;
  step('register app: appID ' + appId);

  // Schemas.
  expectOK(await c.putSchema('compat.proto', '1', SCHEMA), 'PUT /schema');
  step('upload compat.proto (imports record_metadata_options.proto) as version 1');
  expectOK(await c.activate('1'), 'POST /schema');
  step('activate version 1');

  // Records. Record 9 has its fields out of order, record 10 goes with the
  // Content-Type axios 0.x put on every POST body.
  const records = new Map();
  for (const id of [10, 2, 9, -5, 0, 11, 100, 1, 150]) {
    records.set(id, item(id, `name-${id}`, `text of ${id}`, id === 9));
    const headers = id === 10 ? { 'Content-Type': 'application/x-www-form-urlencoded' } : undefined;
    expectOK(await c.upsert(records.get(id), headers), `POST /record id=${id}`);
  }
  expectOK(await c.upsert(records.get(1), { 'Content-Type': 'application/octet-stream' }), 'POST /record id=1 as octet-stream');
  step(`upsert ${records.size} records with raw protobuf bodies`);

  r = expectOK(await c.get('9'), 'GET /query recordKey=9');
  same(r.data, records.get(9), 'GET /query recordKey=9');
  const got9 = decodeItem(Buffer.from(r.data));
  check(got9.id === 9 && got9.name === 'name-9', `GET /query recordKey=9: decoded ${JSON.stringify(got9)}`);
  r = expectOK(await c.get('009'), 'GET /query recordKey=009');
  same(r.data, records.get(9), 'GET /query recordKey=009');
  r = expectOK(await c.get('-5'), 'GET /query recordKey=-5');
  same(r.data, records.get(-5), 'GET /query recordKey=-5');
  step('read back records 9 (fields out of order; also as "009") and -5 byte for byte');

  let body = expectError(await c.get('12345'), 'GET /query missing key', 1002);
  step(`missing key: 400 code 1002 (${body.message})`);

  // Range [-10, 150), page by page until the has-more byte is 0.
  const want = [-5, 0, 1, 2, 9, 10, 11, 100];
  const got = [];
  let it = 1;
  for (;;) {
    r = expectOK(await c.range('-10', '150', it), `GET /query range iteration=${it}`);
    const page = parseRange(r.data, `range iteration=${it}`);
    check(page.records.length > 0 || !page.more, `range iteration=${it}: empty page says more follow`);
    got.push(...page.records);
    if (!page.more) break;
    it++;
    check(it <= want.length + 1, `range: still more pages after ${it}`);
  }
  const keys = got.map((raw) => {
    const m = decodeItem(raw);
    check(records.has(m.id), `range: unexpected record ${m.id}`);
    same(raw, records.get(m.id), `range: record ${m.id}`);
    return m.id;
  });
  check(JSON.stringify(keys) === JSON.stringify(want), `range [-10,150): keys ${JSON.stringify(keys)}, want ${JSON.stringify(want)}`);
  check(keys.indexOf(9) < keys.indexOf(10), 'range: 10 came before 9');
  step(`range [-10,150) in ${it} page(s): keys ${JSON.stringify(keys)}, byte for byte; 9 before 10, 150 excluded`);

  // Notifications.
  r = expectOK(await c.registerNotification(['9', '10']), 'POST /notification');
  const nid = r.data && r.data.notificationID;
  check(typeof nid === 'string' && nid, `POST /notification: bad notificationID in ${snippet(r.data)}`);
  step('register notification on keys 9 and 10: ' + nid);

  const ws = new Socket(c.wsURL(nid));
  await ws.opened;
  step('open websocket ' + c.wsURL(nid));

  // An unwatched write must not produce a frame; the watched one must.
  expectOK(await c.upsert(item(2, 'changed-2')), 'POST /record id=2 (unwatched)');
  records.set(9, item(9, 'changed-9', 'new text'));
  expectOK(await c.upsert(records.get(9)), 'POST /record id=9 (watched)');
  let fkeys = await ws.frame(nid, appId, 'after upsert of 9');
  check(JSON.stringify(fkeys) === '["9"]', `after upsert of 9: record_keys ${JSON.stringify(fkeys)}, want ["9"]`);
  r = expectOK(await c.get('9'), 'GET /query recordKey=9 after notification');
  same(r.data, records.get(9), 're-read of 9 after notification');
  step(`upsert 9: text frame -> NotificationMessage ${JSON.stringify(fkeys)}; re-read matches`);

  expectOK(await c.del('9'), 'DELETE /record recordKey=9');
  fkeys = await ws.frame(nid, appId, 'after delete of 9');
  check(JSON.stringify(fkeys) === '["9"]', `after delete of 9: record_keys ${JSON.stringify(fkeys)}, want ["9"]`);
  expectError(await c.get('9'), 'GET /query deleted key 9', 1002);
  expectError(await c.del('9'), 'DELETE /record deleted key 9', 1002);
  step(`delete 9: frame ${JSON.stringify(fkeys)}; read and second delete give 1002`);

  // Transactions.
  r = expectOK(await c.txn('begin'), 'begin T1');
  const t1 = r.data && r.data.transactionID;
  check(typeof t1 === 'string' && t1, `begin: bad transactionID in ${snippet(r.data)}`);
  r = expectOK(await c.txnGet(t1, '10'), 'T1 read 10');
  same(r.data, records.get(10), 'T1 read 10');
  const t1v = item(10, 'written-by-T1');
  expectOK(await c.txnUpsert(t1, t1v), 'T1 write 10');
  r = expectOK(await c.txnGet(t1, '10'), 'T1 re-read 10');
  same(r.data, t1v, 'T1 re-read 10 (its own write)');
  expectError(await c.txnGet(t1, '9'), 'T1 read deleted 9', 1002);
  r = expectOK(await c.get('10'), 'GET 10 while T1 is open');
  same(r.data, records.get(10), "GET 10 while T1 is open (T1's write must not show)");
  step(`T1 ${t1}: read 10, wrote 10, sees own write, absent 9 is 1002, invisible outside`);

  r = expectOK(await c.txn('begin'), 'begin T2');
  const t2 = r.data && r.data.transactionID;
  check(t2 && t2 !== t1, `begin T2: transactionID ${t2}`);
  r = expectOK(await c.txnGet(t2, '10'), 'T2 read 10');
  same(r.data, records.get(10), 'T2 read 10');
  expectOK(await c.txnUpsert(t2, item(10, 'written-by-T2')), 'T2 write 10');

  expectOK(await c.txn('commit', t1), 'commit T1');
  fkeys = await ws.frame(nid, appId, 'after commit of T1');
  check(JSON.stringify(fkeys) === '["10"]', `after commit of T1: record_keys ${JSON.stringify(fkeys)}, want ["10"]`);
  r = expectOK(await c.get('10'), 'GET 10 after commit');
  same(r.data, t1v, 'GET 10 after commit of T1');
  step(`commit T1: 200, frame ${JSON.stringify(fkeys)}, write visible`);

  body = expectError(await c.txn('commit', t2), 'commit conflicting T2');
  check(body.code !== 1002, `conflict reported as record-not-found: ${snippet(body)}`);
  r = expectOK(await c.get('10'), 'GET 10 after T2');
  same(r.data, t1v, 'GET 10 after the conflicting T2');
  step(`commit T2 (read 10 before T1 changed it): 400 code ${body.code} (${body.message})`);

  r = expectOK(await c.txn('begin'), 'begin T3');
  const t3 = r.data && r.data.transactionID;
  expectOK(await c.txnUpsert(t3, item(11, 'never')), 'T3 write 11');
  expectOK(await c.txn('abort', t3), 'abort T3');
  r = expectOK(await c.get('11'), 'GET 11 after abort');
  same(r.data, records.get(11), 'GET 11 after abort of T3');
  body = expectError(await c.txn('commit', t3), 'commit aborted T3');
  step(`abort T3: 200, nothing written; committing it after: 400 code ${body.code}`);

  // Deleting the notification closes the open socket.
  expectOK(await c.deleteNotification(nid), 'DELETE /notification');
  const ev = await ws.next('after DELETE /notification');
  check(ev.type === 'close', `after DELETE /notification: got a frame, want the socket closed`);
  step(`delete notification: 200, open socket closed (${ev.code} ${ev.reason})`);

  const status = await new Promise((resolve) => {
    const again = new WebSocket(c.wsURL(nid));
    again.on('unexpected-response', (req, res) => {
      res.resume();
      resolve(res.statusCode);
      again.terminate();
    });
    again.on('open', () => {
      again.terminate();
      resolve('open');
    });
    again.on('error', () => {});
  });
  check(status === 400, `websocket on the deleted notification: ${status}, want refused with 400`);
  step('websocket on the deleted notification refused with 400');

  r = expectOK(await c.deleteApp('compat-js'), 'DELETE /app');
  check(r.data && r.data.appID === appId, `DELETE /app: body ${snippet(r.data)}`);
  body = expectError(await c.get('10'), 'GET /query in deleted app');
  check(body.code !== 1002, `deleted app reported as record-not-found: ${snippet(body)}`);
  step(`delete app: 200; reading from it then: 400 code ${body.code}`);
}

if (process.argv.length !== 3) {
  console.error('usage: old_client.js http://HOST:PORT');
  process.exit(2);
}
run(process.argv[2]).then(
  () => {
    console.log('PASS javascript old client: whole contract');
    process.exit(0);
  },
  (err) => {
    console.log(err instanceof Failure ? 'FAIL ' + err.message : 'FAIL unexpected ' + (err && err.stack ? err.stack : err));
    process.exit(1);
  },
);
