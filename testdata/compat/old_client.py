#!/usr/bin/env python3
"""An old-style WeBaaS client, written the way clients of the original
service were: plain `requests` calls with the parameters in the query
string, JSON bodies sent as data=json.dumps(...) with no Content-Type,
records as raw protobuf bytes, and the notification socket read with
`websockets.connect` + `await websocket.recv()`, whose text frames are
re-encoded to bytes and decoded as the NotificationMessage protobuf.

It runs the whole WeBaaS contract end to end against one server:

    python3 old_client.py http://127.0.0.1:8080

One line per step; on the first failure it says what went wrong and
exits with status 1. Needs python3-requests, python3-websockets and
python3-protobuf (no protoc: the messages are built from descriptors).
"""

import asyncio
import json
import struct
import sys

import requests
import websockets
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

TIMEOUT = 10  # seconds, for every HTTP call and every frame awaited

# The schema the app uploads: an int32 primary key and an indexed string,
# marked with the options of the server-provided record_metadata_options.proto.
SCHEMA = """syntax = "proto3";
package compat;
import "record_metadata_options.proto";

message Item {
  int32 id = 1 [(webaas.db.record.field).primary_key = true];
  string name = 2 [(webaas.db.record.field).index = {}];
  string text = 3;
}
"""
SCHEMA_NAME = "compat.Item"


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def step(msg):
    print("ok   " + msg, flush=True)


# --- protobuf messages without protoc: built from descriptors at run time ---

