/*
 * mqadmin that ends when its command is done: runs MQAdminStartup.main (the tool's own entry point,
 * same parsing, same output) and then exits with status 0, as the JVM would anyway.
 *
 * Without it every mqadmin JVM idles 2-5 s after its output is written, in two waits of the client's
 * teardown (nothing is sent or received then):
 *  - the remoting client's shutdown joins its NettyEventExecutor thread, which only sees its stop flag
 *    when its 3 s eventQueue.poll times out (0-3 s): a watcher interrupts that poll once the main
 *    thread is inside ServiceThread.shutdown (the executor then finds the flag set and ends);
 *  - the Netty event loops are non-daemon threads that shutdownGracefully() keeps for a 2 s quiet
 *    period: System.exit once main returns.
 * An exception out of main still ends the JVM as before (stack trace, status 1). Compiled against
 * rocketmq-tools 5.3.3; MQAdminStartup.main(String[]) is the same in 4.9.7 and 5.5.0.
 */
public final class AdminExit {
    private AdminExit() {}

    public static void main(String[] args) {
        Thread main = Thread.currentThread();
        Thread watcher = new Thread(() -> wakeEventExecutor(main), "admin-exit-watcher");
        watcher.setDaemon(true);
        watcher.start();
        org.apache.rocketmq.tools.command.MQAdminStartup.main(args);
        System.out.flush();
        System.err.flush();
        System.exit(0);
    }

    /** Interrupts the NettyEventExecutor's poll while main waits for it in ServiceThread.shutdown. */
    private static void wakeEventExecutor(Thread main) {
        while (true) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            if (!inServiceThreadShutdown(main)) {
                continue;
            }
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if ("NettyEventExecutor".equals(t.getName())) {
                    t.interrupt();
                }
            }
        }
    }

    private static boolean inServiceThreadShutdown(Thread main) {
        for (StackTraceElement f : main.getStackTrace()) {
            if (f.getClassName().endsWith(".ServiceThread") && f.getMethodName().equals("shutdown")) {
                return true;
            }
        }
        return false;
    }
}
