#!/usr/bin/env python3
"""Explains the index difference between a store written by the Java broker 5.5.0 and the index
our `rmqstore rebuild` writes for the same CommitLog.

    index_tags.py <java index dir> <our index dir> <rmqstore dump jsonl> [--slots 5000000]

Java 5.5.0's IndexService.buildIndex adds, besides the UNIQ_KEY and KEYS entries that 5.3.3 (and
we) write, one entry per message with a non-empty TAGS property, keyed "<topic>#T#<tag>" (queried
by QUERY_MESSAGE with indexType=T, mqadmin 5.5 `queryMsgByKey -p T`). This checks that the Java
entries are exactly ours plus those tag entries: same (keyHash, phyOffset) multiset once the tag
entries are added to ours. Prints the counts; exit 1 on any other difference.
"""
import collections
import glob
import json
import os
import struct
import sys

HEADER = 40


def java_hash(s):
    """abs(String.hashCode()) as IndexFile.indexKeyHashMethod computes it (MIN_VALUE -> 0)."""
    h = 0
    units = s.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + ((units[i] << 8) | units[i + 1])) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    if h == -0x80000000:
        return 0
    return abs(h)


def entries(d, slots):
    out = collections.Counter()
    count = 0
    for f in sorted(glob.glob(os.path.join(d, "*"))):
        with open(f, "rb") as fh:
            head = fh.read(HEADER)
            n = struct.unpack(">qqqqii", head)[5]
            count += max(n - 1, 0)
            fh.seek(HEADER + 4 * slots + 20)  # entry 0 is never used
            for _ in range(max(n - 1, 0)):
                key_hash, phy, _td, _prev = struct.unpack(">iqii", fh.read(20))
                out[(key_hash, phy)] += 1
    return out, count


def main():
    args = sys.argv[1:]
    slots = 5000000
    if "--slots" in args:
        i = args.index("--slots")
        slots = int(args[i + 1])
        del args[i:i + 2]
    java_dir, ours_dir, dump = args
    java, java_n = entries(java_dir, slots)
    ours, ours_n = entries(ours_dir, slots)
    tags = collections.Counter()
    for line in open(dump, encoding="utf-8"):
        m = json.loads(line)
        tag = (m.get("properties") or {}).get("TAGS")
        if tag:
            tags[(java_hash("%s#T#%s" % (m["topic"], tag)), m["physicalOffset"])] += 1
    expected = ours + tags
    if expected == java:
        print("Java 5.5 index: %d entries = ours %d + %d tag entries (<topic>#T#<tag>)"
              % (java_n, ours_n, sum(tags.values())))
        return 0
    only_java = java - expected
    only_ours = expected - java
    print("Java %d entries, ours %d, tag entries %d; %d only in Java, %d only in ours+tags, e.g. %s %s"
          % (java_n, ours_n, sum(tags.values()), sum(only_java.values()), sum(only_ours.values()),
             list(only_java.items())[:3], list(only_ours.items())[:3]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
