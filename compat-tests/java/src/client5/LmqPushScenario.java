import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import java.util.List;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyContext;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;

/**
 * An LMQ read by a DefaultMQPushConsumer the way Java's example/lmq/LMQPushConsumer does it
 * (client 5.3.3 only: the route classes moved package after 4.x): subscribe to the LMQ, fill the
 * LMQ's route and subscribe info by hand from the parent topic's broker, rebalance.
 *
 *   LmqPushScenario <ns> <parentTopic> <cluster> <brokerName> <brokerAddr> <lmq> <group> <expected>
 *
 * Prints "RESULT lmqpush PASS|FAIL received=... distinct=...".
 */
public class LmqPushScenario {
    public static void main(String[] a) throws Exception {
        int rc;
        try {
            rc = run(a);
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("RESULT lmqpush FAIL " + t);
            rc = 1;
        }
        System.exit(rc);
    }

    static int run(String[] a) throws Exception {
        final String parent = a[1];
        String ns = a[0], cluster = a[2], brokerName = a[3], brokerAddr = a[4], lmq = a[5], group = a[6];
        int expected = Integer.parseInt(a[7]);
        final Set<String> keys = ConcurrentHashMap.newKeySet();
        final AtomicInteger received = new AtomicInteger();
        final AtomicInteger bad = new AtomicInteger();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(ns);
        c.setInstanceName("lmq-push-" + System.nanoTime());
        c.subscribe(lmq, "*");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.registerMessageListener(new MessageListenerConcurrently() {
            @Override
            public ConsumeConcurrentlyStatus consumeMessage(List<MessageExt> msgs, ConsumeConcurrentlyContext ctx) {
                for (MessageExt m : msgs) {
                    received.incrementAndGet();
                    keys.add(m.getKeys());
                    if (m.getProperty("INNER_MULTI_QUEUE_OFFSET") == null || !parent.equals(m.getTopic())) {
                        bad.incrementAndGet();
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            }
        });
        c.start();
        c.getDefaultMQPushConsumerImpl().getmQClientFactory().updateTopicRouteInfoFromNameServer(parent);
        TopicRouteData route = new TopicRouteData();
        BrokerData bd = new BrokerData();
        bd.setCluster(cluster);
        bd.setBrokerName(brokerName);
        HashMap<Long, String> addrs = new HashMap<>();
        addrs.put(0L, brokerAddr);
        bd.setBrokerAddrs(addrs);
        route.setBrokerDatas(new ArrayList<>(Collections.singletonList(bd)));
        route.setQueueDatas(new ArrayList<>());
        c.getDefaultMQPushConsumerImpl().getmQClientFactory().getTopicRouteTable().put(lmq, route);
        c.getDefaultMQPushConsumerImpl().updateTopicSubscribeInfo(lmq,
            new HashSet<>(Collections.singletonList(new MessageQueue(lmq, brokerName, 0))));
        c.getDefaultMQPushConsumerImpl().getmQClientFactory().doRebalance();
        long deadline = System.currentTimeMillis() + 60_000;
        while (keys.size() < expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
        }
        Thread.sleep(1000);
        c.shutdown();
        boolean pass = keys.size() == expected && bad.get() == 0;
        System.out.println("RESULT lmqpush " + (pass ? "PASS" : "FAIL") + " received=" + received.get()
            + " distinct=" + keys.size() + " expected=" + expected + " bad=" + bad.get());
        return pass ? 0 : 1;
    }
}
