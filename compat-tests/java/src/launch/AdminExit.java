/*
 * mqadmin that ends when its command is done: runs MQAdminStartup.main (the tool's own entry point,
 * same parsing, same output) and then exits with status 0, as the JVM would anyway.
 *
 * Without it every mqadmin JVM idles 2-5 s after its output is written, in two waits of the client's
 * teardown (nothing is sent or received then): the join of the NettyEventExecutor (0-3 s, see
 * JoinWaker), and Netty's event loops, non-daemon threads that shutdownGracefully() keeps for a 2 s
 * quiet period (System.exit once main returns).
 * An exception out of main still ends the JVM as before (stack trace, status 1). Compiled against
 * rocketmq-tools 5.3.3; MQAdminStartup.main(String[]) is the same in 4.9.7 and 5.5.0.
 */
public final class AdminExit {
    private AdminExit() {}

    public static void main(String[] args) {
        JoinWaker.start();
        org.apache.rocketmq.tools.command.MQAdminStartup.main(args);
        System.out.flush();
        System.err.flush();
        System.exit(0);
    }
}
