#!/usr/bin/env python3
"""Compare RocketMQ store artefacts (python3 stdlib only).

  compare.py A.jsonl B.jsonl [--ignore FIELD]... [--ignore-prop KEY]... [--max-diffs N]
      StoreDump JSON lines, line by line (both are ordered by physicalOffset), field by field;
      properties key by key. Exit 1 on any difference.
  compare.py --cmp-dirs A B [--max-diffs N]
      Two directory trees (e.g. two consumequeue/ dirs): same relative file set, same bytes.
      Prints missing/extra files and the first differing offset of each differing file
      (for ConsumeQueue files also the 20-byte unit it falls in, decoded).
  compare.py --cmp-index A B [--slots 5000000] [--max-index 20000000] [--max-diffs N]
      Index files (A and B each a file, or an index/ dir whose files are paired in name order):
      40-byte header, every hash slot, and entries 1..max(indexCount). Exit 1 on any difference.
  compare.py --describe STORE_ROOT
      Human-readable summary of a store: files present, checkpoint, commitlog files,
      consume queue file sizes/units, index headers.

Exit status: 0 equal, 1 different, 2 usage / unreadable input.
"""
import base64
import json
import os
import struct
import sys

CQ_UNIT = 20
INDEX_HEADER = 40


def die(msg):
    print("compare.py: " + msg, file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- JSONL


def load_jsonl(path):
    out = []
    try:
        with open(path, "r", encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    die("%s:%d: not JSON: %s" % (path, no, e))
    except OSError as e:
        die(str(e))
    return out


def short(v, n=120):
    s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def body_note(a, b):
    try:
        x, y = base64.b64decode(a), base64.b64decode(b)
    except Exception:
        return ""
    if len(x) != len(y):
        return " (body length %d vs %d)" % (len(x), len(y))
    for i in range(len(x)):
        if x[i] != y[i]:
            return " (bodies of %d bytes differ first at byte %d)" % (len(x), i)
    return ""


def cmp_jsonl(a_path, b_path, ignore, ignore_props, max_diffs):
    a, b = load_jsonl(a_path), load_jsonl(b_path)
    diffs = []

    def add(s):
        diffs.append(s)

    if len(a) != len(b):
        add("message count: %d in A vs %d in B" % (len(a), len(b)))
    pa = [m.get("physicalOffset") for m in a]
    pb = [m.get("physicalOffset") for m in b]
    sa, sb = set(pa), set(pb)
    pairs = None
    if pa != pb:
        only_a, only_b = sorted(sa - sb), sorted(sb - sa)
        if only_a or only_b:
            add("physicalOffset sets differ: only in A %d %s, only in B %d %s"
                % (len(only_a), only_a[:5], len(only_b), only_b[:5]))
        elif pa != sorted(pa) or pb != sorted(pb):
            add("same physicalOffsets but not both ordered by physicalOffset")
        # Align by physicalOffset when it is unique and most offsets are shared (a missing or extra
        # message then shows up once instead of shifting every later line); otherwise by position.
        if len(sa) == len(pa) and len(sb) == len(pb) and len(sa & sb) * 2 >= max(len(sa), len(sb), 1):
            ia = {m.get("physicalOffset"): m for m in a}
            ib = {m.get("physicalOffset"): m for m in b}
            pairs = [(ia[o], ib[o]) for o in sorted(sa & sb)]
            for o in only_a[:max_diffs]:
                add("physicalOffset %s only in A: topic %s queue %s queueOffset %s" % (
                    o, ia[o].get("topic"), ia[o].get("queueId"), ia[o].get("queueOffset")))
            for o in only_b[:max_diffs]:
                add("physicalOffset %s only in B: topic %s queue %s queueOffset %s" % (
                    o, ib[o].get("topic"), ib[o].get("queueId"), ib[o].get("queueOffset")))
        else:
            add("(messages compared by line position)")
    if pairs is None:
        pairs = list(zip(a, b))
    for i, (x, y) in enumerate(pairs):
        where = "message %d (physicalOffset A=%s B=%s, topic %s)" % (
            i + 1, x.get("physicalOffset"), y.get("physicalOffset"), x.get("topic"))
        for k in sorted(set(x) | set(y)):
            if k in ignore:
                continue
            if k not in x or k not in y:
                add("%s: key %r only in %s" % (where, k, "A" if k in x else "B"))
                continue
            if k == "properties":
                px, py = x[k] or {}, y[k] or {}
                for pk in sorted(set(px) | set(py)):
                    if pk in ignore_props:
                        continue
                    if px.get(pk) != py.get(pk):
                        add("%s: properties[%r]: A=%s B=%s" % (
                            where, pk, short(px.get(pk)) if pk in px else "<absent>",
                            short(py.get(pk)) if pk in py else "<absent>"))
            elif x[k] != y[k]:
                note = body_note(x[k], y[k]) if k == "body" else ""
                add("%s: %s: A=%s B=%s%s" % (where, k, short(x[k]), short(y[k]), note))
    if not diffs:
        print("EQUAL: %d messages (%s vs %s)%s" % (
            len(a), a_path, b_path, " ignoring " + ",".join(sorted(ignore | set("properties." + p for p in ignore_props)))
            if ignore or ignore_props else ""))
        return 0
    print("DIFFERENT: %d difference(s) between %s and %s" % (len(diffs), a_path, b_path))
    for d in diffs[:max_diffs]:
        print("  " + d)
    if len(diffs) > max_diffs:
        print("  ... %d more" % (len(diffs) - max_diffs))
    return 1


# ---------------------------------------------------------------- directory trees


def rel_files(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = p
    return out


def first_diff(fa, fb, chunk=1 << 20):
    """Return (offset, size_a, size_b) of the first differing byte, or None if identical."""
    sa, sb = os.path.getsize(fa), os.path.getsize(fb)
    with open(fa, "rb") as a, open(fb, "rb") as b:
        off = 0
        while True:
            x, y = a.read(chunk), b.read(chunk)
            if x != y:
                n = min(len(x), len(y))
                for i in range(n):
                    if x[i] != y[i]:
                        return off + i, sa, sb
                return off + n, sa, sb
            if not x:
                return None
            off += len(x)


def cq_unit(path, off):
    u = off - off % CQ_UNIT
    with open(path, "rb") as f:
        f.seek(u)
        raw = f.read(CQ_UNIT)
    if len(raw) < CQ_UNIT:
        return "<eof>"
    phy, size, tags = struct.unpack(">qiq", raw)
    return "unit %d: phyOffset=%d size=%d tagsCode=%d" % (u // CQ_UNIT, phy, size, tags)


def cmp_dirs(a, b, max_diffs):
    for d in (a, b):
        if not os.path.isdir(d):
            die("not a directory: " + d)
    fa, fb = rel_files(a), rel_files(b)
    diffs = []
    for r in sorted(set(fa) - set(fb)):
        diffs.append("only in A: %s (%d bytes)" % (r, os.path.getsize(fa[r])))
    for r in sorted(set(fb) - set(fa)):
        diffs.append("only in B: %s (%d bytes)" % (r, os.path.getsize(fb[r])))
    same = 0
    for r in sorted(set(fa) & set(fb)):
        d = first_diff(fa[r], fb[r])
        if d is None:
            same += 1
            continue
        off, sa, sb = d
        msg = "%s: first difference at byte %d (sizes %d vs %d)" % (r, off, sa, sb)
        if off < sa and off < sb:
            msg += "\n      A %s\n      B %s" % (cq_unit(fa[r], off), cq_unit(fb[r], off))
        diffs.append(msg)
    if not diffs:
        print("EQUAL: %d files identical under %s and %s" % (same, a, b))
        return 0
    print("DIFFERENT: %d difference(s) (%d files identical)" % (len(diffs), same))
    for d in diffs[:max_diffs]:
        print("  " + d)
    if len(diffs) > max_diffs:
        print("  ... %d more" % (len(diffs) - max_diffs))
    return 1


# ---------------------------------------------------------------- index files

HEADER_FIELDS = ("beginTimestamp", "endTimestamp", "beginPhyOffset", "endPhyOffset", "hashSlotCount", "indexCount")


def read_header(raw):
    return dict(zip(HEADER_FIELDS, struct.unpack(">qqqqii", raw[:INDEX_HEADER])))


def index_files(p):
    if os.path.isdir(p):
        return [os.path.join(p, f) for f in sorted(os.listdir(p)) if os.path.isfile(os.path.join(p, f))]
    return [p]


def cmp_index_file(fa, fb, slots, max_index, diffs, max_diffs):
    expect = INDEX_HEADER + slots * 4 + max_index * 20
    sizes = (os.path.getsize(fa), os.path.getsize(fb))
    for f, s in zip((fa, fb), sizes):
        if s != expect:
            diffs.append("%s: size %d, expected %d for %d slots / %d entries" % (f, s, expect, slots, max_index))
    with open(fa, "rb") as a, open(fb, "rb") as b:
        ha, hb = read_header(a.read(INDEX_HEADER)), read_header(b.read(INDEX_HEADER))
        for k in HEADER_FIELDS:
            if ha[k] != hb[k]:
                diffs.append("header %s: A=%d B=%d" % (k, ha[k], hb[k]))
        if all(v == 0 for v in ha.values()):
            diffs.append("note: A header is all zero (never flushed?)")
        if all(v == 0 for v in hb.values()):
            diffs.append("note: B header is all zero (never flushed?)")
        # Hash slots, compared in 1 MiB chunks.
        chunk = 1 << 18  # slots per chunk
        done = 0
        reported = 0
        while done < slots:
            n = min(chunk, slots - done)
            x, y = a.read(n * 4), b.read(n * 4)
            if x != y:
                for i in range(0, min(len(x), len(y)), 4):
                    if x[i:i + 4] != y[i:i + 4]:
                        if reported < max_diffs:
                            diffs.append("slot %d: A=%d B=%d" % (
                                done + i // 4, struct.unpack(">i", x[i:i + 4])[0], struct.unpack(">i", y[i:i + 4])[0]))
                        reported += 1
                if len(x) != len(y):
                    diffs.append("slot area truncated near slot %d" % done)
                    break
            done += n
        if reported > max_diffs:
            diffs.append("... %d differing slots in total" % reported)
        # Entries 1 .. max(indexCount)-1 (entry 0 is never used; indexCount starts at 1).
        count = max(ha["indexCount"], hb["indexCount"])
        if count <= 1:
            # Header not written: compare entries until both files show an all-zero entry.
            count = max_index
        base = INDEX_HEADER + slots * 4
        a.seek(base)
        b.seek(base)
        reported = 0
        zero = b"\0" * 20
        n_cmp = 0
        for e in range(count):
            x, y = a.read(20), b.read(20)
            if e >= 1 and x == zero and y == zero and (ha["indexCount"] <= 1 and hb["indexCount"] <= 1):
                break
            n_cmp += 1
            if x != y:
                if reported < max_diffs:
                    fx = struct.unpack(">iqii", x) if len(x) == 20 else None
                    fy = struct.unpack(">iqii", y) if len(y) == 20 else None
                    diffs.append("entry %d (keyHash, phyOffset, timeDiff, prevIndex): A=%s B=%s" % (e, fx, fy))
                reported += 1
        if reported > max_diffs:
            diffs.append("... %d differing entries in total" % reported)
    return ha, hb, n_cmp


def cmp_index(a, b, slots, max_index, max_diffs):
    la, lb = index_files(a), index_files(b)
    if not la or not lb:
        die("no index files in %s or %s" % (a, b))
    rc = 0
    if len(la) != len(lb):
        print("DIFFERENT: %d index file(s) in A, %d in B" % (len(la), len(lb)))
        rc = 1
    for fa, fb in zip(la, lb):
        diffs = []
        ha, hb, n = cmp_index_file(fa, fb, slots, max_index, diffs, max_diffs)
        real = [d for d in diffs if not d.startswith("note:")]
        label = "%s vs %s" % (fa, fb)
        if not real:
            print("EQUAL: %s: header %s, %d slots, %d entries compared" % (label, ha, slots, n))
            for d in diffs:
                print("  " + d)
        else:
            rc = 1
            print("DIFFERENT: %s" % label)
            print("  A header %s" % ha)
            print("  B header %s" % hb)
            for d in diffs[:max_diffs * 3]:
                print("  " + d)
    return rc


# ---------------------------------------------------------------- describe


def describe(root):
    if not os.path.isdir(root):
        die("not a directory: " + root)
    print("store %s" % root)
    print("  top level: %s" % " ".join(sorted(os.listdir(root))))
    for f in ("abort", "lock"):
        p = os.path.join(root, f)
        if os.path.exists(p):
            with open(p, "rb") as fh:
                data = fh.read(64)
            print("  %s: present, %d bytes, content %r" % (f, os.path.getsize(p), data))
        else:
            print("  %s: absent" % f)
    cp = os.path.join(root, "checkpoint")
    if os.path.exists(cp):
        with open(cp, "rb") as fh:
            raw = fh.read(40)
        raw += b"\0" * (40 - len(raw))
        v = struct.unpack(">qqqqq", raw)
        print("  checkpoint: %d bytes; physicMsgTimestamp=%d logicsMsgTimestamp=%d indexMsgTimestamp=%d "
              "masterFlushedOffset=%d confirmPhyOffset=%d" % ((os.path.getsize(cp),) + v))
    cfg = os.path.join(root, "config")
    if os.path.isdir(cfg):
        print("  config/: %s" % " ".join("%s(%d)" % (f, os.path.getsize(os.path.join(cfg, f)))
                                        for f in sorted(os.listdir(cfg))))
    cl = os.path.join(root, "commitlog")
    if os.path.isdir(cl):
        files = sorted(os.listdir(cl))
        sizes = sorted(set(os.path.getsize(os.path.join(cl, f)) for f in files))
        print("  commitlog: %d files (%s .. %s), sizes %s" % (len(files), files[0] if files else "-",
                                                           files[-1] if files else "-", sizes))
        blanks = 0
        magics = {}
        names = {0xDAA320A7: "V1", 0xDAA320AB: "V2"}
        for f in files:
            with open(os.path.join(cl, f), "rb") as fh:
                data = fh.read()
            pos = 0
            while pos + 8 <= len(data):
                size, magic = struct.unpack(">iI", data[pos:pos + 8])
                if magic == 0xCBD43194:
                    blanks += 1
                    break
                if size <= 0 or magic not in names:
                    break
                magics[names[magic]] = magics.get(names[magic], 0) + 1
                pos += size
        print("  commitlog: records by magic %s; %d file(s) end with a BLANK filler" % (
            " ".join("%s=%d" % kv for kv in sorted(magics.items())), blanks))
    cq = os.path.join(root, "consumequeue")
    if os.path.isdir(cq):
        for topic in sorted(os.listdir(cq)):
            parts = []
            for q in sorted(os.listdir(os.path.join(cq, topic)), key=lambda s: (len(s), s)):
                qd = os.path.join(cq, topic, q)
                for f in sorted(os.listdir(qd)):
                    p = os.path.join(qd, f)
                    with open(p, "rb") as fh:
                        data = fh.read()
                    units = 0
                    for u in range(0, len(data) - CQ_UNIT + 1, CQ_UNIT):
                        phy, size, _ = struct.unpack(">qiq", data[u:u + CQ_UNIT])
                        if phy < 0 or size <= 0:
                            break
                        units += 1
                    parts.append("%s/%s:%d bytes,%d units" % (q, f, len(data), units))
            print("  consumequeue/%s: %s" % (topic if len(topic) <= 60 else topic[:40] + "...(%d chars)" % len(topic),
                                            "; ".join(parts)))
    idx = os.path.join(root, "index")
    if os.path.isdir(idx):
        for f in sorted(os.listdir(idx)):
            p = os.path.join(idx, f)
            with open(p, "rb") as fh:
                h = read_header(fh.read(INDEX_HEADER))
            st = os.stat(p)
            print("  index/%s: %d bytes (%d KiB allocated), header %s" % (
                f, st.st_size, st.st_blocks // 2, h))
    return 0


def main(argv):
    args = list(argv)
    max_diffs = 20
    ignore, ignore_props = set(), set()
    slots, max_index = 5000000, 20000000
    mode = "jsonl"
    pos = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-h", "--help"):
            print(__doc__)
            return 0
        if a in ("--cmp-dirs", "--cmp-index", "--describe"):
            mode = a[2:]
        elif a in ("--ignore", "--ignore-prop", "--max-diffs", "--slots", "--max-index"):
            if i + 1 >= len(args):
                die(a + " needs a value")
            v = args[i + 1]
            i += 1
            if a == "--ignore":
                ignore.add(v)
            elif a == "--ignore-prop":
                ignore_props.add(v)
            elif a == "--max-diffs":
                max_diffs = int(v)
            elif a == "--slots":
                slots = int(v)
            else:
                max_index = int(v)
        elif a.startswith("--"):
            die("unknown option " + a + " (see --help)")
        else:
            pos.append(a)
        i += 1
    if mode == "describe":
        if len(pos) != 1:
            die("--describe takes one store root")
        return describe(pos[0])
    if len(pos) != 2:
        die("need exactly two inputs (see --help)")
    if mode == "jsonl":
        return cmp_jsonl(pos[0], pos[1], ignore, ignore_props, max_diffs)
    if mode == "cmp-dirs":
        return cmp_dirs(pos[0], pos[1], max_diffs)
    return cmp_index(pos[0], pos[1], slots, max_index, max_diffs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
