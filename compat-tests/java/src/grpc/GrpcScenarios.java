// The official RocketMQ 5 gRPC SDK for Java (rocketmq-client-java 5.0.8) against our broker's
// built-in gRPC endpoint. Compiled against that SDK alone (compat-tests/java/build.sh).
//
//   GrpcScenarios produce <endpoint> <phase> <expect-file> <delay-ms>
//       a Producer sends over gRPC: 10 normal messages (tag + 2 keys), 10 FIFO messages in two
//       message groups (g0, order-42), 3 delay messages due <delay-ms> from now, and two transactional messages
//       (one committed, one rolled back with EndTransaction). Each message sent is appended to
//       <expect-file> as "topic key tag group messageId dueMs" (dueMs 0 when not delayed;
//       the rolled-back one is marked "-" so it must never arrive).
//   GrpcScenarios check <endpoint> <key> <expect-file>
//       sends one transactional message and leaves it open; the broker checks it back over the
//       Telemetry stream (RecoverOrphanedTransactionCommand), the TransactionChecker answers
//       COMMIT and the SDK ends it with EndTransaction (SOURCE_SERVER_CHECK).
//   GrpcScenarios bench <endpoint> <topic> <seconds> <in-flight> <body-bytes> [<group> <consumers> <batch>]
//       produce throughput: async sends with at most <in-flight> outstanding for <seconds>
//       after a 3 s warm-up; prints "RESULT bench PASS tps=N ok=N failed=N p50=..ms p99=..ms
//       total=N" (total: with the warm-up's).
//       With <group>: a SimpleConsumer of <group> receives once before the produce phase (so
//       the group's POP offsets start at 0 on both brokers), then <consumers> SimpleConsumers,
//       one thread each, receive batches of <batch> (invisible 60 s, long polling 5 s) from what
//       the produce phase stored and ack each message asynchronously (at most 1,024 acks
//       outstanding per consumer), for <seconds> after a 3 s warm-up or until the backlog is
//       drained; prints "RESULT receive PASS tps=N acked=N received=N ack-failed=N
//       receive-p50=..ms drained=true|false" (tps counts acked messages).
//   GrpcScenarios golden <dir>
//       writes protobuf bytes of apache.rocketmq.v2 messages built with the SDK's generated
//       classes (rocketmq-proto 2.0.4), the fixtures of the Rust message module's tests.
//
// Prints "RESULT <scenario> PASS|FAIL detail".
import apache.rocketmq.v2.*;
import java.io.FileOutputStream;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.shaded.com.google.protobuf.ByteString;
import org.apache.rocketmq.shaded.com.google.protobuf.Duration;
import org.apache.rocketmq.shaded.com.google.protobuf.Timestamp;

