// Remoting side of the gRPC interop scenarios: a 5.3.3 DefaultMQPushConsumer reads what a gRPC
// producer sent through our broker's gRPC endpoint.
//
//   GrpcInterop consume <namesrv> <group> <out-file> <seconds> <topic...>
//       subscribes "*" to each topic from the first offset and appends one line per message:
//       "topic keys tags shardingKey uniqKey storeMs recvMs timerDeliverMs userProp queueId"
//       (missing values as "-"), until <seconds> have passed.
//   GrpcInterop produce <namesrv> <topic> <prefix> <count> <expect-file>
//       a 5.3.3 DefaultMQProducer sends <count> messages (keys <prefix>-i, tag TagR) over
//       remoting; appends "topic key tag - uniqKey 0" per message to <expect-file>.
import java.io.FileWriter;
import java.io.PrintWriter;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

public class GrpcInterop {
    static String or(String s) {
        return s == null || s.isEmpty() ? "-" : s.replace(' ', '_');
    }

    static void produce(String ns, String topic, String prefix, int count, String expectFile) throws Exception {
        org.apache.rocketmq.client.producer.DefaultMQProducer p =
            new org.apache.rocketmq.client.producer.DefaultMQProducer("grpc_interop_producer");
        p.setNamesrvAddr(ns);
        p.setSendMsgTimeout(15000);
        p.setMqClientApiTimeout(10000);
        p.start();
        int ok = 0;
        try (PrintWriter expect = new PrintWriter(new FileWriter(expectFile, true), true)) {
            for (int i = 0; i < count; i++) {
                String k = prefix + "-" + i;
                org.apache.rocketmq.common.message.Message m = new org.apache.rocketmq.common.message.Message(
                    topic, "TagR", k, ("remoting " + k).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                org.apache.rocketmq.client.producer.SendResult r;
                try {
                    r = p.send(m);
                } catch (Exception e) {
                    Thread.sleep(1000); // a slow first route lookup on a loaded machine: once more
                    r = p.send(m);
                }
                expect.println(topic + " " + k + " TagR - " + r.getMsgId() + " 0");
                ok++;
            }
        }
        p.shutdown();
        System.out.println("RESULT produce " + (ok == count ? "PASS" : "FAIL") + " sent=" + ok + "/" + count);
        System.exit(0);
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("produce")) {
            try {
                produce(args[1], args[2], args[3], Integer.parseInt(args[4]), args[5]);
            } catch (Exception e) {
                System.out.println("RESULT produce FAIL " + e);
            }
            System.exit(0);
        }
        String ns = args[1], group = args[2], outFile = args[3];
        long seconds = Long.parseLong(args[4]);
        PrintWriter out = new PrintWriter(new FileWriter(outFile, true), true);
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(ns);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPullInterval(0);
        for (int i = 5; i < args.length; i++) {
            c.subscribe(args[i], "*");
        }
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = System.currentTimeMillis();
            synchronized (out) {
                for (MessageExt m : msgs) {
                    out.println(m.getTopic() + " " + or(m.getKeys()) + " " + or(m.getTags()) + " "
                        + or(m.getProperty("__SHARDINGKEY")) + " " + or(m.getProperty("UNIQ_KEY")) + " "
                        + m.getStoreTimestamp() + " " + now + " " + or(m.getProperty("TIMER_DELIVER_MS")) + " "
                        + or(m.getProperty("userProp")) + " " + m.getQueueId());
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        System.out.println("RESULT consumer-started PASS group=" + group);
        Thread.sleep(seconds * 1000);
        c.shutdown();
        out.close();
        System.exit(0);
    }
}
