/*
 * Shortens one idle wait of the RocketMQ remoting client's teardown, without changing what the client
 * does: ServiceThread.shutdown() sets the NettyEventExecutor's stop flag and then joins it, but that
 * thread only looks at the flag when its eventQueue.poll(3000 ms) times out, so every 5.x
 * MQClientInstance shutdown (every mqadmin command, every 5.x client program) idles 0-3 s.
 *
 * A daemon thread looks every 20 ms at what the JVM's threads wait for; a thread in Thread.join() on
 * a thread named NettyEventExecutor means that executor is being stopped (its flag is already set:
 * ServiceThread.shutdown is the only place that joins it), so its poll is interrupted and it ends at
 * once. No other thread is touched, and nothing happens while no thread joins an executor.
 */
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashSet;
import java.util.Set;

public final class JoinWaker {
    private static final String EXECUTOR = "NettyEventExecutor";

    private JoinWaker() {}

    /** Starts the watcher (a daemon thread). */
    public static void start() {
        Thread w = new Thread(JoinWaker::watch, "join-waker");
        w.setDaemon(true);
        w.start();
    }

    private static void watch() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        while (true) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            Set<Integer> joined = new HashSet<>();
            for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
                LockInfo lock = info == null ? null : info.getLockInfo();
                if (lock != null && Thread.class.getName().equals(lock.getClassName())) {
                    joined.add(lock.getIdentityHashCode());
                }
            }
            if (joined.isEmpty()) {
                continue;
            }
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (EXECUTOR.equals(t.getName()) && joined.contains(System.identityHashCode(t))) {
                    t.interrupt();
                }
            }
        }
    }
}
