#!/usr/bin/env python3
"""Hostile-client measurement harness for a RocketMQ name server / broker (Python 3 stdlib only).

Speaks the RocketMQ remoting protocol directly:

    frame  = [u32 BE total length, excluding itself]
             [u32 BE: serializeType << 24 | headerLen]     serializeType 0 = JSON, 1 = ROCKETMQ
             [header: JSON object, or the ROCKETMQ binary layout]
             [body]
    ROCKETMQ header = code i16 | language u8 | version i16 | opaque i32 | flag i32
                      | remark_len i32 + remark | ext_len i32 + { key_len i16 key | val_len i32 val }*
    A response has flag bit 0 set and echoes the request's opaque.

Every scenario only talks to 127.0.0.1, is bounded in count and in time, prints its figures as it
goes and, with --out FILE --label NAME, merges them into a JSON file (run.sh turns that file into
the Markdown tables of RESULTS.md; `table` and `compare` do the formatting).

Scenarios (what each one shows):

  bigheader   Two connections each send ONE frame whose header carries 100,000 junk extFields keys
              (~1.2 MB, no body) while a third connection sends a normal small request every 10 ms.
              Shows whether decoding a huge header is bounded/rejected, and whether it stalls other
              clients (head-of-line blocking on shared threads, quadratic parsing, big allocations).
  trickle     Opens N connections that each send one byte of a valid frame, then one more byte every
              20 s (a slowloris), then tries 8 fresh clients (send + GET_MAX_OFFSET).
              Shows whether idle-but-not-quite connections can exhaust the server's connection
              slots / fds / tasks and lock out legitimate clients.
  unfinished  Opens M connections that each declare a ~16 MiB frame and send all of it but the last
              byte. Samples the server's RSS every second and probes it with fresh clients.
              Shows whether the server pre-allocates or buffers unbounded partial frames (memory
              amplification: M x 16 MiB) and whether it survives / stays responsive.
  topicflood  16 threads auto-create distinct topics by sending to new topic names (defaultTopic
              TBW102). Shows topic-creation throughput as the table grows (O(n) persistence per
              create gives a falling rate) and, with `topiccount` after a SIGTERM + restart driven by
              run.sh, whether every created topic was persisted.

Helpers: probe (one request), topiccount (count survivors in topics.json and/or via
GET_ALL_TOPIC_CONFIG), record (store key=value facts), table / compare (Markdown).
"""

import argparse
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
import uuid

HOST = "127.0.0.1"  # never anything else
VERSION = 479
LANG_JAVA = 0

CODE_SEND_MESSAGE_V2 = 310
CODE_GET_MAX_OFFSET = 30
CODE_GET_ALL_TOPIC_CONFIG = 21
CODE_GET_ROUTEINFO_BY_TOPIC = 105


# ----------------------------------------------------------------------------- protocol

def ext_bytes_rocketmq(ext):
    """ROCKETMQ binary encoding of extFields: { key_len i16 key | val_len i32 val }*."""
    out = bytearray()
    for k, v in ext.items():
        kb, vb = k.encode(), v.encode()
        out += struct.pack(">h", len(kb)) + kb + struct.pack(">i", len(vb)) + vb
    return bytes(out)


def encode_header(code, ext, opaque, flag=0, serialize="json"):
    if serialize == "json":
        h = {"code": code, "extFields": ext, "flag": flag, "language": "JAVA", "opaque": opaque,
             "serializeTypeCurrentRPC": "JSON", "version": VERSION}
        return 0, json.dumps(h, separators=(",", ":")).encode()
    eb = ext_bytes_rocketmq(ext)
    hb = struct.pack(">hBhii", code, LANG_JAVA, VERSION, opaque, flag) + struct.pack(">i", 0) \
        + struct.pack(">i", len(eb)) + eb
    return 1, hb


def encode_frame(code, ext, opaque, body=b"", flag=0, serialize="json"):
    st, hb = encode_header(code, ext, opaque, flag, serialize)
    if len(hb) > 0xFFFFFF:
        raise ValueError("header longer than 24 bits")
    return struct.pack(">II", 4 + len(hb) + len(body), (st << 24) | len(hb)) + hb + body


class Response:
    __slots__ = ("code", "opaque", "flag", "remark", "ext", "body", "size", "serialize")

    def __repr__(self):
        return "code=%s remark=%r" % (self.code, short(self.remark))


def short(s, n=160):
    if s is None:
        return None
    s = str(s)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def decode_payload(payload):
    """payload = everything after the 4-byte length prefix."""
    r = Response()
    r.size = len(payload) + 4
    word = struct.unpack(">I", payload[:4])[0]
    st, hl = word >> 24, word & 0xFFFFFF
    hb = payload[4:4 + hl]
    r.body = payload[4 + hl:]
    r.serialize = st
    if st == 0:
        h = json.loads(hb.decode("utf-8", "replace"))
        r.code, r.opaque, r.flag = h.get("code"), h.get("opaque"), h.get("flag", 0)
        r.remark, r.ext = h.get("remark"), h.get("extFields") or {}
    else:
        r.code, _lang, _ver, r.opaque, r.flag = struct.unpack(">hBhii", hb[:13])
        p = 13
        rl = struct.unpack(">i", hb[p:p + 4])[0]
        p += 4
        r.remark = hb[p:p + rl].decode("utf-8", "replace") if rl > 0 else None
        p += max(rl, 0)
        el = struct.unpack(">i", hb[p:p + 4])[0]
        p += 4
        end, ext = p + max(el, 0), {}
        while p < end:
            kl = struct.unpack(">h", hb[p:p + 2])[0]
            k = hb[p + 2:p + 2 + kl].decode("utf-8", "replace")
            p += 2 + kl
            vl = struct.unpack(">i", hb[p:p + 4])[0]
            ext[k] = hb[p + 4:p + 4 + vl].decode("utf-8", "replace")
            p += 4 + vl
        r.ext = ext
    return r


