"""The official RocketMQ 5 Python SDK (PyPI rocketmq-python-client, apache/rocketmq-clients):
a SimpleConsumer receiving over our broker's gRPC endpoint.

    py_consumer.py <endpoint> <group> <topic> <expect-file> <seconds>

Receives (batch 16, invisible 15 s, long polling 5 s) and acks until every key of
<expect-file> lines for <topic> ("topic key tag group messageId dueMs") was seen, checking the
tag and the message id; prints "RESULT py-consume PASS|FAIL received=N/M ...".
"""
import sys
import time

from rocketmq import ClientConfiguration, Credentials, FilterExpression, SimpleConsumer


def main():
    endpoint, group, topic, expect_file, seconds = sys.argv[1:6]
    want = {}
    with open(expect_file) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5 and p[0] == topic:
                want[p[1]] = p
    consumer = SimpleConsumer(ClientConfiguration(endpoint, Credentials()), group,
                              {topic: FilterExpression()}, await_duration=5)
    consumer.startup()
    seen, bad = {}, []
    t0 = time.time()
    deadline = t0 + int(seconds)
    while not set(want) <= set(seen) and time.time() < deadline:
        try:
            msgs = consumer.receive(16, 15)
        except Exception as e:  # noqa: BLE001 - an empty poll may surface as an exception
            if "MESSAGE_NOT_FOUND" not in repr(e):
                bad.append(repr(e)[:120])
            msgs = []
        for m in msgs or []:
            key = sorted(m.keys)[0] if m.keys else "-"
            seen[key] = seen.get(key, 0) + 1
            w = want.get(key)
            if w is None:
                bad.append(f"unexpected {key}")
            else:
                if (m.tag or "-") != w[2]:
                    bad.append(f"{key}: tag {m.tag}")
                if w[4] != "-" and m.message_id != w[4]:
                    bad.append(f"{key}: id {m.message_id} != {w[4]}")
            consumer.ack(m)
    elapsed = int((time.time() - t0) * 1000)
    try:
        consumer.shutdown()
    except Exception:  # noqa: BLE001
        pass
    got = len(set(want) & set(seen))
    ok = not bad and want and got == len(want)
    print(f"RESULT py-consume {'PASS' if ok else 'FAIL'} received={got}/{len(want)} "
          f"elapsed={elapsed}ms {'; '.join(bad[:6])}", flush=True)


if __name__ == "__main__":
    main()
