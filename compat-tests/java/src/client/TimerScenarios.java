/*
 * Timer-message scenarios for the official RocketMQ Java client (compat-tests/timer/run.sh).
 * Compiled against both clients: the 5.x client's Message.setDeliverTimeMs is called through
 * reflection; the 4.9.8 client, which lacks it, sets the same TIMER_DELIVER_MS property by hand.
 *
 * Usage:
 *   TimerScenarios produce <namesrv> <topic> <outFile> <delayMs>[,<delayMs>...]
 *       Sync-sends one message per delay, due at now + delay (key "t<delay>"). Each SEND_OK
 *       appends "<key> <dueMs>" to <outFile>. Last line "RESULT ok=N api=setDeliverTimeMs|property".
 *   TimerScenarios recall <namesrv> <topic> <outFile> <delayMs>
 *       (5.3 client) Sends "recalled" and "kept", both due in <delayMs>, then
 *       DefaultMQProducer.recallMessage(topic, handle) with the first one's SendResult recall
 *       handle. Appends "kept <dueMs>" to <outFile>. Last line "RESULT recalled=<msgId>".
 *   TimerScenarios consume <namesrv> <topic> <group> <outFile> <count> <timeoutSeconds>
 *       A push consumer (CONSUME_FROM_FIRST_OFFSET) appends "<key> <storeTimestamp> <receivedMs>"
 *       to <outFile> for every message (duplicates included) until <count> distinct keys came or
 *       the timeout. Last line "RESULT distinct=N".
 */

import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class TimerScenarios {

    public static void main(String[] args) {
        int code;
        try {
            if (args.length == 5 && args[0].equals("produce")) {
                code = produce(args[1], args[2], args[3], args[4]);
            } else if (args.length == 5 && args[0].equals("recall")) {
                code = recall(args[1], args[2], args[3], Long.parseLong(args[4]));
            } else if (args.length == 7 && args[0].equals("consume")) {
                code = consume(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]),
                    Integer.parseInt(args[6]));
            } else {
                System.out.println("RESULT FAIL bad arguments");
                code = 2;
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("RESULT FAIL unexpected exception: " + t);
            code = 2;
        }
        System.out.flush();
        System.exit(code);
    }

    static int produce(String namesrv, String topic, String outFile, String delays) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("timer_compat_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setSendMsgTimeout(5000);
        producer.start();
        Method setDeliver = null;
        try {
            setDeliver = Message.class.getMethod("setDeliverTimeMs", long.class);
        } catch (NoSuchMethodException e) {
            // 4.9.8: no timer API.
        }
        int ok = 0;
        try (Writer out = new OutputStreamWriter(new FileOutputStream(outFile, true), StandardCharsets.UTF_8)) {
            for (String d : delays.split(",")) {
                long delay = Long.parseLong(d.trim());
                String key = "t" + delay;
                Message m = new Message(topic, "TagT", key, ("due in " + delay + " ms").getBytes(StandardCharsets.UTF_8));
                long due = System.currentTimeMillis() + delay;
                if (setDeliver != null) {
                    setDeliver.invoke(m, due);
                } else {
                    m.putUserProperty("TIMER_DELIVER_MS", Long.toString(due));
                }
                SendResult r = producer.send(m);
                System.out.println("sent " + key + " due " + due + ": " + r.getSendStatus() + " " + r.getMsgId());
                if (r.getSendStatus() == SendStatus.SEND_OK) {
                    ok++;
                    out.write(key + " " + due + "\n");
                    out.flush();
                }
            }
        } finally {
            producer.shutdown();
        }
        System.out.println("RESULT ok=" + ok + " api=" + (setDeliver != null ? "setDeliverTimeMs" : "property"));
        return 0;
    }

    static int recall(String namesrv, String topic, String outFile, long delay) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("timer_recall_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setSendMsgTimeout(5000);
        producer.start();
        Method setDeliver = Message.class.getMethod("setDeliverTimeMs", long.class);
        Method getHandle = SendResult.class.getMethod("getRecallHandle");
        Method recallMessage = DefaultMQProducer.class.getMethod("recallMessage", String.class, String.class);
        String recalled;
        try (Writer out = new OutputStreamWriter(new FileOutputStream(outFile, true), StandardCharsets.UTF_8)) {
            long due = System.currentTimeMillis() + delay;
            String handle = null;
            for (String key : new String[] {"recalled", "kept"}) {
                Message m = new Message(topic, "TagT", key, key.getBytes(StandardCharsets.UTF_8));
                setDeliver.invoke(m, due);
                SendResult r = producer.send(m);
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    throw new IllegalStateException("send " + key + ": " + r.getSendStatus());
                }
                if (key.equals("recalled")) {
                    handle = (String) getHandle.invoke(r);
                } else {
                    out.write(key + " " + due + "\n");
                }
            }
            System.out.println("recall handle " + handle);
            recalled = (String) recallMessage.invoke(producer, topic, handle);
        } finally {
            producer.shutdown();
        }
        System.out.println("RESULT recalled=" + recalled);
        return 0;
    }

    static int consume(String namesrv, String topic, String group, String outFile, int count,
        int timeoutSeconds) throws Exception {
        Set<String> keys = ConcurrentHashMap.newKeySet();
        Writer out = new OutputStreamWriter(new FileOutputStream(outFile, true), StandardCharsets.UTF_8);
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = System.currentTimeMillis();
            synchronized (out) {
                try {
                    for (MessageExt m : msgs) {
                        out.write(m.getKeys() + " " + m.getStoreTimestamp() + " " + now + "\n");
                        keys.add(m.getKeys());
                    }
                    out.flush();
                } catch (Exception e) {
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        long deadline = System.currentTimeMillis() + timeoutSeconds * 1000L;
        while (keys.size() < count && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        consumer.shutdown();
        out.close();
        System.out.println("RESULT distinct=" + keys.size());
        return 0;
    }
}
