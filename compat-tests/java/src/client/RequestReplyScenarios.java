/*
 * Request-reply (compat-tests/trace/run.sh) with the official Java client, 5.3.3 and 4.9.8:
 * DefaultMQProducer.request(msg, timeout) answered by a push consumer that replies with
 * MessageUtil.createReplyMessage + a plain producer send (SEND_REPLY_MESSAGE_V2 to the broker,
 * which pushes PUSH_REPLY_MESSAGE_TO_CLIENT to the requester).
 *
 * Usage: java RequestReplyScenarios <namesrvAddr> <topic> <group> <count> [tag]
 *   sync   <count> request(msg, 10 s) calls; each reply must carry "reply:" + the request body,
 *          the request's correlation id, and come from the reply topic <cluster>_REPLY_TOPIC.
 *   async  the same with request(msg, RequestCallback, 10 s).
 * Only requests of this run (body contains "-<tag>-") are answered.
 * Note: the 5.3.3 client's sync request() counts its wait latch down when the request is
 * acknowledged (apache/rocketmq#9319, since 5.3.1), so it fails with RequestTimeoutException
 * on any broker; run.sh compares that with the Java broker.
 *
 * Output: "RESULT reply-<mode> PASS|FAIL <detail>"; exit code 0 when all passed.
 */

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public class RequestReplyScenarios {
    public static void main(String[] args) throws Exception {
        String ns = args[0], topic = args[1], group = args[2];
        int count = Integer.parseInt(args[3]);
        String tag = args.length > 4 ? args[4] : Long.toString(System.nanoTime());

        DefaultMQProducer replier = new DefaultMQProducer(group + "-replier");
        replier.setNamesrvAddr(ns);
        replier.setInstanceName("rr-replier-" + tag);
        replier.start();
        AtomicInteger replyErrors = new AtomicInteger();
        DefaultMQPushConsumer responder = new DefaultMQPushConsumer(group);
        responder.setNamesrvAddr(ns);
        responder.setInstanceName("rr-responder-" + tag);
        responder.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        // shutdown() lets the consume threads finish the replies they are sending (up to 10 s)
        // instead of interrupting them (shutdownNow: "reply failed: InterruptedException"), which
        // happened whenever the requester's shutdown was quick (WakeJoin, or the 0-3 s poll of its
        // NettyEventExecutor ending early).
        responder.setAwaitTerminationMillisWhenShutdown(10000);
        responder.subscribe(topic, "*");
        responder.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                if (!body.contains("-" + tag + "-")) {
                    continue; // a request of an earlier run (a new group may start at offset 0)
                }
                try {
                    Message reply = MessageUtil.createReplyMessage(m, ("reply:" + body).getBytes(StandardCharsets.UTF_8));
                    replier.send(reply, 10000);
                } catch (Exception e) {
                    replyErrors.incrementAndGet();
                    System.out.println("reply failed: " + e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        responder.start();

        DefaultMQProducer requester = new DefaultMQProducer(group + "-requester");
        requester.setNamesrvAddr(ns);
        requester.setInstanceName("rr-requester-" + tag);
        requester.start();
        TimeUnit.SECONDS.sleep(3); // the responder owns its queues (rebalance)
        // The rebalance raised the subscription's version and sent it in a heartbeat, unless that
        // heartbeat found the lock taken (the client's first scheduled heartbeat, 1 s after start:
        // "lock heartBeat, but failed"); then the broker, Java's as ours, answers every pull with
        // SUBSCRIPTION_NOT_LATEST until the next heartbeat 30 s later and no request is answered.
        // One more heartbeat now carries the current version.
        responder.getDefaultMQPushConsumerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
        boolean ok = sync(requester, topic, count, tag) & async(requester, topic, count, tag);
        requester.shutdown();
        responder.shutdown();
        replier.shutdown();
        if (replyErrors.get() > 0) {
            System.out.println("RESULT reply-send FAIL replyErrors=" + replyErrors.get());
            ok = false;
        }
        System.exit(ok ? 0 : 1);
    }

    static String check(Message req, Message reply) {
        String want = "reply:" + new String(req.getBody(), StandardCharsets.UTF_8);
        String got = new String(reply.getBody(), StandardCharsets.UTF_8);
        if (!want.equals(got)) return "body " + got + " != " + want;
        if (!reply.getTopic().endsWith("_REPLY_TOPIC")) return "reply topic " + reply.getTopic();
        return null;
    }

    static boolean sync(DefaultMQProducer p, String topic, int count, String tag) {
        int good = 0;
        String first = null;
        String replyTopic = "";
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < count; i++) {
            Message req = new Message(topic, "TagA", ("sync-" + tag + "-" + i).getBytes(StandardCharsets.UTF_8));
            try {
                Message reply = p.request(req, 10000);
                String err = check(req, reply);
                if (err == null) { good++; replyTopic = reply.getTopic(); } else if (first == null) first = err;
            } catch (Exception e) {
                if (first == null) first = e.toString();
            }
        }
        boolean ok = good == count;
        System.out.println("RESULT reply-sync " + (ok ? "PASS" : "FAIL") + " replies=" + good + "/" + count
            + " topic=" + replyTopic + " ms=" + (System.currentTimeMillis() - t0) + (first == null ? "" : " first-error=" + first));
        return ok;
    }

    static boolean async(DefaultMQProducer p, String topic, int count, String tag) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(count);
        AtomicInteger good = new AtomicInteger();
        AtomicReference<String> first = new AtomicReference<>();
        for (int i = 0; i < count; i++) {
            Message req = new Message(topic, "TagA", ("async-" + tag + "-" + i).getBytes(StandardCharsets.UTF_8));
            try {
                p.request(req, new RequestCallback() {
                    @Override public void onSuccess(Message reply) {
                        String err = check(req, reply);
                        if (err == null) good.incrementAndGet(); else first.compareAndSet(null, err);
                        done.countDown();
                    }
                    @Override public void onException(Throwable e) {
                        first.compareAndSet(null, e.toString());
                        done.countDown();
                    }
                }, 10000);
            } catch (Exception e) {
                first.compareAndSet(null, e.toString());
                done.countDown();
            }
        }
        done.await(60, TimeUnit.SECONDS);
        boolean ok = good.get() == count;
        System.out.println("RESULT reply-async " + (ok ? "PASS" : "FAIL") + " replies=" + good.get() + "/" + count
            + (first.get() == null ? "" : " first-error=" + first.get()));
        return ok;
    }
}
