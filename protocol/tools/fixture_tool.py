#!/usr/bin/env python3
"""Write, decode and check golden RocketMQ frame fixtures (standard library only).

Fixture format (protocol/fixtures/<name>.hex):
  * lines starting with '#' are comments (provenance);
  * every other line is lowercase hex; whitespace is ignored;
  * the bytes are ONE complete remoting frame, including the leading 4-byte
    big-endian total-length field (total_len = file bytes - 4).

Sub-commands
  extract  --log LOG.jsonl --conn N --dir c2s|s2c --seq N --out NAME.hex
           [--expect-code C] [--comment LINE ...]
           copy one frame from a record_proxy.py / pcap_frames.py log into a
           fixture and write the sidecar NAME.txt (decoded header).
  decode   FILE.hex ...     print the decoded header of fixtures.
  sidecar  FILE.hex ...     (re)write NAME.txt next to each fixture.
  check    DIR              validate every *.hex in DIR; non-zero exit on error.
"""
import argparse
import glob
import json
import os
import struct
import sys

SERIALIZE = {0: "JSON", 1: "ROCKETMQ"}
LANG = {0: "JAVA", 1: "CPP", 2: "DOTNET", 3: "PYTHON", 4: "DELPHI", 5: "ERLANG", 6: "RUBY",
        7: "OTHER", 8: "HTTP", 9: "GO", 10: "PHP", 11: "OMS", 12: "RUST", 13: "NODE_JS"}


def read_fixture(path):
    hexchars = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            hexchars.append("".join(line.split()))
    s = "".join(hexchars)
    if s != s.lower():
        raise ValueError("hex must be lowercase")
    return bytes.fromhex(s)


def split_frame(frame):
    """Return (serialize_type, header_bytes, body_bytes); raise on malformed frame."""
    if len(frame) < 8:
        raise ValueError("frame shorter than 8 bytes")
    total = struct.unpack(">I", frame[:4])[0]
    if total != len(frame) - 4:
        raise ValueError(f"length field {total} != bytes after it {len(frame) - 4}")
    x = struct.unpack(">I", frame[4:8])[0]
    stype, hlen = x >> 24, x & 0xFFFFFF
    if hlen > total - 4:
        raise ValueError(f"header length {hlen} exceeds frame ({total - 4} available)")
    if stype not in SERIALIZE:
        raise ValueError(f"unknown serialize type {stype}")
    return stype, frame[8:8 + hlen], frame[8 + hlen:]


def decode_rocketmq_header(h):
    """Decode the ROCKETMQ binary header into an ordered dict-like structure."""
    if len(h) < 21:
        raise ValueError("binary header shorter than 21 bytes")
    code, lang, ver, opaque, flag = struct.unpack(">hBhii", h[:13])
    p = 13
    rlen = struct.unpack(">i", h[p:p + 4])[0]
    p += 4
    if rlen < 0 or p + rlen > len(h):
        raise ValueError("bad remark length")
    remark = h[p:p + rlen].decode("utf-8") if rlen else None
    p += rlen
    elen = struct.unpack(">i", h[p:p + 4])[0]
    p += 4
    if elen < 0 or p + elen != len(h):
        raise ValueError(f"ext length {elen} does not end at header end")
    ext = []
    end = p + elen
    while p < end:
        kl = struct.unpack(">h", h[p:p + 2])[0]
        p += 2
        k = h[p:p + kl].decode("utf-8")
        p += kl
        vl = struct.unpack(">i", h[p:p + 4])[0]
        p += 4
        v = h[p:p + vl].decode("utf-8")
        p += vl
        ext.append((k, v))
    if p != end:
        raise ValueError("ext section overrun")
    return {"code": code, "language": LANG.get(lang, lang), "language_byte": lang, "version": ver,
            "opaque": opaque, "flag": flag, "remark_len": rlen, "remark": remark,
            "ext_len": elen, "ext": ext}


