// End-to-end latency seen by the official Java push consumer (rocketmq-client 5.3.3), the cross-check of
// `rmq-loadgen e2e` in benches/compare_java.sh. `rmq-loadgen e2e --produce-only` writes the send time
// (microseconds since the Unix epoch, 16 ASCII digits) at the start of every body; this consumer
// (DefaultMQPushConsumer, CONSUME_FROM_LAST_OFFSET, default pull settings: long polling with a 15 s
// broker suspend, pullBatchSize 32) takes the time when its listener is called minus that stamp.
//
// Usage: E2eConsumer <namesrv> <topic> <group> <stop file> <warm-up s> <rate label>
// Prints "ready" once started; when <stop file> appears it waits until no message came for 1 s (at most
// 5 s), then prints, in rmq-loadgen's format, messages whose stamp is >= first stamp + warm-up:
//   java-e2e rate=<label>/s: N msgs in S s = T msg/s; latency us p50=.. p90=.. p99=.. p999=.. max=..
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

public class E2eConsumer {
    private static final int STAMP_DIGITS = 16;
    private static long[] stamps = new long[1 << 20];
    private static long[] latencies = new long[1 << 20];
    private static int n;
    private static final AtomicLong LAST_RECEIVE = new AtomicLong();

    static long nowUs() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }

    static synchronized void record(long stamp, long latency) {
        if (n == stamps.length) {
            stamps = Arrays.copyOf(stamps, n * 2);
            latencies = Arrays.copyOf(latencies, n * 2);
        }
        stamps[n] = stamp;
        latencies[n] = latency;
        n++;
    }

    public static void main(String[] args) throws Exception {
        String ns = args[0], topic = args[1], group = args[2];
        File stop = new File(args[3]);
        long warmupUs = Long.parseLong(args[4]) * 1_000_000L;
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.setInstanceName("e2e-" + ProcessHandle.current().pid());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = nowUs();
            for (MessageExt m : msgs) {
                byte[] b = m.getBody();
                if (b == null || b.length < STAMP_DIGITS) {
                    continue;
                }
                try {
                    long stamp = Long.parseLong(new String(b, 0, STAMP_DIGITS, StandardCharsets.US_ASCII));
                    record(stamp, Math.max(1, now - stamp));
                } catch (NumberFormatException e) {
                    // not a stamped message
                }
            }
            LAST_RECEIVE.set(System.nanoTime());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        System.out.println("ready");
        while (!stop.exists()) {
            Thread.sleep(50);
        }
        long until = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < until && System.nanoTime() - LAST_RECEIVE.get() < 1_000_000_000L) {
            Thread.sleep(50);
        }
        consumer.shutdown();
        report(args[5], warmupUs);
    }

    static synchronized void report(String rate, long warmupUs) {
        long first = Long.MAX_VALUE, last = Long.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            first = Math.min(first, stamps[i]);
            last = Math.max(last, stamps[i]);
        }
        long from = first + warmupUs;
        long[] kept = new long[n];
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (stamps[i] >= from) {
                kept[k++] = latencies[i];
            }
        }
        Arrays.sort(kept, 0, k);
        double secs = n > 0 ? Math.max(1e-6, (last - first) / 1e6) : 1;
        System.out.printf("java-e2e rate=%s/s: %d msgs in %.1f s = %.0f msg/s; latency us p50=%d p90=%d p99=%d p999=%d max=%d%n",
                rate, n, secs, n / secs, q(kept, k, 0.5), q(kept, k, 0.9), q(kept, k, 0.99), q(kept, k, 0.999),
                k > 0 ? kept[k - 1] : 0);
        System.out.printf("java-e2e recorded: %d after the warm-up%n", k);
    }

    static long q(long[] sorted, int k, double quantile) {
        if (k == 0) {
            return 0;
        }
        int i = (int) Math.ceil(quantile * k) - 1;
        return sorted[Math.max(0, Math.min(k - 1, i))];
    }
}
