#!/usr/bin/env python3
"""Extract RocketMQ remoting frames from a classic libpcap file (standard library only).

Companion of record_proxy.py for traffic that cannot be proxied (client -> broker,
because clients dial the address the broker registers).  Capture e.g. with

    tcpdump -i lo -U -s 0 -w br.pcap 'tcp port 39911'

then

    pcap_frames.py br.pcap --server-port 39911 > br_frames.jsonl

Supports link types EN10MB (1, what tcpdump uses on Linux loopback), LINUX_SLL (113),
LINUX_SLL2 (276), RAW (101) and NULL/LOOP (0); IPv4 and IPv6; TCP only.  Each
direction of each connection is reassembled by sequence number (retransmissions and
overlaps are dropped), then split into frames [u32 BE total_len][total_len bytes].
Output: one JSON object per frame, same shape as record_proxy.py's log
("dir" is c2s when the destination port is --server-port).
"""
import argparse
import json
import struct
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from record_proxy import decode_header  # noqa: E402


def packets(path):
    with open(path, "rb") as f:
        gh = f.read(24)
        magic = gh[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            e = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = ">"
        else:
            raise SystemExit("not a classic pcap file (pcapng unsupported; use tcpdump -w)")
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(e + "I", gh[20:24])[0]
        while True:
            ph = f.read(16)
            if len(ph) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(e + "IIII", ph)
            data = f.read(incl)
            yield sec + frac / (1e9 if nano else 1e6), linktype, data


def l3(linktype, d):
    if linktype == 1:  # Ethernet
        et, off = struct.unpack(">H", d[12:14])[0], 14
        while et == 0x8100:
            et, off = struct.unpack(">H", d[off + 2:off + 4])[0], off + 4
        return et, d[off:]
    if linktype == 113:
        return struct.unpack(">H", d[14:16])[0], d[16:]
    if linktype == 276:
        return struct.unpack(">H", d[0:2])[0], d[20:]
    if linktype == 101:
        return (0x0800 if d[0] >> 4 == 4 else 0x86DD), d
    if linktype == 0:
        return (0x0800 if d[4] >> 4 == 4 else 0x86DD), d[4:]
    raise SystemExit(f"unsupported link type {linktype}")


def tcp_segments(path):
    for ts, lt, d in packets(path):
        et, p = l3(lt, d)
        if et == 0x0800:
            ihl = (p[0] & 0x0F) * 4
            total = struct.unpack(">H", p[2:4])[0]
            if p[9] != 6:
                continue
            src, dst = ".".join(map(str, p[12:16])), ".".join(map(str, p[16:20]))
            t = p[ihl:total]
        elif et == 0x86DD:
            if p[6] != 6:
                continue
            plen = struct.unpack(">H", p[4:6])[0]
            import ipaddress
            src, dst = str(ipaddress.IPv6Address(p[8:24])), str(ipaddress.IPv6Address(p[24:40]))
            t = p[40:40 + plen]
        else:
            continue
        sport, dport, seq = struct.unpack(">HHI", t[:8])
        doff = (t[12] >> 4) * 4
        flags = t[13]
        yield ts, (src, sport), (dst, dport), seq, flags, t[doff:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pcap")
    ap.add_argument("--server-port", type=int, required=True)
    args = ap.parse_args()

    flows = {}  # (src, dst) -> state
    conn_ids = {}
    out = []
    for ts, src, dst, seq, flags, payload in tcp_segments(args.pcap):
        key = (src, dst)
        client = src if dst[1] == args.server_port else dst
        server = dst if dst[1] == args.server_port else src
        if dst[1] != args.server_port and src[1] != args.server_port:
            continue
        ck = (client, server)
        if ck not in conn_ids or (flags & 0x02 and not flags & 0x10 and key in flows and flows[key].get("done")):
            conn_ids[ck] = len(conn_ids) + 1
        st = flows.setdefault(key, {"next": None, "buf": bytearray(), "seq": 0})
        if flags & 0x02:  # SYN: initial sequence number
            st.update(next=(seq + 1) & 0xFFFFFFFF, buf=bytearray(), seq=0)
            continue
        if not payload or st["next"] is None:
            continue
        rel = (seq - st["next"]) & 0xFFFFFFFF
        if rel >= 0x80000000:  # old data (retransmission / overlap)
            skip = (st["next"] - seq) & 0xFFFFFFFF
            if skip >= len(payload):
                continue
            payload = payload[skip:]
        elif rel != 0:
            print(f"gap in {key}: missing {rel} bytes", file=sys.stderr)
            st["next"] = seq
        st["next"] = (st["next"] + len(payload)) & 0xFFFFFFFF
        st["buf"] += payload
        direction = "c2s" if dst[1] == args.server_port else "s2c"
        while len(st["buf"]) >= 4:
            n = struct.unpack(">I", st["buf"][:4])[0]
            if len(st["buf"]) < 4 + n:
                break
            frame = bytes(st["buf"][:4 + n])
            del st["buf"][:4 + n]
            rec = {"ts": round(ts, 6), "conn": conn_ids[ck], "dir": direction,
                   "peer": "%s:%d" % client, "seq": st["seq"], "len": len(frame)}
            rec.update(decode_header(frame))
            rec["hex"] = frame.hex()
            st["seq"] += 1
            out.append(rec)
    for r in out:
        print(json.dumps(r, separators=(",", ":")))
    for key, st in flows.items():
        if st["buf"]:
            print(f"{key}: {len(st['buf'])} trailing bytes not a full frame", file=sys.stderr)


if __name__ == "__main__":
    main()
