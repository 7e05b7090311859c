/*
 * Reads every message of the given topics back through a broker, from queue offset 0, with the
 * official client's DefaultLitePullConsumer (assign + seek), to check that a broker serves a store
 * it did not write (compat-tests/surface/run.sh: a store written by the Java broker 5.5.0, served by
 * ours).
 *
 * Usage:
 *   java -cp <client classpath>:<classes> StoreReadBack <namesrvAddr> <group> <timeout s> <topic>=<count> ...
 *
 * Output: one JSON line per message, {"topic","queueId","queueOffset","msgId","tags","keys","bodyB64"},
 * then "RESULT readback PASS|FAIL <topic>=<got>/<want> ...". Exit 0 when every topic reached its count.
 */

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

public class StoreReadBack {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.out.println("usage: StoreReadBack <namesrvAddr> <group> <timeout s> <topic>=<count> ...");
            System.exit(2);
        }
        long deadline = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000L;
        Map<String, Integer> want = new LinkedHashMap<>();
        Map<String, Integer> got = new LinkedHashMap<>();
        for (int i = 3; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            want.put(kv[0], Integer.parseInt(kv[1]));
            got.put(kv[0], 0);
        }
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(args[1]);
        c.setNamesrvAddr(args[0]);
        c.setAutoCommit(false);
        c.setPullBatchSize(64);
        c.start();
        StringBuilder sb = new StringBuilder();
        try {
            List<MessageQueue> all = new ArrayList<>();
            for (String t : want.keySet()) {
                Collection<MessageQueue> qs = null;
                while (qs == null) {
                    try {
                        qs = c.fetchMessageQueues(t);
                    } catch (Exception e) {
                        if (System.currentTimeMillis() > deadline) {
                            throw e;
                        }
                        Thread.sleep(500);
                    }
                }
                all.addAll(qs);
            }
            c.assign(all);
            for (MessageQueue q : all) {
                // A failed seek is printed and retried: the CI log then shows what the
                // client saw (a closed channel, a timeout) while the run still checks every message.
                while (true) {
                    try {
                        c.seek(q, 0);
                        break;
                    } catch (Exception e) {
                        System.out.println("RETRY seek " + q + ": " + e);
                        if (System.currentTimeMillis() > deadline) {
                            throw e;
                        }
                        Thread.sleep(500);
                    }
                }
            }
            while (System.currentTimeMillis() < deadline && !done(want, got)) {
                for (MessageExt m : c.poll(1000)) {
                    got.merge(m.getTopic(), 1, Integer::sum);
                    sb.setLength(0);
                    sb.append("{\"topic\":\"").append(m.getTopic())
                        .append("\",\"queueId\":").append(m.getQueueId())
                        .append(",\"queueOffset\":").append(m.getQueueOffset())
                        .append(",\"msgId\":\"").append(m.getMsgId())
                        .append("\",\"tags\":").append(q(m.getTags()))
                        .append(",\"keys\":").append(q(m.getKeys()))
                        .append(",\"bodyB64\":\"").append(Base64.getEncoder().encodeToString(m.getBody()))
                        .append("\"}");
                    System.out.println(sb);
                }
            }
        } finally {
            c.shutdown();
        }
        StringBuilder d = new StringBuilder();
        for (Map.Entry<String, Integer> e : want.entrySet()) {
            d.append(' ').append(e.getKey()).append('=').append(got.get(e.getKey())).append('/').append(e.getValue());
        }
        boolean ok = done(want, got);
        System.out.println("RESULT readback " + (ok ? "PASS" : "FAIL") + d);
        System.exit(ok ? 0 : 1);
    }

    static boolean done(Map<String, Integer> want, Map<String, Integer> got) {
        for (Map.Entry<String, Integer> e : want.entrySet()) {
            if (got.get(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    static String q(String s) {
        if (s == null) {
            return "null";
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return "\"" + new String(b, StandardCharsets.UTF_8).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
