/*
 * Master-slave scenarios for the official RocketMQ Java client (compat-tests/ha/run.sh).
 *
 * Usage:
 *   HaScenarios produce <namesrv> <topic> <count> <ackFile> [stopFile]
 *       Sync-sends up to <count> messages (key "k<i>", tag TagA, 200-byte body) one at a time.
 *       Every send answered SEND_OK appends its key to <ackFile> (flushed at once, so a kill of
 *       anything else never loses the record of an acknowledged message). Other statuses and
 *       exceptions are counted, and sending goes on (the master may be down for a while). Stops
 *       early when <stopFile> exists. Last line: "RESULT sent=N ok=N flushSlaveTimeout=N
 *       slaveNotAvailable=N flushDiskTimeout=N errors=N".
 *   HaScenarios consume <namesrv> <topic> <group> <expectedKeysFile> <timeoutSeconds>
 *       A push consumer (cluster mode, CONSUME_FROM_FIRST_OFFSET) runs until every key listed in
 *       <expectedKeysFile> was received, or the timeout; offsets are persisted every second and at
 *       shutdown. Writes "PROGRESS received=N" every second.
 *       Last line "PASS received=N" or "FAIL missing=N (first: k..)". Exit 0 on PASS.
 *       With <expectedKeysFile> = "-" it expects nothing: it runs for the whole timeout and
 *       reports how many messages arrived ("RESULT received=N"), exit 0.
 */

import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class HaScenarios {

    public static void main(String[] args) {
        int code;
        try {
            if (args.length >= 5 && args[0].equals("produce")) {
                code = produce(args[1], args[2], Integer.parseInt(args[3]), args[4],
                    args.length > 5 ? args[5] : null);
            } else if (args.length >= 6 && args[0].equals("consume")) {
                code = consume(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
            } else {
                System.out.println("FAIL bad arguments");
                code = 2;
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("FAIL unexpected exception: " + t);
            code = 2;
        }
        System.out.flush();
        System.exit(code);
    }

    static int produce(String namesrv, String topic, int count, String ackFile, String stopFile)
        throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("ha_compat_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setSendMsgTimeout(5000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();
        byte[] pad = new byte[200];
        java.util.Arrays.fill(pad, (byte) 'x');
        int ok = 0, fst = 0, sna = 0, fdt = 0, errors = 0, sent = 0, resent = 0;
        try (Writer acks = new OutputStreamWriter(new FileOutputStream(ackFile, true), StandardCharsets.UTF_8)) {
            for (int i = 0; i < count; i++) {
                if (stopFile != null && new File(stopFile).exists()) {
                    break;
                }
                String key = "k" + i;
                Message m = new Message(topic, "TagA", key, pad);
                sent++;
                // A send refused before it was stored (a busy Java master's
                // "[TIMEOUT_CLEAN_QUEUE]broker busy" on a loaded machine) is sent again, up to
                // 3 times: the scenarios check replication, not the master's flow control.
                for (int attempt = 1; ; attempt++) {
                    try {
                        SendResult r = producer.send(m);
                        switch (r.getSendStatus()) {
                            case SEND_OK:
                                ok++;
                                acks.write(key + "\n");
                                acks.flush();
                                break;
                            case FLUSH_SLAVE_TIMEOUT:
                                fst++;
                                break;
                            case SLAVE_NOT_AVAILABLE:
                                sna++;
                                break;
                            default:
                                fdt++;
                                break;
                        }
                        break;
                    } catch (Exception e) {
                        Throwable cause = e.getCause() == null ? e : e.getCause();
                        if (attempt < 3) {
                            resent++;
                            System.out.println("send " + key + " attempt " + attempt + " failed, sending again: "
                                + e.getMessage() + " / " + cause);
                            Thread.sleep(50);
                            continue;
                        }
                        errors++;
                        if (errors <= 5 || errors % 100 == 0) {
                            System.out.println("send " + key + " failed: " + e.getMessage() + " / " + cause);
                        }
                        Thread.sleep(50);
                        break;
                    }
                }
            }
        } finally {
            producer.shutdown();
        }
        System.out.println("RESULT sent=" + sent + " ok=" + ok + " flushSlaveTimeout=" + fst
            + " slaveNotAvailable=" + sna + " flushDiskTimeout=" + fdt + " errors=" + errors
            + " resent=" + resent);
        return 0;
    }

    static Set<String> readKeys(String file) throws Exception {
        Set<String> keys = new HashSet<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new FileInputStream(file), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isEmpty()) {
                    keys.add(line);
                }
            }
        }
        return keys;
    }

    static int consume(String namesrv, String topic, String group, String expectedFile, int timeoutSec)
        throws Exception {
        final Set<String> expected = expectedFile.equals("-") ? null : readKeys(expectedFile);
        final Set<String> got = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(m.getKeys());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        long deadline = System.currentTimeMillis() + timeoutSec * 1000L;
        try {
            while (System.currentTimeMillis() < deadline) {
                if (expected != null && got.containsAll(expected)) {
                    break;
                }
                Thread.sleep(1000);
                System.out.println("PROGRESS received=" + got.size());
            }
            // Let the last offsets reach the broker (persistConsumerOffsetInterval is 1 s).
            Thread.sleep(3000);
        } finally {
            consumer.shutdown();
        }
        if (expected == null) {
            System.out.println("RESULT received=" + got.size());
            return 0;
        }
        Set<String> missing = new HashSet<>(expected);
        missing.removeAll(got);
        if (missing.isEmpty()) {
            System.out.println("PASS received=" + got.size());
            return 0;
        }
        System.out.println("FAIL missing=" + missing.size() + " (first: " + missing.iterator().next() + ")");
        return 1;
    }
}