def describe(frame):
    stype, h, body = split_frame(frame)
    lines = [f"total_len field: {len(frame) - 4} (frame bytes incl. length field: {len(frame)})",
             f"serialize type: {stype} ({SERIALIZE[stype]})",
             f"header_len: {len(h)}",
             f"body_len: {len(body)}"]
    if stype == 0:
        obj = json.loads(h.decode("utf-8"))
        lines.append("header (JSON text exactly as on the wire):")
        lines.append(h.decode("utf-8"))
        lines.append("header keys in wire order: " + ", ".join(obj.keys()))
        if isinstance(obj.get("extFields"), dict):
            lines.append("extFields keys in wire order: " + ", ".join(obj["extFields"].keys()))
    else:
        d = decode_rocketmq_header(h)
        lines.append("header (ROCKETMQ binary, decoded):")
        for k in ("code", "language", "language_byte", "version", "opaque", "flag", "remark_len", "remark", "ext_len"):
            lines.append(f"  {k}: {d[k]!r}")
        lines.append("  ext entries in wire order:")
        for k, v in d["ext"]:
            lines.append(f"    {k!r}: {v!r}")
    return lines


def write_fixture(path, frame, comments):
    with open(path, "w") as f:
        for c in comments:
            f.write("# " + c + "\n" if c else "#\n")
        hx = frame.hex()
        for i in range(0, len(hx), 64):
            f.write(hx[i:i + 64] + "\n")


def write_sidecar(path):
    frame = read_fixture(path)
    name = os.path.basename(path)
    txt = os.path.splitext(path)[0] + ".txt"
    with open(txt, "w") as f:
        f.write(f"Decoded header of {name} (generated by protocol/tools/fixture_tool.py sidecar)\n")
        f.write("\n".join(describe(frame)) + "\n")


def cmd_extract(a):
    rec = None
    with open(a.log) as f:
        for line in f:
            r = json.loads(line)
            if r.get("conn") == a.conn and r.get("dir") == a.dir and r.get("seq") == a.seq and "hex" in r:
                rec = r
                break
    if rec is None:
        sys.exit(f"frame conn={a.conn} dir={a.dir} seq={a.seq} not found in {a.log}")
    frame = bytes.fromhex(rec["hex"])
    if a.expect_code is not None and rec.get("code") != a.expect_code:
        sys.exit(f"expected code {a.expect_code}, got {rec.get('code')}")
    split_frame(frame)
    write_fixture(a.out, frame, a.comment or [])
    write_sidecar(a.out)
    print(f"wrote {a.out} ({len(frame)} bytes)")


def cmd_check(a):
    bad = 0
    files = sorted(glob.glob(os.path.join(a.dir, "*.hex")))
    for p in files:
        try:
            frame = read_fixture(p)
            stype, h, body = split_frame(frame)
            if stype == 0:
                obj = json.loads(h.decode("utf-8"))
                for k in ("code", "flag", "language", "opaque", "version"):
                    if k not in obj:
                        raise ValueError(f"JSON header lacks {k}")
                code, flag = obj["code"], obj["flag"]
            else:
                d = decode_rocketmq_header(h)
                code, flag = d["code"], d["flag"]
            with open(p) as f:
                if not f.readline().startswith("#"):
                    raise ValueError("no provenance comment at top")
            print(f"OK   {os.path.basename(p)}: {len(frame)} bytes, {SERIALIZE[stype]}, "
                  f"code={code} flag={flag} header={len(h)} body={len(body)}")
        except Exception as exc:
            bad += 1
            print(f"FAIL {os.path.basename(p)}: {exc}")
    print(f"{len(files) - bad}/{len(files)} fixtures OK")
    sys.exit(1 if bad or not files else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--log", required=True)
    e.add_argument("--conn", type=int, required=True)
    e.add_argument("--dir", choices=("c2s", "s2c"), required=True)
    e.add_argument("--seq", type=int, required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--expect-code", type=int)
    e.add_argument("--comment", action="append")
    d = sub.add_parser("decode")
    d.add_argument("files", nargs="+")
    s = sub.add_parser("sidecar")
    s.add_argument("files", nargs="+")
    c = sub.add_parser("check")
    c.add_argument("dir")
    a = ap.parse_args()
    if a.cmd == "extract":
        cmd_extract(a)
    elif a.cmd == "decode":
        for p in a.files:
            print("== " + p)
            print("\n".join(describe(read_fixture(p))))
    elif a.cmd == "sidecar":
        for p in a.files:
            write_sidecar(p)
    else:
        cmd_check(a)


if __name__ == "__main__":
    main()
