// Remoting side of the gRPC interop scenarios: a 5.3.3 DefaultMQPushConsumer reads what a gRPC
// producer sent through our broker's gRPC endpoint.
//
//   GrpcInterop consume <namesrv> <group> <out-file> <seconds> <topic...>
//       subscribes "*" to each topic from the first offset and appends one line per message:
//       "topic keys tags shardingKey uniqKey storeMs recvMs timerDeliverMs userProp queueId"
//       (missing values as "-"), until <seconds> have passed.
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

    public static void main(String[] args) throws Exception {
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
