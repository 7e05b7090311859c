/*
 * POP consumption scenarios for the official RocketMQ Java client 5.3.3 (compat-tests/pop/run.sh).
 *
 * Usage:
 *   PopScenarios consume <namesrv> <topic> <group> <outFile> <stopFile> <laterEvery> [invisibleMs] [sleepMs]
 *       A DefaultMQPushConsumer with setClientRebalance(false): it asks the broker for its queues
 *       (QUERY_ASSIGNMENT) and pops when the broker says POP. Every delivery appends
 *       "<key> <reconsumeTimes>" to <outFile> (flushed at once). With <laterEvery> > 0, the first
 *       delivery of every key whose number is a multiple of <laterEvery> returns RECONSUME_LATER
 *       (the client then changes the message's invisible time to 10 s). With <sleepMs>, each
 *       delivery takes that long (popped messages then wait un-acked in the client). Runs until
 *       <stopFile> exists. Last line "RESULT deliveries=N".
 *   PopScenarios raw <namesrv> <brokerAddr> <brokerName> <topic> <group> <count>
 *       Wire level with MQClientAPIImpl: pops <count> messages (invisibleTime 4 s), acks the even
 *       ones, changes the invisible time of key 1 to 20 s, leaves the others. Then pops for 14 s:
 *       the odd keys but 1 must come back with reconsumeTimes 1 and no even key; then until 40 s:
 *       key 1 must come back. Last line "RESULT raw PASS|FAIL detail".
 *   PopScenarios order <namesrv> <brokerAddr> <brokerName> <topic> <group> <count>
 *       Orderly pop of a one-queue topic: the batch comes in queue order; another attempt finds
 *       the queue blocked; all but key 3 acked; after the invisible time (3 s) the queue is popped
 *       again from key 3 on, with reconsumeTimes 1 (from orderCountInfo); once all is acked the
 *       queue is empty. Last line "RESULT order PASS|FAIL detail".
 */

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.consumer.AckCallback;
import org.apache.rocketmq.client.consumer.AckResult;
import org.apache.rocketmq.client.consumer.AckStatus;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.PopCallback;
import org.apache.rocketmq.client.consumer.PopResult;
import org.apache.rocketmq.client.consumer.PopStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.impl.MQClientAPIImpl;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.header.AckMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.ChangeInvisibleTimeRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.ExtraInfoUtil;
import org.apache.rocketmq.remoting.protocol.header.PopMessageRequestHeader;

public class PopScenarios {

