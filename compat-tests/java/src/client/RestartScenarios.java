/*
 * Issue-9 features with a broker restart in the middle (compat-tests/restart/run.sh). Each mode
 * does its first half, touches <signalDir>/ready, waits (at most 180 s) for
 * <signalDir>/restarted, written by the script once the broker was killed and is back, and then
 * finishes. Compiled against both clients.
 *
 *   RestartScenarios tx <namesrv> <topic> <group> <signalDir> <n>
 *       A TransactionMQProducer sends n messages each of kinds commit, rollback, checkcommit and
 *       checkrollback (the last two answer UNKNOW, then COMMIT / ROLLBACK when checked back; a
 *       check of a commit or rollback message, if its END_TRANSACTION was lost in the crash,
 *       answers the same). The broker is killed after the sends, before any check is due. A push
 *       consumer then must receive exactly the commit and checkcommit messages acknowledged as
 *       sent, and every check* message must have been checked back.
 *   RestartScenarios sql <namesrv> <topic> <group> <signalDir> <n>
 *       n messages with properties a and b are sent; a consumer with
 *       "a BETWEEN 1 AND 3 AND b = 'x'" starts; after it received a third of the matches the
 *       broker is killed; after the restart it must end with exactly the matching set (copies
 *       allowed) and nothing else.
 *   RestartScenarios retry <namesrv> <topic> <group> <signalDir> <n>
 *       A consumer with maxReconsumeTimes 2 answers RECONSUME_LATER to n messages; once the
 *       first retry arrived the broker is killed; after the restart every message must still
 *       come back until its retries are used up and then be readable from %DLQ%<group> (the
 *       broker's messageDelayLevel is short in the script's config).
 * Last line "RESULT PASS|FAIL <detail>".
 */

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class RestartScenarios {

    public static void main(String[] args) {
        String verdict;
        try {
            if (args.length == 6 && args[0].equals("tx")) {
                verdict = tx(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
            } else if (args.length == 6 && args[0].equals("retry")) {
                verdict = retry(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
            } else if (args.length == 6 && args[0].equals("sql")) {
                verdict = sql(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
            } else {
                verdict = "FAIL bad arguments";
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            verdict = "FAIL unexpected exception: " + t;
        }
        System.out.println("RESULT " + verdict);
        System.out.flush();
        System.exit(verdict.startsWith("PASS") ? 0 : 1);
    }

    static void handOver(String signalDir) throws Exception {
        new File(signalDir, "ready").createNewFile();
        System.out.println("waiting for the broker restart");
        long deadline = System.currentTimeMillis() + 180_000;
        while (!new File(signalDir, "restarted").exists()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("no restart signal");
            }
            Thread.sleep(100);
        }
        System.out.println("broker restarted");
    }

    static DefaultMQPushConsumer consumer(String namesrv, String group) {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPersistConsumerOffsetInterval(1000);
        return c;
    }

    static boolean waitFor(Set<String> got, Set<String> want, int seconds) throws Exception {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (!got.containsAll(want) && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        return got.containsAll(want);
    }

    static String tx(String namesrv, String topic, String group, String signalDir, int n) throws Exception {
        final String[] kinds = {"commit", "rollback", "checkcommit", "checkrollback"};
        final ConcurrentHashMap<String, AtomicInteger> checks = new ConcurrentHashMap<>();
        TransactionMQProducer p = new TransactionMQProducer(group + "_txp");
        p.setNamesrvAddr(namesrv);
        p.setSendMsgTimeout(10000);
        p.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                String b = new String(msg.getBody(), StandardCharsets.UTF_8);
                if (b.startsWith("commit-")) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                if (b.startsWith("rollback-")) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String b = new String(msg.getBody(), StandardCharsets.UTF_8);
                checks.computeIfAbsent(b, k -> new AtomicInteger()).incrementAndGet();
                return b.startsWith("commit-") || b.startsWith("checkcommit-")
                    ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.ROLLBACK_MESSAGE;
            }
        });
        p.start();
        Set<String> expected = new HashSet<>();
        Set<String> mustCheck = new HashSet<>();
        Set<String> forbidden = new HashSet<>();
        int acked = 0;
        for (String k : kinds) {
            for (int i = 0; i < n; i++) {
                String body = k + "-" + i;
                SendResult r = p.sendMessageInTransaction(new Message(topic, "TagT", body, body.getBytes(StandardCharsets.UTF_8)), null);
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    continue;
                }
                acked++;
                if (k.equals("commit") || k.equals("checkcommit")) {
                    expected.add(body);
                } else {
                    forbidden.add(body);
                }
                if (k.startsWith("check")) {
                    mustCheck.add(body);
                }
            }
        }
        System.out.println("sent " + acked + " half messages");
        handOver(signalDir);
        final Set<String> got = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer c = consumer(namesrv, group);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        boolean all = waitFor(got, expected, 120);
        long settle = System.currentTimeMillis() + 5000;
        while (!checks.keySet().containsAll(mustCheck) && System.currentTimeMillis() < settle + 60_000) {
            Thread.sleep(200);
        }
        Thread.sleep(3000); // anything rolled back must still not arrive
        c.shutdown();
        p.shutdown();
        Set<String> leaked = new HashSet<>(got);
        leaked.retainAll(forbidden);
        Set<String> unchecked = new HashSet<>(mustCheck);
        unchecked.removeAll(checks.keySet());
        String detail = "acked=" + acked + " expected=" + expected.size() + " received=" + got.size()
            + " checked=" + checks.size() + " leaked=" + leaked.size() + " unchecked=" + unchecked.size();
        return (all && leaked.isEmpty() && unchecked.isEmpty() && acked == 4 * n ? "PASS " : "FAIL ") + detail;
    }

    static String sql(String namesrv, String topic, String group, String signalDir, int n) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group + "_p");
        p.setNamesrvAddr(namesrv);
        p.setSendMsgTimeout(10000);
        p.start();
        Set<String> expected = new HashSet<>();
        Set<String> all = new HashSet<>();
        for (int i = 0; i < n; i++) {
            String body = "sql-" + i;
            Message m = new Message(topic, "TagS", body, body.getBytes(StandardCharsets.UTF_8));
            int a = i % 5;
            boolean x = i % 2 == 0;
            m.putUserProperty("a", Integer.toString(a));
            m.putUserProperty("b", x ? "x" : "y");
            if (p.send(m).getSendStatus() == SendStatus.SEND_OK) {
                all.add(body);
                if (a >= 1 && a <= 3 && x) {
                    expected.add(body);
                }
            }
        }
        p.shutdown();
        final Set<String> got = ConcurrentHashMap.newKeySet();
        final AtomicInteger copies = new AtomicInteger();
        DefaultMQPushConsumer c = consumer(namesrv, group);
        c.setConsumeMessageBatchMaxSize(1);
        c.setPullBatchSize(4);
        c.subscribe(topic, MessageSelector.bySql("a BETWEEN 1 AND 3 AND b = 'x'"));
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
                copies.incrementAndGet();
            }
            try {
                Thread.sleep(20); // slow enough for the restart to land mid-consumption
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (got.size() < expected.size() / 3 && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        int before = got.size();
        handOver(signalDir);
        boolean complete = waitFor(got, expected, 120);
        Thread.sleep(2000);
        c.shutdown();
        Set<String> wrong = new HashSet<>(got);
        wrong.removeAll(expected);
        String detail = "sent=" + all.size() + " matching=" + expected.size() + " received=" + got.size()
            + " (" + before + " before the restart, " + (copies.get() - got.size()) + " copies) wrong=" + wrong.size();
        return (complete && wrong.isEmpty() && all.size() == n ? "PASS " : "FAIL ") + detail;
    }

    static String retry(String namesrv, String topic, String group, String signalDir, int n) throws Exception {
        final int maxReconsume = 2;
        final ConcurrentHashMap<String, Set<Integer>> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = consumer(namesrv, group);
        c.setMaxReconsumeTimes(maxReconsume);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                seen.computeIfAbsent(new String(m.getBody(), StandardCharsets.UTF_8), k -> ConcurrentHashMap.newKeySet())
                    .add(m.getReconsumeTimes());
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        c.start();
        DefaultMQProducer p = new DefaultMQProducer(group + "_p");
        p.setNamesrvAddr(namesrv);
        p.setSendMsgTimeout(10000);
        p.start();
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < n; i++) {
            String body = "retry-" + i;
            if (p.send(new Message(topic, "TagR", body, body.getBytes(StandardCharsets.UTF_8))).getSendStatus() == SendStatus.SEND_OK) {
                sent.add(body);
            }
        }
        p.shutdown();
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline
            && seen.values().stream().noneMatch(v -> v.contains(1))) {
            Thread.sleep(50);
        }
        handOver(signalDir);
        deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            boolean done = seen.keySet().containsAll(sent);
            for (Set<Integer> v : seen.values()) {
                done &= v.contains(maxReconsume);
            }
            if (done) {
                break;
            }
            Thread.sleep(200);
        }
        Thread.sleep(3000);
        final Set<String> dlq = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer d = consumer(namesrv, group + "-dlq");
        d.subscribe("%DLQ%" + group, "*");
        d.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                dlq.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        d.start();
        boolean all = waitFor(dlq, sent, 60);
        d.shutdown();
        c.shutdown();
        int fullRetries = 0;
        for (Set<Integer> v : seen.values()) {
            if (v.contains(0) && v.contains(1) && v.contains(maxReconsume)) {
                fullRetries++;
            }
        }
        String detail = "sent=" + sent.size() + " retried to the end=" + fullRetries + " in DLQ=" + dlq.size();
        return (all && fullRetries == n && sent.size() == n ? "PASS " : "FAIL ") + detail;
    }
}
