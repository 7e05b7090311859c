import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * Fills a running Java broker with a varied, deterministic (seeded) set of messages for the store
 * compatibility corpus. Compiles against rocketmq-client/-tools 4.9.8 and 5.3.3.
 *
 * <pre>
 * StoreProducer &lt;namesrvAddr&gt; &lt;brokerAddr&gt; &lt;count&gt; [seed]
 * </pre>
 * Sends (sync) count messages round-robin over StoreTopicA/B/C (4 queues each, queue chosen explicitly),
 * with tags, KEYS (none / one / two space-separated), user properties (some non-ASCII), flags, bodies
 * 10 B .. 20 KiB (never compressed), a few with waitStoreMsgOK=false, a few delayed (level 1 = 1 s) and one
 * batch of 8. Then probes long (&gt;127 byte) topic names: admin create, producer send, and a consumer group
 * whose retry topic "%RETRY%group" is longer than 127 bytes (the only path found that makes a broker write
 * a long topic, 5.x only). Lines starting with "RESULT " summarise what happened. Exit 0 when the normal sends all
 * returned SEND_OK (the long-topic probes are findings, not failures).
 */
public class StoreProducer {
    static final String[] TOPICS = {"StoreTopicA", "StoreTopicB", "StoreTopicC"};
    static final String[] TAGS = {"TagA", "TagB", "TagC", "TagD", "TagE"};

    public static void main(String[] args) throws Exception {
        int rc = 1;
        try {
            rc = run(args);
        } catch (Throwable t) {
            t.printStackTrace();
        }
        System.out.flush();
        System.exit(rc);
    }

    static void log(String s) {
        System.out.println(s);
        System.out.flush();
    }

    static String pad(String prefix, char c, int len) {
        StringBuilder sb = new StringBuilder(prefix);
        while (sb.length() < len) {
            sb.append(c);
        }
        return sb.toString();
    }

    static int run(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: StoreProducer <namesrvAddr> <brokerAddr> <count> [seed]");
            return 64;
        }
        String namesrv = args[0];
        String brokerAddr = args[1];
        int count = Integer.parseInt(args[2]);
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 20240501L;
        Random rnd = new Random(seed);
        long deadline;

