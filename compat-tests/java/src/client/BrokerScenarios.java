/*
 * Broker scenarios for the official RocketMQ Java client (remoting protocol), used by the
 * "our broker" phase of compat-tests/run.sh. One source, compiled against rocketmq-client 5.3.3
 * and 4.9.8 (the few API differences, such as the MessageModel package, go through reflection).
 *
 * Usage:
 *   java -cp <client classpath>:<classes> BrokerScenarios <namesrvAddr> <topicBase> <groupBase>
 *        <scenario>[,<scenario>...] [key=value ...]
 *
 * Scenario s uses topic <topicBase>-<suffix> and group <groupBase>-<suffix>; the suffixes are
 * listed in TOPIC_SUFFIXES below (run.sh creates those topics beforehand, 4 queues each):
 *   sync, async, oneway, batch   send <sendCount> messages that way (batch: lists of <batchSize>);
 *                                a push consumer started first must receive every body; body,
 *                                tag, keys, user property, msgId, queueId and queueOffset of
 *                                each message are compared with what the producer sent/was told.
 *   cluster                      push consumer A alone; produce; B joins (wait until the 4 queues
 *                                are split between A and B); produce (0 duplicates allowed, both
 *                                must receive some); B leaves (wait until A owns all); produce.
 *   broadcast                    2 BROADCASTING consumers of one group each receive everything.
 *   orderly                      MessageQueueSelector by key + MessageListenerOrderly, 2 consumers;
 *                                per-key order, one queue per key, no concurrent consumption of a queue.
 *   litepull-assign              DefaultLitePullConsumer, assign(all queues), poll until all arrived.
 *   litepull-subscribe           DefaultLitePullConsumer, subscribe(topic, "*"), poll until all arrived.
 *   tags                         subscribe "TagA || TagB"; produce TagA/TagB/TagC; exactly A+B arrive.
 *   transaction                  TransactionMQProducer: 5 messages each committed and rolled back at
 *                                once, and 5 each answered UNKNOW and then committed / rolled back
 *                                by the broker's check-back (CHECK_TRANSACTION_STATE). Exactly the
 *                                committed ones arrive, every UNKNOW one is checked, no other is.
 *   sql92                        4 consumers with MessageSelector.bySql (BETWEEN/=, IN, IS NULL, TAGS)
 *                                each receive exactly the matching messages; a malformed expression
 *                                is refused when its consumer starts (needs enablePropertyFilter).
 *   retry                        a listener answering RECONSUME_LATER (maxReconsumeTimes 2) sees each
 *                                message again from %RETRY% with reconsumeTimes 0, 1, 2; then the
 *                                message is in %DLQ%<group>, where a consumer of the DLQ reads it
 *                                (run.sh shortens messageDelayLevel so this takes seconds).
 *   newgroup                     messages exist; a brand-new group with CONSUME_FROM_LAST_OFFSET
 *                                starts; new messages must arrive. Reports how many OLD messages it
 *                                got as "BEHAVIOUR newgroup <all|none|partial> old=<x>/<n>" (run.sh
 *                                compares that with the Java broker's behaviour).
 *   offsets-before               produce <count> "old" messages, consume them all with group
 *                                <groupBase>-offsets, shut the consumer down (offsets persisted).
 *   offsets-after                (after run.sh restarted the broker) produce <count> "new" messages,
 *                                start the same group: all new ones must arrive, re-deliveries of
 *                                old ones must be <= 32 * queues. Needs the same tag= as before.
 *   hold-consumer                produce <count> messages to <topicBase>-admin, consume them with a push
 *                                consumer of group <groupBase>-admin, print "HOLDING", then keep the
 *                                consumer up until the file holdFile=<path> exists (at most timeout s),
 *                                so that mqadmin consumerConnection/consumerProgress can look at it.
 *                                (quickstart-*: namesrvAddr "env" = rely on the NAMESRV_ADDR variable)
 *   quickstart-producer          the official quick-start producer: group please_rename_unique_group_name,
 *                                1000 x "Hello RocketMQ i" to TopicTest/TagA (auto-created via TBW102).
 *   quickstart-consumer          the official quick-start consumer (group please_rename_unique_group_name_4,
 *                                TopicTest "*", CONSUME_FROM_FIRST_OFFSET) must receive all 1000.
 *
 * Options: sendCount=10000 count=400 batchSize=100 timeout=120 (seconds per scenario wait)
 *          tag=<run tag, default random> queues=4
 *
 * Output: one line per scenario, "RESULT <scenario> PASS|FAIL <detail>". Exit code 0 when all passed.
 */

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

public class BrokerScenarios {

    static final String[][] TOPIC_SUFFIXES = {
        {"sync", "sync"}, {"async", "async"}, {"oneway", "oneway"}, {"batch", "batch"},
        {"cluster", "cluster"}, {"broadcast", "broadcast"}, {"orderly", "orderly"},
        {"litepull-assign", "lpassign"}, {"litepull-subscribe", "lpsub"}, {"tags", "tags"},
        {"newgroup", "newgroup"}, {"offsets-before", "offsets"}, {"offsets-after", "offsets"},
        {"hold-consumer", "admin"}, {"transaction", "tx"}, {"sql92", "sql"}, {"retry", "retry"},
    };

    static String namesrv;
    static String topicBase;
    static String groupBase;
    static String runTag;
    static int sendCount = 10000;
    static int count = 400;
    static int batchSize = 100;
    static int timeoutSec = 120;
    static int queues = 4;
    static String holdFile;
    static String version;
    static final AtomicInteger INSTANCE_SEQ = new AtomicInteger();

    public static void main(String[] args) {
        int failed = 0;
        try {
            if (args.length < 4) {
                System.out.println("usage: BrokerScenarios <namesrvAddr> <topicBase> <groupBase> <scenario,...> [key=value ...]");
                System.exit(2);
            }
            namesrv = args[0];
            topicBase = args[1];
            groupBase = args[2];
            Map<String, String> opts = new HashMap<>();
            for (int i = 4; i < args.length; i++) {
                int eq = args[i].indexOf('=');
                if (eq > 0) {
                    opts.put(args[i].substring(0, eq), args[i].substring(eq + 1));
                }
            }
            sendCount = Integer.parseInt(opts.getOrDefault("sendCount", "10000"));
            count = Integer.parseInt(opts.getOrDefault("count", "400"));
            batchSize = Integer.parseInt(opts.getOrDefault("batchSize", "100"));
            timeoutSec = Integer.parseInt(opts.getOrDefault("timeout", "120"));
            queues = Integer.parseInt(opts.getOrDefault("queues", "4"));
            holdFile = opts.get("holdFile");
            runTag = opts.getOrDefault("tag", Long.toString(System.currentTimeMillis(), 36));
            version = org.apache.rocketmq.common.MQVersion.getVersionDesc(
                org.apache.rocketmq.common.MQVersion.CURRENT_VERSION);
            log("client " + version + ", namesrv " + namesrv + ", topics " + topicBase + "-*, groups " + groupBase
                + "-*, tag " + runTag + ", sendCount " + sendCount + ", count " + count + ", timeout " + timeoutSec + "s");
            for (String scn : args[3].split(",")) {
                long t0 = System.currentTimeMillis();
                String verdict;
                try {
                    verdict = runScenario(scn.trim());
                } catch (Throwable t) {
                    t.printStackTrace(System.out);
                    verdict = "FAIL unexpected exception: " + t;
                }
                if (!verdict.startsWith("PASS")) {
                    failed++;
                }
                System.out.println("RESULT " + scn.trim() + " " + verdict + " [" + (System.currentTimeMillis() - t0) + " ms]");
                System.out.flush();
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("RESULT all FAIL unexpected exception: " + t);
            failed++;
        }
        System.out.flush();
        // The client libraries leave non-daemon threads behind; exit explicitly.
        System.exit(failed == 0 ? 0 : 1);
    }

    static void log(String s) {
        System.out.println("[" + String.format("%tT", System.currentTimeMillis()) + "] " + s);
        System.out.flush();
    }

    static String topicOf(String scn) {
        for (String[] p : TOPIC_SUFFIXES) {
            if (p[0].equals(scn)) {
                return topicBase + "-" + p[1];
            }
        }
        throw new IllegalArgumentException("unknown scenario " + scn);
    }

    static String groupOf(String scn) {
        for (String[] p : TOPIC_SUFFIXES) {
            if (p[0].equals(scn)) {
                return groupBase + "-" + p[1];
            }
        }
        throw new IllegalArgumentException("unknown scenario " + scn);
    }

    static String runScenario(String scn) throws Exception {
        log("=== scenario " + scn);
        switch (scn) {
            case "sync":
            case "async":
            case "oneway":
            case "batch":
                return sendScenario(scn);
            case "cluster":
                return clusterScenario();
            case "broadcast":
                return broadcastScenario();
            case "orderly":
                return orderlyScenario();
            case "litepull-assign":
                return litePullScenario(scn, true);
            case "litepull-subscribe":
                return litePullScenario(scn, false);
            case "tags":
                return tagScenario();
            case "transaction":
                return transactionScenario();
            case "sql92":
                return sql92Scenario();
            case "retry":
                return retryScenario();
            case "newgroup":
                return newGroupScenario();
            case "offsets-before":
                return offsetsBefore();
            case "offsets-after":
                return offsetsAfter();
            case "hold-consumer":
                return holdConsumer();
            case "quickstart-producer":
                return quickstartProducer();
            case "quickstart-consumer":
                return quickstartConsumer();
            default:
                return "FAIL unknown scenario " + scn;
        }
    }

    // ------------------------------------------------------------------ helpers

    static String instance(String what) {
        return "compat-" + what + "-" + runTag + "-" + INSTANCE_SEQ.incrementAndGet();
    }

    static DefaultMQProducer producer(String group) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(instance("producer"));
        p.setSendMsgTimeout(10000);
        p.setRetryTimesWhenSendFailed(2);
        p.setRetryTimesWhenSendAsyncFailed(2);
        p.start();
        return p;
    }

