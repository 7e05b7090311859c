#!/usr/bin/env python3
"""Compares what a broker served (StoreReadBack JSON lines) with the store's own CommitLog walk.

    readback.py counts <expected.jsonl> <topic>...      prints "<topic>=<n> ..." (messages per topic)
    readback.py compare <expected.jsonl> <readback.out> <topic>...

For every message of the topics in expected.jsonl (Java's StoreDump of the store), the read-back must
hold one message at the same (topic, queueId, queueOffset) with the same message id (UNIQ_KEY),
tags, keys and body (bodies stored compressed, sysFlag bit 0, are inflated with zlib first).
Exit 0 when all match; prints the first differences otherwise.
"""
import base64
import json
import sys
import zlib


def expected(path, topics):
    out = {}
    for line in open(path, encoding="utf-8"):
        m = json.loads(line)
        if m["topic"] not in topics:
            continue
        body = base64.b64decode(m["body"])
        if m["sysFlag"] & 1:
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = None
        p = m.get("properties") or {}
        out[(m["topic"], m["queueId"], m["queueOffset"])] = {
            "msgId": p.get("UNIQ_KEY", m["msgId"]),
            "tags": p.get("TAGS"),
            "keys": p.get("KEYS"),
            "body": body,
        }
    return out


def main():
    mode, exp_path = sys.argv[1], sys.argv[2]
    if mode == "counts":
        topics = set(sys.argv[3:])
        exp = expected(exp_path, topics)
        per = {t: 0 for t in sys.argv[3:]}
        for k in exp:
            per[k[0]] += 1
        print(" ".join("%s=%d" % kv for kv in per.items()))
        return 0
    rb_path, topics = sys.argv[3], set(sys.argv[4:])
    exp = expected(exp_path, topics)
    got = {}
    for line in open(rb_path, encoding="utf-8"):
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        got[(m["topic"], m["queueId"], m["queueOffset"])] = m
    diffs = []
    for k, e in sorted(exp.items()):
        g = got.get(k)
        if g is None:
            diffs.append("missing %s" % (k,))
            continue
        body = base64.b64decode(g["bodyB64"])
        for field, want, have in (("msgId", e["msgId"], g["msgId"]), ("tags", e["tags"], g["tags"]),
                                  ("keys", e["keys"], g["keys"])):
            if want != have:
                diffs.append("%s %s: stored %r, served %r" % (k, field, want, have))
        if e["body"] is not None and e["body"] != body:
            diffs.append("%s body: stored %d bytes, served %d bytes differ" % (k, len(e["body"]), len(body)))
    extra = [k for k in got if k not in exp]
    if extra:
        diffs.append("%d served messages not in the store walk, first %s" % (len(extra), sorted(extra)[0]))
    if diffs:
        print("\n".join(diffs[:20]))
        print("%d differences over %d messages" % (len(diffs), len(exp)))
        return 1
    print("%d messages served equal the store (msgId, tags, keys, body)" % len(exp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
