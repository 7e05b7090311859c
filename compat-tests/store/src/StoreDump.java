import java.io.File;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.GetMessageResult;
import org.apache.rocketmq.store.config.BrokerRole;
import org.apache.rocketmq.store.config.FlushDiskType;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.apache.rocketmq.store.stats.BrokerStatsManager;

/**
 * Dumps the messages of a RocketMQ store as JSON lines, using the Java classes of the version on the
 * classpath (rocketmq-common / rocketmq-store 4.9.8 or 5.3.3; the same source compiles against both).
 *
 * <pre>
 * StoreDump &lt;storeRoot|commitlogDir&gt;
 *     Walk the CommitLog files directly: every record is decoded with
 *     MessageDecoder.decode(buf, readBody=true, deCompressBody=false); an end-of-file BLANK record moves on
 *     to the next file; the first invalid record (size &lt;= 0, unknown magic, overrun, decode failure) ends
 *     the walk.
 * StoreDump --read-store &lt;storeRoot&gt; [--commitlog-size N] [--cq-size N] [--group G]
 *     Open the store with DefaultMessageStore (ASYNC_MASTER, ASYNC_FLUSH), load() (which includes
 *     recovery), never start(); read every consumequeue/&lt;topic&gt;/&lt;queueId&gt; with
 *     getMessage(group, topic, queueId, offset, 32, null) from min to max offset. Exit 1 when load() fails,
 *     2 when the ConsumeQueue read disagrees with a CommitLog walk (count or set of physical offsets).
 * </pre>
 * Output: one compact JSON object per message, keys sorted, lines ordered by physicalOffset.
 * Diagnostics go to stderr.
 */
public class StoreDump {
    static final int MAGIC_V1 = 0xDAA320A7;
    static final int MAGIC_V2 = 0xDAA320AB;
    static final int BLANK_MAGIC = 0xCBD43194;

    static final class Rec {
        final long phy;
        final String json;

        Rec(long phy, String json) {
            this.phy = phy;
            this.json = json;
        }
    }

    /** The real stdout; System.out is pointed at stderr so library logging (4.9.x logback console) cannot mix in. */
    static java.io.PrintStream jsonOut;

    public static void main(String[] args) throws Exception {
        jsonOut = System.out;
        System.setOut(System.err);
        int rc;
        try {
            rc = run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("StoreDump: " + e.getMessage());
            usage();
            rc = 64;
        } catch (Throwable t) {
            System.err.println("StoreDump: failed: " + t);
            t.printStackTrace();
            rc = 3;
        }
        jsonOut.flush();
        System.err.flush();
        // DefaultMessageStore's constructor starts non-daemon service threads; leave without shutdown() so
        // that nothing is flushed back into the store.
        System.exit(rc);
    }

    static void usage() {
        System.err.println("usage: StoreDump <storeRoot|commitlogDir>\n"
            + "       StoreDump --read-store <storeRoot> [--commitlog-size N] [--cq-size N] [--group G]");
    }