def _message_classes():
    F = descriptor_pb2.FieldDescriptorProto
    pool = descriptor_pool.DescriptorPool()

    item = descriptor_pb2.FileDescriptorProto(
        name="compat_item.proto", package="compat", syntax="proto3")
    m = item.message_type.add(name="Item")
    m.field.add(name="id", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    m.field.add(name="name", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m.field.add(name="text", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool.AddSerializedFile(item.SerializeToString())

    notif = descriptor_pb2.FileDescriptorProto(
        name="notification.proto", package="notification", syntax="proto3")
    m = notif.message_type.add(name="NotificationMessage")
    m.field.add(name="notification_id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m.field.add(name="app_id", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m.field.add(name="schema_name", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m.field.add(name="record_keys", number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    pool.AddSerializedFile(notif.SerializeToString())

    def cls(name):
        d = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
            return message_factory.GetMessageClass(d)
        return message_factory.MessageFactory(pool).GetPrototype(d)

    return cls("compat.Item"), cls("notification.NotificationMessage")


Item, NotificationMessage = _message_classes()


def item(id, name, text=""):
    return Item(id=id, name=name, text=text).SerializeToString()


# --- HTTP helpers, as an old client wrote them ---

def expect_ok(r, what):
    check(r.status_code == 200,
          "%s: want HTTP 200, got %d: %r" % (what, r.status_code, r.content[:300]))
    return r


def expect_error(r, what, code=None):
    """A client error: HTTP 400 and a JSON body with an integer code."""
    check(r.status_code == 400,
          "%s: want HTTP 400, got %d: %r" % (what, r.status_code, r.content[:300]))
    try:
        body = r.json()
    except ValueError:
        raise Failure("%s: error body is not JSON: %r" % (what, r.content[:300]))
    check(isinstance(body, dict) and isinstance(body.get("code"), int)
          and not isinstance(body.get("code"), bool),
          "%s: error body has no integer code: %r" % (what, body))
    check(isinstance(body.get("message"), str),
          "%s: error body has no message: %r" % (what, body))
    if code is not None:
        check(body["code"] == code, "%s: want code %d, got %r" % (what, code, body))
    return body


def parse_range(body, what):
    """The range body: a has-more byte, then (2-byte big-endian length, record)*."""
    check(len(body) >= 1, "%s: empty body, want at least the has-more byte" % what)
    check(body[0] in (0, 1), "%s: first byte is %d, want 0 or 1" % (what, body[0]))
    more = body[0] == 1
    records, i = [], 1
    while i < len(body):
        check(i + 2 <= len(body), "%s: truncated length at offset %d" % (what, i))
        (n,) = struct.unpack(">H", body[i:i + 2])
        i += 2
        check(i + n <= len(body),
              "%s: record at offset %d claims %d bytes, only %d left" % (what, i, n, len(body) - i))
        records.append(body[i:i + n])
        i += n
    return more, records


class Client:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.ws_base = "ws" + self.base[len("http"):]
        self.app_id = None

    def url(self, path):
        return self.base + path

    def register_app(self, name):
        return requests.post(self.url("/app"), params={"appName": name}, timeout=TIMEOUT)

    def delete_app(self, name):
        return requests.delete(self.url("/app"), params={"appName": name, "appID": self.app_id},
                               timeout=TIMEOUT)

    def put_schema(self, file_name, version, text):
        return requests.put(self.url("/schema"),
                            params={"appID": self.app_id, "fileName": file_name, "version": version},
                            data=text, timeout=TIMEOUT)

    def activate(self, version):
        return requests.post(self.url("/schema"), params={"appID": self.app_id, "version": version},
                             timeout=TIMEOUT)

    def upsert(self, record):
        return requests.post(self.url("/record"),
                             params={"appID": self.app_id, "schemaName": SCHEMA_NAME},
                             data=record, timeout=TIMEOUT)

    def delete(self, key):
        return requests.delete(self.url("/record"),
                               params={"appID": self.app_id, "schemaName": SCHEMA_NAME, "recordKey": key},
                               timeout=TIMEOUT)

    def get(self, key):
        return requests.get(self.url("/query"),
                            params={"appID": self.app_id, "schemaName": SCHEMA_NAME, "recordKey": key},
                            timeout=TIMEOUT)

    def range(self, begin, end, iteration):
        return requests.get(self.url("/query"),
                            params={"appID": self.app_id, "schemaName": SCHEMA_NAME, "range": True,
                                    "beginKey": begin, "endKey": end, "iteration": iteration},
                            timeout=TIMEOUT)

    def register_notification(self, keys):
        # As the old clients did: a JSON string as data, no Content-Type.
        body = json.dumps({"appID": self.app_id, "schemaName": SCHEMA_NAME, "recordKeys": keys})
        return requests.post(self.url("/notification"), data=body, timeout=TIMEOUT)

    def delete_notification(self, nid):
        return requests.delete(self.url("/notification"),
                               params={"appID": self.app_id, "notificationID": nid}, timeout=TIMEOUT)

    def ws_url(self, nid):
        return self.ws_base + "/notification?appID={}&notificationID={}".format(self.app_id, nid)

    def txn(self, action, tid=None):
        params = {"action": action}
        if tid is not None:
            params["transactionID"] = tid
        return requests.post(self.url("/transaction"), params=params, timeout=TIMEOUT)

    def txn_get(self, tid, key):
        return requests.get(self.url("/query/transactional"),
                            params={"appID": self.app_id, "schemaName": SCHEMA_NAME,
                                    "recordKey": key, "transactionID": tid}, timeout=TIMEOUT)

    def txn_upsert(self, tid, record):
        return requests.post(self.url("/record/transactional"),
                             params={"appID": self.app_id, "schemaName": SCHEMA_NAME, "transactionID": tid},
                             data=record, timeout=TIMEOUT)


async def next_frame(ws, nid, app_id, what):
    """Awaits one notification frame and decodes it as an old client did."""
    try:
        msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure("%s: no notification frame within %ds" % (what, TIMEOUT))
    except websockets.exceptions.ConnectionClosed as e:
        raise Failure("%s: socket closed instead of a frame: %s" % (what, e))
    check(isinstance(msg, str),
          "%s: want a text frame (str), got %s %r" % (what, type(msg).__name__, msg[:100]))
    n = NotificationMessage()
    try:
        n.ParseFromString(msg.encode())
    except Exception as e:
        raise Failure("%s: frame %r does not decode as NotificationMessage: %s" % (what, msg, e))
    check(n.notification_id == nid, "%s: notification_id %r, want %r" % (what, n.notification_id, nid))
    check(n.app_id == app_id, "%s: app_id %r, want %r" % (what, n.app_id, app_id))
    check(n.schema_name == SCHEMA_NAME, "%s: schema_name %r, want %r" % (what, n.schema_name, SCHEMA_NAME))
    return list(n.record_keys)


async def run(base):
    c = Client(base)

    # Apps.
    r = expect_ok(c.register_app("compat-py"), "POST /app")
    app_id = r.json().get("appID")
    check(isinstance(app_id, str) and len(app_id) >= 32, "POST /app: bad appID in %r" % r.content)
    c.app_id = app_id
    step("register app: appID " + app_id)

    # Schemas.
    expect_ok(c.put_schema("compat.proto", "1", SCHEMA), "PUT /schema")
    step("upload compat.proto (imports record_metadata_options.proto) as version 1")
    expect_ok(c.activate("1"), "POST /schema")
    step("activate version 1")

    # Records: 9 and 10 test numeric order, -5 and 0 (the proto3 default) are keys too.
    records = {}
    for id in [10, 2, 9, -5, 0, 11, 100, 1, 150]:
        records[id] = item(id, "name-%d" % id, "text of %d" % id)
        expect_ok(c.upsert(records[id]), "POST /record id=%d" % id)
    step("upsert %d records with raw protobuf bodies" % len(records))

    r = expect_ok(c.get("9"), "GET /query recordKey=9")
    check(r.content == records[9], "GET /query recordKey=9: got %r, want %r" % (r.content, records[9]))
    got = Item()
    got.ParseFromString(r.content)
    check(got.id == 9 and got.name == "name-9", "GET /query recordKey=9: decoded %r" % got)
    r = expect_ok(c.get("009"), "GET /query recordKey=009")
    check(r.content == records[9], "GET /query recordKey=009: got %r, want record 9" % r.content)
    r = expect_ok(c.get("-5"), "GET /query recordKey=-5")
    check(r.content == records[-5], "GET /query recordKey=-5: got %r" % r.content)
    step("read back records 9 (also as \"009\") and -5 byte for byte")

    body = expect_error(c.get("12345"), "GET /query missing key", 1002)
    step("missing key: 400 code 1002 (%s)" % body["message"])

    # Range [-10, 150), page by page until the has-more byte is 0.
    want = [-5, 0, 1, 2, 9, 10, 11, 100]
    got, it = [], 1
    while True:
        r = expect_ok(c.range("-10", "150", it), "GET /query range iteration=%d" % it)
        more, recs = parse_range(r.content, "range iteration=%d" % it)
        check(recs or not more, "range iteration=%d: empty page says more follow" % it)
        got.extend(recs)
        if not more:
            break
        it += 1
        check(it <= len(want) + 1, "range: still more pages after %d" % it)
    keys = []
    for raw in got:
        m = Item()
        m.ParseFromString(raw)
        keys.append(m.id)
        check(raw == records[m.id], "range: record %d is %r, want %r" % (m.id, raw, records[m.id]))
    check(keys == want, "range [-10,150): keys %r, want %r" % (keys, want))
    check(keys.index(9) < keys.index(10), "range: 10 came before 9")
    step("range [-10,150) in %d page(s): keys %s, byte for byte; 9 before 10, 150 excluded" % (it, keys))

    # Notifications.
    r = expect_ok(c.register_notification(["9", "10"]), "POST /notification")
    nid = r.json().get("notificationID")
    check(isinstance(nid, str) and nid, "POST /notification: bad notificationID in %r" % r.content)
    step("register notification on keys 9 and 10 (JSON body, no Content-Type): " + nid)

    async with websockets.connect(c.ws_url(nid)) as ws:
        step("open websocket " + c.ws_url(nid))

        # An unwatched write must not produce a frame; the watched one must.
        expect_ok(c.upsert(item(2, "changed-2")), "POST /record id=2 (unwatched)")
        records[9] = item(9, "changed-9", "new text")
        expect_ok(c.upsert(records[9]), "POST /record id=9 (watched)")
        keys = await next_frame(ws, nid, app_id, "after upsert of 9")
        check(keys == ["9"], "after upsert of 9: record_keys %r, want ['9']" % keys)
        r = expect_ok(c.get("9"), "GET /query recordKey=9 after notification")
        check(r.content == records[9], "re-read of 9 after notification: got %r" % r.content)
        step("upsert 9: text frame -> NotificationMessage %r; re-read matches" % keys)

        expect_ok(c.delete("9"), "DELETE /record recordKey=9")
        keys = await next_frame(ws, nid, app_id, "after delete of 9")
        check(keys == ["9"], "after delete of 9: record_keys %r, want ['9']" % keys)
        expect_error(c.get("9"), "GET /query deleted key 9", 1002)
        expect_error(c.delete("9"), "DELETE /record deleted key 9", 1002)
        step("delete 9: frame %r; read and second delete give 1002" % keys)

        # Transactions.
        r = expect_ok(c.txn("begin"), "begin T1")
        t1 = r.json().get("transactionID")
        check(isinstance(t1, str) and t1, "begin: bad transactionID in %r" % r.content)
        r = expect_ok(c.txn_get(t1, "10"), "T1 read 10")
        check(r.content == records[10], "T1 read 10: got %r, want %r" % (r.content, records[10]))
        t1_10 = item(10, "written-by-T1")
        expect_ok(c.txn_upsert(t1, t1_10), "T1 write 10")
        r = expect_ok(c.txn_get(t1, "10"), "T1 re-read 10")
        check(r.content == t1_10, "T1 does not see its own write: got %r" % r.content)
        expect_error(c.txn_get(t1, "9"), "T1 read deleted 9", 1002)
        r = expect_ok(c.get("10"), "GET 10 while T1 is open")
        check(r.content == records[10], "T1's write is visible before commit: %r" % r.content)
        step("T1 %s: read 10, wrote 10, sees own write, absent 9 is 1002, invisible outside" % t1)

        r = expect_ok(c.txn("begin"), "begin T2")
        t2 = r.json().get("transactionID")
        check(t2 and t2 != t1, "begin T2: transactionID %r" % t2)
        r = expect_ok(c.txn_get(t2, "10"), "T2 read 10")
        check(r.content == records[10], "T2 read 10: got %r" % r.content)
        expect_ok(c.txn_upsert(t2, item(10, "written-by-T2")), "T2 write 10")

        expect_ok(c.txn("commit", t1), "commit T1")
        keys = await next_frame(ws, nid, app_id, "after commit of T1")
        check(keys == ["10"], "after commit of T1: record_keys %r, want ['10']" % keys)
        r = expect_ok(c.get("10"), "GET 10 after commit")
        check(r.content == t1_10, "after commit of T1, 10 is %r, want %r" % (r.content, t1_10))
        step("commit T1: 200, frame %r, write visible" % keys)

        body = expect_error(c.txn("commit", t2), "commit conflicting T2")
        check(body["code"] != 1002, "conflict reported as record-not-found: %r" % body)
        r = expect_ok(c.get("10"), "GET 10 after T2")
        check(r.content == t1_10, "conflicting T2 changed record 10: %r" % r.content)
        step("commit T2 (read 10 before T1 changed it): 400 code %d (%s)" % (body["code"], body["message"]))

        r = expect_ok(c.txn("begin"), "begin T3")
        t3 = r.json().get("transactionID")
        expect_ok(c.txn_upsert(t3, item(11, "never")), "T3 write 11")
        expect_ok(c.txn("abort", t3), "abort T3")
        r = expect_ok(c.get("11"), "GET 11 after abort")
        check(r.content == records[11], "aborted T3 changed record 11: %r" % r.content)
        body = expect_error(c.txn("commit", t3), "commit aborted T3")
        step("abort T3: 200, nothing written; committing it after: 400 code %d" % body["code"])

        # Deleting the notification closes the open socket.
        expect_ok(c.delete_notification(nid), "DELETE /notification")
        try:
            msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise Failure("after DELETE /notification: got frame %r, want the socket closed" % msg)
        except asyncio.TimeoutError:
            raise Failure("after DELETE /notification: socket still open after %ds" % TIMEOUT)
        except websockets.exceptions.ConnectionClosed as e:
            step("delete notification: 200, open socket closed (%s)" % e)

    try:
        async with websockets.connect(c.ws_url(nid)) as ws:
            raise Failure("websocket on the deleted notification was accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        check(e.status_code == 400, "websocket on deleted notification: status %d, want 400" % e.status_code)
    step("websocket on the deleted notification refused with 400")

    r = expect_ok(c.delete_app("compat-py"), "DELETE /app")
    check(r.json().get("appID") == app_id, "DELETE /app: body %r" % r.content)
    body = expect_error(c.get("10"), "GET /query in deleted app")
    check(body["code"] != 1002, "deleted app reported as record-not-found: %r" % body)
    step("delete app: 200; reading from it then: 400 code %d" % body["code"])


def main():
    if len(sys.argv) != 2:
        print("usage: old_client.py http://HOST:PORT", file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(run(sys.argv[1]))
    except Failure as e:
        print("FAIL " + str(e), flush=True)
        sys.exit(1)
    except Exception as e:
        print("FAIL unexpected %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)
    print("PASS python old client: whole contract", flush=True)


if __name__ == "__main__":
    main()
