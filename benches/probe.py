# Tiny RocketMQ remoting client (JSON headers). call() is shared with benches/ha/ha.py (which imports it);
# the commands are used by benches/compare_java.sh:
#   startup <t0 file> <broker log> <broker port> <ns port> <broker addr> <limit s>
#           start-up timing: ms from the broker's exec to port accepting, "boot success" and registration
#   route   <ns port> <topic> <queues> <limit s>    wait until the route has <queues> write queues
import json, os, socket, struct, sys, time


def call(port, code, ext, body=b"", timeout=5.0):
    # One request; returns (response header as a dict, response body as bytes).
    hdr = json.dumps({"code": code, "language": "JAVA", "version": 479, "opaque": 1, "flag": 0,
                      "extFields": ext, "serializeTypeCurrentRPC": "JSON"}).encode()
    with socket.create_connection(("127.0.0.1", int(port)), timeout=timeout) as s:
        s.sendall(struct.pack(">II", 4 + len(hdr) + len(body), len(hdr)) + hdr + body)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("closed")
            buf += chunk
    hl = struct.unpack(">I", buf[4:8])[0] & 0xFFFFFF
    head = json.loads(buf[8:8 + hl])
    return head, buf[8 + hl:]


def startup(t0file, logfile, bport, nsport, addr, limit):
    # Started before the broker so interpreter start-up is not counted: announce readiness, then wait
    # for the launcher to write the broker's start time (epoch microseconds) into t0file.
    open(t0file + ".ready", "w").close()
    deadline = time.time() + 30
    while not (os.path.exists(t0file) and open(t0file).read().strip()):
        if time.time() > deadline:
            sys.exit("no start time")
        time.sleep(0.001)
    t0 = int(open(t0file).read().strip()) * 1000
    got = {}
    next_reg = 0.0
    deadline = time.time() + float(limit)
    while time.time() < deadline and len(got) < 3:
        now = lambda: (time.time_ns() - t0) / 1e6
        if "port" not in got:
            try:
                socket.create_connection(("127.0.0.1", int(bport)), timeout=0.2).close()
                got["port"] = now()
            except OSError:
                pass
        if "boot" not in got:
            try:
                with open(logfile, "rb") as f:
                    if b"boot success" in f.read().replace(b"Name Server boot success", b""):
                        got["boot"] = now()
            except OSError:
                pass
        if "reg" not in got and time.time() >= next_reg:
            next_reg = time.time() + 0.01
            try:
                h, body = call(nsport, 106, {}, timeout=0.5)
                if h.get("code") == 0 and addr in body.decode("utf-8", "replace"):
                    got["reg"] = now()
            except (OSError, ValueError):
                pass
        time.sleep(0.002)
    print(" ".join(f"{k}={got[k]:.0f}" if k in got else f"{k}=" for k in ("port", "boot", "reg")))


def poll(limit, check, errors=(OSError, ValueError), interval=0.2):
    # Calls check() every interval s until it returns something true (returned) or limit s have passed (None).
    # The given errors (no answer yet, a truncated or unparsable one) count as "not yet".
    deadline = time.time() + float(limit)
    while time.time() < deadline:
        try:
            got = check()
            if got:
                return got
        except errors:
            pass
        time.sleep(interval)
    return None


def route(nsport, topic, queues, limit):
    want = f'"writeQueueNums":{queues}'

    def ready():
        h, body = call(nsport, 105, {"topic": topic}, timeout=1.0)
        return h.get("code") == 0 and want in body.decode("utf-8", "replace").replace(" ", "")

    if not poll(limit, ready):
        print("timeout")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    {"startup": startup, "route": route}[sys.argv[1]](*sys.argv[2:])