    static DefaultMQPushConsumer pushConsumer(String group, String name) {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(instance(name));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setConsumeThreadMin(4);
        c.setConsumeThreadMax(8);
        return c;
    }

    /** MessageModel moved from org.apache.rocketmq.common.protocol.heartbeat (4.x) to ...remoting.protocol.heartbeat (5.x). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static void setBroadcasting(DefaultMQPushConsumer c) throws Exception {
        Object current = c.getMessageModel();
        Class cls = current.getClass();
        Object broadcasting = Enum.valueOf(cls, "BROADCASTING");
        Method m = DefaultMQPushConsumer.class.getMethod("setMessageModel", cls);
        m.invoke(c, broadcasting);
    }

    /** Queues of the topic this push consumer currently owns (its rebalance result). */
    static Set<MessageQueue> owned(DefaultMQPushConsumer c, String topic) {
        Set<MessageQueue> s = new HashSet<>();
        for (Map.Entry<MessageQueue, ProcessQueue> e
            : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().entrySet()) {
            if (e.getKey().getTopic().equals(topic) && !e.getValue().isDropped()) {
                s.add(e.getKey());
            }
        }
        return s;
    }

    static boolean allLocked(DefaultMQPushConsumer c, String topic) {
        for (Map.Entry<MessageQueue, ProcessQueue> e
            : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().entrySet()) {
            if (e.getKey().getTopic().equals(topic) && !e.getValue().isLocked()) {
                return false;
            }
        }
        return true;
    }

    static String queueIds(Set<MessageQueue> s) {
        List<Integer> ids = new ArrayList<>();
        for (MessageQueue q : s) {
            ids.add(q.getQueueId());
        }
        java.util.Collections.sort(ids);
        return ids.toString();
    }

    /** Polls cond every 100 ms until it holds or timeoutMs passed; returns the elapsed ms, or -1 on timeout. */
    static long waitUntil(long timeoutMs, BooleanSupplier cond) throws InterruptedException {
        long t0 = System.currentTimeMillis();
        while (true) {
            if (cond.getAsBoolean()) {
                return System.currentTimeMillis() - t0;
            }
            if (System.currentTimeMillis() - t0 > timeoutMs) {
                return -1;
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    /** Runs a shutdown with a bound, so a hanging client cannot block the remaining scenarios. */
    static void quietly(String what, Runnable r) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (Throwable e) {
                log(what + ": " + e);
            }
        }, "compat-shutdown");
        t.setDaemon(true);
        t.start();
        try {
            t.join(30000);
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            log(what + " still running after 30 s");
        }
    }

    static String tagFor(int i) {
        return i % 3 == 0 ? "TagA" : (i % 3 == 1 ? "TagB" : null);
    }

    static String keysFor(int i) {
        return i % 2 == 0 ? "key-" + i : null;
    }

    /** Distinct-body bookkeeping for one batch of messages with bodies prefix + index. */
    static final class Tracker {
        final String name;
        final String prefix;
        final int n;
        final AtomicInteger[] seen;
        final AtomicInteger deliveries = new AtomicInteger();
        final AtomicInteger distinct = new AtomicInteger();
        final ConcurrentHashMap<String, AtomicInteger> perInstance = new ConcurrentHashMap<>();

        Tracker(String name, String prefix, int n) {
            this.name = name;
            this.prefix = prefix;
            this.n = n;
            this.seen = new AtomicInteger[n];
            for (int i = 0; i < n; i++) {
                seen[i] = new AtomicInteger();
            }
        }

        String body(int i) {
            return prefix + i;
        }

