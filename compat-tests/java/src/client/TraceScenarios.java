/*
 * Message trace (compat-tests/trace/run.sh) with the official Java client, 5.3.3 and 4.9.8:
 * DefaultMQProducer(group, true) and DefaultMQPushConsumer(group, true) send their Pub and
 * SubBefore/SubAfter traces to RMQ_SYS_TRACE_TOPIC (or the topic given as traceTopic).
 *
 * Usage: java TraceScenarios <namesrvAddr> <topic> <group> <count> [traceTopic|-]
 *   produces <count> messages with trace on, consumes them with trace on, waits for the trace
 *   dispatchers to flush (shutdown), and prints "MSGID <id>" for each message sent.
 *
 * Output: "RESULT trace-clients PASS|FAIL <detail>"; exit code 0 on PASS.
 */

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class TraceScenarios {
    public static void main(String[] args) throws Exception {
        String ns = args[0], topic = args[1], group = args[2];
        int count = Integer.parseInt(args[3]);
        String traceTopic = args.length > 4 && !"-".equals(args[4]) ? args[4] : null;

        // (group, enableMsgTrace, customizedTraceTopic): null means RMQ_SYS_TRACE_TOPIC.
        DefaultMQProducer p = new DefaultMQProducer(group + "-p", true, traceTopic);
        p.setNamesrvAddr(ns);
        p.setInstanceName("trace-p-" + System.nanoTime());
        p.start();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Message m = new Message(topic, "TagA", "trace-key-" + i, ("trace-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = p.send(m, 10000);
            if (r.getSendStatus() == SendStatus.SEND_OK) ids.add(r.getMsgId());
        }
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group, true, traceTopic);
        c.setNamesrvAddr(ns);
        c.setInstanceName("trace-c-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        Set<String> got = ConcurrentHashMap.newKeySet();
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) got.add(m.getMsgId());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (got.size() < ids.size() && System.currentTimeMillis() < deadline) TimeUnit.MILLISECONDS.sleep(200);
        // The trace dispatchers send in batches; let them flush before shutdown.
        TimeUnit.SECONDS.sleep(3);
        c.shutdown();
        p.shutdown();
        for (String id : ids) System.out.println("MSGID " + id);
        boolean ok = ids.size() == count && got.containsAll(ids);
        System.out.println("RESULT trace-clients " + (ok ? "PASS" : "FAIL") + " sent=" + ids.size() + " consumed=" + got.size());
        System.exit(ok ? 0 : 1);
    }
}