    static int run(String[] args) throws Exception {
        String readStore = null;
        String walk = null;
        int commitlogSize = 1024 * 1024 * 1024;
        int cqSize = -1;
        String group = "StoreDumpGroup";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--read-store":
                    readStore = need(args, ++i, a);
                    break;
                case "--commitlog-size":
                    commitlogSize = Integer.parseInt(need(args, ++i, a));
                    break;
                case "--cq-size":
                    cqSize = Integer.parseInt(need(args, ++i, a));
                    break;
                case "--group":
                    group = need(args, ++i, a);
                    break;
                case "-h":
                case "--help":
                    usage();
                    return 0;
                default:
                    if (a.startsWith("--") || walk != null) {
                        throw new IllegalArgumentException("unexpected argument " + a);
                    }
                    walk = a;
            }
        }
        PrintWriter out = new PrintWriter(new OutputStreamWriter(jsonOut, StandardCharsets.UTF_8), false);
        if (readStore != null) {
            if (walk != null) {
                throw new IllegalArgumentException("give either a store to walk or --read-store, not both");
            }
            return readStore(readStore, commitlogSize, cqSize, group, out);
        }
        if (walk == null) {
            throw new IllegalArgumentException("missing store path");
        }
        File dir = new File(walk, "commitlog");
        if (!dir.isDirectory()) {
            dir = new File(walk);
        }
        List<Rec> recs = walkCommitLog(dir);
        for (Rec r : recs) {
            out.print(r.json);
            out.print('\n');
        }
        out.flush();
        System.err.println("StoreDump: " + recs.size() + " messages in " + dir);
        return out.checkError() ? 1 : 0;
    }

    static String need(String[] args, int i, String opt) {
        if (i >= args.length) {
            throw new IllegalArgumentException(opt + " needs a value");
        }
        return args[i];
    }

    // ------------------------------------------------------------------ CommitLog walk

    static List<Rec> walkCommitLog(File dir) throws IOException {
        File[] files = dir.listFiles(f -> f.isFile() && f.getName().matches("\\d{20}"));
        if (files == null) {
            throw new IOException("not a directory: " + dir);
        }
        Arrays.sort(files, Comparator.comparing(File::getName));
        List<Rec> recs = new ArrayList<>();
        long expectStart = -1;
        outer:
        for (File f : files) {
            long start = Long.parseLong(f.getName());
            if (expectStart >= 0 && start != expectStart) {
                System.err.println("StoreDump: WARN commitlog file " + f.getName() + " does not follow the previous file (expected start "
                    + expectStart + "); stopping");
                break;
            }
            expectStart = start + f.length();
            MappedByteBuffer map;
            try (FileChannel ch = FileChannel.open(f.toPath(), StandardOpenOption.READ)) {
                map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            }
            int pos = 0;
            int len = map.capacity();
            while (pos + 8 <= len) {
                int totalSize = map.getInt(pos);
                int magic = map.getInt(pos + 4);
                if (magic == BLANK_MAGIC) {
                    if (totalSize != len - pos) {
                        System.err.println("StoreDump: WARN blank filler at " + (start + pos) + " has size " + totalSize
                            + ", file remainder is " + (len - pos));
                    }
                    continue outer;
                }
                if (totalSize <= 0 || (magic != MAGIC_V1 && magic != MAGIC_V2) || pos + totalSize > len) {
                    if (totalSize != 0 || magic != 0) {
                        System.err.println("StoreDump: stop at first invalid record, offset " + (start + pos) + " size " + totalSize
                            + " magic 0x" + Integer.toHexString(magic));
                    }
                    break outer;
                }
                ByteBuffer one = map.duplicate();
                one.position(pos);
                one.limit(pos + totalSize);
                MessageExt m = MessageDecoder.decode(one.slice(), true, false);
                if (m == null) {
                    System.err.println("StoreDump: stop, MessageDecoder.decode returned null at offset " + (start + pos));
                    break outer;
                }
                if (m.getCommitLogOffset() != start + pos) {
                    System.err.println("StoreDump: WARN record at file offset " + (start + pos) + " says PHYSICALOFFSET "
                        + m.getCommitLogOffset());
                }
                recs.add(new Rec(m.getCommitLogOffset(), toJson(m)));
                pos += totalSize;
            }
            // A file that ends without a blank filler and without a zero tail: continue with the next file only
            // if the records filled it exactly.
            if (pos != len) {
                break;
            }
        }
        return recs;
    }

    // ------------------------------------------------------------------ DefaultMessageStore read

    static int readStore(String root, int commitlogSize, int cqSize, String group, PrintWriter out) throws Exception {
        File rootDir = new File(root).getAbsoluteFile();
        File cqDir = new File(rootDir, "consumequeue");
        if (!new File(rootDir, "commitlog").isDirectory()) {
            System.err.println("StoreDump: no commitlog/ under " + rootDir);
            return 1;
        }
        boolean abortPresent = new File(rootDir, "abort").exists();
        MessageStoreConfig cfg = new MessageStoreConfig();
        cfg.setStorePathRootDir(rootDir.getPath());
        cfg.setStorePathCommitLog(new File(rootDir, "commitlog").getPath());
        cfg.setMappedFileSizeCommitLog(commitlogSize);
        if (cqSize > 0) {
            cfg.setMappedFileSizeConsumeQueue(cqSize);
        }
        cfg.setBrokerRole(BrokerRole.ASYNC_MASTER);
        cfg.setFlushDiskType(FlushDiskType.ASYNC_FLUSH);
        BrokerConfig bc = new BrokerConfig();

        DefaultMessageStore store = newStore(cfg, bc);
        boolean loaded;
        try {
            loaded = store.load();
        } catch (Throwable t) {
            System.err.println("StoreDump: DefaultMessageStore.load() threw " + t);
            t.printStackTrace();
            return 1;
        }
        if (!loaded) {
            System.err.println("StoreDump: DefaultMessageStore.load() returned false (abort file present before load: " + abortPresent + ")");
            return 1;
        }
        System.err.println("StoreDump: load() ok (abort file present before load: " + abortPresent
            + ", i.e. " + (abortPresent ? "abnormal" : "normal") + " recovery); commitlog min/max offset "
            + store.getMinPhyOffset() + "/" + store.getMaxPhyOffset());
        // getMessage() refuses to work while the store is marked shut down; start() would spawn the flush /
        // reput / clean services and write to the store, so only the flag is flipped.
        Field shutdown = DefaultMessageStore.class.getDeclaredField("shutdown");
        shutdown.setAccessible(true);
        shutdown.setBoolean(store, false);

        List<Rec> recs = new ArrayList<>();
        String[] topics = cqDir.list();
        if (topics == null) {
            topics = new String[0];
        }
        Arrays.sort(topics);
        int problems = 0;
        for (String topic : topics) {
            String[] qs = new File(cqDir, topic).list();
            if (qs == null) {
                continue;
            }
            int[] qids = Arrays.stream(qs).filter(s -> s.matches("\\d+")).mapToInt(Integer::parseInt).sorted().toArray();
            for (int q : qids) {
                long min = store.getMinOffsetInQueue(topic, q);
                long max;
                try {
                    max = store.getMaxOffsetInQueue(topic, q);
                } catch (Exception e) {
                    System.err.println("StoreDump: getMaxOffsetInQueue(" + topic + "," + q + ") failed: " + e);
                    problems++;
                    continue;
                }
                long off = min;
                int n = 0;
                while (off < max) {
                    GetMessageResult r = store.getMessage(group, topic, q, off, 32, null);
                    if (r == null) {
                        System.err.println("StoreDump: getMessage(" + topic + "," + q + "," + off + ") returned null");
                        problems++;
                        break;
                    }
                    try {
                        for (ByteBuffer bb : r.getMessageBufferList()) {
                            MessageExt m = MessageDecoder.decode(bb, true, false);
                            if (m == null) {
                                System.err.println("StoreDump: undecodable message in " + topic + "/" + q + " near offset " + off);
                                problems++;
                                continue;
                            }
                            recs.add(new Rec(m.getCommitLogOffset(), toJson(m)));
                            n++;
                        }
                    } finally {
                        r.release();
                    }
                    long next = r.getNextBeginOffset();
                    if (r.getMessageCount() == 0) {
                        System.err.println("StoreDump: " + topic + "/" + q + " offset " + off + ": " + r.getStatus()
                            + ", next " + next);
                    }
                    if (next <= off) {
                        System.err.println("StoreDump: no progress in " + topic + "/" + q + " at offset " + off + " (" + r.getStatus() + ")");
                        problems++;
                        break;
                    }
                    off = next;
                }
                System.err.println("StoreDump: cq " + topic + "/" + q + " offsets [" + min + "," + max + ") -> " + n + " messages");
            }
        }
        recs.sort(Comparator.comparingLong(r -> r.phy));
        for (Rec r : recs) {
            out.print(r.json);
            out.print('\n');
        }
        out.flush();

        List<Rec> walked = walkCommitLog(new File(rootDir, "commitlog"));
        Set<Long> a = new HashSet<>();
        for (Rec r : recs) {
            if (!a.add(r.phy)) {
                System.err.println("StoreDump: physical offset " + r.phy + " is referenced by more than one ConsumeQueue entry");
                problems++;
            }
        }
        Set<Long> b = new HashSet<>();
        for (Rec r : walked) {
            b.add(r.phy);
        }
        System.err.println("StoreDump: " + recs.size() + " messages via ConsumeQueue/getMessage, " + walked.size()
            + " found walking the CommitLog");
        if (recs.size() != walked.size() || !a.equals(b)) {
            Set<Long> onlyCq = new HashSet<>(a);
            onlyCq.removeAll(b);
            Set<Long> onlyLog = new HashSet<>(b);
            onlyLog.removeAll(a);
            System.err.println("StoreDump: MISMATCH: only via ConsumeQueue " + firstFew(onlyCq) + ", only in CommitLog walk "
                + firstFew(onlyLog));
            return 2;
        }
        if (problems > 0) {
            System.err.println("StoreDump: " + problems + " problem(s) while reading");
            return 2;
        }
        return out.checkError() ? 1 : 0;
    }

    static String firstFew(Set<Long> s) {
        List<Long> l = new ArrayList<>(s);
        l.sort(null);
        return l.size() + " " + (l.size() > 5 ? l.subList(0, 5) + "..." : l.toString());
    }

    static DefaultMessageStore newStore(MessageStoreConfig cfg, BrokerConfig bc) throws Exception {
        // getMessage() records statistics (5.x dereferences it); not started, so it spawns no work.
        BrokerStatsManager stats = new BrokerStatsManager(bc.getBrokerClusterName(), false);
        // 4.9.x: (MessageStoreConfig, BrokerStatsManager, MessageArrivingListener, BrokerConfig)
        // 5.x:   (..., BrokerConfig, ConcurrentMap<String, TopicConfig> topicConfigTable)
        for (Constructor<?> c : DefaultMessageStore.class.getConstructors()) {
            Class<?>[] p = c.getParameterTypes();
            if (p.length == 4 && p[0] == MessageStoreConfig.class && p[3] == BrokerConfig.class) {
                return (DefaultMessageStore) c.newInstance(cfg, stats, null, bc);
            }
            if (p.length == 5 && p[0] == MessageStoreConfig.class && p[3] == BrokerConfig.class) {
                return (DefaultMessageStore) c.newInstance(cfg, stats, null, bc, new ConcurrentHashMap<>());
            }
        }
        throw new IllegalStateException("no known DefaultMessageStore constructor");
    }

    // ------------------------------------------------------------------ JSON

    static String toJson(MessageExt m) {
        StringBuilder sb = new StringBuilder(256 + (m.getBody() == null ? 0 : m.getBody().length * 4 / 3));
        byte[] body = m.getBody() == null ? new byte[0] : m.getBody();
        sb.append("{\"body\":");
        str(sb, Base64.getEncoder().encodeToString(body));
        sb.append(",\"bornTimestamp\":").append(m.getBornTimestamp());
        sb.append(",\"flag\":").append(m.getFlag());
        sb.append(",\"msgId\":");
        str(sb, m.getMsgId());
        sb.append(",\"physicalOffset\":").append(m.getCommitLogOffset());
        sb.append(",\"properties\":{");
        Map<String, String> props = m.getProperties() == null ? new TreeMap<>() : new TreeMap<>(m.getProperties());
        boolean first = true;
        for (Map.Entry<String, String> e : props.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            str(sb, e.getKey());
            sb.append(':');
            str(sb, e.getValue());
        }
        sb.append('}');
        sb.append(",\"queueId\":").append(m.getQueueId());
        sb.append(",\"queueOffset\":").append(m.getQueueOffset());
        sb.append(",\"reconsumeTimes\":").append(m.getReconsumeTimes());
        sb.append(",\"storeTimestamp\":").append(m.getStoreTimestamp());
        sb.append(",\"sysFlag\":").append(m.getSysFlag());
        sb.append(",\"topic\":");
        str(sb, m.getTopic());
        sb.append('}');
        return sb.toString();
    }

    static void str(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                default:
                    if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !validSurrogate(s, i)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
