#!/usr/bin/env python3
"""Recording TCP proxy for RocketMQ remoting traffic (standard library only).

Sits between a peer and a real server, forwards bytes unchanged in both
directions, and in parallel splits each direction's byte stream into RocketMQ
remoting frames:

    [total_len: u32 big-endian, does not count itself][total_len bytes]

Every complete frame (including its 4-byte length prefix) is appended to a
JSON-lines log, one object per frame:

    {"ts": 1700000000.123456, "conn": 3, "dir": "c2s" | "s2c",
     "peer": "127.0.0.1:54321", "seq": 0, "len": 245,
     "code": 105, "flag": 0, "opaque": 7, "stype": 0, "hex": "000000f1..."}

`code`/`flag`/`opaque` are best-effort decodes of the header (JSON or
ROCKETMQ binary); forwarding never depends on them.  Frames larger than
--max-frame are logged without "hex" (only their length) to bound log size.

Usage:
    record_proxy.py --listen 127.0.0.1:39876 --target 127.0.0.1:39877 \
                    --log /tmp/ns_frames.jsonl [--raw-dir DIR]

--raw-dir additionally dumps the raw byte stream of each connection/direction
(conn<N>.c2s.bin / conn<N>.s2c.bin) for debugging the splitter.
"""
import argparse
import asyncio
import json
import os
import struct
import sys
import time


def decode_header(frame: bytes):
    """Best-effort decode of code/flag/opaque from one frame (with length prefix)."""
    if len(frame) < 8:
        return {}
    hl_type = struct.unpack(">I", frame[4:8])[0]
    stype = (hl_type >> 24) & 0xFF
    hlen = hl_type & 0xFFFFFF
    header = frame[8:8 + hlen]
    out = {"stype": stype, "hlen": hlen}
    try:
        if stype == 0:
            obj = json.loads(header.decode("utf-8"))
            for k in ("code", "flag", "opaque"):
                if k in obj:
                    out[k] = obj[k]
        elif stype == 1 and len(header) >= 21:
            code, _lang, _ver, opaque, flag = struct.unpack(">hBhii", header[:13])
            out.update(code=code, flag=flag, opaque=opaque)
    except Exception as exc:  # never let decoding break recording
        out["decode_error"] = repr(exc)
    return out


class Recorder:
    def __init__(self, log_path, raw_dir, max_frame):
        self.log = open(log_path, "a", buffering=1)
        self.raw_dir = raw_dir
        self.max_frame = max_frame
        self.next_conn = 0

    def new_conn(self):
        self.next_conn += 1
        return self.next_conn

    def write(self, rec):
        self.log.write(json.dumps(rec, separators=(",", ":")) + "\n")


class Splitter:
    """Accumulates one direction of one connection and emits whole frames."""

    def __init__(self, rec: Recorder, conn: int, direction: str, peer: str):
        self.rec, self.conn, self.dir, self.peer = rec, conn, direction, peer
        self.buf = bytearray()
        self.seq = 0
        self.raw = None
        if rec.raw_dir:
            self.raw = open(os.path.join(rec.raw_dir, f"conn{conn}.{direction}.bin"), "ab")

    def feed(self, data: bytes):
        if self.raw:
            self.raw.write(data)
            self.raw.flush()
        self.buf += data
        while len(self.buf) >= 4:
            total = struct.unpack(">I", self.buf[:4])[0]
            if len(self.buf) < 4 + total:
                break
            frame = bytes(self.buf[:4 + total])
            del self.buf[:4 + total]
            rec = {"ts": round(time.time(), 6), "conn": self.conn, "dir": self.dir,
                   "peer": self.peer, "seq": self.seq, "len": len(frame)}
            rec.update(decode_header(frame))
            if len(frame) <= self.rec.max_frame:
                rec["hex"] = frame.hex()
            self.rec.write(rec)
            self.seq += 1

    def close(self):
        if self.buf:
            self.rec.write({"ts": round(time.time(), 6), "conn": self.conn, "dir": self.dir,
                            "peer": self.peer, "leftover_bytes": len(self.buf),
                            "hex": bytes(self.buf[:4096]).hex()})
        if self.raw:
            self.raw.close()


async def pump(reader, writer, splitter):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            try:
                splitter.feed(data)
            except Exception as exc:
                print(f"splitter error: {exc!r}", file=sys.stderr)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        splitter.close()
        try:
            writer.close()
        except Exception:
            pass


async def handle(rec, target, c_reader, c_writer):
    peer = "%s:%s" % c_writer.get_extra_info("peername")[:2]
    conn = rec.new_conn()
    try:
        s_reader, s_writer = await asyncio.open_connection(*target)
    except OSError as exc:
        rec.write({"ts": time.time(), "conn": conn, "event": "connect_failed", "error": repr(exc)})
        c_writer.close()
        return
    rec.write({"ts": round(time.time(), 6), "conn": conn, "event": "open", "peer": peer})
    await asyncio.gather(
        pump(c_reader, s_writer, Splitter(rec, conn, "c2s", peer)),
        pump(s_reader, c_writer, Splitter(rec, conn, "s2c", peer)),
    )
    rec.write({"ts": round(time.time(), 6), "conn": conn, "event": "close"})


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True, type=hostport)
    ap.add_argument("--target", required=True, type=hostport)
    ap.add_argument("--log", required=True)
    ap.add_argument("--raw-dir")
    ap.add_argument("--max-frame", type=int, default=4 * 1024 * 1024)
    args = ap.parse_args()
    if args.raw_dir:
        os.makedirs(args.raw_dir, exist_ok=True)
    rec = Recorder(args.log, args.raw_dir, args.max_frame)
    server = await asyncio.start_server(lambda r, w: handle(rec, args.target, r, w), *args.listen)
    print(f"record_proxy listening on {args.listen} -> {args.target}, log {args.log}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
