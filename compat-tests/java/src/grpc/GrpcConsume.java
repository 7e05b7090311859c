// Consumers of the official RocketMQ 5 gRPC SDK for Java (rocketmq-client-java 5.0.8) against our
// broker's built-in gRPC endpoint (ReceiveMessage, AckMessage, ChangeInvisibleDuration on POP).
// Compiled against that SDK alone (compat-tests/java/build.sh).
//
//   GrpcConsume simple <endpoint> <topic> <group>
//       a Producer sends 20 messages (keys s-0..s-19); a SimpleConsumer (await 5 s, invisible
//       10 s) receives them: s-0 gets changeInvisibleDuration(2 s) and no ack, s-1 no ack at all,
//       s-2 changeInvisibleDuration(30 s) then ack (with the new handle), the rest an ack. s-0 and
//       s-1 must come back (attempt 2) no earlier than their invisible time and are then acked;
//       nothing else may come back.
//   GrpcConsume push <endpoint> <topic> <group> <count>
//       two PushConsumers of one group (one JVM) are started, a Producer sends <count> messages
//       (64 in flight); every message must be consumed exactly once.
//   GrpcConsume fifo <endpoint> <topic> <group> <groups> <per-group>
//       a Producer sends <per-group> messages to each of <groups> message groups, in order; a
//       PushConsumer of an orderly group must get each message group's messages in send order,
//       each once.
//   GrpcConsume send <endpoint> <topic> <prefix> <count> <expect-file>
//       a Producer sends <count> messages (keys <prefix>-i, tag TagR); appends
//       "topic key tag - messageId 0" per message to <expect-file>.
//   GrpcConsume drain <endpoint> <topic> <group> <expect-file> <seconds>
//       a SimpleConsumer receives and acks until every key of <expect-file> (second column) was
//       seen; checks topic, tag and message id (when the file has one).
//   GrpcConsume dlq <endpoint> <topic> <group> <count>
//       a PushConsumer whose listener always fails gets each of <count> messages until the group's
//       max attempts (retryMaxTimes + 1, from the server's settings); the SDK then forwards each
//       to the DLQ (ForwardMessageToDeadLetterQueue). Prints the attempts seen per message.
//   GrpcConsume acl <endpoint> <topic> <denied-topic> <group> <ak> <sk>
//       with ACL on (aclEnable): a Producer signing with <ak>/<sk> sends 5 messages; one signing
//       with a wrong secret, and a send to <denied-topic> (DENY for <ak>), must be refused; a
//       SimpleConsumer signing with <ak>/<sk> receives and acks the 5.
//
// Prints "RESULT <scenario> PASS|FAIL detail".
import java.io.FileWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;

public class GrpcConsume {
    static final ClientServiceProvider P = ClientServiceProvider.loadService();

    /** -Dgrpc.sdkDefaultSsl=true: keep the SDK's default enableSsl (true), so TLS on our port. */
    static final boolean SDK_DEFAULT_SSL = Boolean.getBoolean("grpc.sdkDefaultSsl");

    static ClientConfiguration cfg(String endpoint) {
        org.apache.rocketmq.client.apis.ClientConfigurationBuilder b = ClientConfiguration.newBuilder()
            .setEndpoints(endpoint).setRequestTimeout(Duration.ofSeconds(10));
        if (!SDK_DEFAULT_SSL) {
            b.enableSsl(false);
        }
        return b.build();
    }