public class GrpcScenarios {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("golden")) {
            golden(args[1]);
        } else if (args[0].equals("bench")) {
            String group = args.length > 6 ? args[6] : null;
            SimpleConsumer primed = group == null ? null : prime(args[1], args[2], group);
            bench(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]));
            if (group != null) {
                primed.close();
                receive(args[1], args[2], group, Integer.parseInt(args[3]), Integer.parseInt(args[7]),
                    Integer.parseInt(args[8]));
            }
        } else if (args[0].equals("check")) {
            check(args[1], args[2], args[3]);
        } else {
            produce(args[1], args[2], args[3], Long.parseLong(args[4]));
        }
        System.exit(0);
    }

    static void produce(String endpoint, String phase, String expectFile, long delayMs) throws Exception {
        long t0 = System.currentTimeMillis();
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration cfg = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint).enableSsl(false)
            .setRequestTimeout(java.time.Duration.ofSeconds(10)).build();
        PrintWriter expect = new PrintWriter(new FileWriter(expectFile, true), true);
        Producer producer = provider.newProducerBuilder().setClientConfiguration(cfg)
            .setTopics("GrpcNormal", "GrpcFifo", "GrpcDelay", "GrpcTx")
            .setTransactionChecker(m -> org.apache.rocketmq.client.apis.producer.TransactionResolution.COMMIT)
            .build();
        long t1 = System.currentTimeMillis();
        int ok = 0;
        String fail = "";
        try {
            for (int i = 0; i < 10; i++) {
                String key = phase + "-n" + i;
                SendReceipt r = producer.send(provider.newMessageBuilder().setTopic("GrpcNormal")
                    .setTag("TagN").setKeys(key, key + "-k2").setBody(("normal " + key).getBytes(StandardCharsets.UTF_8))
                    .addProperty("userProp", "v" + i).build());
                expect.println("GrpcNormal " + key + " TagN - " + r.getMessageId() + " 0");
                ok++;
            }
            for (int i = 0; i < 10; i++) {
                String key = phase + "-f" + i;
                String group = i % 2 == 0 ? "g0" : "order-42";
                SendReceipt r = producer.send(provider.newMessageBuilder().setTopic("GrpcFifo")
                    .setTag("TagF").setKeys(key).setMessageGroup(group)
                    .setBody(("fifo " + key).getBytes(StandardCharsets.UTF_8)).build());
                expect.println("GrpcFifo " + key + " TagF " + group + " " + r.getMessageId() + " 0");
                ok++;
            }
            for (int i = 0; i < 3; i++) {
                String key = phase + "-d" + i;
                long due = System.currentTimeMillis() + delayMs;
                SendReceipt r = producer.send(provider.newMessageBuilder().setTopic("GrpcDelay")
                    .setTag("TagD").setKeys(key).setDeliveryTimestamp(due)
                    .setBody(("delay " + key).getBytes(StandardCharsets.UTF_8)).build());
                expect.println("GrpcDelay " + key + " TagD - " + r.getMessageId() + " " + due);
                ok++;
            }
            for (String what : new String[] {"commit", "rollback"}) {
                String key = phase + "-t-" + what;
                Transaction tx = producer.beginTransaction();
                SendReceipt r = producer.send(provider.newMessageBuilder().setTopic("GrpcTx")
                    .setTag("TagT").setKeys(key).setBody(("tx " + key).getBytes(StandardCharsets.UTF_8)).build(), tx);
                if (what.equals("commit")) {
                    tx.commit();
                    expect.println("GrpcTx " + key + " TagT - " + r.getMessageId() + " 0");
                } else {
                    tx.rollback();
                    expect.println("GrpcTx " + key + " TagT - " + r.getMessageId() + " -");
                }
                ok++;
            }
        } catch (Exception e) {
            fail = e.toString().replace('\n', ' ');
        }
        long t2 = System.currentTimeMillis();
        producer.close();
        expect.close();
        System.out.println("RESULT produce-" + phase + " " + (fail.isEmpty() ? "PASS" : "FAIL")
            + " sent=" + ok + "/25 start=" + (t1 - t0) + "ms sends=" + (t2 - t1) + "ms " + fail);
    }

    static void check(String endpoint, String key, String expectFile) throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration cfg = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint).enableSsl(false).build();
        java.util.concurrent.CountDownLatch checked = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<String> seen = new java.util.concurrent.atomic.AtomicReference<>("");
        Producer producer = provider.newProducerBuilder().setClientConfiguration(cfg)
            .setTopics("GrpcTx")
            .setTransactionChecker(m -> {
                seen.set(m.getKeys() + "/" + m.getMessageId() + "/" + m.getTag().orElse("-"));
                checked.countDown();
                return org.apache.rocketmq.client.apis.producer.TransactionResolution.COMMIT;
            })
            .build();
        long t0 = System.currentTimeMillis();
        Transaction tx = producer.beginTransaction();
        SendReceipt r = producer.send(provider.newMessageBuilder().setTopic("GrpcTx")
            .setTag("TagT").setKeys(key).setBody(("tx " + key).getBytes(StandardCharsets.UTF_8)).build(), tx);
        try (PrintWriter expect = new PrintWriter(new FileWriter(expectFile, true), true)) {
            expect.println("GrpcTx " + key + " TagT - " + r.getMessageId() + " 0");
        }
        boolean ok = checked.await(60, java.util.concurrent.TimeUnit.SECONDS);
        long waited = System.currentTimeMillis() - t0;
        Thread.sleep(2000); // the EndTransaction the SDK sends after the checker
        producer.close();
        System.out.println("RESULT check " + (ok ? "PASS" : "FAIL") + " checked-after=" + waited
            + "ms message=" + seen.get() + " sent=" + r.getMessageId());
    }

    static void bench(String endpoint, String topic, int seconds, int inFlight, int size) throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration cfg = ClientConfiguration.newBuilder().setEndpoints(endpoint).enableSsl(false).build();
        Producer producer = provider.newProducerBuilder().setClientConfiguration(cfg).setTopics(topic).build();
        byte[] body = new byte[size];
        java.util.Arrays.fill(body, (byte) 'x');
        java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(inFlight);
        java.util.concurrent.atomic.AtomicLong ok = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.ConcurrentLinkedQueue<Long> lat = new java.util.concurrent.ConcurrentLinkedQueue<>();
        long warmEnd = System.currentTimeMillis() + 3000;
        long end = warmEnd + seconds * 1000L;
        long measuredFrom = -1;
        long okAtStart = 0;
        while (System.currentTimeMillis() < end) {
            permits.acquire();
            long now = System.currentTimeMillis();
            if (measuredFrom < 0 && now >= warmEnd) {
                measuredFrom = now;
                okAtStart = ok.get();
                lat.clear();
            }
            long t = System.nanoTime();
            producer.sendAsync(provider.newMessageBuilder().setTopic(topic).setBody(body).build())
                .whenComplete((r, e) -> {
                    if (e == null) {
                        ok.incrementAndGet();
                        lat.add(System.nanoTime() - t);
                    } else {
                        failed.incrementAndGet();
                    }
                    permits.release();
                });
        }
        permits.acquire(inFlight);
        long span = System.currentTimeMillis() - measuredFrom;
        long n = ok.get() - okAtStart;
        Long[] l = lat.toArray(new Long[0]);
        java.util.Arrays.sort(l);
        double p50 = l.length == 0 ? 0 : l[l.length / 2] / 1e6;
        double p99 = l.length == 0 ? 0 : l[Math.min(l.length - 1, (int) (l.length * 0.99))] / 1e6;
        producer.close();
        System.out.printf("RESULT bench %s tps=%d ok=%d failed=%d p50=%.2fms p99=%.2fms total=%d%n",
            failed.get() == 0 && n > 0 ? "PASS" : "FAIL", span > 0 ? n * 1000 / span : 0, n, failed.get(), p50, p99,
            ok.get());
    }

    // prime: the bench group's first receive, on an empty topic, fixes its POP offsets at 0
    // (Java's ConsumeInitMode.MAX would otherwise start a new group at the end of a queue whose
    // first message is no longer in memory).
    static SimpleConsumer prime(String endpoint, String topic, String group) throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration cfg = ClientConfiguration.newBuilder().setEndpoints(endpoint).enableSsl(false).build();
        SimpleConsumer c = provider.newSimpleConsumerBuilder().setClientConfiguration(cfg).setConsumerGroup(group)
            .setAwaitDuration(java.time.Duration.ofSeconds(5))
            .setSubscriptionExpressions(java.util.Collections.singletonMap(topic, FilterExpression.SUB_ALL)).build();
        try {
            int n = c.receive(32, java.time.Duration.ofSeconds(60)).size();
            System.out.println("prime: received " + n);
        } catch (Exception e) {
            System.out.println("prime: " + e.toString().replace('\n', ' '));
        }
        return c;
    }

    static void receive(String endpoint, String topic, String group, int seconds, int consumers, int batch)
        throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        ClientConfiguration cfg = ClientConfiguration.newBuilder().setEndpoints(endpoint).enableSsl(false).build();
        java.util.concurrent.atomic.AtomicLong acked = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong ackFailed = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicInteger empty = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ConcurrentLinkedQueue<Long> lat = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.List<SimpleConsumer> cs = new java.util.ArrayList<>();
        for (int i = 0; i < consumers; i++) {
            cs.add(provider.newSimpleConsumerBuilder().setClientConfiguration(cfg).setConsumerGroup(group)
                .setAwaitDuration(java.time.Duration.ofSeconds(5))
                .setSubscriptionExpressions(java.util.Collections.singletonMap(topic, FilterExpression.SUB_ALL)).build());
        }
        long warmEnd = System.currentTimeMillis() + 3000;
        long end = warmEnd + seconds * 1000L;
        long[] window = {-1, 0, 0}; // measured from, acked at that time, last ack time
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(consumers);
        for (SimpleConsumer c : cs) {
            new Thread(() -> {
                java.util.concurrent.Semaphore acks = new java.util.concurrent.Semaphore(1024);
                try {
                    // Two empty long polls in a row (any consumer) mean the backlog is drained.
                    while (System.currentTimeMillis() < end && empty.get() < 2) {
                        long now = System.currentTimeMillis();
                        synchronized (window) {
                            if (window[0] < 0 && now >= warmEnd) {
                                window[0] = now;
                                window[1] = acked.get();
                                lat.clear();
                            }
                        }
                        long t = System.nanoTime();
                        java.util.List<MessageView> got;
                        try {
                            got = c.receive(batch, java.time.Duration.ofSeconds(60));
                        } catch (Exception e) {
                            got = java.util.Collections.emptyList();
                        }
                        if (got.isEmpty()) {
                            empty.incrementAndGet();
                            continue;
                        }
                        empty.set(0);
                        lat.add(System.nanoTime() - t);
                        received.addAndGet(got.size());
                        for (MessageView m : got) {
                            acks.acquire();
                            c.ackAsync(m).whenComplete((v, e) -> {
                                if (e == null) {
                                    acked.incrementAndGet();
                                    synchronized (window) {
                                        window[2] = System.currentTimeMillis();
                                    }
                                } else {
                                    ackFailed.incrementAndGet();
                                }
                                acks.release();
                            });
                        }
                    }
                    acks.acquire(1024);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            }).start();
        }
        done.await();
        long from, base, last;
        synchronized (window) {
            from = window[0];
            base = window[1];
            last = window[2];
        }
        boolean drained = empty.get() >= 2;
        long stop = drained ? last : Math.max(last, end);
        long span = from < 0 ? 0 : stop - from;
        long n = acked.get() - base;
        Long[] l = lat.toArray(new Long[0]);
        java.util.Arrays.sort(l);
        double p50 = l.length == 0 ? 0 : l[l.length / 2] / 1e6;
        for (SimpleConsumer c : cs) {
            c.close();
        }
        System.out.printf("RESULT receive %s tps=%d acked=%d received=%d ack-failed=%d receive-p50=%.2fms drained=%s%n",
            ackFailed.get() == 0 && n > 0 && span > 0 ? "PASS" : "FAIL", span > 0 ? n * 1000 / span : 0, n,
            received.get(), ackFailed.get(), p50, drained);
    }

    static Resource res(String name) {
        return Resource.newBuilder().setName(name).build();
    }

    static void write(String dir, String name, byte[] bytes) throws Exception {
        try (FileOutputStream out = new FileOutputStream(Paths.get(dir, name).toFile())) {
            out.write(bytes);
        }
        System.out.println("wrote " + name + " " + bytes.length + " bytes");
    }

    static void golden(String dir) throws Exception {
        Files.createDirectories(Paths.get(dir));
        Message msg = Message.newBuilder()
            .setTopic(res("GrpcFifo"))
            .putUserProperties("userProp", "v1")
            .setSystemProperties(SystemProperties.newBuilder()
                .setTag("TagF").addKeys("k1").addKeys("k2").setMessageId("01AABBCCDDEEFF00112233445566")
                .setBodyEncoding(Encoding.IDENTITY).setMessageType(MessageType.FIFO)
                .setBornTimestamp(Timestamp.newBuilder().setSeconds(1764547200L).setNanos(123000000))
                .setBornHost("host-1").setMessageGroup("g0")
                .setDeliveryTimestamp(Timestamp.newBuilder().setSeconds(1764547260L))
                .setOrphanedTransactionRecoveryDuration(Duration.newBuilder().setSeconds(30)))
            .setBody(ByteString.copyFromUtf8("hello grpc"))
            .build();
        write(dir, "send_message_request.bin", SendMessageRequest.newBuilder().addMessages(msg).build().toByteArray());
        Endpoints ep = Endpoints.newBuilder().setScheme(AddressScheme.IPv4)
            .addAddresses(Address.newBuilder().setHost("127.0.0.1").setPort(8081)).build();
        write(dir, "query_route_response.bin", QueryRouteResponse.newBuilder()
            .setStatus(Status.newBuilder().setCode(Code.OK).setMessage("OK"))
            .addMessageQueues(MessageQueue.newBuilder().setTopic(res("GrpcFifo")).setId(2)
                .setPermission(Permission.READ_WRITE)
                .setBroker(Broker.newBuilder().setName("broker-a").setId(0).setEndpoints(ep))
                .addAcceptMessageTypes(MessageType.FIFO))
            .build().toByteArray());
        write(dir, "telemetry_settings.bin", TelemetryCommand.newBuilder()
            .setStatus(Status.newBuilder().setCode(Code.OK).setMessage("OK"))
            .setSettings(Settings.newBuilder().setClientType(ClientType.PRODUCER).setAccessPoint(ep)
                .setBackoffPolicy(RetryPolicy.newBuilder().setMaxAttempts(3)
                    .setExponentialBackoff(ExponentialBackoff.newBuilder()
                        .setInitial(Duration.newBuilder().setNanos(10000000))
                        .setMax(Duration.newBuilder().setSeconds(1)).setMultiplier(2)))
                .setRequestTimeout(Duration.newBuilder().setSeconds(3))
                .setPublishing(Publishing.newBuilder().addTopics(res("GrpcFifo")).setMaxBodySize(4194304).setValidateMessageType(true))
                .setUserAgent(UA.newBuilder().setLanguage(Language.JAVA).setVersion("5.0.8").setPlatform("linux").setHostname("h"))
                .setMetric(Metric.newBuilder().setOn(false)))
            .build().toByteArray());
        write(dir, "send_message_response.bin", SendMessageResponse.newBuilder()
            .setStatus(Status.newBuilder().setCode(Code.MULTIPLE_RESULTS).setMessage("MULTIPLE_RESULTS"))
            .addEntries(SendResultEntry.newBuilder().setStatus(Status.newBuilder().setCode(Code.OK).setMessage("OK"))
                .setMessageId("01AA").setTransactionId("tx").setOffset(-7L).setRecallHandle("rh"))
            .addEntries(SendResultEntry.newBuilder().setStatus(Status.newBuilder().setCode(Code.MASTER_PERSISTENCE_TIMEOUT)
                .setMessage("send message failed, sendStatus=FLUSH_DISK_TIMEOUT")))
            .build().toByteArray());
        write(dir, "end_transaction_request.bin", EndTransactionRequest.newBuilder().setTopic(res("GrpcTx"))
            .setMessageId("01AA").setTransactionId("tx").setResolution(TransactionResolution.ROLLBACK)
            .setSource(TransactionSource.SOURCE_SERVER_CHECK).setTraceContext("tc").build().toByteArray());
        System.out.println("RESULT golden PASS");
    }
}
