"""The official RocketMQ 5 Python SDK (PyPI rocketmq-python-client, apache/rocketmq-clients)
sending over our broker's gRPC endpoint.

    py_producer.py <endpoint> <phase> <expect-file> <delay-ms>

Sends 5 normal messages (tag, key, user property), 6 FIFO messages in the groups g0 and
order-42 and 2 delay messages due <delay-ms> from now; appends "topic key tag group messageId
dueMs" per message to <expect-file>; prints "RESULT produce-<phase> PASS|FAIL sent=N/13 ...".
"""
import sys
import time

from rocketmq import ClientConfiguration, Credentials, Message, Producer


def main():
    endpoint, phase, expect_file, delay_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg = ClientConfiguration(endpoint, Credentials())
    producer = Producer(cfg, ("GrpcNormal", "GrpcFifo", "GrpcDelay"))
    t0 = time.time()
    producer.startup()
    sent, fail = 0, ""
    with open(expect_file, "a") as expect:
        try:
            for i in range(5):
                key = f"{phase}-n{i}"
                m = Message()
                m.topic = "GrpcNormal"
                m.body = f"normal {key}".encode()
                m.tag = "TagN"
                m.keys = key
                m.keys = key + "-k2"  # the setter adds
                m.add_property("userProp", f"v{i}")
                r = producer.send(m)
                expect.write(f"GrpcNormal {key} TagN - {r.message_id} 0\n")
                sent += 1
            for i in range(6):
                key = f"{phase}-f{i}"
                group = "g0" if i % 2 == 0 else "order-42"
                m = Message()
                m.topic = "GrpcFifo"
                m.body = f"fifo {key}".encode()
                m.tag = "TagF"
                m.keys = key
                m.message_group = group
                r = producer.send(m)
                expect.write(f"GrpcFifo {key} TagF {group} {r.message_id} 0\n")
                sent += 1
            for i in range(2):
                key = f"{phase}-d{i}"
                # The Python SDK takes the delivery time in seconds (it fills Timestamp.seconds).
                due_s = int(time.time()) + max(1, delay_ms // 1000)
                due = due_s * 1000
                m = Message()
                m.topic = "GrpcDelay"
                m.body = f"delay {key}".encode()
                m.tag = "TagD"
                m.keys = key
                m.delivery_timestamp = due_s
                r = producer.send(m)
                expect.write(f"GrpcDelay {key} TagD - {r.message_id} {due}\n")
                sent += 1
        except Exception as e:  # noqa: BLE001 - reported as the scenario's failure
            fail = repr(e).replace("\n", " ")
    elapsed = int((time.time() - t0) * 1000)
    try:
        producer.shutdown()
    except Exception:  # noqa: BLE001
        pass
    status = "PASS" if not fail and sent == 13 else "FAIL"
    print(f"RESULT produce-{phase} {status} sent={sent}/13 elapsed={elapsed}ms {fail}", flush=True)


if __name__ == "__main__":
    main()
