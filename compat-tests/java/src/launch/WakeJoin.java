/*
 * WakeJoin <main class> <args...>: runs the scenario program's main with JoinWaker watching, so each
 * 5.x MQClientInstance shutdown in it does not idle up to 3 s in the NettyEventExecutor join. The
 * program runs as it would on its own (same main, same arguments, same exit); an exception out of
 * its main propagates as before.
 */
import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;

public final class WakeJoin {
    private WakeJoin() {}

    public static void main(String[] args) throws Throwable {
        JoinWaker.start();
        try {
            Class.forName(args[0]).getMethod("main", String[].class)
                    .invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
