/*
 * Runs a list of mqadmin 5.3.3 subcommands in one JVM (compat-tests/ops/run.sh): JVM start-up is
 * the slow part of mqadmin on small machines, and the subcommand classes are what MQAdminStartup
 * runs anyway (same option parsing through ServerUtil, same execute(commandLine, options, hook)).
 *
 *   OpsBatch <commands.tsv> <outDir> <namesrvAddr> <brokerAddr> <brokerName> <workloadCount>
 *
 * First a workload in this JVM: a producer (group OpsPG) sends <workloadCount> messages with keys
 * to topic OpsT and a push consumer (group OpsG) consumes them, both with message trace on; both stay online while the
 * commands run, so consumerStatus, consumerConnection and producerConnection have a client to show.
 *
 * Then each line of commands.tsv (id, flags, expected regex, arguments with {PLACEHOLDERS}) runs
 * with stdout and stderr captured into <outDir>/<id>.out. A command passes when execute() returns
 * without exception, the output matches the expected regex, and (unless flags has "allowerr") the
 * output carries no error word ("Exception:", "not supported", "failed", "error"). Flag "loop": the
 * command never returns (clusterRT), its output after a few seconds is judged. The pseudo-command
 * "@dashboard <args>" runs DashboardProbe (the admin calls rocketmq-dashboard makes). Prints one
 * line "RESULT <id> PASS|FAIL <reason>" per command and exits 0.
 */

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Options;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.srvutil.ServerUtil;
import org.apache.rocketmq.tools.command.MQAdminStartup;
import org.apache.rocketmq.tools.command.SubCommand;

public class OpsBatch extends MQAdminStartup {
    /** Output of the command running on this thread (and the threads it starts). */
    private static final InheritableThreadLocal<ByteArrayOutputStream> SINK = new InheritableThreadLocal<>();
    private static final PrintStream REAL_OUT = System.out;

    /** A stream writing to the current thread's sink, or to the real stdout when it has none. */
    private static final class Dispatch extends OutputStream {
        @Override
        public void write(int b) {
            ByteArrayOutputStream s = SINK.get();
            if (s != null) {
                synchronized (s) {
                    s.write(b);
                }
            } else {
                REAL_OUT.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ByteArrayOutputStream s = SINK.get();
            if (s != null) {
                synchronized (s) {
                    s.write(b, off, len);
                }
            } else {
                REAL_OUT.write(b, off, len);
            }
        }
    }

