/*
 * Shortens one idle wait of the RocketMQ remoting client's teardown, without changing what the client
 * does: ServiceThread.shutdown() sets the NettyEventExecutor's stop flag and then joins it, but that
 * thread only looks at the flag when its eventQueue.poll(3000 ms) times out, so every
 * MQClientInstance shutdown (every mqadmin command, every 5.x client program) idles 0-3 s.
 *
 * A daemon thread looks every 20 ms at what the watched thread waits for; when it is in
 * Thread.join() on a thread named NettyEventExecutor (that executor is being stopped: its flag is
 * already set), it interrupts that thread's poll, and the executor ends at once. No other thread is
 * touched, and nothing happens while the watched thread is not joining an executor.
 */
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;

public final class JoinWaker {
    private JoinWaker() {}

    /** Starts the watcher for the calling thread (usually main). */
    public static void start() {
        Thread watched = Thread.currentThread();
        Thread w = new Thread(() -> watch(watched), "join-waker");
        w.setDaemon(true);
        w.start();
    }

    private static void watch(Thread watched) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        while (watched.isAlive()) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            ThreadInfo info = mx.getThreadInfo(watched.getId());
            LockInfo lock = info == null ? null : info.getLockInfo();
            if (lock == null || !Thread.class.getName().equals(lock.getClassName())) {
                continue;
            }
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (System.identityHashCode(t) == lock.getIdentityHashCode()
                        && "NettyEventExecutor".equals(t.getName())) {
                    t.interrupt();
                }
            }
        }
    }
}