        DefaultMQAdminExt admin = new DefaultMQAdminExt(10000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("storegen-admin");
        admin.start();

        // Wait until the broker is registered with the name server.
        deadline = System.currentTimeMillis() + 90_000;
        while (true) {
            String ci = "";
            try {
                ci = String.valueOf(admin.examineBrokerClusterInfo().getBrokerAddrTable());
            } catch (Exception e) {
                // not yet
            }
            if (ci.contains(brokerAddr)) {
                break;
            }
            if (System.currentTimeMillis() > deadline) {
                log("RESULT broker " + brokerAddr + " never registered with " + namesrv);
                return 1;
            }
            Thread.sleep(500);
        }
        log("broker registered: " + brokerAddr);

        for (String t : TOPICS) {
            admin.createAndUpdateTopicConfig(brokerAddr, new TopicConfig(t, 4, 4, 6));
        }
        String longTopic = pad("StoreTopicLong_", 'L', 150);
        try {
            admin.createAndUpdateTopicConfig(brokerAddr, new TopicConfig(longTopic, 4, 4, 6));
            log("RESULT long-topic admin-create (150 chars): accepted");
        } catch (Exception e) {
            log("RESULT long-topic admin-create (150 chars): rejected: " + oneLine(e));
        }

        DefaultMQProducer producer = new DefaultMQProducer("StoreGenProducerGroup");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("storegen-producer");
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.setSendMsgTimeout(15000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();

        // Wait for the routes of the three topics.
        deadline = System.currentTimeMillis() + 90_000;
        for (String t : TOPICS) {
            while (true) {
                int n = 0;
                try {
                    n = producer.fetchPublishMessageQueues(t).size();
                } catch (Exception e) {
                    // not yet
                }
                if (n == 4) {
                    break;
                }
                if (System.currentTimeMillis() > deadline) {
                    log("RESULT no route with 4 queues for " + t + " (have " + n + ")");
                    return 1;
                }
                Thread.sleep(500);
            }
        }
        log("routes ready");

        try {
            SendResult r = producer.send(new Message(longTopic, "TagL", "long-key", "long topic body".getBytes(StandardCharsets.UTF_8)));
            log("RESULT long-topic producer-send (150 chars): " + r.getSendStatus() + " " + r.getMessageQueue());
        } catch (Exception e) {
            log("RESULT long-topic producer-send (150 chars): rejected: " + oneLine(e));
        }

        String brokerName = null;
        long tSend = System.currentTimeMillis();
        int ok = 0;
        int failed = 0;
        int delayed = 0;
        int noWait = 0;
        int retrySent = 0;
        long bytes = 0;
        for (int i = 0; i < count; i++) {
            String topic = TOPICS[i % 3];
            int qid = (i / 3) % 4;
            // Log-uniform body size in [10, 20480].
            int size = (int) Math.round(Math.exp(Math.log(10) + rnd.nextDouble() * (Math.log(20480) - Math.log(10))));
            size = Math.max(10, Math.min(20480, size));
            byte[] body = new byte[size];
            if (i % 4 == 0) {
                rnd.nextBytes(body);
            } else {
                byte[] txt = ("msg-" + i + "-" + topic + "-").getBytes(StandardCharsets.UTF_8);
                for (int k = 0; k < size; k++) {
                    body[k] = txt[k % txt.length];
                }
            }
            Message m = new Message(topic, body);
            int tsel = rnd.nextInt(7);
            if (tsel < TAGS.length) {
                m.setTags(TAGS[tsel]);
            }
            switch (i % 5) {
                case 0:
                    break;
                case 1:
                case 2:
                    m.setKeys("key-" + i);
                    break;
                default:
                    m.setKeys("key-" + i + " order-" + (i % 50));
            }
            m.putUserProperty("seq", Integer.toString(i));
            if (i % 3 == 0) {
                m.putUserProperty("color", rnd.nextBoolean() ? "red" : "blue");
            }
            if (i % 11 == 0) {
                m.putUserProperty("unicode", "h\u00e9llo-\u2713-\u4e2d\u6587-" + i);
            }
            if (i % 7 == 0) {
                m.setFlag(i);
            }
            if (i % 97 == 5) {
                m.setWaitStoreMsgOK(false);
                noWait++;
            }
            if (i % 500 == 250) {
                m.setDelayTimeLevel(1);
                delayed++;
            }
            if (i % 1000 == 10) {
                topic = "StoreTopicA";
                m.setTopic(topic);
                m.setTags("TagRetry");
                m.setKeys("retry-" + i);
                retrySent++;
            }
            try {
                SendResult r = producer.send(m, new MessageQueue(topic, brokerNameOf(producer, topic), qid));
                if (r.getSendStatus() == SendStatus.SEND_OK) {
                    ok++;
                    bytes += size;
                    brokerName = r.getMessageQueue().getBrokerName();
                } else {
                    failed++;
                    log("send " + i + ": " + r.getSendStatus());
                }
            } catch (Exception e) {
                failed++;
                log("send " + i + " failed: " + oneLine(e));
            }
        }

        // One batch of 8 into StoreTopicC queue 1.
        List<Message> batch = new ArrayList<>();
        for (int k = 0; k < 8; k++) {
            Message m = new Message("StoreTopicC", "TagBatch", "batch-" + k, ("batch body " + k).getBytes(StandardCharsets.UTF_8));
            m.putUserProperty("batchIdx", Integer.toString(k));
            batch.add(m);
        }
        try {
            SendResult r = producer.send(batch, new MessageQueue("StoreTopicC", brokerNameOf(producer, "StoreTopicC"), 1));
            log("batch of 8: " + r.getSendStatus());
            if (r.getSendStatus() == SendStatus.SEND_OK) {
                ok += 8;
            } else {
                failed += 8;
            }
        } catch (Exception e) {
            failed += 8;
            log("batch send failed: " + oneLine(e));
        }
        log("RESULT sent ok=" + ok + " failed=" + failed + " bodyBytes=" + bytes + " delayed(level1)=" + delayed
            + " waitStoreMsgOK=false:" + noWait + " TagRetry=" + retrySent + " batch=8 in "
            + (System.currentTimeMillis() - tSend) + " ms");

        // Long topic via the retry path: a consumer group of 140 characters fails its first delivery with
        // delay level 1, so the broker re-puts the message (after SCHEDULE_TOPIC_XXXX) into
        // "%RETRY%" + group (147 bytes). 5.x brokers exempt %RETRY% topics (up to 255 bytes) from the
        // 127-byte check and write such records with the V2 magic; "%DLQ%" + group is rejected
        // (MESSAGE_ILLEGAL), as are admin-created / produced long topics.
        String retryGroup = pad("StoreGenRetryGroup_", 'G', 140);
        String retryTopic = "%RETRY%" + retryGroup;
        AtomicInteger firstTry = new AtomicInteger();
        AtomicInteger retried = new AtomicInteger();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(retryGroup);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("storegen-retry");
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setMaxReconsumeTimes(3);
        consumer.subscribe("StoreTopicA", "TagRetry");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            boolean again = false;
            for (org.apache.rocketmq.common.message.MessageExt m : msgs) {
                if (m.getReconsumeTimes() == 0) {
                    firstTry.incrementAndGet();
                    again = true;
                } else {
                    retried.incrementAndGet();
                }
            }
            if (again) {
                ctx.setDelayLevelWhenNextConsume(1);
                return ConsumeConcurrentlyStatus.RECONSUME_LATER;
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        long retryStored = 0;
        try {
            consumer.start();
            deadline = System.currentTimeMillis() + 45_000;
            while (System.currentTimeMillis() < deadline) {
                try {
                    retryStored = admin.maxOffset(new MessageQueue(retryTopic, brokerName, 0));
                } catch (Exception e) {
                    // topic not there yet
                }
                // 5.x: reconsumed from the stored retry topic. 4.9.x: the broker rejects the re-put and
                // the client falls back to consuming again locally; either way we are done.
                if (retried.get() >= retrySent) {
                    Thread.sleep(500);
                    try {
                        retryStored = admin.maxOffset(new MessageQueue(retryTopic, brokerName, 0));
                    } catch (Exception e) {
                        // no such topic queue
                    }
                    break;
                }
                Thread.sleep(500);
            }
        } catch (Exception e) {
            log("retry consumer: " + oneLine(e));
        } finally {
            consumer.shutdown();
        }
        log("RESULT long-topic via retry (" + retryTopic.length() + " bytes, group " + retryGroup.length() + "): firstTry="
            + firstTry.get() + " storedInRetryTopic=" + retryStored + " reconsumed=" + retried.get()
            + (retryStored > 0 ? " -> broker wrote records with a >127-byte topic" : " -> nothing stored"));

        // Let the delayed (1 s) messages be delivered before the broker is stopped.
        Thread.sleep(delayed > 0 ? 3000 : 0);
        producer.shutdown();
        admin.shutdown();
        return failed == 0 && ok == count + 8 ? 0 : 1;
    }

    static String cachedBroker;

    static String brokerNameOf(DefaultMQProducer p, String topic) throws Exception {
        if (cachedBroker == null) {
            cachedBroker = p.fetchPublishMessageQueues(topic).get(0).getBrokerName();
        }
        return cachedBroker;
    }

    static String oneLine(Throwable e) {
        String s = e.getClass().getSimpleName() + ": " + e.getMessage();
        s = s.replace('\n', ' ');
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }
}
