import org.apache.rocketmq.common.message.Message;

/**
 * Compile-time marker for the 5.x-only source set: scenario programs in src/client5 use APIs the
 * 4.9.8 client lacks (POP consumption, timer delivery) and are compiled against client 5.3.3 only.
 * Running it prints whether the 5.x message API is on the classpath.
 */
public class Client5Probe {
    public static void main(String[] args) {
        Message m = new Message("t", "b".getBytes());
        m.setDeliverTimeMs(System.currentTimeMillis());
        System.out.println("client5 " + (m.getDeliverTimeMs() > 0 ? "ok" : "broken"));
    }
}