        /** Index of the body, -1 when the body does not belong to this tracker. */
        int indexOf(String body) {
            if (!body.startsWith(prefix)) {
                return -1;
            }
            try {
                int i = Integer.parseInt(body.substring(prefix.length()));
                return i >= 0 && i < n ? i : -1;
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        /** Records a delivery; returns true for the first delivery of that index. */
        boolean add(int i, String instance) {
            deliveries.incrementAndGet();
            if (instance != null) {
                perInstance.computeIfAbsent(instance, k -> new AtomicInteger()).incrementAndGet();
            }
            if (seen[i].incrementAndGet() == 1) {
                distinct.incrementAndGet();
                return true;
            }
            return false;
        }

        int distinct() {
            return distinct.get();
        }

        boolean complete() {
            return distinct.get() >= n;
        }

        int dups() {
            return deliveries.get() - distinct.get();
        }

        List<Integer> missing(int limit) {
            List<Integer> m = new ArrayList<>();
            for (int i = 0; i < n && m.size() < limit; i++) {
                if (seen[i].get() == 0) {
                    m.add(i);
                }
            }
            return m;
        }

        int perInstance(String inst) {
            AtomicInteger a = perInstance.get(inst);
            return a == null ? 0 : a.get();
        }

        String summary() {
            String s = name + " " + distinct() + "/" + n + " distinct, " + dups() + " dups";
            if (!complete()) {
                s += ", first missing " + missing(10);
            }
            return s;
        }
    }

    /** Routes each received message to the tracker owning its body prefix. */
    static final class Router {
        final List<Tracker> trackers = new ArrayList<>();
        final AtomicInteger foreign = new AtomicInteger();
        final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

        Tracker add(Tracker t) {
            trackers.add(t);
            return t;
        }

        /** Returns the tracker and index, or null for a foreign message. */
        Object[] accept(MessageExt m, String instance) {
            String body = new String(m.getBody(), StandardCharsets.UTF_8);
            for (Tracker t : trackers) {
                int i = t.indexOf(body);
                if (i >= 0) {
                    boolean first = t.add(i, instance);
                    return new Object[] {t, i, first};
                }
            }
            foreign.incrementAndGet();
            if (foreign.get() <= 5) {
                problems.add("foreign message body '" + body + "' on " + m.getTopic() + "/" + m.getQueueId());
            }
            return null;
        }

        String problemSummary() {
            if (problems.isEmpty()) {
                return "";
            }
            List<String> l = new ArrayList<>(problems);
            StringBuilder b = new StringBuilder("; " + l.size() + " problems: ");
            for (int i = 0; i < l.size() && i < 5; i++) {
                b.append(i == 0 ? "" : " | ").append(l.get(i));
            }
            for (String p : l.subList(0, Math.min(20, l.size()))) {
                log("problem: " + p);
            }
            return b.toString();
        }
    }

    static MessageListenerConcurrently concurrentListener(final Router r, final String instance) {
        return (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                r.accept(m, instance);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
    }

    static String waitAll(Tracker t, long ms) throws InterruptedException {
        long took = waitUntil(ms, t::complete);
        return took < 0 ? "timed out after " + ms / 1000 + " s" : took + " ms";
    }

    /** Produces n plain messages (sync, tags TagA/TagB/none) with bodies of the tracker. */
    static int produceSync(DefaultMQProducer p, String topic, Tracker t, List<String> problems) {
        int ok = 0;
        for (int i = 0; i < t.n; i++) {
            Message msg = new Message(topic, t.body(i).getBytes(StandardCharsets.UTF_8));
            String tag = tagFor(i);
            if (tag != null) {
                msg.setTags(tag);
            }
            try {
                SendResult r = p.send(msg);
                if (r.getSendStatus() == SendStatus.SEND_OK) {
                    ok++;
                } else {
                    problems.add("send " + t.body(i) + ": status " + r.getSendStatus());
                }
            } catch (Exception e) {
                problems.add("send " + t.body(i) + ": " + e);
                if (problems.size() > 20) {
                    break;
                }
            }
        }
        return ok;
    }

    // ------------------------------------------------------------------ 1. send modes

    static final class Sent {
        final String msgId;
        final int queueId;
        final long queueOffset;

        Sent(String msgId, int queueId, long queueOffset) {
            this.msgId = msgId;
            this.queueId = queueId;
            this.queueOffset = queueOffset;
        }
    }

    static String sendScenario(final String mode) throws Exception {
        final String topic = topicOf(mode);
        final String group = groupOf(mode);
        final int n = sendCount;
        final Router router = new Router();
        final Tracker t = router.add(new Tracker(mode, "brk-" + runTag + "-" + mode + "-", n));
        final Sent[] sent = new Sent[n];
        final MessageExt[] firstSeen = new MessageExt[n];

        DefaultMQPushConsumer c = pushConsumer(group, "consumer");
        c.subscribe(topic, "*");
        c.setConsumeThreadMax(16);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                Object[] r = router.accept(m, null);
                if (r != null && (Boolean) r[2]) {
                    int i = (Integer) r[1];
                    firstSeen[i] = m;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        DefaultMQProducer p = producer(group + "_producer");
        final List<String> sendProblems = java.util.Collections.synchronizedList(new ArrayList<String>());
        final AtomicInteger sendOk = new AtomicInteger();
        try {
            c.start();
            long t0 = System.currentTimeMillis();
            if (mode.equals("batch")) {
                for (int start = 0; start < n; start += batchSize) {
                    List<Message> batch = new ArrayList<>();
                    for (int i = start; i < Math.min(n, start + batchSize); i++) {
                        batch.add(message(topic, t, i));
                    }
                    try {
                        SendResult r = p.send(batch);
                        String[] ids = r.getMsgId() == null ? new String[0] : r.getMsgId().split(",");
                        if (r.getSendStatus() != SendStatus.SEND_OK) {
                            sendProblems.add("batch at " + start + ": status " + r.getSendStatus());
                        } else if (ids.length != batch.size()) {
                            sendProblems.add("batch at " + start + ": " + ids.length + " msgIds for " + batch.size() + " messages");
                        } else {
                            sendOk.addAndGet(batch.size());
                        }
                        // msgId is not compared for batches: the Java 5.3.3 broker appends the batch's own
                        // properties (with the batch's UNIQ_KEY) to every message, so consumers see that id.
                        for (int k = 0; k < batch.size(); k++) {
                            sent[start + k] = new Sent(null, r.getMessageQueue().getQueueId(), r.getQueueOffset() + k);
                        }
                    } catch (Exception e) {
                        sendProblems.add("batch at " + start + ": " + e);
                        if (sendProblems.size() > 10) {
                            break;
                        }
                    }
                }
            } else if (mode.equals("async")) {
                final Semaphore inflight = new Semaphore(256);
                final CountDownLatch done = new CountDownLatch(n);
                for (int i = 0; i < n; i++) {
                    final int idx = i;
                    inflight.acquire();
                    try {
                        p.send(message(topic, t, i), new SendCallback() {
                            @Override
                            public void onSuccess(SendResult r) {
                                if (r.getSendStatus() == SendStatus.SEND_OK) {
                                    sendOk.incrementAndGet();
                                } else {
                                    sendProblems.add("async #" + idx + ": status " + r.getSendStatus());
                                }
                                sent[idx] = new Sent(r.getMsgId(), r.getMessageQueue().getQueueId(), r.getQueueOffset());
                                inflight.release();
                                done.countDown();
                            }

                            @Override
                            public void onException(Throwable e) {
                                sendProblems.add("async #" + idx + ": " + e);
                                inflight.release();
                                done.countDown();
                            }
                        }, 10000);
                    } catch (Exception e) {
                        sendProblems.add("async #" + idx + " (submit): " + e);
                        inflight.release();
                        done.countDown();
                    }
                }
                if (!done.await(timeoutSec, TimeUnit.SECONDS)) {
                    sendProblems.add((done.getCount()) + " async callbacks never completed");
                }
            } else if (mode.equals("oneway")) {
                for (int i = 0; i < n; i++) {
                    try {
                        p.sendOneway(message(topic, t, i));
                        sendOk.incrementAndGet();
                    } catch (Exception e) {
                        sendProblems.add("oneway #" + i + ": " + e);
                        if (sendProblems.size() > 10) {
                            break;
                        }
                    }
                }
            } else {
                for (int i = 0; i < n; i++) {
                    try {
                        SendResult r = p.send(message(topic, t, i));
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            sendOk.incrementAndGet();
                        } else {
                            sendProblems.add("sync #" + i + ": status " + r.getSendStatus());
                        }
                        sent[i] = new Sent(r.getMsgId(), r.getMessageQueue().getQueueId(), r.getQueueOffset());
                    } catch (Exception e) {
                        sendProblems.add("sync #" + i + ": " + e);
                        if (sendProblems.size() > 10) {
                            break;
                        }
                    }
                }
            }
            long t1 = System.currentTimeMillis();
            log(mode + ": sent ok " + sendOk.get() + "/" + n + " in " + (t1 - t0) + " ms, " + sendProblems.size() + " send problems");
            String waited = waitAll(t, timeoutSec * 1000L);
            long t2 = System.currentTimeMillis();
            // Compare what arrived with what was sent.
            int checked = 0;
            for (int i = 0; i < n; i++) {
                MessageExt m = firstSeen[i];
                if (m == null) {
                    continue;
                }
                checked++;
                String err = checkMessage(topic, i, m, sent[i]);
                if (err != null) {
                    router.problems.add(err);
                }
            }
            String detail = mode + " x" + n + (mode.equals("batch") ? " (batches of " + batchSize + ")" : "")
                + ": sent " + sendOk.get() + " in " + (t1 - t0) + " ms, received " + t.summary() + " (wait " + waited
                + ", total " + (t2 - t0) + " ms), " + checked + " checked";
            for (String s : sendProblems.subList(0, Math.min(5, sendProblems.size()))) {
                log("send problem: " + s);
            }
            if (!sendProblems.isEmpty()) {
                detail += "; " + sendProblems.size() + " send problems, first: " + sendProblems.get(0);
            }
            detail += router.problemSummary();
            boolean pass = sendProblems.isEmpty() && sendOk.get() == n && t.complete() && router.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + detail;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer shutdown", c::shutdown);
        }
    }

    static Message message(String topic, Tracker t, int i) {
        Message msg = new Message(topic, t.body(i).getBytes(StandardCharsets.UTF_8));
        String tag = tagFor(i);
        String keys = keysFor(i);
        if (tag != null) {
            msg.setTags(tag);
        }
        if (keys != null) {
            msg.setKeys(keys);
        }
        msg.putUserProperty("compat_i", Integer.toString(i));
        return msg;
    }

    static String checkMessage(String topic, int i, MessageExt m, Sent s) {
        String tag = tagFor(i);
        String keys = keysFor(i);
        String where = "#" + i;
        if (!topic.equals(m.getTopic())) {
            return where + ": topic " + m.getTopic();
        }
        if (tag != null ? !tag.equals(m.getTags()) : m.getTags() != null) {
            return where + ": tags " + m.getTags() + ", want " + tag;
        }
        if (keys != null ? !keys.equals(m.getKeys()) : m.getKeys() != null) {
            return where + ": keys " + m.getKeys() + ", want " + keys;
        }
        if (!Integer.toString(i).equals(m.getUserProperty("compat_i"))) {
            return where + ": user property compat_i=" + m.getUserProperty("compat_i");
        }
        if (m.getMsgId() == null || m.getMsgId().isEmpty()) {
            return where + ": empty msgId";
        }
        if (m.getBornTimestamp() <= 0 || m.getStoreTimestamp() <= 0) {
            return where + ": bornTimestamp " + m.getBornTimestamp() + " storeTimestamp " + m.getStoreTimestamp();
        }
        if (s != null) {
            if (s.msgId != null && !s.msgId.equals(m.getMsgId())) {
                return where + ": msgId " + m.getMsgId() + ", send result said " + s.msgId;
            }
            if (s.queueId != m.getQueueId() || s.queueOffset != m.getQueueOffset()) {
                return where + ": stored at queue " + m.getQueueId() + " offset " + m.getQueueOffset()
                    + ", send result said queue " + s.queueId + " offset " + s.queueOffset;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ 2. cluster rebalance

    static String clusterScenario() throws Exception {
        final String topic = topicOf("cluster");
        final String group = groupOf("cluster");
        final Router router = new Router();
        final String pre = "brk-" + runTag + "-cluster-";
        final Tracker p1 = router.add(new Tracker("phase1(A alone)", pre + "p1-", count));
        final Tracker p2 = router.add(new Tracker("phase2(A+B)", pre + "p2-", count));
        final Tracker p3 = router.add(new Tracker("phase3(A after B left)", pre + "p3-", count));
        final long waitMs = timeoutSec * 1000L;
        List<String> sendProblems = new ArrayList<>();

        DefaultMQPushConsumer a = pushConsumer(group, "A");
        a.subscribe(topic, "*");
        a.registerMessageListener(concurrentListener(router, "A"));
        DefaultMQPushConsumer b = pushConsumer(group, "B");
        b.subscribe(topic, "*");
        b.registerMessageListener(concurrentListener(router, "B"));
        DefaultMQProducer p = producer(group + "_producer");
        boolean bDown = false;
        StringBuilder d = new StringBuilder();
        try {
            a.start();
            long s0 = waitUntil(waitMs, () -> owned(a, topic).size() == queues);
            d.append("A owns ").append(queues).append(" queues after ").append(s0).append(" ms; ");
            produceSync(p, topic, p1, sendProblems);
            String w1 = waitAll(p1, waitMs);
            int p1DupsAlone = p1.dups();
            d.append(p1.summary()).append(" (").append(w1).append("); ");

            b.start();
            final long joinStart = System.currentTimeMillis();
            long s1 = waitUntil(waitMs, () -> {
                Set<MessageQueue> qa = owned(a, topic);
                Set<MessageQueue> qb = owned(b, topic);
                Set<MessageQueue> all = new HashSet<>(qa);
                all.addAll(qb);
                return !qa.isEmpty() && !qb.isEmpty() && all.size() == queues && qa.size() + qb.size() == queues;
            });
            d.append("B joined: split A").append(queueIds(owned(a, topic))).append("/B").append(queueIds(owned(b, topic)))
                .append(s1 < 0 ? " NOT settled" : " after " + s1 + " ms").append("; ");
            int p1DupsAfterJoin = p1.dups() - p1DupsAlone;
            produceSync(p, topic, p2, sendProblems);
            String w2 = waitAll(p2, waitMs);
            int p2a = p2.perInstance("A");
            int p2b = p2.perInstance("B");
            d.append(p2.summary()).append(" (").append(w2).append(", A got ").append(p2a).append(", B got ").append(p2b)
                .append("); ");

            quietly("consumer B shutdown", b::shutdown);
            bDown = true;
            long s2 = waitUntil(waitMs, () -> owned(a, topic).size() == queues);
            d.append("B left: A owns ").append(queueIds(owned(a, topic))).append(s2 < 0 ? " NOT settled" : " after " + s2 + " ms")
                .append("; ");
            produceSync(p, topic, p3, sendProblems);
            String w3 = waitAll(p3, waitMs);
            d.append(p3.summary()).append(" (").append(w3).append(", A got ").append(p3.perInstance("A")).append(")");
            d.append("; re-deliveries of phase-1 messages around the join: ").append(p1DupsAfterJoin);
            if (!sendProblems.isEmpty()) {
                d.append("; ").append(sendProblems.size()).append(" send problems, first: ").append(sendProblems.get(0));
            }
            d.append(router.problemSummary());
            List<String> why = new ArrayList<>();
            if (!p1.complete() || !p2.complete() || !p3.complete()) {
                why.add("not all messages received by the group");
            }
            if (p1DupsAlone != 0) {
                why.add(p1DupsAlone + " duplicates with A alone");
            }
            if (p2.dups() != 0) {
                why.add(p2.dups() + " duplicates with A+B settled");
            }
            if (p2a == 0 || p2b == 0) {
                why.add("not both instances received phase-2 messages");
            }
            if (s1 < 0 || s2 < 0) {
                why.add("rebalance did not settle");
            }
            if (!sendProblems.isEmpty() || !router.problems.isEmpty()) {
                why.add("problems");
            }
            return (why.isEmpty() ? "PASS " : "FAIL " + why + ": ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            if (!bDown) {
                quietly("consumer B shutdown", b::shutdown);
            }
            quietly("consumer A shutdown", a::shutdown);
        }
    }

    // ------------------------------------------------------------------ 3. broadcasting

    static String broadcastScenario() throws Exception {
        final String topic = topicOf("broadcast");
        final String group = groupOf("broadcast");
        final String pre = "brk-" + runTag + "-broadcast-";
        final Router r1 = new Router();
        final Router r2 = new Router();
        final Tracker t1 = r1.add(new Tracker("consumer1", pre, count));
        final Tracker t2 = r2.add(new Tracker("consumer2", pre, count));
        final long waitMs = timeoutSec * 1000L;
        DefaultMQPushConsumer c1 = pushConsumer(group, "bc1");
        DefaultMQPushConsumer c2 = pushConsumer(group, "bc2");
        setBroadcasting(c1);
        setBroadcasting(c2);
        c1.subscribe(topic, "*");
        c2.subscribe(topic, "*");
        c1.registerMessageListener(concurrentListener(r1, "c1"));
        c2.registerMessageListener(concurrentListener(r2, "c2"));
        DefaultMQProducer p = producer(group + "_producer");
        try {
            c1.start();
            c2.start();
            long s = waitUntil(waitMs, () -> owned(c1, topic).size() == queues && owned(c2, topic).size() == queues);
            List<String> sendProblems = new ArrayList<>();
            produceSync(p, topic, t1, sendProblems);
            String w1 = waitAll(t1, waitMs);
            String w2 = waitAll(t2, waitMs);
            String d = "each consumer owns all " + queues + " queues " + (s < 0 ? "NOT reached" : "after " + s + " ms")
                + "; " + t1.summary() + " (" + w1 + "); " + t2.summary() + " (" + w2 + ")"
                + (sendProblems.isEmpty() ? "" : "; send problems: " + sendProblems.size() + ", first: " + sendProblems.get(0))
                + r1.problemSummary() + r2.problemSummary();
            boolean pass = t1.complete() && t2.complete() && sendProblems.isEmpty() && r1.problems.isEmpty()
                && r2.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer 1 shutdown", c1::shutdown);
            quietly("consumer 2 shutdown", c2::shutdown);
        }
    }

    // ------------------------------------------------------------------ 4. orderly

    static String orderlyScenario() throws Exception {
        final String topic = topicOf("orderly");
        final String group = groupOf("orderly");
        final int keys = 16;
        final int perKey = Math.max(1, count / keys);
        final String pre = "brk-" + runTag + "-orderly-";
        final long waitMs = timeoutSec * 1000L;
        final Map<String, List<Integer>> seqs = new ConcurrentHashMap<>();
        final Map<String, Set<Integer>> queuesOfKey = new ConcurrentHashMap<>();
        final ConcurrentHashMap<Integer, AtomicInteger> busy = new ConcurrentHashMap<>();
        final AtomicInteger concurrentViolations = new AtomicInteger();
        final AtomicInteger received = new AtomicInteger();
        final Set<String> distinct = ConcurrentHashMap.newKeySet();
        final ConcurrentHashMap<String, AtomicInteger> perInstance = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

        DefaultMQPushConsumer[] cs = new DefaultMQPushConsumer[2];
        for (int k = 0; k < 2; k++) {
            final String inst = "o" + (k + 1);
            DefaultMQPushConsumer c = pushConsumer(group, inst);
            c.subscribe(topic, "*");
            c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    AtomicInteger b = busy.computeIfAbsent(m.getQueueId(), q -> new AtomicInteger());
                    if (b.incrementAndGet() > 1) {
                        concurrentViolations.incrementAndGet();
                    }
                    try {
                        String body = new String(m.getBody(), StandardCharsets.UTF_8);
                        if (!body.startsWith(pre)) {
                            problems.add("foreign body " + body);
                            continue;
                        }
                        String[] parts = body.substring(pre.length()).split("-");
                        String key = parts[0];
                        int seq = Integer.parseInt(parts[1]);
                        seqs.computeIfAbsent(key, x -> java.util.Collections.synchronizedList(new ArrayList<Integer>())).add(seq);
                        queuesOfKey.computeIfAbsent(key, x -> ConcurrentHashMap.newKeySet()).add(m.getQueueId());
                        if (!key.equals(m.getKeys())) {
                            problems.add(body + ": keys " + m.getKeys());
                        }
                        received.incrementAndGet();
                        distinct.add(body);
                        perInstance.computeIfAbsent(inst, x -> new AtomicInteger()).incrementAndGet();
                    } finally {
                        b.decrementAndGet();
                    }
                }
                return ConsumeOrderlyStatus.SUCCESS;
            });
            cs[k] = c;
        }
        DefaultMQProducer p = producer(group + "_producer");
        final MessageQueueSelector selector = (mqs, msg, arg) -> {
            int h = Math.abs(((String) arg).hashCode() % mqs.size());
            return mqs.get(h);
        };
        try {
            cs[0].start();
            cs[1].start();
            long s = waitUntil(waitMs, () -> {
                Set<MessageQueue> q1 = owned(cs[0], topic);
                Set<MessageQueue> q2 = owned(cs[1], topic);
                Set<MessageQueue> all = new HashSet<>(q1);
                all.addAll(q2);
                return !q1.isEmpty() && !q2.isEmpty() && all.size() == queues && q1.size() + q2.size() == queues
                    && allLocked(cs[0], topic) && allLocked(cs[1], topic);
            });
            String split = "split " + queueIds(owned(cs[0], topic)) + "/" + queueIds(owned(cs[1], topic))
                + (s < 0 ? " NOT settled+locked" : " settled+locked after " + s + " ms");
            Map<String, Integer> sentQueue = new HashMap<>();
            List<String> sendProblems = new ArrayList<>();
            for (int seq = 0; seq < perKey; seq++) {
                for (int k = 0; k < keys; k++) {
                    String key = "okey" + k;
                    Message msg = new Message(topic, "TagO", key, (pre + key + "-" + seq).getBytes(StandardCharsets.UTF_8));
                    try {
                        SendResult r = p.send(msg, selector, key);
                        Integer prev = sentQueue.put(key, r.getMessageQueue().getQueueId());
                        if (prev != null && prev != r.getMessageQueue().getQueueId()) {
                            sendProblems.add("key " + key + " sent to queues " + prev + " and " + r.getMessageQueue().getQueueId());
                        }
                    } catch (Exception e) {
                        sendProblems.add("send " + key + "-" + seq + ": " + e);
                    }
                }
            }
            final int total = keys * perKey;
            long took = waitUntil(waitMs, () -> distinct.size() >= total);
            // Verify per-key order.
            int outOfOrder = 0;
            int dups = received.get() - distinct.size();
            int keysOnOneQueue = 0;
            for (int k = 0; k < keys; k++) {
                String key = "okey" + k;
                List<Integer> l = seqs.get(key);
                if (l == null) {
                    problems.add("nothing received for " + key);
                    continue;
                }
                List<Integer> copy;
                synchronized (l) {
                    copy = new ArrayList<>(l);
                }
                int max = -1;
                for (int seq : copy) {
                    if (seq > max + 1) {
                        outOfOrder++;
                        if (outOfOrder <= 5) {
                            problems.add(key + ": seq " + seq + " received before " + (max + 1) + " (order " + copy + ")");
                        }
                    }
                    max = Math.max(max, seq);
                }
                Set<Integer> qs = queuesOfKey.get(key);
                Integer want = sentQueue.get(key);
                if (qs != null && qs.size() == 1 && want != null && qs.contains(want)) {
                    keysOnOneQueue++;
                } else {
                    problems.add(key + ": received from queues " + qs + ", sent to " + want);
                }
            }
            String d = split + "; " + keys + " keys x " + perKey + ": received " + distinct.size() + "/" + total + " distinct, "
                + dups + " dups" + (took < 0 ? " (timed out)" : " in " + took + " ms") + ", per instance " + new TreeMap<>(perInstance)
                + ", " + outOfOrder + " out-of-order, " + keysOnOneQueue + "/" + keys + " keys on their selected queue, "
                + concurrentViolations.get() + " concurrent consumptions of one queue";
            if (!sendProblems.isEmpty()) {
                d += "; " + sendProblems.size() + " send problems, first: " + sendProblems.get(0);
            }
            if (!problems.isEmpty()) {
                List<String> l = new ArrayList<>(problems);
                for (String x : l.subList(0, Math.min(20, l.size()))) {
                    log("problem: " + x);
                }
                d += "; " + l.size() + " problems, first: " + l.get(0);
            }
            boolean pass = distinct.size() == total && outOfOrder == 0 && dups == 0 && keysOnOneQueue == keys
                && concurrentViolations.get() == 0 && sendProblems.isEmpty() && problems.isEmpty()
                && perInstance.size() == 2;
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer 1 shutdown", cs[0]::shutdown);
            quietly("consumer 2 shutdown", cs[1]::shutdown);
        }
    }

    // ------------------------------------------------------------------ 5. lite pull

    static String litePullScenario(String scn, boolean assign) throws Exception {
        final String topic = topicOf(scn);
        final String group = groupOf(scn);
        final Router router = new Router();
        final Tracker t = router.add(new Tracker(scn, "brk-" + runTag + "-" + scn + "-", count));
        final long waitMs = timeoutSec * 1000L;
        List<String> sendProblems = new ArrayList<>();
        DefaultMQProducer p = producer(group + "_producer");
        int sent;
        try {
            sent = produceSync(p, topic, t, sendProblems);
        } finally {
            quietly("producer shutdown", p::shutdown);
        }
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(instance("litepull"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPullBatchSize(32);
        String mode;
        try {
            if (assign) {
                c.start();
                Collection<MessageQueue> mqs = c.fetchMessageQueues(topic);
                c.assign(mqs);
                mode = "assign(" + mqs.size() + " queues)";
            } else {
                c.subscribe(topic, "*");
                c.start();
                mode = "subscribe(*)";
            }
            long t0 = System.currentTimeMillis();
            int polls = 0;
            while (!t.complete() && System.currentTimeMillis() - t0 < waitMs) {
                List<MessageExt> msgs = c.poll(1000);
                polls++;
                for (MessageExt m : msgs) {
                    router.accept(m, null);
                }
            }
            long took = System.currentTimeMillis() - t0;
            String d = mode + ": sent " + sent + ", polled " + t.summary() + " in " + took + " ms (" + polls + " polls)"
                + (sendProblems.isEmpty() ? "" : "; send problems " + sendProblems.size() + ", first: " + sendProblems.get(0))
                + router.problemSummary();
            boolean pass = t.complete() && sendProblems.isEmpty() && router.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("lite pull consumer shutdown", c::shutdown);
        }
    }

    // ------------------------------------------------------------------ 6. tag filtering

    static String retryScenario() throws Exception {
        final String topic = topicOf("retry");
        final String group = groupOf("retry");
        final String pre = "brk-" + runTag + "-retry-";
        final int n = 3;
        final int maxReconsume = 2;
        final ConcurrentHashMap<String, List<Integer>> seen = new ConcurrentHashMap<>();
        final Set<String> dlq = ConcurrentHashMap.newKeySet();
        final ConcurrentLinkedQueue<String> dlqTopics = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer c = pushConsumer(group, "retry");
        c.setMaxReconsumeTimes(maxReconsume);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String b = new String(m.getBody(), StandardCharsets.UTF_8);
                seen.computeIfAbsent(b, k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                    .add(m.getReconsumeTimes());
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        DefaultMQPushConsumer d = pushConsumer(group + "-dlq-reader", "retry-dlq");
        DefaultMQProducer p = producer(group + "_producer");
        try {
            c.start();
            for (int i = 0; i < n; i++) {
                p.send(new Message(topic, "TagR", (pre + i).getBytes(StandardCharsets.UTF_8)));
            }
            // Every message is delivered 1 + maxReconsumeTimes times, then goes to %DLQ%<group>.
            long took = waitUntil(timeoutSec * 1000L, () -> {
                if (seen.size() < n) {
                    return false;
                }
                for (List<Integer> v : seen.values()) {
                    if (v.size() < 1 + maxReconsume) {
                        return false;
                    }
                }
                return true;
            });
            TimeUnit.SECONDS.sleep(3);
            d.subscribe("%DLQ%" + group, "*");
            d.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    dlq.add(new String(m.getBody(), StandardCharsets.UTF_8));
                    dlqTopics.add(m.getTopic());
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            d.start();
            long dlqTook = waitUntil(timeoutSec * 1000L, () -> dlq.size() >= n);
            boolean pass = took >= 0 && dlqTook >= 0;
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                List<Integer> v = seen.get(pre + i);
                List<Integer> want = new ArrayList<>();
                for (int r = 0; r <= maxReconsume; r++) {
                    want.add(r);
                }
                List<Integer> got = v == null ? new ArrayList<>() : new ArrayList<>(v);
                pass &= got.equals(want);
                if (i == 0) {
                    sb.append("reconsumeTimes seen for message 0: ").append(got);
                }
            }
            pass &= dlq.size() == n;
            return (pass ? "PASS " : "FAIL ") + sb + "; " + dlq.size() + "/" + n + " read back from %DLQ%" + group
                + (took < 0 ? " (retries timed out)" : " (retries done after " + took + " ms)")
                + (dlqTook < 0 ? " (DLQ read timed out)" : "");
        } finally {
            p.shutdown();
            c.shutdown();
            d.shutdown();
        }
    }

    static String sql92Scenario() throws Exception {
        final String topic = topicOf("sql92");
        final String group = groupOf("sql92");
        final String pre = "brk-" + runTag + "-sql-";
        final String[] sqls = {"a BETWEEN 1 AND 3 AND b = 'x'", "c IN ('p','q')", "d IS NULL", "TAGS = 'TagA'"};
        final int n = Math.max(40, count / 5);
        final List<Set<String>> expected = new ArrayList<>();
        final List<Set<String>> got = new ArrayList<>();
        final List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        for (int s = 0; s < sqls.length; s++) {
            expected.add(new HashSet<>());
            got.add(ConcurrentHashMap.newKeySet());
        }
        for (int i = 0; i < n; i++) {
            String body = pre + i;
            int a = i % 5;
            boolean bx = i % 2 == 0;
            String c = new String[] {"p", "q", "r"}[i % 3];
            boolean hasD = i % 4 == 0;
            boolean tagA = i % 2 == 1;
            if (a >= 1 && a <= 3 && bx) expected.get(0).add(body);
            if (!c.equals("r")) expected.get(1).add(body);
            if (!hasD) expected.get(2).add(body);
            if (tagA) expected.get(3).add(body);
        }
        DefaultMQProducer p = producer(group + "_producer");
        String malformed;
        try {
            // The topic must be routable before the consumers start: the client checks an SQL92
            // subscription with the broker (CHECK_CLIENT_CONFIG) only when it can find one. This
            // message matches none of the expressions.
            Message warm = new Message(topic, "TagB", (pre + "warmup").getBytes(StandardCharsets.UTF_8));
            warm.putUserProperty("a", "9");
            warm.putUserProperty("c", "r");
            warm.putUserProperty("d", "set");
            p.send(warm);
            for (int s = 0; s < sqls.length; s++) {
                final Set<String> mine = got.get(s);
                DefaultMQPushConsumer c = pushConsumer(group + "-" + s, "sql92-" + s);
                c.subscribe(topic, org.apache.rocketmq.client.consumer.MessageSelector.bySql(sqls[s]));
                c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    for (MessageExt m : msgs) {
                        mine.add(new String(m.getBody(), StandardCharsets.UTF_8));
                    }
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
                c.start();
                consumers.add(c);
            }
            DefaultMQPushConsumer bad = pushConsumer(group + "-bad", "sql92-bad");
            bad.subscribe(topic, org.apache.rocketmq.client.consumer.MessageSelector.bySql("a > AND"));
            bad.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
            try {
                bad.start();
                malformed = "a malformed expression was accepted";
                bad.shutdown();
            } catch (Exception e) {
                malformed = null;
            }
            int ok = 0;
            for (int i = 0; i < n; i++) {
                Message m = new Message(topic, i % 2 == 1 ? "TagA" : "TagB", (pre + i).getBytes(StandardCharsets.UTF_8));
                m.putUserProperty("a", String.valueOf(i % 5));
                m.putUserProperty("b", i % 2 == 0 ? "x" : "y");
                m.putUserProperty("c", new String[] {"p", "q", "r"}[i % 3]);
                if (i % 4 == 0) {
                    m.putUserProperty("d", "set");
                }
                if (p.send(m).getSendStatus() == SendStatus.SEND_OK) {
                    ok++;
                }
            }
            long took = waitUntil(timeoutSec * 1000L, () -> {
                for (int s = 0; s < sqls.length; s++) {
                    if (!got.get(s).containsAll(expected.get(s))) {
                        return false;
                    }
                }
                return true;
            });
            TimeUnit.SECONDS.sleep(3);
            StringBuilder d = new StringBuilder("sent " + ok + "/" + n);
            boolean pass = ok == n && malformed == null;
            for (int s = 0; s < sqls.length; s++) {
                Set<String> extra = new HashSet<>(got.get(s));
                extra.removeAll(expected.get(s));
                Set<String> missing = new HashSet<>(expected.get(s));
                missing.removeAll(got.get(s));
                d.append("; [").append(sqls[s]).append("] ").append(got.get(s).size() - extra.size())
                    .append("/").append(expected.get(s).size());
                if (!extra.isEmpty()) {
                    d.append(" +").append(extra.size()).append(" unmatched e.g. ").append(extra.iterator().next());
                }
                pass &= extra.isEmpty() && missing.isEmpty();
            }
            d.append(took < 0 ? " (timed out)" : " (complete after " + took + " ms)");
            d.append(malformed == null ? "; malformed expression refused at start" : "; " + malformed);
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            p.shutdown();
            for (DefaultMQPushConsumer c : consumers) {
                c.shutdown();
            }
        }
    }

    static String transactionScenario() throws Exception {
        final String topic = topicOf("transaction");
        final String group = groupOf("transaction");
        final String pre = "brk-" + runTag + "-tx-";
        final String[] kinds = {"commit", "rollback", "checkcommit", "checkrollback"};
        final int n = 5;
        final ConcurrentHashMap<String, AtomicInteger> checks = new ConcurrentHashMap<>();
        final Set<String> got = ConcurrentHashMap.newKeySet();
        final Set<String> expected = new HashSet<>();
        final Set<String> checkedKinds = new HashSet<>();
        for (String k : kinds) {
            for (int i = 0; i < n; i++) {
                if (k.equals("commit") || k.equals("checkcommit")) {
                    expected.add(pre + k + "-" + i);
                }
                if (k.startsWith("check")) {
                    checkedKinds.add(pre + k + "-" + i);
                }
            }
        }
        DefaultMQPushConsumer c = pushConsumer(group, "transaction");
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        TransactionMQProducer p = new TransactionMQProducer(group + "_txproducer");
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(instance("txproducer"));
        p.setSendMsgTimeout(10000);
        p.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                String b = new String(msg.getBody(), StandardCharsets.UTF_8);
                if (b.startsWith(pre + "commit-")) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                if (b.startsWith(pre + "rollback-")) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String b = new String(msg.getBody(), StandardCharsets.UTF_8);
                checks.computeIfAbsent(b, k -> new AtomicInteger()).incrementAndGet();
                return b.startsWith(pre + "checkcommit-") ? LocalTransactionState.COMMIT_MESSAGE
                    : LocalTransactionState.ROLLBACK_MESSAGE;
            }
        });
        try {
            c.start();
            p.start();
            List<String> sendProblems = new ArrayList<>();
            for (String k : kinds) {
                for (int i = 0; i < n; i++) {
                    String body = pre + k + "-" + i;
                    try {
                        SendResult r = p.sendMessageInTransaction(
                            new Message(topic, "TagTx", body.getBytes(StandardCharsets.UTF_8)), null);
                        if (r.getSendStatus() != SendStatus.SEND_OK) {
                            sendProblems.add(body + ": " + r.getSendStatus());
                        }
                    } catch (Exception e) {
                        sendProblems.add(body + ": " + e);
                    }
                }
            }
            long took = waitUntil(timeoutSec * 1000L,
                () -> got.containsAll(expected) && checks.keySet().containsAll(checkedKinds));
            TimeUnit.SECONDS.sleep(3);
            Set<String> unexpected = new HashSet<>(got);
            unexpected.removeAll(expected);
            Set<String> missing = new HashSet<>(expected);
            missing.removeAll(got);
            Set<String> notChecked = new HashSet<>(checkedKinds);
            notChecked.removeAll(checks.keySet());
            Set<String> wronglyChecked = new HashSet<>(checks.keySet());
            wronglyChecked.removeAll(checkedKinds);
            int checkCalls = 0;
            for (AtomicInteger v : checks.values()) {
                checkCalls += v.get();
            }
            String d = "4 x " + n + " transactional sends: received " + got.size() + " of " + expected.size()
                + " committed, " + unexpected.size() + " rolled-back delivered, " + checkCalls
                + " check-backs for " + checks.size() + " UNKNOW messages"
                + (took < 0 ? " (timed out)" : " (complete after " + took + " ms)")
                + (missing.isEmpty() ? "" : "; missing e.g. " + missing.iterator().next())
                + (unexpected.isEmpty() ? "" : "; unexpected e.g. " + unexpected.iterator().next())
                + (notChecked.isEmpty() ? "" : "; never checked e.g. " + notChecked.iterator().next())
                + (wronglyChecked.isEmpty() ? "" : "; checked though resolved e.g. " + wronglyChecked.iterator().next())
                + (sendProblems.isEmpty() ? "" : "; send problems " + sendProblems.size() + ", first: " + sendProblems.get(0));
            boolean pass = missing.isEmpty() && unexpected.isEmpty() && notChecked.isEmpty()
                && wronglyChecked.isEmpty() && sendProblems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            p.shutdown();
            c.shutdown();
        }
    }

    static String tagScenario() throws Exception {
        final String topic = topicOf("tags");
        final String group = groupOf("tags");
        final String pre = "brk-" + runTag + "-tags-";
        final Router router = new Router();
        final Tracker ta = router.add(new Tracker("TagA", pre + "TagA-", count / 2));
        final Tracker tb = router.add(new Tracker("TagB", pre + "TagB-", count / 2));
        final Tracker tc = router.add(new Tracker("TagC", pre + "TagC-", count / 2));
        final ConcurrentLinkedQueue<String> wrongTag = new ConcurrentLinkedQueue<>();
        final long waitMs = timeoutSec * 1000L;
        DefaultMQPushConsumer c = pushConsumer(group, "tags");
        c.subscribe(topic, "TagA || TagB");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                Object[] r = router.accept(m, null);
                if (r != null && !((Tracker) r[0]).name.equals(m.getTags())) {
                    wrongTag.add(new String(m.getBody(), StandardCharsets.UTF_8) + " has tag " + m.getTags());
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        DefaultMQProducer p = producer(group + "_producer");
        try {
            c.start();
            List<String> sendProblems = new ArrayList<>();
            int ok = 0;
            for (int i = 0; i < count / 2; i++) {
                for (Tracker t : new Tracker[] {ta, tb, tc}) {
                    try {
                        SendResult r = p.send(new Message(topic, t.name, t.body(i).getBytes(StandardCharsets.UTF_8)));
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            ok++;
                        }
                    } catch (Exception e) {
                        sendProblems.add(t.body(i) + ": " + e);
                    }
                }
            }
            long took = waitUntil(waitMs, () -> ta.complete() && tb.complete());
            // Give stray TagC deliveries a moment to show up.
            TimeUnit.SECONDS.sleep(3);
            String d = "subscription 'TagA || TagB', sent " + ok + " (A/B/C " + (count / 2) + " each): " + ta.summary() + ", "
                + tb.summary() + ", TagC delivered " + tc.deliveries.get()
                + (took < 0 ? " (timed out)" : " (A+B complete after " + took + " ms)")
                + (sendProblems.isEmpty() ? "" : "; send problems " + sendProblems.size() + ", first: " + sendProblems.get(0))
                + (wrongTag.isEmpty() ? "" : "; " + wrongTag.size() + " with wrong tag, first: " + wrongTag.peek())
                + router.problemSummary();
            boolean pass = ta.complete() && tb.complete() && tc.deliveries.get() == 0 && sendProblems.isEmpty()
                && wrongTag.isEmpty() && router.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer shutdown", c::shutdown);
        }
    }

    // ------------------------------------------------------------------ 8. new group start position

    static String newGroupScenario() throws Exception {
        final String topic = topicOf("newgroup");
        final String group = groupOf("newgroup") + "-" + runTag;
        final String pre = "brk-" + runTag + "-newgroup-";
        final Router router = new Router();
        final Tracker old = router.add(new Tracker("old", pre + "old-", count / 2));
        final Tracker neu = router.add(new Tracker("new", pre + "new-", count / 2));
        final long waitMs = timeoutSec * 1000L;
        List<String> sendProblems = new ArrayList<>();
        DefaultMQProducer p = producer(group + "_producer");
        DefaultMQPushConsumer c = pushConsumer(group, "newgroup");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener(concurrentListener(router, null));
        try {
            int sentOld = produceSync(p, topic, old, sendProblems);
            c.start();
            long s = waitUntil(waitMs, () -> owned(c, topic).size() == queues);
            // The start offsets are computed when the queues are assigned; let the first pulls go out.
            TimeUnit.SECONDS.sleep(2);
            int sentNew = produceSync(p, topic, neu, sendProblems);
            String w = waitAll(neu, waitMs);
            TimeUnit.SECONDS.sleep(3);
            int oldGot = old.distinct();
            String cls = oldGot == 0 ? "none" : (oldGot == old.n ? "all" : "partial");
            log("BEHAVIOUR newgroup " + cls + " old=" + oldGot + "/" + old.n);
            System.out.println("BEHAVIOUR newgroup " + cls + " old=" + oldGot + "/" + old.n);
            String d = "CONSUME_FROM_LAST_OFFSET, brand-new group, " + sentOld + " old messages already in the topic (min offset 0): "
                + "queues assigned " + (s < 0 ? "NOT" : "after " + s + " ms") + "; old received " + oldGot + "/" + old.n
                + " [" + cls + "]; new " + neu.summary() + " of " + sentNew + " sent (" + w + ")"
                + (sendProblems.isEmpty() ? "" : "; send problems " + sendProblems.size() + ", first: " + sendProblems.get(0))
                + router.problemSummary();
            boolean pass = neu.complete() && sendProblems.isEmpty() && router.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer shutdown", c::shutdown);
        }
    }

    // ------------------------------------------------------------------ 7. offsets across a broker restart

    /** Committed offsets of the group as the broker reports them (QUERY_CONSUMER_OFFSET via a lite pull consumer). */
    static String committedOffsets(String topic, String group) {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(instance("offsetprobe"));
        try {
            c.start();
            Map<Integer, Long> m = new TreeMap<>();
            long sum = 0;
            for (MessageQueue q : c.fetchMessageQueues(topic)) {
                Long off = c.committed(q);
                m.put(q.getQueueId(), off);
                if (off != null && off > 0) {
                    sum += off;
                }
            }
            return "committed " + m + " (sum " + sum + ")";
        } catch (Throwable t) {
            return "committed offsets unavailable: " + t;
        } finally {
            quietly("offset probe shutdown", c::shutdown);
        }
    }

    static String offsetsBefore() throws Exception {
        final String topic = topicOf("offsets-before");
        final String group = groupOf("offsets-before");
        final Router router = new Router();
        final Tracker old = router.add(new Tracker("old", "brk-" + runTag + "-offsets-old-", count));
        final long waitMs = timeoutSec * 1000L;
        List<String> sendProblems = new ArrayList<>();
        DefaultMQProducer p = producer(group + "_producer");
        DefaultMQPushConsumer c = pushConsumer(group, "offsets");
        c.subscribe(topic, "*");
        c.registerMessageListener(concurrentListener(router, null));
        boolean cDown = false;
        try {
            int sent = produceSync(p, topic, old, sendProblems);
            c.start();
            String w = waitAll(old, waitMs);
            // Let the consume service finish its batch bookkeeping, then shut down (persists offsets).
            TimeUnit.SECONDS.sleep(1);
            quietly("consumer shutdown", c::shutdown);
            cDown = true;
            String committed = committedOffsets(topic, group);
            String d = "group " + group + ": sent " + sent + ", consumed " + old.summary() + " (" + w + "), consumer shut down; "
                + committed + (sendProblems.isEmpty() ? "" : "; send problems " + sendProblems.size()) + router.problemSummary();
            boolean pass = old.complete() && sendProblems.isEmpty() && router.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            if (!cDown) {
                quietly("consumer shutdown", c::shutdown);
            }
        }
    }

    static String offsetsAfter() throws Exception {
        final String topic = topicOf("offsets-after");
        final String group = groupOf("offsets-after");
        final Router router = new Router();
        final Tracker old = router.add(new Tracker("old", "brk-" + runTag + "-offsets-old-", count));
        final Tracker neu = router.add(new Tracker("new", "brk-" + runTag + "-offsets-new-", count));
        final long waitMs = timeoutSec * 1000L;
        final int allowed = 32 * queues;
        String committed = committedOffsets(topic, group);
        List<String> sendProblems = new ArrayList<>();
        DefaultMQProducer p = producer(group + "_producer");
        DefaultMQPushConsumer c = pushConsumer(group, "offsets");
        c.subscribe(topic, "*");
        c.registerMessageListener(concurrentListener(router, null));
        try {
            int sent = produceSync(p, topic, neu, sendProblems);
            c.start();
            String w = waitAll(neu, waitMs);
            TimeUnit.SECONDS.sleep(3);
            int redelivered = old.deliveries.get();
            String d = "after broker restart: " + committed + "; sent " + sent + " new; new " + neu.summary() + " (" + w
                + "); old re-delivered " + redelivered + " (allowed <= " + allowed + ", " + old.distinct() + " distinct)"
                + (sendProblems.isEmpty() ? "" : "; send problems " + sendProblems.size() + ", first: " + sendProblems.get(0))
                + router.problemSummary();
            boolean pass = neu.complete() && redelivered <= allowed && sendProblems.isEmpty() && router.problems.isEmpty();
            return (pass ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer shutdown", c::shutdown);
        }
    }

    // ------------------------------------------------------------------ 9. a consumer for mqadmin to look at

    static String holdConsumer() throws Exception {
        final String topic = topicOf("hold-consumer");
        final String group = groupOf("hold-consumer");
        final Router router = new Router();
        final Tracker t = router.add(new Tracker("admin", "brk-" + runTag + "-admin-", count));
        List<String> sendProblems = new ArrayList<>();
        DefaultMQProducer p = producer(group + "_producer");
        DefaultMQPushConsumer c = pushConsumer(group, "admin");
        c.subscribe(topic, "*");
        c.registerMessageListener(concurrentListener(router, null));
        try {
            int sent = produceSync(p, topic, t, sendProblems);
            c.start();
            String w = waitAll(t, timeoutSec * 1000L);
            // Offsets are committed every 5 s by the client; push them now so consumerProgress shows them.
            c.getDefaultMQPushConsumerImpl().persistConsumerOffset();
            System.out.println("HOLDING group " + group + " topic " + topic + " sent " + sent + " consumed " + t.summary());
            System.out.flush();
            long took = holdFile == null ? -1 : waitUntil(timeoutSec * 1000L, () -> new java.io.File(holdFile).exists());
            String d = "sent " + sent + ", consumed " + t.summary() + " (" + w + "), held "
                + (took < 0 ? "until timeout" : took + " ms");
            return (t.complete() && sendProblems.isEmpty() ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("producer shutdown", p::shutdown);
            quietly("consumer shutdown", c::shutdown);
        }
    }

    // ------------------------------------------------------------------ 10. quick start

    static String quickstartProducer() throws Exception {
        // As in the official quick start (org.apache.rocketmq.example.quickstart.Producer).
        // With namesrvAddr "env" the client finds the name server the way the quick start says:
        // through the NAMESRV_ADDR environment variable.
        DefaultMQProducer producer = new DefaultMQProducer("please_rename_unique_group_name");
        if (!"env".equals(namesrv)) {
            producer.setNamesrvAddr(namesrv);
        }
        producer.start();
        int ok = 0;
        String first = null;
        String lastError = null;
        Map<String, Integer> perQueue = new LinkedHashMap<>();
        try {
            for (int i = 0; i < 1000; i++) {
                try {
                    Message msg = new Message("TopicTest", "TagA", ("Hello RocketMQ " + i).getBytes(StandardCharsets.UTF_8));
                    SendResult sendResult = producer.send(msg);
                    if (i < 3) {
                        System.out.printf("%s%n", sendResult);
                    }
                    if (sendResult.getSendStatus() == SendStatus.SEND_OK) {
                        ok++;
                    }
                    perQueue.merge(sendResult.getMessageQueue().getBrokerName() + "/" + sendResult.getMessageQueue().getQueueId(),
                        1, Integer::sum);
                } catch (Exception e) {
                    lastError = e.toString();
                    if (first == null) {
                        first = "#" + i + ": " + e;
                        e.printStackTrace(System.out);
                    }
                    Thread.sleep(1000);
                }
            }
        } finally {
            quietly("producer shutdown", producer::shutdown);
        }
        String d = "TopicTest (auto-created via TBW102): " + ok + "/1000 SEND_OK, queues " + perQueue
            + (first == null ? "" : "; first failure " + first + ", last " + lastError);
        return (ok == 1000 ? "PASS " : "FAIL ") + d;
    }

    static String quickstartConsumer() throws Exception {
        // As in the official quick start (org.apache.rocketmq.example.quickstart.Consumer).
        final Set<Integer> got = ConcurrentHashMap.newKeySet();
        final AtomicInteger deliveries = new AtomicInteger();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("please_rename_unique_group_name_4");
        if (!"env".equals(namesrv)) {
            consumer.setNamesrvAddr(namesrv);
        }
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe("TopicTest", "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                deliveries.incrementAndGet();
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                if (body.startsWith("Hello RocketMQ ")) {
                    try {
                        got.add(Integer.parseInt(body.substring("Hello RocketMQ ".length())));
                    } catch (NumberFormatException ignored) {
                        // not ours
                    }
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        try {
            consumer.start();
            System.out.printf("Consumer Started.%n");
            long took = waitUntil(timeoutSec * 1000L, () -> got.size() >= 1000);
            String d = "TopicTest, group please_rename_unique_group_name_4: received " + got.size() + "/1000 distinct, "
                + deliveries.get() + " deliveries" + (took < 0 ? " (timed out)" : " in " + took + " ms");
            return (got.size() >= 1000 ? "PASS " : "FAIL ") + d;
        } finally {
            quietly("consumer shutdown", consumer::shutdown);
        }
    }
}