class Closed(Exception):
    """The peer closed (or reset) the connection."""


class Timeout(Exception):
    pass


class Conn:
    """One blocking client connection with sequential request/response."""

    _opaque = 1
    _lock = threading.Lock()

    def __init__(self, port, connect_timeout=3.0):
        self.sock = socket.create_connection((HOST, port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    @classmethod
    def next_opaque(cls):
        with cls._lock:
            cls._opaque += 1
            return cls._opaque

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data, timeout=10.0):
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise Timeout("send timed out")
        except OSError as e:
            raise Closed("send: %s" % e)

    def read_frame(self, deadline):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    payload = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    return decode_payload(payload)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no response")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                raise Timeout("no response")
            except OSError as e:
                raise Closed("recv: %s" % e)
            if not chunk:
                raise Closed("EOF")
            self.buf += chunk

    def call(self, code, ext, body=b"", timeout=3.0, serialize="json"):
        """Send one request, wait for the response with its opaque. Returns (Response, seconds)."""
        opaque = self.next_opaque()
        frame = encode_frame(code, ext, opaque, body, serialize=serialize)
        t0 = time.monotonic()
        deadline = t0 + timeout
        self.send(frame, timeout)
        while True:
            r = self.read_frame(deadline)
            if r.opaque == opaque and (r.flag or 0) & 1:
                return r, time.monotonic() - t0
            # anything else (a server-initiated request, a late answer) is ignored


def one_call(port, code, ext, body=b"", timeout=3.0):
    """Fresh connection, one request. Returns (ok, seconds, Response|None, error|None)."""
    t0 = time.monotonic()
    try:
        c = Conn(port, connect_timeout=timeout)
    except OSError as e:
        return False, time.monotonic() - t0, None, "connect: %s" % e
    try:
        left = max(0.1, timeout - (time.monotonic() - t0))
        r, _ = c.call(code, ext, body, timeout=left)
        return True, time.monotonic() - t0, r, None
    except (Closed, Timeout) as e:
        return False, time.monotonic() - t0, None, "%s: %s" % (type(e).__name__, e)
    finally:
        c.close()


def send_message_ext(topic, group="hardening_pg", default_topic="TBW102", queue_id=0):
    """SEND_MESSAGE_V2 header (SendMessageRequestHeaderV2 single-letter keys)."""
    props = "UNIQ_KEY\x01%s\x02WAIT\x01true\x02" % uuid.uuid4().hex.upper()
    return {"a": group, "b": topic, "c": default_topic, "d": "4", "e": str(queue_id), "f": "0",
            "g": str(int(time.time() * 1000)), "h": "0", "i": props, "j": "0", "k": "false",
            "l": "16", "m": "false"}


# ----------------------------------------------------------------------------- measurement helpers

def pct(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ms(x):
    return None if x is None else round(x * 1000.0, 1)


def proc_status(pid):
    """(VmRSS KiB, VmHWM KiB) of a process, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            d = {}
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "State"):
                    d[k] = v.strip()
        if d.get("State", "").startswith("Z"):
            return None
        return int(d["VmRSS"].split()[0]), int(d["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


def cpu_secs(pid):
    """utime + stime of a process in seconds (None if it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def socket_fds(pid):
    """Number of socket file descriptors the process holds (None if unreadable)."""
    try:
        n = 0
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                    n += 1
            except OSError:
                pass
        return n
    except OSError:
        return None


class RssSampler(threading.Thread):
    """Samples VmRSS/VmHWM of `pid` every `interval` s until stopped (bounded by max_secs)."""

    def __init__(self, pid, interval=1.0, max_secs=600, verbose=False):
        super().__init__(daemon=True)
        self.pid, self.interval, self.max_secs, self.verbose = pid, interval, max_secs, verbose
        self.samples = []  # (t, rss_kib, hwm_kib)
        self.died_at = None
        self.stop_ev = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        if not self.pid:
            return
        end = self.t0 + self.max_secs
        while not self.stop_ev.is_set() and time.monotonic() < end:
            s = proc_status(self.pid)
            t = time.monotonic() - self.t0
            if s is None:
                self.died_at = t
                print("  [rss] t=%5.1fs process %d is gone" % (t, self.pid), flush=True)
                return
            self.samples.append((t, s[0], s[1]))
            if self.verbose:
                print("  [rss] t=%5.1fs VmRSS=%d MiB VmHWM=%d MiB" % (t, s[0] // 1024, s[1] // 1024),
                      flush=True)
            self.stop_ev.wait(self.interval)

    def stop(self):
        self.stop_ev.set()
        self.join(5)

    def peak_mib(self):
        return round(max(s[1] for s in self.samples) / 1024) if self.samples else None

    def hwm_mib(self):
        return round(self.samples[-1][2] / 1024) if self.samples else None

    def first_mib(self):
        return round(self.samples[0][1] / 1024) if self.samples else None

    def last_mib(self):
        return round(self.samples[-1][1] / 1024) if self.samples else None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


# ----------------------------------------------------------------------------- results file

def save(args, metrics):
    """Print the metrics and merge them into --out under --label (an ordered dict of name -> value)."""
    print("RESULT %s" % args.label)
    for k, v in metrics.items():
        print("  %-58s %s" % (k, v))
    if not args.out:
        return
    data = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            data = json.load(f)
    sect = data.setdefault(args.label, {})
    sect.update(metrics)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, args.out)


def parse_ext(items):
    ext = {}
    for it in items or []:
        k, _, v = it.partition("=")
        ext[k] = v
    return ext


# ----------------------------------------------------------------------------- scenario: probe

def cmd_probe(args):
    """One request on a fresh connection; exit 0 if answered (any code), 1 otherwise."""
    ok, secs, r, err = one_call(args.port, args.code, parse_ext(args.ext), timeout=args.timeout)
    if ok:
        print("answered in %.1f ms: %r" % (secs * 1000, r))
        if args.want_code is not None and r.code != args.want_code:
            return 1
        return 0
    print("FAILED after %.1f ms: %s" % (secs * 1000, err))
    return 1


# ----------------------------------------------------------------------------- scenario: bigheader

def big_frame(code, base_ext, keys, serialize):
    ext = dict(base_ext)
    for i in range(1, keys + 1):
        ext["k%05d" % i] = "v"
    return encode_frame(code, ext, Conn.next_opaque(), serialize=serialize)


def small_loop(port, code, ext, period, stop_ev, deadline, out):
    """Send `code` every `period` s on one connection, sequentially; append (t, secs|None, err)."""
    c = None
    reconnects = 0
    nxt = time.monotonic()
    while not stop_ev.is_set() and time.monotonic() < deadline:
        now = time.monotonic()
        if now < nxt:
            time.sleep(nxt - now)
        nxt += period
        t = time.monotonic()
        try:
            if c is None:
                if reconnects > 50:
                    out.append((t, None, "gave up reconnecting"))
                    return
                reconnects += 1
                c = Conn(port, connect_timeout=3.0)
            r, secs = c.call(code, ext, timeout=5.0)
            out.append((t, secs, None if r.code is not None else "no code"))
        except (Closed, Timeout, OSError) as e:
            out.append((t, time.monotonic() - t, "%s: %s" % (type(e).__name__, e)))
            if c is not None:
                c.close()
            c = None
        if time.monotonic() > nxt + 1.0:  # fell behind by a whole second: resynchronise
            nxt = time.monotonic()
    if c:
        c.close()


def big_sender(port, frame, timeout, res, idx, t_base):
    """Send one huge frame; record when (and how) it was resolved."""
    r = {"conn": idx}
    res[idx] = r
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        c = Conn(port, connect_timeout=3.0)
    except OSError as e:
        r.update(outcome="connect failed: %s" % e, secs=0.0)
        return
    r["start"] = t0 - t_base
    try:
        c.send(frame, timeout=timeout)
        r["sent_secs"] = time.monotonic() - t0
        while True:
            resp = c.read_frame(deadline)
            if (resp.flag or 0) & 1:
                r.update(outcome="answered", code=resp.code, remark=short(resp.remark, 120),
                         resp_bytes=resp.size, resp_type=("JSON", "ROCKETMQ")[resp.serialize == 1],
                         secs=time.monotonic() - t0)
                break
    except Closed as e:
        r.update(outcome="closed by server (%s%s)" % ("during send, " if "sent_secs" not in r else "", e),
                 secs=time.monotonic() - t0)
    except Timeout:
        r.update(outcome="no answer within %d s" % timeout, secs=time.monotonic() - t0)
    finally:
        c.close()
    r["end"] = time.monotonic() - t_base


def cmd_bigheader(args):
    base = parse_ext(args.big_ext)
    small_ext = parse_ext(args.small_ext)
    frame = big_frame(args.big_code, base, args.keys, args.serialize)
    print("bigheader: %d connections x %s frame of %d bytes (%d junk extFields, code %d) to :%d; "
          "small code %d every %d ms" % (args.conns, args.serialize.upper(), len(frame), args.keys,
                                          args.big_code, args.port, args.small_code, args.period_ms),
          flush=True)
    sampler = RssSampler(args.server_pid, 0.5, args.timeout + 30)
    sampler.start()
    t_base = time.monotonic()
    hard_deadline = t_base + args.timeout + 15
    stop_ev = threading.Event()
    small = []
    st = threading.Thread(target=small_loop, daemon=True,
                          args=(args.port, args.small_code, small_ext, args.period_ms / 1000.0, stop_ev,
                                hard_deadline, small))
    st.start()
    time.sleep(args.warmup)
    t_win0 = time.monotonic()
    cpu0 = cpu_secs(args.server_pid) if args.server_pid else None
    res = [None] * args.conns
    bts = [threading.Thread(target=big_sender, daemon=True,
                            args=(args.port, frame, args.timeout, res, i, t_base)) for i in range(args.conns)]
    for b in bts:
        b.start()
    for b in bts:
        b.join(max(0.0, hard_deadline - time.monotonic()))
    t_win1 = time.monotonic()
    cpu1 = cpu_secs(args.server_pid) if args.server_pid else None
    time.sleep(args.warmup)
    stop_ev.set()
    st.join(10)
    sampler.stop()

    before = [s for (t, s, e) in small if t < t_win0 and e is None]
    win = [(t, s, e) for (t, s, e) in small if t_win0 <= t <= t_win1]
    win_ok = [s for (t, s, e) in win if e is None]
    win_err = [e for (t, s, e) in win if e is not None]
    # a request still outstanding at t_win1 is in `small` with its full latency; include the worst
    # of all requests sent during the window (answered or not) in max
    win_all = [s for (t, s, e) in win]
    after = [s for (t, s, e) in small if t > t_win1 and e is None]
    # longest stretch of the window in which no small request was answered (the loop is sequential,
    # so a stalled request also stops further ones from being sent: this is the stall the client saw)
    marks = sorted([t_win0, t_win1] + [t + s for (t, s, e) in small if e is None and t_win0 < t + s < t_win1])
    gap = max(b - a for a, b in zip(marks, marks[1:])) if len(marks) > 1 else None
    n_timeouts = sum(1 for (t, s, e) in win if e and e.startswith("Timeout"))
    m = {}
    m["frame bytes (each)"] = len(frame)
    for r in res:
        if r is None:
            continue
        desc = r.get("outcome", "unresolved")
        if "code" in r:
            desc += " code=%s remark=%s" % (r["code"], r.get("remark"))
            desc += " resp=%dB %s" % (r.get("resp_bytes", 0), r.get("resp_type"))
        m["big frame %d: resolved after (ms)" % (r["conn"] + 1)] = ms(r.get("secs"))
        m["big frame %d: outcome" % (r["conn"] + 1)] = desc
    m["window (ms)"] = ms(t_win1 - t_win0)
    m["small requests in window: sent / answered / failed"] = "%d / %d / %d" % (len(win), len(win_ok),
                                                                                 len(win_err))
    m["small p50 before window (ms)"] = ms(pct(before, 50))
    m["small p50 in window (ms)"] = ms(pct(win_ok, 50))
    m["small p99 in window (ms)"] = ms(pct(win_ok, 99))
    m["small max in window incl. failed (ms)"] = ms(max(win_all) if win_all else None)
    m["small: 5 s timeouts in window"] = n_timeouts
    m["small: longest stretch with no answer (ms)"] = ms(gap)
    m["small p50 after window (ms)"] = ms(pct(after, 50))
    m["small first error"] = short(win_err[0], 120) if win_err else "-"
    m["server CPU seconds used in window"] = round(cpu1 - cpu0, 1) if cpu0 is not None and cpu1 is not None else None
    m["server peak RSS (MiB)"] = sampler.peak_mib()
    m["server RSS before (MiB)"] = sampler.first_mib()
    m["server alive after"] = "yes" if proc_status(args.server_pid or 0) or not args.server_pid else "NO"
    m["loadavg at end"] = loadavg()
    save(args, m)
    return 0


# ----------------------------------------------------------------------------- scenario: trickle

def cmd_trickle(args):
    port = args.port
    pid = args.server_pid
    topic = args.topic
    frame = encode_frame(CODE_GET_MAX_OFFSET, {"topic": topic, "queueId": "0"}, 7)
    # warm-up: make sure the topic exists before the server is loaded
    ok, secs, r, err = one_call(port, CODE_SEND_MESSAGE_V2, send_message_ext(topic), b"warmup", 10.0)
    print("warm-up send to %s: %s" % (topic, ("code=%s" % r.code) if ok else err), flush=True)
    base_fds = socket_fds(pid) if pid else None

    sel = selectors.DefaultSelector()
    conns = []  # dict(sock, pos, due, closed_at)
    t0 = time.monotonic()
    open_deadline = t0 + args.open_timeout
    fails = consecutive = 0
    first_fail = None
    connect_ms = []
    print("trickle: opening %d connections to :%d (1 s connect timeout, stop after %d consecutive failures "
          "or %d s)" % (args.conns, port, args.max_consecutive_fail, args.open_timeout), flush=True)
    for i in range(args.conns):
        if time.monotonic() > open_deadline or consecutive >= args.max_consecutive_fail:
            break
        tc = time.monotonic()
        try:
            s = socket.create_connection((HOST, port), timeout=1.0)
        except OSError as e:
            fails += 1
            consecutive += 1
            if first_fail is None:
                first_fail = "#%d: %s" % (i, e)
            continue
        consecutive = 0
        connect_ms.append(time.monotonic() - tc)
        s.setblocking(False)
        try:
            s.send(frame[:1])
        except OSError:
            pass
        c = {"sock": s, "pos": 1, "due": time.monotonic() + args.interval, "closed_at": None}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
        if (i + 1) % 1000 == 0:
            print("  %d open (%.1f s)" % (len(conns), time.monotonic() - t0), flush=True)
    t_open = time.monotonic() - t0
    time.sleep(1.0)  # let the server accept what it will
    fds_after = socket_fds(pid) if pid else None
    print("opened %d (connect failures %d) in %.1f s; server socket fds %s -> %s" % (
        len(conns), fails, t_open, base_fds, fds_after), flush=True)

    stop_ev = threading.Event()
    lock = threading.Lock()
    closed_times = []
    bytes_sent = [0]

    def trickler():
        end = time.monotonic() + args.fresh * args.fresh_spacing + args.hold + 30
        while not stop_ev.is_set() and time.monotonic() < end:
            for key, _ in sel.select(timeout=0.2):
                c = key.data
                try:
                    d = c["sock"].recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(c["sock"])
                    c["closed_at"] = time.monotonic() - t0
                    with lock:
                        closed_times.append(c["closed_at"])
            now = time.monotonic()
            for c in conns:
                if c["closed_at"] is None and c["due"] <= now and c["pos"] < len(frame) - 1:
                    try:
                        c["sock"].send(frame[c["pos"]:c["pos"] + 1])
                        c["pos"] += 1
                        bytes_sent[0] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        pass  # the read side will notice the close
                    c["due"] = now + args.interval

    tt = threading.Thread(target=trickler, daemon=True)
    tt.start()

    fresh = [None] * args.fresh

    def fresh_client(k):
        tk = time.monotonic()
        r = {"connect_ms": None, "send": None, "maxoff": None}
        fresh[k] = r
        try:
            c = Conn(port, connect_timeout=3.0)
        except OSError as e:
            r["error"] = "connect: %s" % e
            r["total_ms"] = ms(time.monotonic() - tk)
            return
        r["connect_ms"] = ms(time.monotonic() - tk)
        try:
            resp, secs = c.call(CODE_SEND_MESSAGE_V2, send_message_ext(topic), b"fresh-%d" % k, timeout=5.0)
            r["send"] = (resp.code, ms(secs))
            resp, secs = c.call(CODE_GET_MAX_OFFSET, {"topic": topic, "queueId": "0"}, timeout=5.0)
            r["maxoff"] = (resp.code, ms(secs))
        except (Closed, Timeout) as e:
            r["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            c.close()
        r["total_ms"] = ms(time.monotonic() - tk)

    fts = []
    for k in range(args.fresh):
        th = threading.Thread(target=fresh_client, args=(k,), daemon=True)
        th.start()
        fts.append(th)
        time.sleep(args.fresh_spacing)
    for th in fts:
        th.join(15)
    for k, r in enumerate(fresh):
        print("  fresh client %d: %s" % (k + 1, r), flush=True)
    time.sleep(args.hold)
    stop_ev.set()
    tt.join(10)
    alive_conns = sum(1 for c in conns if c["closed_at"] is None)
    fds_end = socket_fds(pid) if pid else None
    for c in conns:
        try:
            c["sock"].close()
        except OSError:
            pass
    sel.close()

    def good(r):
        return r and "error" not in r and r["send"] and r["send"][0] == 0 and r["maxoff"] \
            and r["maxoff"][0] == 0
    n_ok = sum(1 for r in fresh if good(r))
    lat = [r["total_ms"] for r in fresh if good(r)]
    m = {}
    m["connections attempted / opened (client side)"] = "%d / %d" % (len(conns) + fails, len(conns))
    m["connect failures (first)"] = "%d (%s)" % (fails, first_fail) if fails else "0"
    m["open phase (s)"] = round(t_open, 1)
    m["client connect p99 (ms)"] = ms(pct(connect_ms, 99))
    m["server socket fds before / after open"] = "%s / %s" % (base_fds, fds_after)
    m["accepted by server (fd delta)"] = (fds_after - base_fds) if (fds_after is not None and base_fds is not None) else None
    m["fresh clients OK (send 310 + GET_MAX_OFFSET, code 0)"] = "%d / %d" % (n_ok, args.fresh)
    m["fresh OK: total latency ms (connect+send+maxoffset)"] = ", ".join("%.0f" % x for x in lat) or "-"
    fails_desc = ["#%d %s" % (k + 1, r.get("error") or "codes send=%s maxoff=%s" % (r["send"], r["maxoff"]))
                  for k, r in enumerate(fresh) if r and not good(r)]
    m["fresh failures"] = "; ".join(short(x, 80) for x in fails_desc[:3]) + \
        (" (+%d more)" % (len(fails_desc) - 3) if len(fails_desc) > 3 else "") if fails_desc else "-"
    m["trickle bytes sent after the first"] = bytes_sent[0]
    m["trickle conns closed by server during test"] = len(closed_times)
    m["first server close at (s after start)"] = round(min(closed_times), 1) if closed_times else "-"
    m["trickle conns still open at end"] = alive_conns
    m["server socket fds at end"] = fds_end
    m["test duration (s)"] = round(time.monotonic() - t0, 1)
    m["server alive after"] = "yes" if (not pid or proc_status(pid)) else "NO"
    m["loadavg at end"] = loadavg()
    save(args, m)
    return 0


# ----------------------------------------------------------------------------- scenario: unfinished

def cmd_unfinished(args):
    port, pid = args.port, args.server_pid
    total = args.frame_len  # value of the length prefix
    hdr = json.dumps({"code": CODE_GET_MAX_OFFSET, "extFields": {"topic": "TBW102", "queueId": "0"},
                      "flag": 0, "language": "JAVA", "opaque": 99, "serializeTypeCurrentRPC": "JSON",
                      "version": VERSION}, separators=(",", ":")).encode()
    prefix = struct.pack(">II", total, len(hdr)) + hdr
    wire_len = 4 + total          # the whole frame on the wire
    to_send = wire_len - 1        # all but the last byte
    blob = memoryview(prefix + bytes(to_send - len(prefix)))
    print("unfinished: %d connections x %d bytes (frame length %d, all but the last byte) to :%d" % (
        args.conns, to_send, total, port), flush=True)

    sampler = RssSampler(pid, 1.0, args.timeout + args.hold + 60, verbose=args.verbose)
    sampler.start()
    time.sleep(1.2)
    t0 = time.monotonic()

    probes = []  # (t, ok, secs, err)
    stop_ev = threading.Event()

    def prober():
        end = t0 + args.timeout + args.hold + 30
        while not stop_ev.is_set() and time.monotonic() < end:
            tp = time.monotonic()
            ok, secs, r, err = one_call(port, CODE_GET_MAX_OFFSET, {"topic": "TBW102", "queueId": "0"},
                                        timeout=3.0)
            probes.append((tp - t0, ok, secs, err))
            stop_ev.wait(max(0.0, 1.0 - (time.monotonic() - tp)))

    pt = threading.Thread(target=prober, daemon=True)
    pt.start()

    sel = selectors.DefaultSelector()
    conns = []
    connect_fail = 0
    for i in range(args.conns):
        try:
            s = socket.create_connection((HOST, port), timeout=3.0)
        except OSError:
            connect_fail += 1
            continue
        s.setblocking(False)
        c = {"i": i, "sock": s, "pos": 0, "closed": None, "done_at": None}
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, c)
    print("  %d connections open (%d connect failures)" % (len(conns), connect_fail), flush=True)

    send_deadline = t0 + args.timeout
    active = len(conns)
    last_report = t0
    while active and time.monotonic() < send_deadline:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if c["closed"] or c["done_at"]:
                continue
            if ev & selectors.EVENT_READ:
                try:
                    d = c["sock"].recv(65536)
                except BlockingIOError:
                    d = None
                except OSError as e:
                    d = b""
                if d == b"":
                    c["closed"] = "closed after %d bytes at %.1fs" % (c["pos"], time.monotonic() - t0)
                    sel.unregister(c["sock"])
                    active -= 1
                    continue
            if ev & selectors.EVENT_WRITE:
                try:
                    n = c["sock"].send(blob[c["pos"]:min(to_send, c["pos"] + (4 << 20))])
                    c["pos"] += n
                except BlockingIOError:
                    pass
                except OSError as e:
                    c["closed"] = "%s after %d bytes at %.1fs" % (e.__class__.__name__, c["pos"],
                                                                  time.monotonic() - t0)
                    sel.unregister(c["sock"])
                    active -= 1
                    continue
                if c["pos"] >= to_send:
                    c["done_at"] = time.monotonic() - t0
                    sel.modify(c["sock"], selectors.EVENT_READ, c)
                    active -= 1
        if time.monotonic() - last_report > 5:
            last_report = time.monotonic()
            sent = sum(c["pos"] for c in conns)
            st = proc_status(pid) if pid else None
            print("  t=%5.1fs sent %.0f MiB, %d complete, %d closed, server RSS %s MiB" % (
                last_report - t0, sent / 1048576, sum(1 for c in conns if c["done_at"]),
                sum(1 for c in conns if c["closed"]), st[0] // 1024 if st else "-"), flush=True)
    t_send = time.monotonic() - t0
    n_done = sum(1 for c in conns if c["done_at"])
    print("  send phase %.1f s: %d/%d connections delivered all but the last byte" % (t_send, n_done, len(conns)),
          flush=True)

    # hold: keep the connections open, watch for closes
    hold_end = time.monotonic() + args.hold
    while time.monotonic() < hold_end:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            try:
                d = c["sock"].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if d == b"" and not c["closed"]:
                c["closed"] = "closed at %.1fs (after %d bytes)" % (time.monotonic() - t0, c["pos"])
                sel.unregister(c["sock"])
    t_hold = time.monotonic() - t0
    rss_hold = proc_status(pid) if pid else None
    for c in conns:
        try:
            c["sock"].close()
        except OSError:
            pass
    sel.close()
    t_close = time.monotonic()
    stop_ev.set()
    pt.join(10)
    # recovery: after the attacker is gone, how long until a fresh client is served again?
    # (a probe every second from the moment of closing, 3 s timeout each, at most --recover s)
    recovered = None
    rec_end = t_close + args.recover
    while time.monotonic() < rec_end and (not pid or proc_status(pid)):
        tp = time.monotonic()
        ok, _, _, _ = one_call(port, CODE_GET_MAX_OFFSET, {"topic": "TBW102", "queueId": "0"}, timeout=3.0)
        if ok:
            recovered = time.monotonic() - t_close
            break
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tp)))
    time.sleep(max(0.0, t_close + args.after - time.monotonic()))
    rss_after = proc_status(pid) if pid else None
    after_secs = time.monotonic() - t_close
    sampler.stop()

    probe_ok = [p for p in probes if p[1]]
    probe_lat = [p[2] for p in probe_ok]
    probe_err = [p for p in probes if not p[1]]
    closed = [c for c in conns if c["closed"]]
    m = {}
    m["connections opened / connect failures"] = "%d / %d" % (len(conns), connect_fail)
    m["bytes per connection (declared frame)"] = "%d (%d)" % (to_send, total)
    m["connections that delivered all but last byte"] = n_done
    m["send phase (s)"] = round(t_send, 1)
    m["total MiB accepted by server"] = round(sum(c["pos"] for c in conns) / 1048576)
    m["connections closed by server"] = len(closed)
    m["first close"] = short(closed[0]["closed"], 80) if closed else "-"
    m["server RSS before (MiB)"] = sampler.first_mib()
    m["server peak RSS, 1 s samples (MiB)"] = sampler.peak_mib()
    m["server VmHWM at end (MiB)"] = round(rss_hold[1] / 1024) if rss_hold else (sampler.hwm_mib())
    m["server RSS while held (MiB)"] = round(rss_hold[0] / 1024) if rss_hold else None
    m["server RSS after the attacker closed (MiB)"] = "%s (at +%.0f s)" % (
        round(rss_after[0] / 1024) if rss_after else None, after_secs)
    m["server alive after"] = "yes" if (not pid or proc_status(pid)) else \
        "NO (gone at t=%.1fs)" % (sampler.died_at - 1.2 if sampler.died_at else -1)
    m["fresh-client GET_MAX_OFFSET probes OK / total"] = "%d / %d" % (len(probe_ok), len(probes))
    m["probe p50 / max (ms)"] = "%s / %s" % (ms(pct(probe_lat, 50)), ms(max(probe_lat) if probe_lat else None))
    m["first OK probe after the attacker closed (s)"] = round(recovered, 1) if recovered is not None else \
        "none within %d s" % args.recover
    m["first failed probe"] = "t=%.1fs %s" % (probe_err[0][0], short(probe_err[0][3], 80)) if probe_err else "-"
    m["test duration (s)"] = round(t_hold, 1)
    m["loadavg at end"] = loadavg()
    save(args, m)
    return 0


# ----------------------------------------------------------------------------- scenario: topicflood

def cmd_topicflood(args):
    port = args.port
    names = ["%s_%05d" % (args.prefix, i) for i in range(args.topics)]
    done = []  # (t_done, ok, code, remark, name)
    busy = [0]  # SYSTEM_BUSY answers that were retried
    lock = threading.Lock()
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    print("topicflood: %d threads auto-creating %d topics (%s_*) via SEND_MESSAGE_V2 to :%d" % (
        args.threads, args.topics, args.prefix, port), flush=True)

    def worker(tid):
        c = None
        for i in range(tid, len(names), args.threads):
            if time.monotonic() > deadline:
                return
            try:
                if c is None:
                    c = Conn(port, connect_timeout=3.0)
                # SYSTEM_BUSY (2, e.g. Java's "[TIMEOUT_CLEAN_QUEUE]broker busy" flow control) means the
                # request was dropped unprocessed; a real producer retries it, so do we (bounded).
                for attempt in range(args.busy_retries + 1):
                    r, secs = c.call(CODE_SEND_MESSAGE_V2, send_message_ext(names[i]), b"x", timeout=10.0)
                    if r.code != 2 or time.monotonic() > deadline:
                        break
                    with lock:
                        busy[0] += 1
                    time.sleep(0.02)
                with lock:
                    done.append((time.monotonic() - t0, r.code == 0, r.code, r.remark, names[i]))
            except (Closed, Timeout, OSError) as e:
                with lock:
                    done.append((time.monotonic() - t0, False, None, "%s: %s" % (type(e).__name__, e), names[i]))
                if c:
                    c.close()
                c = None
        if c:
            c.close()

    ths = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(args.threads)]
    for th in ths:
        th.start()
    last = 0
    while any(th.is_alive() for th in ths) and time.monotonic() < deadline + 15:
        time.sleep(1)
        if time.monotonic() - t0 - last >= 10:
            last = time.monotonic() - t0
            with lock:
                print("  t=%5.1fs %d done (%d ok)" % (last, len(done), sum(1 for d in done if d[1])), flush=True)
    for th in ths:
        th.join(1)
    with lock:
        res = sorted(done)
    ok = [d for d in res if d[1]]
    elapsed = (res[-1][0] if res else time.monotonic() - t0)
    if args.names_out:
        with open(args.names_out, "w") as f:
            for d in ok:
                f.write(d[4] + "\n")
    m = {}
    m["topics requested / answered OK"] = "%d / %d" % (args.topics, len(ok))
    errs = {}
    for d in res:
        if not d[1]:
            k = "code=%s %s" % (d[2], short(d[3], 60))
            errs[k] = errs.get(k, 0) + 1
    m["failures"] = "; ".join("%dx %s" % (v, k) for k, v in list(errs.items())[:3]) or "-"
    m["SYSTEM_BUSY (code 2) answers, retried after 20 ms"] = busy[0]
    m["elapsed (s)"] = round(elapsed, 1)
    m["creates/s overall"] = round(len(ok) / elapsed, 1) if elapsed > 0 and ok else None
    if len(ok) >= 1000:
        m["creates/s first 500"] = round(500 / max(1e-6, ok[499][0]), 1)
    if len(ok) >= 1000:
        a, b = ok[-501][0], ok[-1][0]
        m["creates/s last 500"] = round(500 / max(1e-6, b - a), 1)
    m["loadavg at end"] = loadavg()
    save(args, m)
    return 0


def topic_names_in(text_json):
    """Topic names in a TopicConfigSerializeWrapper JSON (topics.json or GET_ALL_TOPIC_CONFIG body)."""
    d = json.loads(text_json)
    return set((d.get("topicConfigTable") or {}).keys())


def cmd_topiccount(args):
    with open(args.names) as f:
        names = [x.strip() for x in f if x.strip()]
    want = set(names)
    m = {}
    label = args.what
    if args.topics_json:
        try:
            with open(args.topics_json, encoding="utf-8") as f:
                have = topic_names_in(f.read())
            m["%s: created topics in topics.json" % label] = "%d / %d" % (len(want & have), len(want))
        except (OSError, ValueError) as e:
            m["%s: created topics in topics.json" % label] = "unreadable (%s)" % short(e, 60)
    if args.port:
        try:
            c = Conn(args.port)
            r, _ = c.call(CODE_GET_ALL_TOPIC_CONFIG, {}, timeout=30.0)
            c.close()
            have = topic_names_in(r.body.decode("utf-8", "replace"))
            m["%s: created topics served (GET_ALL_TOPIC_CONFIG)" % label] = "%d / %d" % (len(want & have), len(want))
        except (OSError, Closed, Timeout, ValueError) as e:
            m["%s: created topics served (GET_ALL_TOPIC_CONFIG)" % label] = "failed (%s)" % short(e, 60)
    save(args, m)
    return 0


def cmd_record(args):
    m = {}
    for kv in args.kv:
        k, _, v = kv.partition("=")
        m[k] = v
    save(args, m)
    return 0


# ----------------------------------------------------------------------------- reports

def md(v):
    s = "n/a" if v is None else str(v)
    return s.replace("|", "\\|").replace("\n", " ")


def cmd_table(args):
    with open(args.input) as f:
        data = json.load(f)
    meta = data.pop("_meta", {})
    for label, metrics in data.items():
        print("#### %s\n" % label)
        print("| metric | %s |" % meta.get("impl", "value"))
        print("|---|---|")
        for k, v in metrics.items():
            print("| %s | %s |" % (md(k), md(v)))
        print()
    return 0


def cmd_compare(args):
    files = []
    for spec in args.inputs:
        name, _, path = spec.partition("=")
        with open(path) as f:
            files.append((name, json.load(f)))
    labels = []
    for _, d in files:
        for k in d:
            if k != "_meta" and k not in labels:
                labels.append(k)
    for label in labels:
        print("#### %s\n" % label)
        print("| metric | " + " | ".join(n for n, _ in files) + " |")
        print("|---|" + "---|" * len(files))
        keys = []
        for _, d in files:
            for k in d.get(label, {}):
                if k not in keys:
                    keys.append(k)
        for k in keys:
            print("| %s | " % md(k) + " | ".join(md(d.get(label, {}).get(k, "")) for _, d in files) + " |")
        print()
    return 0


# ----------------------------------------------------------------------------- CLI

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, port=True):
        if port:
            sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--server-pid", type=int, default=0, help="pid to sample RSS / fds of")
        sp.add_argument("--out", help="JSON results file to merge into")
        sp.add_argument("--label", default="result")

    sp = sub.add_parser("probe", help="one request on a fresh connection")
    common(sp)
    sp.add_argument("--code", type=int, default=CODE_GET_MAX_OFFSET)
    sp.add_argument("--ext", nargs="*", default=["topic=TBW102", "queueId=0"])
    sp.add_argument("--timeout", type=float, default=3.0)
    sp.add_argument("--want-code", type=int)
    sp.set_defaults(fn=cmd_probe)

    sp = sub.add_parser("bigheader", help="huge-header frames vs small-request latency")
    common(sp)
    sp.add_argument("--serialize", choices=["json", "rocketmq"], default="json")
    sp.add_argument("--keys", type=int, default=100000)
    sp.add_argument("--conns", type=int, default=2)
    sp.add_argument("--big-code", type=int, default=CODE_GET_MAX_OFFSET)
    sp.add_argument("--big-ext", nargs="*", default=["topic=TBW102", "queueId=0"])
    sp.add_argument("--small-code", type=int, default=CODE_GET_MAX_OFFSET)
    sp.add_argument("--small-ext", nargs="*", default=["topic=TBW102", "queueId=0"])
    sp.add_argument("--period-ms", type=int, default=10)
    sp.add_argument("--warmup", type=float, default=1.0, help="s of small requests before and after")
    sp.add_argument("--timeout", type=int, default=120)
    sp.set_defaults(fn=cmd_bigheader)

    sp = sub.add_parser("trickle", help="slowloris connections vs fresh clients")
    common(sp)
    sp.add_argument("--conns", type=int, default=5000)
    sp.add_argument("--interval", type=float, default=20.0, help="s between trickled bytes")
    sp.add_argument("--topic", default="HardeningTrickle")
    sp.add_argument("--fresh", type=int, default=8)
    sp.add_argument("--fresh-spacing", type=float, default=1.0)
    sp.add_argument("--hold", type=float, default=45.0, help="s to keep trickling after the fresh clients")
    sp.add_argument("--open-timeout", type=float, default=120.0)
    sp.add_argument("--max-consecutive-fail", type=int, default=20)
    sp.set_defaults(fn=cmd_trickle)

    sp = sub.add_parser("unfinished", help="many almost-complete 16 MiB frames")
    common(sp)
    sp.add_argument("--conns", type=int, default=200)
    sp.add_argument("--frame-len", type=int, default=16777000)
    sp.add_argument("--timeout", type=float, default=150.0, help="send-phase limit (s)")
    sp.add_argument("--hold", type=float, default=20.0)
    sp.add_argument("--after", type=float, default=5.0, help="s to wait after closing before the last RSS")
    sp.add_argument("--recover", type=float, default=60.0,
                    help="after closing, probe until the first success, at most this long (s)")
    sp.add_argument("--verbose", action="store_true")
    sp.set_defaults(fn=cmd_unfinished)

    sp = sub.add_parser("topicflood", help="auto-create many topics concurrently")
    common(sp)
    sp.add_argument("--threads", type=int, default=16)
    sp.add_argument("--topics", type=int, default=2000)
    sp.add_argument("--prefix", default="flood")
    sp.add_argument("--timeout", type=float, default=240.0)
    sp.add_argument("--names-out")
    sp.add_argument("--busy-retries", type=int, default=50, help="retries per topic on SYSTEM_BUSY")
    sp.set_defaults(fn=cmd_topicflood)

    sp = sub.add_parser("topiccount", help="count created topics in topics.json and/or a live broker")
    common(sp, port=False)
    sp.add_argument("--port", type=int, default=0)
    sp.add_argument("--names", required=True)
    sp.add_argument("--topics-json")
    sp.add_argument("--what", default="after restart")
    sp.set_defaults(fn=cmd_topiccount)

    sp = sub.add_parser("record", help="store key=value facts under --label")
    common(sp, port=False)
    sp.add_argument("kv", nargs="*")
    sp.set_defaults(fn=cmd_record)

    sp = sub.add_parser("table", help="Markdown tables of one results file")
    sp.add_argument("--in", dest="input", required=True)
    sp.set_defaults(fn=cmd_table)

    sp = sub.add_parser("compare", help="side-by-side Markdown tables: NAME=file.json ...")
    sp.add_argument("inputs", nargs="+")
    sp.set_defaults(fn=cmd_compare)

    args = p.parse_args()
    sys.exit(args.fn(args) or 0)


if __name__ == "__main__":
    main()
