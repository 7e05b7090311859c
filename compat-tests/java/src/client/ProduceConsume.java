/*
 * Compatibility scenario for the official RocketMQ Java client (remoting protocol).
 *
 * One source, compiled separately against rocketmq-client 5.3.3 and 4.9.8: the
 * DefaultMQProducer / DefaultMQPushConsumer API used here is identical in both.
 *
 * Usage: java -cp <client classpath>:<classes> ProduceConsume <namesrvAddr> <topic> <group> <count> [timeoutSeconds]
 *
 * A cluster-mode push consumer (fresh group, CONSUME_FROM_FIRST_OFFSET, subscription "*") is
 * started first, then a producer sends <count> messages with sync send (distinct bodies,
 * some with tags and keys). The program waits, bounded by timeoutSeconds, until every body
 * has been received at least once (duplicates are allowed and counted). It checks that the
 * tags and keys of each received message match what was sent.
 *
 * Output ends with exactly one line starting with "PASS " or "FAIL ". Exit code 0 means PASS.
 */

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyContext;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class ProduceConsume {

    private static final int SEND_ATTEMPTS = 3;

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("FAIL unexpected exception: " + t);
            code = 2;
        }
        System.out.flush();
        // The client libraries leave non-daemon threads behind; exit explicitly.
        System.exit(code);
    }

    static String tagFor(int i) {
        return i % 3 == 0 ? "TagA" : (i % 3 == 1 ? "TagB" : null);
    }

    static String keysFor(int i) {
        return i % 2 == 0 ? "key-" + i : null;
    }

    static int run(String[] args) throws Exception {
        if (args.length < 4) {
            System.out.println("usage: ProduceConsume <namesrvAddr> <topic> <group> <count> [timeoutSeconds]");
            System.out.println("FAIL bad arguments");
            return 2;
        }
        final String namesrv = args[0];
        final String topic = args[1];
        final String group = args[2];
        final int count = Integer.parseInt(args[3]);
        final int timeoutSec = args.length > 4 ? Integer.parseInt(args[4]) : 90;
        final long deadline = System.currentTimeMillis() + timeoutSec * 1000L;
        final String runId = Long.toString(System.currentTimeMillis(), 36);
        final String prefix = "compat-" + runId + "-";
        final String version = org.apache.rocketmq.common.MQVersion.getVersionDesc(
            org.apache.rocketmq.common.MQVersion.CURRENT_VERSION);

        System.out.println("client version " + version + ", namesrv " + namesrv + ", topic " + topic
            + ", group " + group + ", count " + count + ", timeout " + timeoutSec + "s");

        final Map<String, Integer> received = new ConcurrentHashMap<>();
        final AtomicInteger deliveries = new AtomicInteger();
        final AtomicInteger foreign = new AtomicInteger();
        final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();

        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("compat-consumer-" + runId);
        // Cluster mode is the default; MessageModel moved packages between 4.x and 5.x, so it is not named here.
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(2);
        consumer.setConsumeThreadMax(4);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(new MessageListenerConcurrently() {
            @Override
            public ConsumeConcurrentlyStatus consumeMessage(List<MessageExt> msgs, ConsumeConcurrentlyContext ctx) {
                for (MessageExt m : msgs) {
                    deliveries.incrementAndGet();
                    String body = new String(m.getBody(), StandardCharsets.UTF_8);
                    if (!body.startsWith(prefix)) {
                        foreign.incrementAndGet();
                        continue;
                    }
                    received.merge(body, 1, Integer::sum);
                    if (!topic.equals(m.getTopic())) {
                        problems.add("wrong topic " + m.getTopic() + " for " + body);
                    }
                    try {
                        int i = Integer.parseInt(body.substring(prefix.length()));
                        String wantTag = tagFor(i);
                        String wantKeys = keysFor(i);
                        if (wantTag != null && !wantTag.equals(m.getTags())) {
                            problems.add("tag mismatch for " + body + ": got " + m.getTags() + " want " + wantTag);
                        }
                        if (wantKeys != null && !wantKeys.equals(m.getKeys())) {
                            problems.add("keys mismatch for " + body + ": got " + m.getKeys() + " want " + wantKeys);
                        }
                        if (m.getMsgId() == null || m.getMsgId().isEmpty()) {
                            problems.add("empty msgId for " + body);
                        }
                    } catch (NumberFormatException e) {
                        problems.add("unparsable body " + body);
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            }
        });

        DefaultMQProducer producer = new DefaultMQProducer(group + "_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("compat-producer-" + runId);
        producer.setSendMsgTimeout(5000);
        producer.setRetryTimesWhenSendFailed(2);

        long t0 = System.currentTimeMillis();
        consumer.start();
        System.out.println("consumer started");
        producer.start();
        System.out.println("producer started");

        int sendOk = 0;
        int sendNotOk = 0;
        int sendFailed = 0;
        int sendRetried = 0;
        Map<String, Integer> perBroker = new ConcurrentHashMap<>();
        for (int i = 0; i < count; i++) {
            if (System.currentTimeMillis() > deadline) {
                problems.add("deadline reached while sending, at message " + i);
                sendFailed += count - i;
                break;
            }
            Message msg = new Message(topic, (prefix + i).getBytes(StandardCharsets.UTF_8));
            String tag = tagFor(i);
            String keys = keysFor(i);
            if (tag != null) {
                msg.setTags(tag);
            }
            if (keys != null) {
                msg.setKeys(keys);
            }
            SendResult r = null;
            Exception last = null;
            for (int attempt = 1; attempt <= SEND_ATTEMPTS && r == null; attempt++) {
                try {
                    r = producer.send(msg);
                } catch (Exception e) {
                    last = e;
                    sendRetried++;
                    System.out.println("send #" + i + " attempt " + attempt + " failed: " + e);
                    Thread.sleep(500);
                }
            }
            if (r == null) {
                sendFailed++;
                problems.add("send #" + i + " failed: " + last);
                continue;
            }
            if (r.getSendStatus() == SendStatus.SEND_OK) {
                sendOk++;
            } else {
                // FLUSH_DISK_TIMEOUT etc.: the message was stored but not fully acknowledged.
                sendNotOk++;
                System.out.println("send #" + i + " status " + r.getSendStatus());
            }
            if (r.getMessageQueue() != null) {
                perBroker.merge(r.getMessageQueue().getBrokerName() + "/q" + r.getMessageQueue().getQueueId(), 1,
                    Integer::sum);
            }
            if (r.getMsgId() == null || r.getMsgId().isEmpty()) {
                problems.add("send #" + i + " returned empty msgId");
            }
        }
        long t1 = System.currentTimeMillis();
        System.out.println("sent: ok=" + sendOk + " notOk=" + sendNotOk + " failed=" + sendFailed
            + " exceptionsRetried=" + sendRetried + " in " + (t1 - t0) + " ms; queues used=" + new java.util.TreeMap<>(perBroker));

        int expected = sendOk + sendNotOk;
        int lastReported = -1;
        while (System.currentTimeMillis() < deadline) {
            int got = received.size();
            if (got >= count) {
                break;
            }
            if (got != lastReported) {
                System.out.println("received " + got + "/" + count + " distinct so far");
                lastReported = got;
            }
            TimeUnit.MILLISECONDS.sleep(500);
        }
        long t2 = System.currentTimeMillis();
        int got = received.size();
        int dups = 0;
        for (Integer n : received.values()) {
            dups += n - 1;
        }
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < count && missing.size() < 20; i++) {
            if (!received.containsKey(prefix + i)) {
                missing.add(i);
            }
        }
        System.out.println("received: distinct=" + got + "/" + count + " deliveries=" + deliveries.get()
            + " duplicates=" + dups + " foreign=" + foreign.get() + " consumeWait=" + (t2 - t1) + " ms");
        if (!missing.isEmpty()) {
            System.out.println("first missing indexes: " + missing);
        }
        int shown = 0;
        for (String p : problems) {
            if (shown++ >= 20) {
                System.out.println("... " + (problems.size() - 20) + " more problems");
                break;
            }
            System.out.println("problem: " + p);
        }

        try {
            producer.shutdown();
        } catch (Throwable t) {
            System.out.println("producer shutdown: " + t);
        }
        try {
            consumer.shutdown();
        } catch (Throwable t) {
            System.out.println("consumer shutdown: " + t);
        }

        boolean pass = sendFailed == 0 && expected == count && got == count && problems.isEmpty();
        String summary = "client " + version + " topic " + topic + ": sent " + expected + "/" + count
            + ", received " + got + "/" + count + " distinct (" + dups + " duplicates), "
            + problems.size() + " problems, " + (t2 - t0) + " ms";
        System.out.println((pass ? "PASS " : "FAIL ") + summary);
        return pass ? 0 : 1;
    }
}
