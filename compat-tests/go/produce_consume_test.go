// Go-client (apache/rocketmq-client-go/v2) wire-compatibility tests.
//
// Environment:
//
//	NAMESRV_ADDR  name server address(es), "host:port[;host:port]" (test is skipped when unset)
//	COMPAT_TOPIC  existing topic to produce to / consume from (default "GoCompatTopic")
//	COMPAT_GROUP  consumer group (default "GoCompatGroup")
//	COMPAT_GO_AUTOCREATE=0  skip TestAutoCreateTopicViaTBW102 (needs autoCreateTopicEnable=true)
//	ROCKETMQ_GO_LOG_LEVEL   client log level (default here: warn)
package gotest

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	messageCount   = 1000
	consumeTimeout = 90 * time.Second
	tagA           = "TagA"
)

func TestMain(m *testing.M) {
	lvl := os.Getenv("ROCKETMQ_GO_LOG_LEVEL")
	if lvl == "" {
		lvl = "warn"
	}
	rlog.SetLogLevel(lvl)
	os.Exit(m.Run())
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

// nameServers returns the name server list, or skips the test when NAMESRV_ADDR is unset.
func nameServers(t *testing.T) []string {
	t.Helper()
	raw := strings.TrimSpace(os.Getenv("NAMESRV_ADDR"))
	if raw == "" {
		t.Skip("NAMESRV_ADDR not set; skipping Go client compatibility test")
	}
	var addrs []string
	for _, a := range strings.FieldsFunc(raw, func(r rune) bool { return r == ';' || r == ',' }) {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

func newProducer(t *testing.T, addrs []string, group, instance string) rocketmqProducer {
	t.Helper()
	p, err := producer.NewDefaultProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		producer.WithGroupName(group),
		producer.WithInstanceName(instance),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5*time.Second),
	)
	if err != nil {
		t.Fatalf("create producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	return p
}

type rocketmqProducer interface {
	SendSync(ctx context.Context, mq ...*primitive.Message) (*primitive.SendResult, error)
	Shutdown() error
}

func TestProduceConsume(t *testing.T) {
	addrs := nameServers(t)
	topic := envOr("COMPAT_TOPIC", "GoCompatTopic")
	group := envOr("COMPAT_GROUP", "GoCompatGroup")
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	prefix := "go-compat-" + runID + "-"
	start := time.Now()
	t.Logf("namesrv=%v topic=%s group=%s run=%s", addrs, topic, group, runID)

	// ---- produce ----
	p := newProducer(t, addrs, group+"_go_producer", "compat-go-producer-"+runID)
	producerDown := false
	defer func() {
		if !producerDown {
			_ = p.Shutdown()
		}
	}()

	sendErrors := 0
	for i := 0; i < messageCount; i++ {
		msg := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s%04d", prefix, i)))
		if i%3 == 0 {
			msg.WithTag(tagA)
		}
		if i%5 == 0 {
			msg.WithKeys([]string{fmt.Sprintf("key-%s-%d", runID, i)})
		}
		res, err := p.SendSync(context.Background(), msg)
		switch {
		case err != nil:
			t.Errorf("send #%d: error: %v", i, err)
			sendErrors++
		case res.Status != primitive.SendOK:
			t.Errorf("send #%d: status %d (want SendOK), result: %s", i, res.Status, res.String())
			sendErrors++
		case res.MsgID == "" || res.MessageQueue == nil || res.MessageQueue.Topic != topic:
			t.Errorf("send #%d: incomplete SendResult: %s", i, res.String())
			sendErrors++
		}
		if sendErrors >= 10 {
			t.Fatalf("aborting after %d send failures (%d/%d attempted)", sendErrors, i+1, messageCount)
		}
	}
	if sendErrors > 0 {
		t.Fatalf("%d of %d sends failed", sendErrors, messageCount)
	}
	if err := p.Shutdown(); err != nil {
		t.Errorf("producer shutdown: %v", err)
	}
	producerDown = true
	t.Logf("sent %d messages in %v", messageCount, time.Since(start).Round(time.Millisecond))

	// ---- consume ----
	var (
		mu         sync.Mutex
		received   = make(map[int]bool, messageCount)
		duplicates int
		problems   []string
	)
	c, err := consumer.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		consumer.WithGroupName(group),
		consumer.WithInstance("compat-go-consumer-"+runID),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("create push consumer: %v", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				body := string(m.Body)
				if !strings.HasPrefix(body, prefix) {
					continue // message from another run / client
				}
				i, err := strconv.Atoi(strings.TrimPrefix(body, prefix))
				if err != nil || i < 0 || i >= messageCount {
					problems = append(problems, "unexpected body "+strconv.Quote(body))
					continue
				}
				if received[i] {
					duplicates++
					continue
				}
				received[i] = true
				if m.Topic != topic {
					problems = append(problems, fmt.Sprintf("#%d: topic %q, want %q", i, m.Topic, topic))
				}
				if wantTag := i%3 == 0; wantTag != (m.GetTags() == tagA) {
					problems = append(problems, fmt.Sprintf("#%d: tags %q (tagged=%v)", i, m.GetTags(), wantTag))
				}
				if i%5 == 0 {
					if want := fmt.Sprintf("key-%s-%d", runID, i); m.GetKeys() != want {
						problems = append(problems, fmt.Sprintf("#%d: keys %q, want %q", i, m.GetKeys(), want))
					}
				}
				if m.MsgId == "" || m.StoreHost == "" {
					problems = append(problems, fmt.Sprintf("#%d: missing msgId/storeHost (%q, %q)", i, m.MsgId, m.StoreHost))
				}
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	consumeStart := time.Now()
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer: %v", err)
	}
	consumerDown := false
	defer func() {
		if !consumerDown {
			_ = c.Shutdown()
		}
	}()

	deadline := consumeStart.Add(consumeTimeout)
	for {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n >= messageCount || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	consumeTime := time.Since(consumeStart)

	if err := c.Shutdown(); err != nil {
		t.Errorf("consumer shutdown: %v", err)
	}
	consumerDown = true

	mu.Lock()
	defer mu.Unlock()
	t.Logf("received %d/%d distinct (%d duplicates) in %v", len(received), messageCount, duplicates,
		consumeTime.Round(time.Millisecond))
	if len(problems) > 0 {
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("... and %d more", len(problems)-20))
		}
		t.Errorf("%d received messages had wrong properties:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	if len(received) < messageCount {
		var missing []int
		for i := 0; i < messageCount; i++ {
			if !received[i] {
				missing = append(missing, i)
			}
		}
		sort.Ints(missing)
		show := missing
		if len(show) > 20 {
			show = show[:20]
		}
		t.Fatalf("push consumer (group %s) missed %d of %d messages within %v; first missing indexes: %v",
			group, len(missing), messageCount, consumeTimeout, show)
	}
}

// TestAutoCreateTopicViaTBW102 sends to a topic that does not exist yet: the Go client falls
// back to the TBW102 route and the broker (autoCreateTopicEnable=true) creates the topic.
func TestAutoCreateTopicViaTBW102(t *testing.T) {
	addrs := nameServers(t)
	if os.Getenv("COMPAT_GO_AUTOCREATE") == "0" {
		t.Skip("COMPAT_GO_AUTOCREATE=0")
	}
	base := envOr("COMPAT_TOPIC", "GoCompatTopic")
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	topic := base + "_goauto_" + runID
	p := newProducer(t, addrs, envOr("COMPAT_GROUP", "GoCompatGroup")+"_go_autoproducer", "compat-go-auto-"+runID)
	defer func() {
		if err := p.Shutdown(); err != nil {
			t.Errorf("producer shutdown: %v", err)
		}
	}()
	for i := 0; i < 5; i++ {
		res, err := p.SendSync(context.Background(),
			primitive.NewMessage(topic, []byte(fmt.Sprintf("go-auto-%s-%d", runID, i))))
		if err != nil {
			t.Fatalf("send #%d to auto-created topic %s: %v", i, topic, err)
		}
		if res.Status != primitive.SendOK {
			t.Fatalf("send #%d to auto-created topic %s: status %d, result %s", i, topic, res.Status, res.String())
		}
	}
}