    public static void main(String[] args) {
        int code;
        try {
            if (args.length >= 7 && args[0].equals("consume")) {
                code = consume(args[1], args[2], args[3], args[4], args[5], Integer.parseInt(args[6]),
                    args.length > 7 ? Long.parseLong(args[7]) : 60000L, args.length > 8 ? Long.parseLong(args[8]) : 0L);
            } else if (args.length >= 7 && args[0].equals("order")) {
                code = order(args[1], args[2], args[3], args[4], args[5], Integer.parseInt(args[6]));
            } else if (args.length >= 7 && args[0].equals("raw")) {
                code = raw(args[1], args[2], args[3], args[4], args[5], Integer.parseInt(args[6]));
            } else {
                System.out.println("RESULT args FAIL bad arguments");
                code = 2;
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("RESULT error FAIL unexpected exception: " + t);
            code = 2;
        }
        System.exit(code);
    }

    static int consume(String ns, String topic, String group, String outFile, String stopFile, int laterEvery,
        long invisibleMs, long sleepMs) throws Exception {
        final Writer out = new OutputStreamWriter(new FileOutputStream(outFile, true), StandardCharsets.UTF_8);
        final Set<String> laterDone = ConcurrentHashMap.newKeySet();
        final AtomicLong deliveries = new AtomicLong();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(ns);
        consumer.setClientRebalance(false);
        consumer.setPopInvisibleTime(invisibleMs);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(4);
        consumer.setConsumeThreadMax(4);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            boolean later = false;
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            synchronized (out) {
                try {
                    for (MessageExt m : msgs) {
                        String key = m.getKeys();
                        out.write(key + " " + m.getReconsumeTimes() + "\n");
                        deliveries.incrementAndGet();
                        if (laterEvery > 0 && key != null && key.startsWith("k")) {
                            int n = Integer.parseInt(key.substring(1));
                            if (n % laterEvery == 0 && laterDone.add(key)) {
                                later = true;
                            }
                        }
                    }
                    out.flush();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }
            return later ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.start();
        File stop = new File(stopFile);
        while (!stop.exists()) {
            Thread.sleep(200);
        }
        consumer.shutdown();
        System.out.println("RESULT deliveries=" + deliveries.get());
        return 0;
    }

    static final class Popped {
        final String key;
        final int reconsumeTimes;
        final String extraInfo;
        final String topic;
        final int queueId;
        final long offset;

        Popped(MessageExt m) {
            key = m.getKeys();
            reconsumeTimes = m.getReconsumeTimes();
            extraInfo = m.getProperty(MessageConst.PROPERTY_POP_CK);
            topic = m.getTopic();
            queueId = m.getQueueId();
            offset = m.getQueueOffset();
        }
    }

    static List<Popped> pop(MQClientAPIImpl api, String brokerName, String addr, String topic, String group,
        long invisibleMs) throws Exception {
        return pop(api, brokerName, addr, topic, group, invisibleMs, null);
    }

    static List<Popped> pop(MQClientAPIImpl api, String brokerName, String addr, String topic, String group,
        long invisibleMs, String attemptId) throws Exception {
        PopMessageRequestHeader h = new PopMessageRequestHeader();
        if (attemptId != null) {
            h.setOrder(true);
            h.setAttemptId(attemptId);
        }
        h.setConsumerGroup(group);
        h.setTopic(topic);
        h.setQueueId(-1);
        h.setMaxMsgNums(32);
        h.setInvisibleTime(invisibleMs);
        h.setPollTime(1000);
        h.setBornTime(System.currentTimeMillis());
        h.setInitMode(0);
        h.setExpType("TAG");
        h.setExp("*");
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<Object> res = new AtomicReference<>();
        api.popMessageAsync(brokerName, addr, h, 5000, new PopCallback() {
            @Override
            public void onSuccess(PopResult r) {
                res.set(r);
                done.countDown();
            }

            @Override
            public void onException(Throwable e) {
                res.set(e);
                done.countDown();
            }
        });
        done.await(10, TimeUnit.SECONDS);
        List<Popped> got = new ArrayList<>();
        Object r = res.get();
        if (r instanceof Throwable) {
            throw new Exception("pop failed", (Throwable) r);
        }
        PopResult pr = (PopResult) r;
        if (pr != null && pr.getPopStatus() == PopStatus.FOUND) {
            for (MessageExt m : pr.getMsgFoundList()) {
                got.add(new Popped(m));
            }
        }
        return got;
    }

    static AckResult await(CountDownLatch l, AtomicReference<Object> ref) throws Exception {
        l.await(10, TimeUnit.SECONDS);
        Object r = ref.get();
        if (r instanceof Throwable) {
            throw new Exception("call failed", (Throwable) r);
        }
        return (AckResult) r;
    }

    static AckCallback callback(CountDownLatch l, AtomicReference<Object> ref) {
        return new AckCallback() {
            @Override
            public void onSuccess(AckResult r) {
                ref.set(r);
                l.countDown();
            }

            @Override
            public void onException(Throwable e) {
                ref.set(e);
                l.countDown();
            }
        };
    }

    static String realTopic(Popped p, String group) {
        return ExtraInfoUtil.getRealTopic(ExtraInfoUtil.split(p.extraInfo), p.topic, group);
    }

    static int raw(String ns, String addr, String brokerName, String topic, String group, int count)
        throws Exception {
        DefaultMQProducer holder = new DefaultMQProducer("pop_raw_holder");
        holder.setNamesrvAddr(ns);
        holder.start();
        MQClientAPIImpl api = holder.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
        Map<String, Popped> first = new HashMap<>();
        long deadline = System.currentTimeMillis() + 20000;
        while (first.size() < count && System.currentTimeMillis() < deadline) {
            for (Popped p : pop(api, brokerName, addr, topic, group, 4000)) {
                first.putIfAbsent(p.key, p);
            }
        }
        if (first.size() < count) {
            System.out.println("RESULT raw FAIL first pop got " + first.size() + " of " + count);
            return 1;
        }
        long t0 = System.currentTimeMillis();
        int acked = 0;
        String changed = "k1";
        for (Popped p : first.values()) {
            int n = Integer.parseInt(p.key.substring(1));
            CountDownLatch l = new CountDownLatch(1);
            AtomicReference<Object> ref = new AtomicReference<>();
            if (n % 2 == 0) {
                AckMessageRequestHeader a = new AckMessageRequestHeader();
                a.setConsumerGroup(group);
                a.setTopic(realTopic(p, group));
                a.setQueueId(p.queueId);
                a.setOffset(p.offset);
                a.setExtraInfo(p.extraInfo);
                api.ackMessageAsync(addr, 5000, callback(l, ref), a);
                AckResult r = await(l, ref);
                if (r == null || r.getStatus() != AckStatus.OK) {
                    System.out.println("RESULT raw FAIL ack of " + p.key + ": " + r);
                    return 1;
                }
                acked++;
            } else if (p.key.equals(changed)) {
                ChangeInvisibleTimeRequestHeader c = new ChangeInvisibleTimeRequestHeader();
                c.setConsumerGroup(group);
                c.setTopic(realTopic(p, group));
                c.setQueueId(p.queueId);
                c.setOffset(p.offset);
                c.setExtraInfo(p.extraInfo);
                c.setInvisibleTime(20000L);
                api.changeInvisibleTimeAsync(brokerName, addr, c, 5000, callback(l, ref));
                AckResult r = await(l, ref);
                if (r == null || r.getStatus() != AckStatus.OK) {
                    System.out.println("RESULT raw FAIL changeInvisibleTime of " + p.key + ": " + r);
                    return 1;
                }
            }
        }
        // Phase 2: the un-acked odd keys (but k1) come back after 4 s (+ the revive margin).
        Map<String, Popped> again = new HashMap<>();
        List<String> wrong = new ArrayList<>();
        while (System.currentTimeMillis() - t0 < 14000) {
            for (Popped p : pop(api, brokerName, addr, topic, group, 60000)) {
                int n = Integer.parseInt(p.key.substring(1));
                if (n % 2 == 0 || p.key.equals(changed) || again.containsKey(p.key)) {
                    wrong.add(p.key + "@" + (System.currentTimeMillis() - t0) + "ms");
                }
                again.put(p.key, p);
                ack(api, addr, group, p);
            }
        }
        int expectBack = 0;
        int badTimes = 0;
        for (String k : first.keySet()) {
            int n = Integer.parseInt(k.substring(1));
            if (n % 2 == 1 && !k.equals(changed)) {
                expectBack++;
                Popped p = again.get(k);
                if (p == null || p.reconsumeTimes != 1) {
                    badTimes++;
                }
            }
        }
        if (!wrong.isEmpty() || badTimes > 0 || again.size() != expectBack) {
            System.out.println("RESULT raw FAIL phase2 back=" + again.size() + "/" + expectBack + " badReconsumeTimes="
                + badTimes + " unexpected=" + wrong);
            return 1;
        }
        // Phase 3: k1 comes back once its new invisible time (20 s from the change) has passed.
        long backAt = -1;
        while (System.currentTimeMillis() - t0 < 40000 && backAt < 0) {
            for (Popped p : pop(api, brokerName, addr, topic, group, 60000)) {
                if (p.key.equals(changed)) {
                    backAt = System.currentTimeMillis() - t0;
                } else {
                    wrong.add(p.key);
                }
                ack(api, addr, group, p);
            }
        }
        holder.shutdown();
        if (backAt < 19000 || !wrong.isEmpty()) {
            System.out.println("RESULT raw FAIL k1 back at " + backAt + " ms (want >= 19000), unexpected=" + wrong);
            return 1;
        }
        System.out.println("RESULT raw PASS popped=" + count + " acked=" + acked + " revived=" + again.size()
            + " changedBackAtMs=" + backAt);
        return 0;
    }

    static void ack(MQClientAPIImpl api, String addr, String group, Popped p) throws Exception {
        AckMessageRequestHeader a = new AckMessageRequestHeader();
        a.setConsumerGroup(group);
        a.setTopic(realTopic(p, group));
        a.setQueueId(p.queueId);
        a.setOffset(p.offset);
        a.setExtraInfo(p.extraInfo);
        CountDownLatch l = new CountDownLatch(1);
        AtomicReference<Object> ref = new AtomicReference<>();
        api.ackMessageAsync(addr, 5000, callback(l, ref), a);
        await(l, ref);
    }

    static int order(String ns, String addr, String brokerName, String topic, String group, int count)
        throws Exception {
        DefaultMQProducer holder = new DefaultMQProducer("pop_order_holder");
        holder.setNamesrvAddr(ns);
        holder.start();
        MQClientAPIImpl api = holder.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
        List<Popped> batch = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 20000;
        while (batch.isEmpty() && System.currentTimeMillis() < deadline) {
            batch = pop(api, brokerName, addr, topic, group, 3000, "a1");
        }
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < batch.size(); i++) {
            if (!batch.get(i).key.equals("k" + i)) {
                seq.append(batch.get(i).key).append(' ');
            }
        }
        if (batch.size() != count || seq.length() > 0) {
            System.out.println("RESULT order FAIL first batch " + batch.size() + " of " + count + " out of order: " + seq);
            return 1;
        }
        List<Popped> blocked = pop(api, brokerName, addr, topic, group, 3000, "a2");
        if (!blocked.isEmpty()) {
            System.out.println("RESULT order FAIL a second attempt got " + blocked.size() + " while the queue was blocked");
            return 1;
        }
        for (Popped p : batch) {
            if (!p.key.equals("k3")) {
                ack(api, addr, group, p);
            }
        }
        Thread.sleep(3500);
        List<Popped> again = new ArrayList<>();
        deadline = System.currentTimeMillis() + 10000;
        while (again.isEmpty() && System.currentTimeMillis() < deadline) {
            again = pop(api, brokerName, addr, topic, group, 60000, "a3");
        }
        if (again.isEmpty() || !again.get(0).key.equals("k3") || again.get(0).reconsumeTimes != 1) {
            System.out.println("RESULT order FAIL after the invisible time: " + (again.isEmpty() ? "nothing"
                : again.get(0).key + " reconsumeTimes=" + again.get(0).reconsumeTimes));
            return 1;
        }
        for (Popped p : again) {
            ack(api, addr, group, p);
        }
        List<Popped> rest = pop(api, brokerName, addr, topic, group, 60000, "a4");
        holder.shutdown();
        if (!rest.isEmpty()) {
            System.out.println("RESULT order FAIL " + rest.size() + " messages after everything was acked");
            return 1;
        }
        System.out.println("RESULT order PASS batch=" + batch.size() + " blockedSecondAttempt=0 redeliveredFrom=k3 count="
            + again.size() + " reconsumeTimes=1");
        return 0;
    }
}
