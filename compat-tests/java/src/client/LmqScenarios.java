import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Light Message Queue (RIP-28) scenarios, compiled against the 4.9.8 and the 5.3.3 client, in the
 * way Java's own example/lmq programs use LMQ: a producer sets INNER_MULTI_DISPATCH on messages to
 * an ordinary parent topic; a DefaultMQPullConsumer pulls MessageQueue(%LMQ%x, brokerName, 0)
 * directly (the parent topic's route gives the broker address).
 *
 *   produce  <ns> <topic> <lmqs> <from> <count> <acksFile> [keyPrefix, default LK]
 *   consume  <ns> <parentTopic> <brokerName> <lmq> <group> <outFile>
 *   longpoll <ns> <parentTopic> <brokerName> <lmq> <lmqs>
 *   badname  <ns> <topic>                  (a '/' in INNER_MULTI_DISPATCH is refused by the client)
 *   plain    <ns> <topic>                  (one message without LMQs: creates and routes the topic)
 *   offset   <ns> <parentTopic> <brokerName> <lmq> <group>   (QUERY_CONSUMER_OFFSET, printed)
 *
 * Prints one "RESULT <scenario> PASS|FAIL key=value..." line.
 */
public class LmqScenarios {
    static final String DISPATCH = "INNER_MULTI_DISPATCH";
    static final String OFFSETS = "INNER_MULTI_QUEUE_OFFSET";

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int rc;
        try {
            rc = run(mode, args);
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.out.println("RESULT " + mode + " FAIL " + t);
            rc = 1;
        }
        System.exit(rc);
    }

    static int run(String mode, String[] args) throws Exception {
        int rc;
        switch (mode) {
            case "produce": rc = produce(args); break;
            case "consume": rc = consume(args); break;
            case "longpoll": rc = longpoll(args); break;
            case "badname": rc = badname(args); break;
            case "plain": rc = plain(args); break;
            case "offset": rc = offset(args); break;
            default: System.out.println("RESULT " + mode + " FAIL unknown mode"); rc = 2;
        }
        return rc;
    }

    static DefaultMQProducer producer(String ns) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("lmq_compat_producer");
        p.setNamesrvAddr(ns);
        p.setSendMsgTimeout(5000);
        p.setInstanceName("lmq-p-" + System.nanoTime());
        p.start();
        return p;
    }

    static Message message(String topic, String lmqs, String key) {
        Message m = new Message(topic, "TagA", key, ("lmq body " + key).getBytes(StandardCharsets.UTF_8));
        m.putUserProperty(DISPATCH, lmqs);
        return m;
    }

    static int produce(String[] a) throws Exception {
        String ns = a[1], topic = a[2], lmqs = a[3];
        int from = Integer.parseInt(a[4]), count = Integer.parseInt(a[5]);
        String prefix = a.length > 7 ? a[7] : "LK";
        DefaultMQProducer p = producer(ns);
        // A failed send (the broker is being restarted) is retried every 300 ms, up to 150 times
        // in a row; a key counts once, when it is acknowledged.
        int ok = 0, fail = 0, retries = 0, inRow = 0;
        try (Writer acks = new OutputStreamWriter(new FileOutputStream(a[6], true), StandardCharsets.UTF_8)) {
            for (int i = from; i < from + count; ) {
                String key = prefix + i;
                boolean acked = false;
                try {
                    SendResult r = p.send(message(topic, lmqs, key));
                    acked = r.getSendStatus() == SendStatus.SEND_OK;
                } catch (Exception e) {
                    if (retries < 3) {
                        System.out.println("send " + key + " failed: " + e);
                    }
                }
                if (acked) {
                    ok++;
                    acks.write(key + "\n");
                    acks.flush();
                    inRow = 0;
                    i++;
                } else if (++inRow > 150) {
                    fail++;
                    inRow = 0;
                    i++;
                } else {
                    retries++;
                    Thread.sleep(300);
                }
            }
        }
        p.shutdown();
        System.out.println("RESULT produce " + (fail == 0 ? "PASS" : "FAIL") + " ok=" + ok + " fail=" + fail
            + " retries=" + retries);
        return fail == 0 ? 0 : 1;
    }

    static DefaultMQPullConsumer pullConsumer(String ns, String group, String parent) throws Exception {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer(group);
        c.setNamesrvAddr(ns);
        c.setInstanceName("lmq-c-" + System.nanoTime());
        c.setRegisterTopics(new HashSet<String>(Collections.singletonList(parent)));
        c.start();
        // The LMQ has no route; the parent topic's route fills the broker address table.
        c.getDefaultMQPullConsumerImpl().getRebalanceImpl().getmQClientFactory()
            .updateTopicRouteInfoFromNameServer(parent);
        return c;
    }

    /** The LMQ offset a message carries for queue {@code lmq}. */
    static long lmqOffset(MessageExt m, String lmq) {
        String names = m.getProperty(DISPATCH), offs = m.getProperty(OFFSETS);
        if (names == null || offs == null) {
            return -1;
        }
        List<String> ns = Arrays.asList(names.split(","));
        String[] os = offs.split(",");
        int i = ns.indexOf(lmq);
        return i >= 0 && i < os.length ? Long.parseLong(os[i]) : -1;
    }

    static int consume(String[] a) throws Exception {
        String ns = a[1], parent = a[2], brokerName = a[3], lmq = a[4], group = a[5];
        DefaultMQPullConsumer c = pullConsumer(ns, group, parent);
        MessageQueue mq = new MessageQueue(lmq, brokerName, 0);
        long min = c.minOffset(mq), max = c.maxOffset(mq);
        long offset = min;
        int read = 0, mismatches = 0, errors = 0;
        try (Writer out = new OutputStreamWriter(new FileOutputStream(a[6]), StandardCharsets.UTF_8)) {
            while (offset < max && errors < 20) {
                PullResult r;
                try {
                    r = c.pull(mq, "*", offset, 32);
                } catch (Exception e) {
                    errors++;
                    System.out.println("pull at " + offset + " failed: " + e);
                    Thread.sleep(500);
                    continue;
                }
                if (r.getPullStatus() != PullStatus.FOUND) {
                    errors++;
                    System.out.println("pull at " + offset + ": " + r.getPullStatus() + " next=" + r.getNextBeginOffset());
                    if (r.getNextBeginOffset() > offset) {
                        offset = r.getNextBeginOffset();
                    }
                    continue;
                }
                long expect = offset;
                for (MessageExt m : r.getMsgFoundList()) {
                    long lo = lmqOffset(m, lmq);
                    if (lo != expect) {
                        mismatches++;
                    }
                    out.write(lo + " " + m.getKeys() + " " + m.getTopic() + " " + m.getQueueOffset() + " "
                        + m.getProperty(OFFSETS) + "\n");
                    expect++;
                    read++;
                }
                offset = r.getNextBeginOffset();
            }
        }
        // UPDATE_CONSUMER_OFFSET (sync) then QUERY_CONSUMER_OFFSET from the broker.
        c.getDefaultMQPullConsumerImpl().updateConsumeOffsetToBroker(mq, offset, false);
        long fetched = c.fetchConsumeOffset(mq, true);
        c.shutdown();
        boolean pass = mismatches == 0 && errors == 0 && read == max - min && fetched == offset;
        System.out.println("RESULT consume " + (pass ? "PASS" : "FAIL") + " min=" + min + " max=" + max + " read=" + read
            + " mismatches=" + mismatches + " errors=" + errors + " committed=" + offset + " fetched=" + fetched);
        return pass ? 0 : 1;
    }

    static int longpoll(String[] a) throws Exception {
        final String ns = a[1], parent = a[2], brokerName = a[3], lmq = a[4], lmqs = a[5];
        DefaultMQPullConsumer c = pullConsumer(ns, "CID_LMQ_LONGPOLL", parent);
        MessageQueue mq = new MessageQueue(lmq, brokerName, 0);
        long max = c.maxOffset(mq);
        final DefaultMQProducer p = producer(ns);
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(3000);
                p.send(message(parent, lmqs, "LPOLL"));
            } catch (Exception e) {
                System.out.println("longpoll send failed: " + e);
            }
        });
        t.start();
        long t0 = System.currentTimeMillis();
        PullResult r = c.pullBlockIfNotFound(mq, "*", max, 32);
        long waited = System.currentTimeMillis() - t0;
        t.join();
        p.shutdown();
        c.shutdown();
        String key = r.getPullStatus() == PullStatus.FOUND ? r.getMsgFoundList().get(0).getKeys() : "-";
        long lo = r.getPullStatus() == PullStatus.FOUND ? lmqOffset(r.getMsgFoundList().get(0), lmq) : -1;
        boolean pass = "LPOLL".equals(key) && lo == max && waited >= 2500 && waited < 12000;
        System.out.println("RESULT longpoll " + (pass ? "PASS" : "FAIL") + " status=" + r.getPullStatus() + " key=" + key
            + " lmqOffset=" + lo + " waitedMs=" + waited + " from=" + max);
        return pass ? 0 : 1;
    }

    static int offset(String[] a) throws Exception {
        DefaultMQPullConsumer c = pullConsumer(a[1], a[5], a[2]);
        long o = c.fetchConsumeOffset(new MessageQueue(a[4], a[3], 0), true);
        c.shutdown();
        System.out.println("RESULT offset PASS offset=" + o);
        return 0;
    }

    static int plain(String[] a) throws Exception {
        DefaultMQProducer p = producer(a[1]);
        String outcome;
        boolean ok = false;
        try {
            SendResult r = p.send(new Message(a[2], "TagP", "PROBE", "probe".getBytes(StandardCharsets.UTF_8)));
            ok = r.getSendStatus() == SendStatus.SEND_OK;
            outcome = r.getSendStatus().toString();
        } catch (Exception e) {
            outcome = e.toString();
        }
        p.shutdown();
        System.out.println("RESULT plain " + (ok ? "PASS" : "FAIL") + " " + outcome);
        return ok ? 0 : 1;
    }

    static int badname(String[] a) throws Exception {
        DefaultMQProducer p = producer(a[1]);
        String outcome;
        try {
            SendResult r = p.send(message(a[2], "%LMQ%x/y", "LBAD"));
            outcome = "sent:" + r.getSendStatus();
        } catch (Exception e) {
            outcome = "refused:" + e.getClass().getSimpleName();
        }
        p.shutdown();
        System.out.println("RESULT badname INFO " + outcome);
        return 0;
    }
}