    private static final Pattern ERROR_WORDS =
        Pattern.compile("Exception:|\\bException\\b|(?i:not supported|\\bfailed\\b|\\berror\\b)");

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace(REAL_OUT);
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length < 6) {
            System.out.println("usage: OpsBatch <commands.tsv> <outDir> <namesrvAddr> <brokerAddr> <brokerName> <workloadCount>");
            System.exit(2);
        }
        Path tsv = Paths.get(args[0]);
        Path outDir = Paths.get(args[1]);
        Files.createDirectories(outDir);
        String ns = args[2];
        int count = Integer.parseInt(args[5]);
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY, Integer.toString(MQVersion.CURRENT_VERSION));
        System.setProperty(MixAll.NAMESRV_ADDR_PROPERTY, ns);

        Map<String, String> vars = new HashMap<>();
        vars.put("NS", ns);
        vars.put("ADDR", args[3]);
        vars.put("BROKER", args[4]);
        vars.put("CLUSTER", "DefaultCluster");
        vars.put("TOPIC", "OpsT");
        vars.put("GROUP", "OpsG");
        vars.put("PGROUP", "OpsPG");
        vars.put("OUT", outDir.toString());
        long begin = System.currentTimeMillis() - 60_000;

        // The workload: topic OpsT (auto-created on the first send), OpsG consuming it.
        DefaultMQProducer producer = new DefaultMQProducer("OpsPG", true, null); // with message trace
        producer.setNamesrvAddr(ns);
        producer.setInstanceName("ops-producer");
        producer.start();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("OpsG", true, null);
        consumer.setNamesrvAddr(ns);
        consumer.setInstanceName("ops-consumer");
        consumer.subscribe("OpsT", "*");
        CountDownLatch consumed = new CountDownLatch(count);
        AtomicInteger seen = new AtomicInteger();
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                seen.incrementAndGet();
                consumed.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        String msgId = null;
        String offsetMsgId = null;
        int sent = 0;
        for (int i = 0; i < count; i++) {
            Message m = new Message("OpsT", "TagA", "ops-key-" + i, ("ops body " + i).getBytes(StandardCharsets.UTF_8));
            for (int attempt = 0; attempt < 20; attempt++) {
                try {
                    SendResult r = producer.send(m);
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        sent++;
                        if (msgId == null) {
                            msgId = r.getMsgId();
                            offsetMsgId = r.getOffsetMsgId();
                        }
                    }
                    break;
                } catch (Exception e) {
                    Thread.sleep(500); // the route may not be there yet
                }
            }
        }
        boolean all = consumed.await(60, TimeUnit.SECONDS);
        REAL_OUT.println("WORKLOAD sent=" + sent + " consumed=" + seen.get() + " complete=" + all);
        vars.put("MSGID", msgId == null ? "none" : msgId);
        vars.put("OFFSET_MSGID", offsetMsgId == null ? "none" : offsetMsgId);
        vars.put("KEY", "ops-key-0");
        vars.put("CLIENTID", consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId());
        vars.put("BEGIN", Long.toString(begin));
        vars.put("NOW", Long.toString(System.currentTimeMillis() + 60_000));

        initCommand();
        // ServerUtil.parseCmdLine exits the JVM on bad options: that must fail one command only.
        System.setSecurityManager(new SecurityManager() {
            @Override
            public void checkExit(int status) {
                if (Thread.currentThread().getName().startsWith("ops-")) {
                    throw new SecurityException("command called System.exit(" + status + ")");
                }
            }

            @Override
            public void checkPermission(java.security.Permission perm) {
            }

            @Override
            public void checkPermission(java.security.Permission perm, Object context) {
            }
        });
        System.setOut(new PrintStream(new Dispatch(), true));
        System.setErr(new PrintStream(new Dispatch(), true));
        for (String line : Files.readAllLines(tsv, StandardCharsets.UTF_8)) {
            if (line.trim().isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] cols = line.split("\t");
            if (cols.length < 3) {
                REAL_OUT.println("RESULT " + cols[0] + " FAIL bad tsv line");
                continue;
            }
            String id = cols[0];
            String flags = cols[1];
            Pattern expect = Pattern.compile(substituteQuoted(cols[2], vars), Pattern.MULTILINE);
            List<String> argv = new ArrayList<>();
            if (cols.length > 3 && !cols[3].trim().isEmpty()) {
                for (String a : cols[3].trim().split(" +")) {
                    argv.add(substitute(a, vars));
                }
            }
            runOne(id, flags, expect, argv, outDir);
        }
        consumer.shutdown();
        producer.shutdown();
        System.exit(0);
    }

    private static String substitute(String a, Map<String, String> vars) {
        Matcher m = Pattern.compile("\\{([A-Z_]+)\\}").matcher(a);
        StringBuffer sb = new StringBuffer();
        while (m.find()) {
            String v = vars.get(m.group(1));
            m.appendReplacement(sb, Matcher.quoteReplacement(v == null ? m.group(0) : v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** Like substitute, for a regex: the values are quoted. */
    private static String substituteQuoted(String a, Map<String, String> vars) {
        Map<String, String> quoted = new HashMap<>();
        for (Map.Entry<String, String> e : vars.entrySet()) {
            quoted.put(e.getKey(), Pattern.quote(e.getValue()));
        }
        return substitute(a, quoted);
    }

    private static SubCommand find(String name) {
        for (SubCommand c : SUB_COMMANDS) {
            if (c.commandName().equals(name) || name.equals(c.commandAlias())) {
                return c;
            }
        }
        return null;
    }

    private static void runOne(String id, String flags, Pattern expect, List<String> argv, Path outDir) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        String[] failure = new String[1];
        String cmdName = argv.isEmpty() ? "" : argv.get(0);
        SubCommand cmd = find(cmdName);
        boolean loop = flags.contains("loop");
        long t0 = System.nanoTime();
        if ("@dashboard".equals(cmdName)) {
            Thread t = new Thread(() -> {
                SINK.set(buf);
                try {
                    DashboardProbe.run(argv.subList(1, argv.size()));
                } catch (Throwable e) {
                    failure[0] = e.toString().replace('\n', ' ');
                    e.printStackTrace();
                }
            }, "ops-" + id);
            t.setDaemon(true);
            t.start();
            t.join(120_000);
            if (t.isAlive()) {
                failure[0] = "timed out";
            }
        } else if (cmd == null) {
            failure[0] = "no subcommand " + cmdName;
        } else {
            Thread t = new Thread(() -> {
                SINK.set(buf);
                try {
                    String[] sub = argv.subList(1, argv.size()).toArray(new String[0]);
                    Options options = ServerUtil.buildCommandlineOptions(new Options());
                    CommandLine cl = ServerUtil.parseCmdLine("mqadmin " + cmd.commandName(), sub,
                        cmd.buildCommandlineOptions(options), new DefaultParser());
                    if (cl == null) {
                        failure[0] = "bad options";
                        return;
                    }
                    cmd.execute(cl, options, null);
                } catch (Throwable e) {
                    failure[0] = e.toString().replace('\n', ' ');
                    e.printStackTrace();
                }
            }, "ops-" + id);
            t.setDaemon(true);
            t.start();
            t.join(loop ? 8_000 : 90_000);
            if (t.isAlive() && !loop) {
                failure[0] = "timed out";
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String out;
        synchronized (buf) {
            out = new String(buf.toByteArray(), StandardCharsets.UTF_8);
        }
        Files.write(outDir.resolve(id + ".out"), out.getBytes(StandardCharsets.UTF_8));
        String verdict;
        if (failure[0] != null) {
            verdict = "FAIL " + failure[0];
        } else if (!flags.contains("allowerr") && ERROR_WORDS.matcher(out).find()) {
            Matcher m = ERROR_WORDS.matcher(out);
            m.find();
            int s = Math.max(0, out.lastIndexOf('\n', m.start()) + 1);
            int e = out.indexOf('\n', m.end());
            verdict = "FAIL error in output: " + out.substring(s, e < 0 ? out.length() : e).trim();
        } else if (!expect.matcher(out).find()) {
            verdict = "FAIL output does not match /" + expect.pattern() + "/";
        } else {
            verdict = "PASS";
        }
        if (verdict.length() > 300) {
            verdict = verdict.substring(0, 300);
        }
        REAL_OUT.println("RESULT " + id + " " + verdict + " (" + ms + " ms)");
    }
}
