/*
 * ACL 1.0 scenarios (compat-tests/acl/run.sh) for the official Java client, 5.3.3 and 4.9.8:
 * requests signed by AclClientRPCHook(new SessionCredentials(ak, sk)).
 *
 * Usage: java AclScenarios <namesrvAddr> <mode> <accessKey|-> <secretKey|-> <topic> <group> <count>
 *   (accessKey "-" = no RPC hook at all, so no signature)
 *   send      send <count> messages; all must be acknowledged SEND_OK. Prints "SENT <n>".
 *   consume   a push consumer of <group> must receive <count> distinct bodies (from the first offset).
 *   refused   one send must be refused by the broker. Prints "REFUSED code=<c> remark=<remark>".
 *   trace     <count> sends with message trace on (DefaultMQProducer(group, hook, true, null)); the trace
 *             dispatcher signs with the same hook. Prints "MSGID <id>" for each message.
 *
 * Output: "RESULT <mode> PASS|FAIL <detail>"; exit code 0 on PASS.
 */

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;

public class AclScenarios {
    public static void main(String[] args) throws Exception {
        String ns = args[0], mode = args[1], ak = args[2], sk = args[3], topic = args[4], group = args[5];
        int count = Integer.parseInt(args[6]);
        RPCHook hook = "-".equals(ak) ? null : new AclClientRPCHook(new SessionCredentials(ak, sk));
        boolean ok;
        switch (mode) {
            case "send": ok = send(ns, hook, topic, group, count); break;
            case "consume": ok = consume(ns, hook, topic, group, count); break;
            case "refused": ok = refused(ns, hook, topic, group); break;
            case "trace": ok = trace(ns, hook, topic, group, count); break;
            default: throw new IllegalArgumentException(mode);
        }
        System.exit(ok ? 0 : 1);
    }

    static DefaultMQProducer producer(String ns, RPCHook hook, String group) throws MQClientException {
        DefaultMQProducer p = hook == null ? new DefaultMQProducer(group) : new DefaultMQProducer(group, hook);
        p.setNamesrvAddr(ns);
        p.setInstanceName("acl-" + System.nanoTime());
        p.setSendMsgTimeout(10000);
        p.setRetryTimesWhenSendFailed(0);
        p.start();
        return p;
    }

    static boolean send(String ns, RPCHook hook, String topic, String group, int count) throws Exception {
        DefaultMQProducer p = producer(ns, hook, group + "-p");
        int sent = 0;
        try {
            for (int i = 0; i < count; i++) {
                Message m = new Message(topic, "TagA", "acl-key", (group + "-" + i).getBytes(StandardCharsets.UTF_8));
                SendResult r = p.send(m);
                if (r.getSendStatus() == SendStatus.SEND_OK) sent++;
            }
        } catch (Exception e) {
            System.out.println("REFUSED " + describe(e));
        } finally {
            p.shutdown();
        }
        System.out.println("SENT " + sent);
        boolean ok = sent == count;
        System.out.println("RESULT send " + (ok ? "PASS" : "FAIL") + " sent=" + sent + "/" + count);
        return ok;
    }

    static boolean trace(String ns, RPCHook hook, String topic, String group, int count) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group + "-p", hook, true, null);
        p.setNamesrvAddr(ns);
        p.setInstanceName("acl-t-" + System.nanoTime());
        p.start();
        int sent = 0;
        try {
            for (int i = 0; i < count; i++) {
                SendResult r = p.send(new Message(topic, "TagA", "acl-trace", ("trace-" + i).getBytes(StandardCharsets.UTF_8)));
                if (r.getSendStatus() == SendStatus.SEND_OK) {
                    sent++;
                    System.out.println("MSGID " + r.getMsgId());
                }
            }
            TimeUnit.SECONDS.sleep(2); // the trace dispatcher sends in batches
        } finally {
            p.shutdown();
        }
        boolean ok = sent == count;
        System.out.println("RESULT trace " + (ok ? "PASS" : "FAIL") + " sent=" + sent + "/" + count);
        return ok;
    }

    static boolean consume(String ns, RPCHook hook, String topic, String group, int count) throws Exception {
        DefaultMQPushConsumer c = hook == null ? new DefaultMQPushConsumer(group)
            : new DefaultMQPushConsumer(group, hook, new AllocateMessageQueueAveragely());
        c.setNamesrvAddr(ns);
        c.setInstanceName("acl-c-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        Set<String> got = ConcurrentHashMap.newKeySet();
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long deadline = System.currentTimeMillis() + 90_000;
        while (got.size() < count && System.currentTimeMillis() < deadline) {
            TimeUnit.MILLISECONDS.sleep(200);
        }
        c.shutdown();
        boolean ok = got.size() == count;
        System.out.println("RESULT consume " + (ok ? "PASS" : "FAIL") + " got=" + got.size() + "/" + count);
        return ok;
    }

    static boolean refused(String ns, RPCHook hook, String topic, String group) throws Exception {
        DefaultMQProducer p = producer(ns, hook, group + "-p");
        try {
            SendResult r = p.send(new Message(topic, "TagA", "acl-key", "refused".getBytes(StandardCharsets.UTF_8)));
            System.out.println("RESULT refused FAIL accepted " + r.getSendStatus() + " " + r.getMsgId());
            return false;
        } catch (Exception e) {
            String d = describe(e);
            System.out.println("REFUSED " + d);
            boolean broker = d.startsWith("code=");
            System.out.println("RESULT refused " + (broker ? "PASS " : "FAIL ") + d.split(" ")[0]);
            return broker;
        } finally {
            p.shutdown();
        }
    }

    /** "code=<c> remark=<text>" from the broker's answer in the cause chain, else the exception. */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MQBrokerException) {
                MQBrokerException b = (MQBrokerException) t;
                return "code=" + b.getResponseCode() + " remark=" + b.getErrorMessage();
            }
        }
        return "client " + e;
    }
}
