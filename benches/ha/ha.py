# HA-bench commands for benches/ha/run.sh, on the tiny RocketMQ remoting client (JSON headers) of benches/probe.py:
#   route   <ns port> <topic> <queues> <limit s>         wait until the route has <queues> write queues
#                                                         and a slave (brokerId 1) is registered
#   registered <ns port> <limit s> <addr>...             wait until the name server's cluster info names every addr
#   probe   <master port> <topic> <limit s>               send single messages (WAIT=true) until one is
#                                                         answered SUCCESS; prints the codes seen
#   send1   <master port> <topic>                         one send (WAIT=true); prints the response code
#   offsets <master port> <slave port>                    commitLogMaxOffset of both (GET_BROKER_RUNTIME_INFO)
#   catchup <master port> <slave port> <limit s>          wait until the slave's max offset equals the master's
#   lagmon  <master port> <slave port> <out> <limit s>    sample master minus slave max offset every second,
#                                                         keep the largest in <out>
import os, re, sys, time

# From benches/probe.py: call(port, code, ext, body=b"", timeout=5.0) -> (header dict, body bytes), one remoting
# request; poll(limit, check, errors) retries check() every 0.2 s until it is true or limit s have passed.
sys.dont_write_bytecode = True   # no __pycache__ in benches/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from probe import call, poll  # noqa: E402


def route(nsport, topic, queues, limit):
    last = ""

    def ready():
        nonlocal last
        h, body = call(nsport, 105, {"topic": topic}, timeout=1.0)
        if h.get("code") != 0:
            return False
        # fastjson may write the Long keys of brokerAddrs unquoted: match text, not JSON.
        text = body.decode("utf-8", "replace").replace(" ", "")
        wq = re.search(r'"writeQueueNums":(\d+)', text)
        addrs = re.search(r'"brokerAddrs":\{([^}]*)\}', text)
        wq = int(wq.group(1)) if wq else -1
        ids = set(re.findall(r'"?(\d+)"?:"', addrs.group(1))) if addrs else set()
        last = f"writeQueueNums={wq} brokerAddrs={addrs.group(1) if addrs else ''}"
        return wq == int(queues) and {"0", "1"} <= ids

    if not poll(limit, ready, (OSError, ValueError, KeyError, IndexError)):
        print("timeout " + last)
        sys.exit(1)
    print("ok " + last)


def registered(nsport, limit, *addrs):
    # GET_BROKER_CLUSTER_INFO names every address (a Java broker registers some seconds after "boot success").
    t0 = time.time()

    def ready():
        h, body = call(nsport, 106, {}, timeout=1.0)
        return h.get("code") == 0 and all(a in body.decode("utf-8", "replace") for a in addrs)

    if not poll(limit, ready):
        print("timeout")
        sys.exit(1)
    print(f"ok {time.time() - t0:.1f}")


def send_one(port, topic, seq):
    props = f"UNIQ_KEY\x01HAPROBE{seq:026X}\x02WAIT\x01true\x02"
    ext = {"a": "bench_probe_pg", "b": topic, "c": "TBW102", "d": "4", "e": str(seq % 8), "f": "0",
           "g": str(int(time.time() * 1000)), "h": "0", "i": props, "j": "0", "k": "false", "m": "false"}
    h, _ = call(port, 310, ext, b"ha-bench-probe", timeout=10.0)
    return h.get("code"), h.get("remark")


def probe(mport, topic, limit):
    deadline = time.time() + float(limit)
    codes = {}
    seq = 0
    t0 = time.time()
    while time.time() < deadline:
        seq += 1
        try:
            code, remark = send_one(mport, topic, seq)
        except (OSError, ValueError) as e:
            code, remark = "io", str(e)
        codes[code] = codes.get(code, 0) + 1
        if code == 0:
            print(f"ok after {seq} probe(s) in {time.time() - t0:.1f} s; codes {codes}")
            return
        time.sleep(0.5)
    print(f"timeout after {seq} probe(s); codes {codes}")
    sys.exit(1)


def send1(mport, topic):
    # One send with WAIT=true; prints its response code, remark and how long the answer took.
    t0 = time.time()
    try:
        code, remark = send_one(mport, topic, 0)
    except (OSError, ValueError) as e:
        code, remark = "io", str(e)
    print(f"code {code} after {time.time() - t0:.1f} s" + (f" ({remark})" if remark else ""))


def max_offset(port):
    h, body = call(port, 28, {}, timeout=10.0)
    if h.get("code") != 0:
        raise ValueError(f"runtime info code {h.get('code')}")
    m = re.search(r'"commitLogMaxOffset"\s*:\s*"?(\d+)', body.decode("utf-8", "replace"))
    if not m:
        raise ValueError("no commitLogMaxOffset in runtime info")
    return int(m.group(1))


def offsets(mport, sport):
    try:
        print(max_offset(mport), max_offset(sport))
    except (OSError, ValueError, KeyError) as e:
        print("? ?", e)


def catchup(mport, sport, limit):
    t0 = time.time()
    m = s = -1
    while time.time() - t0 < float(limit):
        try:
            m, s = max_offset(mport), max_offset(sport)
            if m == s and m > 0:
                print(f"ok {time.time() - t0:.1f} {m}")
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    print(f"timeout {time.time() - t0:.1f} master={m} slave={s}")
    sys.exit(1)


def lagmon(mport, sport, out, limit):
    # Every second: master max offset minus slave max offset; writes "max_lag_bytes samples" to out.
    end = time.time() + float(limit)
    worst, n = 0, 0
    while time.time() < end:
        try:
            m = max_offset(mport)
            s = max_offset(sport)
            worst, n = max(worst, m - s), n + 1
            with open(out + ".tmp", "w") as f:
                f.write(f"{worst} {n}\n")
            os.replace(out + ".tmp", out)
        except (OSError, ValueError):
            pass
        time.sleep(1.0)


if __name__ == "__main__":
    {"route": route, "registered": registered, "probe": probe, "send1": send1, "offsets": offsets, "catchup": catchup, "lagmon": lagmon}[sys.argv[1]](*sys.argv[2:])
