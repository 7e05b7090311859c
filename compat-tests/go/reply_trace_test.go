// Request-reply and message trace with the Go client (compat-tests/trace/run.sh).
//
// Skipped unless COMPAT_GO_REPLY_TRACE=1. Environment (besides NAMESRV_ADDR):
//
//	COMPAT_RR_TOPIC       request topic (default rr-topic)
//	COMPAT_TRACE_TOPIC    topic traced messages go to (default tr-topic)
//	COMPAT_TRACE_IDS      file the traced message ids are written to, one a line
package gotest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

func replyTraceEnv(t *testing.T) ([]string, string) {
	t.Helper()
	if os.Getenv("COMPAT_GO_REPLY_TRACE") != "1" {
		t.Skip("COMPAT_GO_REPLY_TRACE != 1")
	}
	return nameServers(t), strconv.FormatInt(time.Now().UnixNano(), 36)
}

func startProducer(t *testing.T, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	p, err := producer.NewDefaultProducer(opts...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	return p
}

// TestGoRequestReply: producer.Request answered by a push consumer that replies with
// consumer.CreateReplyMessage (SEND_REPLY_MESSAGE); the broker pushes the reply back.
func TestGoRequestReply(t *testing.T) {
	addrs, runID := replyTraceEnv(t)
	topic := envOr("COMPAT_RR_TOPIC", "rr-topic")
	ns := primitive.NewPassthroughResolver(addrs)
	replier := startProducer(t, producer.WithNsResolver(ns), producer.WithGroupName("go-rr-replier-"+runID),
		producer.WithInstanceName("go-rr-replier-"+runID))
	defer func() { _ = replier.Shutdown() }()
	c, err := consumer.NewPushConsumer(consumer.WithNsResolver(ns), consumer.WithGroupName("go-rr-g-"+runID),
		consumer.WithInstance("go-rr-c-"+runID), consumer.WithConsumeFromWhere(consumer.ConsumeFromLastOffset))
	if err != nil {
		t.Fatalf("new consumer: %v", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			if !strings.Contains(string(m.Body), runID) {
				continue // an earlier run's request
			}
			reply, err := consumer.CreateReplyMessage(m, []byte("reply:"+string(m.Body)))
			if err != nil {
				t.Errorf("create reply: %v", err)
				continue
			}
			// v2.1.2's CreateReplyMessage drops the body (it parses it as properties).
			reply.Body = []byte("reply:" + string(m.Body))
			if _, err := replier.SendSync(ctx, reply); err != nil {
				t.Errorf("send reply: %v", err)
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	defer func() { _ = c.Shutdown() }()
	requester := startProducer(t, producer.WithNsResolver(ns), producer.WithGroupName("go-rr-requester-"+runID),
		producer.WithInstanceName("go-rr-requester-"+runID))
	defer func() { _ = requester.Shutdown() }()
	// v2.1.2's Request() heartbeats only when the name server does not know the topic; with an
	// existing topic the broker learns the requester (to push the reply to) from its periodic
	// heartbeat, the first of which runs 1 s after Start with the brokers known by then. A plain
	// send right after Start makes the broker known in time.
	if _, err := requester.SendSync(context.Background(), primitive.NewMessage(topic, []byte("warm-up"))); err != nil {
		t.Fatalf("warm-up send: %v", err)
	}
	time.Sleep(3 * time.Second) // rebalance, and the requester's first heartbeat
	for i := 0; i < 10; i++ {
		body := fmt.Sprintf("go-req-%s-%d", runID, i)
		reply, err := requester.Request(context.Background(), 10*time.Second, primitive.NewMessage(topic, []byte(body)))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(reply.Body) != "reply:"+body || !strings.HasSuffix(reply.Topic, "_REPLY_TOPIC") {
			t.Fatalf("request %d: reply %q on %q", i, reply.Body, reply.Topic)
		}
	}
}

// TestGoTrace: a producer and a push consumer with WithTrace send their traces to
// RMQ_SYS_TRACE_TOPIC; the message ids go to COMPAT_TRACE_IDS for mqadmin queryMsgTraceById.
func TestGoTrace(t *testing.T) {
	addrs, runID := replyTraceEnv(t)
	topic := envOr("COMPAT_TRACE_TOPIC", "tr-topic")
	ns := primitive.NewPassthroughResolver(addrs)
	trace := func(group string) *primitive.TraceConfig {
		return &primitive.TraceConfig{GroupName: group, Access: primitive.Local, Resolver: ns}
	}
	p := startProducer(t, producer.WithNsResolver(ns), producer.WithGroupName("go-tr-p-"+runID),
		producer.WithInstanceName("go-tr-p-"+runID), producer.WithTrace(trace("go-tr-p-"+runID)))
	var ids []string
	for i := 0; i < 5; i++ {
		r, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte(fmt.Sprintf("go-trace-%s-%d", runID, i))))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		ids = append(ids, r.MsgID)
	}
	var mu sync.Mutex
	got := map[string]bool{}
	c, err := consumer.NewPushConsumer(consumer.WithNsResolver(ns), consumer.WithGroupName("go-tr-g-"+runID),
		consumer.WithInstance("go-tr-c-"+runID), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithTrace(trace("go-tr-g-"+runID)))
	if err != nil {
		t.Fatalf("new consumer: %v", err)
	}
	_ = c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			got[m.MsgId] = true
		}
		return consumer.ConsumeSuccess, nil
	})
	if err := c.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		all := true
		for _, id := range ids {
			all = all && got[id]
		}
		mu.Unlock()
		if all {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // let the trace dispatchers flush
	_ = c.Shutdown()
	_ = p.Shutdown()
	if f := os.Getenv("COMPAT_TRACE_IDS"); f != "" {
		if err := os.WriteFile(f, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
			t.Fatalf("write ids: %v", err)
		}
	}
	for _, id := range ids {
		if !got[id] {
			t.Fatalf("message %s not consumed", id)
		}
	}
}