    static void dlq(String endpoint, String topic, String group, int count) throws Exception {
        ConcurrentHashMap<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
        PushConsumer c = P.newPushConsumerBuilder().setClientConfiguration(cfg(endpoint)).setConsumerGroup(group)
            .setSubscriptionExpressions(sub(topic)).setMessageListener(m -> {
                attempts.computeIfAbsent(key(m), k -> new AtomicInteger()).set(m.getDeliveryAttempt());
                return ConsumeResult.FAILURE;
            }).build();
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint)).setTopics(topic).build();
        for (int i = 0; i < count; i++) {
            producer.send(P.newMessageBuilder().setTopic(topic).setKeys("d-" + i)
                .setBody(("dlq " + i).getBytes(StandardCharsets.UTF_8)).build());
        }
        producer.close();
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            int done = 0;
            for (AtomicInteger a : attempts.values()) {
                done += a.get() >= 2 ? 1 : 0;
            }
            if (done == count) {
                break;
            }
            Thread.sleep(200);
        }
        Thread.sleep(5000); // the forward to the DLQ follows the last failed attempt
        c.close();
        java.util.TreeMap<Integer, Integer> byAttempts = new java.util.TreeMap<>();
        for (AtomicInteger a : attempts.values()) {
            byAttempts.merge(a.get(), 1, Integer::sum);
        }
        boolean ok = attempts.size() == count && byAttempts.size() == 1 && byAttempts.containsKey(2);
        System.out.println("RESULT dlq " + (ok ? "PASS" : "FAIL") + " messages=" + attempts.size() + "/" + count
            + " last-attempt-counts=" + byAttempts);
    }

    static ClientConfiguration cfg(String endpoint, String ak, String sk) {
        return ClientConfiguration.newBuilder().setEndpoints(endpoint).enableSsl(false)
            .setCredentialProvider(new org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider(ak, sk))
            .setRequestTimeout(Duration.ofSeconds(10)).build();
    }

    static String refused(String endpoint, String topic, String ak, String sk) {
        try {
            Producer p = P.newProducerBuilder().setClientConfiguration(cfg(endpoint, ak, sk)).setTopics(topic).build();
            try {
                p.send(P.newMessageBuilder().setTopic(topic).setKeys("denied")
                    .setBody("denied".getBytes(StandardCharsets.UTF_8)).build());
                return null;
            } finally {
                p.close();
            }
        } catch (Exception e) {
            // The SDK wraps the gRPC status: look for it along the causes.
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (String.valueOf(t).contains("PERMISSION_DENIED")) {
                    return "PERMISSION_DENIED";
                }
            }
            return e.toString();
        }
    }

    static void acl(String endpoint, String topic, String deniedTopic, String group, String ak, String sk) throws Exception {
        List<String> bad = new ArrayList<>();
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint, ak, sk)).setTopics(topic).build();
        int sent = 0;
        for (int i = 0; i < 5; i++) {
            producer.send(P.newMessageBuilder().setTopic(topic).setKeys("a-" + i)
                .setBody(("acl " + i).getBytes(StandardCharsets.UTF_8)).build());
            sent++;
        }
        producer.close();
        String wrongSecret = refused(endpoint, topic, ak, sk + "-wrong");
        if (wrongSecret == null) {
            bad.add("a wrong secret was accepted");
        }
        String deniedTopicSend = refused(endpoint, deniedTopic, ak, sk);
        if (deniedTopicSend == null) {
            bad.add("a send to the DENY topic was accepted");
        }
        SimpleConsumer c = P.newSimpleConsumerBuilder().setClientConfiguration(cfg(endpoint, ak, sk))
            .setConsumerGroup(group).setAwaitDuration(Duration.ofSeconds(5)).setSubscriptionExpressions(sub(topic))
            .build();
        Map<String, Integer> seen = new HashMap<>();
        long deadline = System.currentTimeMillis() + 40_000;
        while (seen.size() < 5 && System.currentTimeMillis() < deadline) {
            for (MessageView m : c.receive(16, Duration.ofSeconds(15))) {
                seen.merge(key(m), 1, Integer::sum);
                c.ack(m);
            }
        }
        c.close();
        if (seen.size() != 5) {
            bad.add("consumed " + seen.size() + "/5");
        }
        System.out.println("RESULT acl " + (bad.isEmpty() ? "PASS" : "FAIL") + " signed sends=" + sent + "/5 consumed="
            + seen.size() + "/5 wrong-secret=" + wrongSecret + " deny-topic=" + deniedTopicSend + " "
            + String.join("; ", bad));
    }

    static Map<String, FilterExpression> sub(String topic) {
        return Collections.singletonMap(topic, FilterExpression.SUB_ALL);
    }

    static String key(MessageView m) {
        return m.getKeys().isEmpty() ? "-" : m.getKeys().iterator().next();
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "simple": simple(args[1], args[2], args[3]); break;
            case "push": push(args[1], args[2], args[3], Integer.parseInt(args[4])); break;
            case "renew": renew(args[1], args[2], args[3], Integer.parseInt(args[4]), Long.parseLong(args[5])); break;
            case "fifo": fifo(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5])); break;
            case "dlq": dlq(args[1], args[2], args[3], Integer.parseInt(args[4])); break;
            case "acl": acl(args[1], args[2], args[3], args[4], args[5], args[6]); break;
            case "send": send(args[1], args[2], args[3], Integer.parseInt(args[4]), args[5]); break;
            default: drain(args[1], args[2], args[3], args[4], Long.parseLong(args[5])); break;
        }
        System.exit(0);
    }

    static void simple(String endpoint, String topic, String group) throws Exception {
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint)).setTopics(topic).build();
        int n = 20;
        for (int i = 0; i < n; i++) {
            producer.send(P.newMessageBuilder().setTopic(topic).setTag("TagS").setKeys("s-" + i)
                .setBody(("simple " + i).getBytes(StandardCharsets.UTF_8)).build());
        }
        producer.close();
        SimpleConsumer c = P.newSimpleConsumerBuilder().setClientConfiguration(cfg(endpoint))
            .setConsumerGroup(group).setAwaitDuration(Duration.ofSeconds(5)).setSubscriptionExpressions(sub(topic))
            .build();
        Map<String, Integer> seen = new HashMap<>();
        Map<String, Long> firstAt = new HashMap<>();
        Map<String, String> backAfter = new HashMap<>();
        List<String> bad = new ArrayList<>();
        long t0 = System.currentTimeMillis();
        long deadline = t0 + 60_000;
        long quietUntil = Long.MAX_VALUE;
        while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
            List<MessageView> got;
            try {
                got = c.receive(16, Duration.ofSeconds(10));
            } catch (Exception e) {
                if (!String.valueOf(e.getMessage()).contains("MESSAGE_NOT_FOUND") && !(e.toString().contains("NotFound"))) {
                    bad.add("receive: " + e);
                }
                got = Collections.emptyList();
            }
            long now = System.currentTimeMillis();
            for (MessageView m : got) {
                String k = key(m);
                int times = seen.merge(k, 1, Integer::sum);
                if (!topic.equals(m.getTopic()) || !"TagS".equals(m.getTag().orElse(""))) {
                    bad.add(k + ": topic/tag " + m.getTopic() + "/" + m.getTag().orElse("-"));
                }
                if (m.getDeliveryAttempt() != times) {
                    bad.add(k + ": delivery attempt " + m.getDeliveryAttempt() + " on delivery " + times);
                }
                if (times == 1) {
                    firstAt.put(k, now);
                    if (k.equals("s-0")) {
                        c.changeInvisibleDuration(m, Duration.ofSeconds(2));
                        firstAt.put(k, System.currentTimeMillis());
                    } else if (k.equals("s-1")) {
                        // not acked: back after the receive's 10 s
                    } else if (k.equals("s-2")) {
                        c.changeInvisibleDuration(m, Duration.ofSeconds(30));
                        c.ack(m);
                    } else {
                        c.ack(m);
                    }
                } else if ((k.equals("s-0") || k.equals("s-1")) && times == 2) {
                    backAfter.put(k, (now - firstAt.get(k)) + "ms");
                    long min = k.equals("s-0") ? 2000 : 10_000;
                    if (now - firstAt.get(k) < min - 200) {
                        bad.add(k + " back after " + (now - firstAt.get(k)) + "ms, before its invisible time " + min + "ms");
                    }
                    c.ack(m);
                } else {
                    bad.add(k + " delivered " + times + " times");
                }
            }
            if (quietUntil == Long.MAX_VALUE && seen.size() == n && backAfter.size() == 2) {
                quietUntil = System.currentTimeMillis() + 6000; // one more long poll: nothing may come
            }
        }
        c.close();
        boolean ok = bad.isEmpty() && seen.size() == n && backAfter.size() == 2;
        System.out.println("RESULT simple " + (ok ? "PASS" : "FAIL") + " ssl=" + cfg(endpoint).isSslEnabled()
            + " received=" + seen.size() + "/" + n
            + " s-0(changeInvisibleDuration 2s)-back-after=" + backAfter.get("s-0")
            + " s-1(not acked, invisible 10s)-back-after=" + backAfter.get("s-1")
            + " s-2(changeInvisibleDuration then ack) deliveries=" + seen.get("s-2")
            + " elapsed=" + (System.currentTimeMillis() - t0) + "ms " + String.join("; ", bad.subList(0, Math.min(8, bad.size()))));
    }

    static void push(String endpoint, String topic, String group, int count) throws Exception {
        ConcurrentHashMap<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        AtomicInteger[] per = {new AtomicInteger(), new AtomicInteger()};
        List<PushConsumer> consumers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            final int idx = i;
            consumers.add(P.newPushConsumerBuilder().setClientConfiguration(cfg(endpoint)).setConsumerGroup(group)
                .setSubscriptionExpressions(sub(topic)).setMessageListener(m -> {
                    seen.computeIfAbsent(key(m), k -> new AtomicInteger()).incrementAndGet();
                    per[idx].incrementAndGet();
                    return ConsumeResult.SUCCESS;
                }).build());
        }
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint)).setTopics(topic).build();
        Semaphore permits = new Semaphore(64);
        AtomicLong failed = new AtomicLong();
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < count; i++) {
            permits.acquire();
            producer.sendAsync(P.newMessageBuilder().setTopic(topic).setKeys("p-" + i)
                .setBody(("push " + i).getBytes(StandardCharsets.UTF_8)).build())
                .whenComplete((r, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                    }
                    permits.release();
                });
        }
        permits.acquire(64);
        long sent = System.currentTimeMillis() - t0;
        long deadline = System.currentTimeMillis() + 240_000;
        while (seen.size() < count && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        long consumed = System.currentTimeMillis() - t0;
        Thread.sleep(5000); // late duplicates would show now
        int dups = 0;
        for (AtomicInteger v : seen.values()) {
            dups += v.get() - 1;
        }
        for (PushConsumer c : consumers) {
            c.close();
        }
        producer.close();
        // Exactly once across the group, and both members took part.
        boolean ok = failed.get() == 0 && seen.size() == count && dups == 0 && per[0].get() > 0 && per[1].get() > 0;
        System.out.println("RESULT push " + (ok ? "PASS" : "FAIL") + " consumed=" + seen.size() + "/" + count
            + " duplicates=" + dups + " send-failures=" + failed.get() + " consumer-a=" + per[0].get()
            + " consumer-b=" + per[1].get() + " sent-in=" + sent + "ms all-consumed-after=" + consumed + "ms");
    }

    // A PushConsumer whose listener holds each message holdMs (longer than the endpoint's
    // defaultInvisibleTimeMills): the endpoint renews the handles, so each message is consumed
    // once; the SDK acks with the handle it received. A second consumer of the group, started
    // after the first closed, then gets nothing (an ack that failed would come back to it).
    static void renew(String endpoint, String topic, String group, int count, long holdMs) throws Exception {
        ConcurrentHashMap<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        AtomicInteger done = new AtomicInteger();
        PushConsumer c = P.newPushConsumerBuilder().setClientConfiguration(cfg(endpoint)).setConsumerGroup(group)
            .setSubscriptionExpressions(sub(topic)).setMessageListener(m -> {
                seen.computeIfAbsent(key(m), k -> new AtomicInteger()).incrementAndGet();
                try {
                    Thread.sleep(holdMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                done.incrementAndGet();
                return ConsumeResult.SUCCESS;
            }).build();
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint)).setTopics(topic).build();
        int failed = 0;
        for (int i = 0; i < count; i++) {
            try {
                producer.send(P.newMessageBuilder().setTopic(topic).setKeys("r-" + i)
                    .setBody(("renew " + i).getBytes(StandardCharsets.UTF_8)).build());
            } catch (Exception e) {
                failed++;
            }
        }
        long deadline = System.currentTimeMillis() + 60_000 + holdMs;
        while (done.get() < count && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        Thread.sleep(holdMs / 2); // redeliveries of held messages would show now
        int deliveries = 0;
        for (AtomicInteger v : seen.values()) {
            deliveries += v.get();
        }
        c.close();
        AtomicInteger late = new AtomicInteger();
        PushConsumer c2 = P.newPushConsumerBuilder().setClientConfiguration(cfg(endpoint)).setConsumerGroup(group)
            .setSubscriptionExpressions(sub(topic)).setMessageListener(m -> {
                late.incrementAndGet();
                return ConsumeResult.SUCCESS;
            }).build();
        Thread.sleep(8000);
        c2.close();
        producer.close();
        boolean ok = failed == 0 && seen.size() == count && deliveries == count && late.get() == 0;
        System.out.println("RESULT renew " + (ok ? "PASS" : "FAIL") + " consumed=" + seen.size() + "/" + count
            + " deliveries=" + deliveries + " held=" + holdMs + "ms each, after close to a new consumer="
            + late.get() + " send-failures=" + failed);
    }

    static void fifo(String endpoint, String topic, String group, int groups, int perGroup) throws Exception {
        ConcurrentHashMap<String, List<Integer>> got = new ConcurrentHashMap<>();
        AtomicInteger total = new AtomicInteger();
        PushConsumer c = P.newPushConsumerBuilder().setClientConfiguration(cfg(endpoint)).setConsumerGroup(group)
            .setSubscriptionExpressions(sub(topic)).setMessageListener(m -> {
                String[] kv = key(m).split(":");
                List<Integer> l = got.computeIfAbsent(m.getMessageGroup().orElse("-"), g -> Collections.synchronizedList(new ArrayList<>()));
                l.add(Integer.parseInt(kv[1]));
                total.incrementAndGet();
                return ConsumeResult.SUCCESS;
            }).build();
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint)).setTopics(topic).build();
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < perGroup; i++) {
            for (int g = 0; g < groups; g++) {
                producer.send(P.newMessageBuilder().setTopic(topic).setMessageGroup("mg" + g).setKeys("mg" + g + ":" + i)
                    .setBody(("fifo " + g + " " + i).getBytes(StandardCharsets.UTF_8)).build());
            }
        }
        long deadline = System.currentTimeMillis() + 90_000;
        while (total.get() < groups * perGroup && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        long consumed = System.currentTimeMillis() - t0;
        Thread.sleep(3000);
        c.close();
        producer.close();
        List<String> bad = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            List<Integer> l = got.getOrDefault("mg" + g, Collections.emptyList());
            for (int i = 0; i < l.size(); i++) {
                if (l.get(i) != i) {
                    bad.add("mg" + g + " position " + i + " got #" + l.get(i));
                    break;
                }
            }
            if (l.size() != perGroup) {
                bad.add("mg" + g + " got " + l.size() + "/" + perGroup);
            }
        }
        System.out.println("RESULT fifo " + (bad.isEmpty() ? "PASS" : "FAIL") + " consumed=" + total.get() + "/"
            + (groups * perGroup) + " groups=" + groups + " in-order=" + (bad.isEmpty() ? "all" : "no")
            + " after=" + consumed + "ms " + String.join("; ", bad.subList(0, Math.min(8, bad.size()))));
    }

    static void send(String endpoint, String topic, String prefix, int count, String expectFile) throws Exception {
        Producer producer = P.newProducerBuilder().setClientConfiguration(cfg(endpoint)).setTopics(topic).build();
        int ok = 0;
        try (PrintWriter expect = new PrintWriter(new FileWriter(expectFile, true), true)) {
            for (int i = 0; i < count; i++) {
                String k = prefix + "-" + i;
                SendReceipt r = producer.send(P.newMessageBuilder().setTopic(topic).setTag("TagR").setKeys(k)
                    .setBody(("grpc " + k).getBytes(StandardCharsets.UTF_8)).build());
                expect.println(topic + " " + k + " TagR - " + r.getMessageId() + " 0");
                ok++;
            }
        }
        producer.close();
        System.out.println("RESULT send " + (ok == count ? "PASS" : "FAIL") + " sent=" + ok + "/" + count);
    }

    static void drain(String endpoint, String topic, String group, String expectFile, long seconds) throws Exception {
        Map<String, String[]> want = new HashMap<>();
        for (String line : Files.readAllLines(Paths.get(expectFile))) {
            String[] f = line.trim().split(" ");
            if (f.length >= 3 && f[0].equals(topic)) {
                want.put(f[1], f);
            }
        }
        SimpleConsumer c = P.newSimpleConsumerBuilder().setClientConfiguration(cfg(endpoint))
            .setConsumerGroup(group).setAwaitDuration(Duration.ofSeconds(5)).setSubscriptionExpressions(sub(topic))
            .build();
        Map<String, Integer> seen = new HashMap<>();
        List<String> bad = new ArrayList<>();
        long deadline = System.currentTimeMillis() + seconds * 1000;
        while (!seen.keySet().containsAll(want.keySet()) && System.currentTimeMillis() < deadline) {
            List<MessageView> got;
            try {
                got = c.receive(16, Duration.ofSeconds(15));
            } catch (Exception e) {
                got = Collections.emptyList();
            }
            for (MessageView m : got) {
                String k = key(m);
                for (String mk : m.getKeys()) { // a message with several keys: the one expected
                    if (want.containsKey(mk)) {
                        k = mk;
                    }
                }
                seen.merge(k, 1, Integer::sum);
                String[] w = want.get(k);
                if (w == null) {
                    bad.add("unexpected " + k);
                } else {
                    if (!m.getTag().orElse("-").equals(w[2])) {
                        bad.add(k + ": tag " + m.getTag().orElse("-"));
                    }
                    if (w.length >= 5 && !w[4].equals("-") && !w[4].equals(m.getMessageId().toString())) {
                        bad.add(k + ": id " + m.getMessageId() + " != " + w[4]);
                    }
                }
                c.ack(m);
            }
        }
        c.close();
        int missing = 0;
        for (String k : want.keySet()) {
            if (!seen.containsKey(k)) {
                missing++;
            }
        }
        boolean ok = bad.isEmpty() && missing == 0 && !want.isEmpty();
        System.out.println("RESULT drain " + (ok ? "PASS" : "FAIL") + " received=" + (want.size() - missing) + "/"
            + want.size() + " " + String.join("; ", bad.subList(0, Math.min(8, bad.size()))));
    }
}
