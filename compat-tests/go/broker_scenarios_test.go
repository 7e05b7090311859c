// Broker scenarios for the Go client, run by the "our broker" phase of compat-tests/run.sh.
//
// These tests are skipped unless COMPAT_GO_SCENARIOS=1, so the name-server phase (which runs
// `go test ./...` against the Java broker) is unchanged. Each test uses topic
// <COMPAT_TOPIC>-<suffix> (suffixes: sync async oneway batch cluster broadcast orderly tags pull tx),
// which run.sh creates beforehand with 4 queues.
//
// Environment (besides NAMESRV_ADDR, COMPAT_TOPIC, COMPAT_GROUP):
//
//	COMPAT_GO_SCENARIOS=1     enable these tests
//	COMPAT_GO_SEND_COUNT      messages per send mode (default 10000)
//	COMPAT_GO_COUNT           messages for the other scenarios (default 400)
//	COMPAT_GO_TIMEOUT         seconds each wait may take (default 120)
package gotest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

func scenarioEnv(t *testing.T) (addrs []string, topicBase, groupBase, runID string) {
	t.Helper()
	if os.Getenv("COMPAT_GO_SCENARIOS") != "1" {
		t.Skip("COMPAT_GO_SCENARIOS != 1")
	}
	addrs = nameServers(t)
	topicBase = envOr("COMPAT_TOPIC", "GoCompatTopic")
	groupBase = envOr("COMPAT_GROUP", "GoCompatGroup")
	runID = strconv.FormatInt(time.Now().UnixNano(), 36)
	return
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(envOr(key, "")); err == nil && v > 0 {
		return v
	}
	return def
}

func scenarioTimeout() time.Duration {
	return time.Duration(envInt("COMPAT_GO_TIMEOUT", 120)) * time.Second
}

// tracker counts deliveries of bodies prefix+index.
type tracker struct {
	name        string
	prefix      string
	n           int
	mu          sync.Mutex
	seen        []int
	distinct    int
	deliveries  int
	perInstance map[string]int
}

func newTracker(name, prefix string, n int) *tracker {
	return &tracker{name: name, prefix: prefix, n: n, seen: make([]int, n), perInstance: map[string]int{}}
}

func (tr *tracker) body(i int) string { return fmt.Sprintf("%s%d", tr.prefix, i) }

// add records a delivery; returns false when the body is not one of ours.
func (tr *tracker) add(body, instance string) bool {
	if !strings.HasPrefix(body, tr.prefix) {
		return false
	}
	i, err := strconv.Atoi(strings.TrimPrefix(body, tr.prefix))
	if err != nil || i < 0 || i >= tr.n {
		return false
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.deliveries++
	tr.perInstance[instance]++
	tr.seen[i]++
	if tr.seen[i] == 1 {
		tr.distinct++
	}
	return true
}

func (tr *tracker) stats() (distinct, dups int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.distinct, tr.deliveries - tr.distinct
}

func (tr *tracker) complete() bool { d, _ := tr.stats(); return d >= tr.n }

func (tr *tracker) instance(name string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.perInstance[name]
}

func (tr *tracker) summary() string {
	d, dup := tr.stats()
	s := fmt.Sprintf("%s %d/%d distinct, %d dups", tr.name, d, tr.n, dup)
	if d < tr.n {
		var missing []int
		tr.mu.Lock()
		for i := 0; i < tr.n && len(missing) < 10; i++ {
			if tr.seen[i] == 0 {
				missing = append(missing, i)
			}
		}
		tr.mu.Unlock()
		s += fmt.Sprintf(", first missing %v", missing)
	}
	return s
}

// waitFor polls cond until it holds or the timeout passes; returns the elapsed time and success.
func waitFor(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type pushConsumer interface {
	Start() error
	Shutdown() error
}

// startPush starts a push consumer feeding every message body to the trackers.
func startPush(t *testing.T, addrs []string, group, instance, topic, expr string, trackers []*tracker,
	onMsg func(*primitive.MessageExt), opts ...consumer.Option) pushConsumer {
	t.Helper()
	all := append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		consumer.WithGroupName(group),
		consumer.WithInstance(instance),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	c, err := consumer.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("create push consumer %s: %v", instance, err)
	}
	var foreign int32
	err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: expr},
		func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				ok := false
				for _, tr := range trackers {
					if tr.add(string(m.Body), instance) {
						ok = true
						break
					}
				}
				if !ok && atomic.AddInt32(&foreign, 1) <= 5 {
					t.Logf("%s: foreign message %q on %s", instance, string(m.Body), m.Queue.String())
				}
				if onMsg != nil {
					onMsg(m)
				}
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer %s: %v", instance, err)
	}
	return c
}

func produceSync(t *testing.T, p rocketmqProducer, topic string, tr *tracker, tag string) int {
	t.Helper()
	ok := 0
	for i := 0; i < tr.n; i++ {
		msg := primitive.NewMessage(topic, []byte(tr.body(i)))
		if tag != "" {
			msg.WithTag(tag)
		}
		res, err := p.SendSync(context.Background(), msg)
		if err != nil || res.Status != primitive.SendOK {
			t.Errorf("send %s: %v %v", tr.body(i), err, res)
			if i-ok > 10 {
				t.FailNow()
			}
			continue
		}
		ok++
	}
	return ok
}

// ------------------------------------------------------------------ send modes

type fullProducer interface {
	SendSync(ctx context.Context, mq ...*primitive.Message) (*primitive.SendResult, error)
	SendAsync(ctx context.Context, f func(context.Context, *primitive.SendResult, error), msg ...*primitive.Message) error
	SendOneWay(ctx context.Context, mq ...*primitive.Message) error
	Shutdown() error
}

func TestBrokerSendModes(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	n := envInt("COMPAT_GO_SEND_COUNT", 10000)
	for _, mode := range []string{"sync", "async", "oneway", "batch"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			topic := topicBase + "-" + mode
			group := groupBase + "-" + mode
			tr := newTracker(mode, "go-"+runID+"-"+mode+"-", n)
			var problems []string
			var pmu sync.Mutex
			check := func(m *primitive.MessageExt) {
				body := string(m.Body)
				i, err := strconv.Atoi(strings.TrimPrefix(body, tr.prefix))
				if err != nil || !strings.HasPrefix(body, tr.prefix) {
					return
				}
				var bad string
				switch {
				case m.Topic != topic:
					bad = "topic " + m.Topic
				case (i%3 == 0) != (m.GetTags() == tagA):
					bad = "tags " + m.GetTags()
				case m.GetProperty("compat_i") != strconv.Itoa(i):
					bad = "property compat_i=" + m.GetProperty("compat_i")
				case m.MsgId == "":
					bad = "empty msgId"
				}
				if bad != "" {
					pmu.Lock()
					problems = append(problems, fmt.Sprintf("#%d: %s", i, bad))
					pmu.Unlock()
				}
			}
			c := startPush(t, addrs, group, "go-"+mode+"-"+runID, topic, "*", []*tracker{tr}, check)
			defer c.Shutdown()
			pr, err := producer.NewDefaultProducer(
				producer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
				producer.WithGroupName(group+"_producer"),
				producer.WithInstanceName("go-"+mode+"-producer-"+runID),
				producer.WithRetry(2),
				producer.WithSendMsgTimeout(10*time.Second),
			)
			if err != nil {
				t.Fatalf("create producer: %v", err)
			}
			if err := pr.Start(); err != nil {
				t.Fatalf("start producer: %v", err)
			}
			var p fullProducer = pr
			defer p.Shutdown()
			msg := func(i int) *primitive.Message {
				m := primitive.NewMessage(topic, []byte(tr.body(i)))
				if i%3 == 0 {
					m.WithTag(tagA)
				}
				if i%2 == 0 {
					m.WithKeys([]string{fmt.Sprintf("key-%d", i)})
				}
				m.WithProperty("compat_i", strconv.Itoa(i))
				return m
			}
			start := time.Now()
			var sendOK, sendErr int64
			var firstErr atomic.Value
			fail := func(err error) {
				if atomic.AddInt64(&sendErr, 1) == 1 {
					firstErr.Store(err.Error())
				}
			}
			switch mode {
			case "sync":
				for i := 0; i < n && sendErr < 10; i++ {
					res, err := p.SendSync(context.Background(), msg(i))
					if err != nil {
						fail(err)
					} else if res.Status != primitive.SendOK {
						fail(fmt.Errorf("status %d", res.Status))
					} else {
						sendOK++
					}
				}
			case "async":
				sem := make(chan struct{}, 256)
				var wg sync.WaitGroup
				for i := 0; i < n && atomic.LoadInt64(&sendErr) < 10; i++ {
					sem <- struct{}{}
					wg.Add(1)
					err := p.SendAsync(context.Background(), func(ctx context.Context, res *primitive.SendResult, err error) {
						defer func() { <-sem; wg.Done() }()
						if err != nil {
							fail(err)
						} else if res.Status != primitive.SendOK {
							fail(fmt.Errorf("status %d", res.Status))
						} else {
							atomic.AddInt64(&sendOK, 1)
						}
					}, msg(i))
					if err != nil {
						fail(err)
						<-sem
						wg.Done()
					}
				}
				done := make(chan struct{})
				go func() { wg.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(scenarioTimeout()):
					fail(fmt.Errorf("async callbacks did not all complete"))
				}
			case "oneway":
				for i := 0; i < n && sendErr < 10; i++ {
					if err := p.SendOneWay(context.Background(), msg(i)); err != nil {
						fail(err)
					} else {
						sendOK++
					}
				}
			case "batch":
				for s := 0; s < n && sendErr < 10; s += 100 {
					var batch []*primitive.Message
					for i := s; i < s+100 && i < n; i++ {
						batch = append(batch, msg(i))
					}
					res, err := p.SendSync(context.Background(), batch...)
					if err != nil {
						fail(err)
					} else if res.Status != primitive.SendOK {
						fail(fmt.Errorf("status %d", res.Status))
					} else {
						sendOK += int64(len(batch))
					}
				}
			}
			sendTime := time.Since(start)
			took, ok := waitFor(scenarioTimeout(), tr.complete)
			t.Logf("%s x%d: sent %d in %v (%d errors), received %s (wait %v)", mode, n, sendOK, sendTime.Round(time.Millisecond),
				sendErr, tr.summary(), took.Round(time.Millisecond))
			if sendErr > 0 {
				t.Errorf("%d send errors, first: %v", sendErr, firstErr.Load())
			}
			if !ok {
				t.Errorf("not all messages received: %s", tr.summary())
			}
			pmu.Lock()
			defer pmu.Unlock()
			if len(problems) > 0 {
				t.Errorf("%d messages with wrong content, first: %v", len(problems), problems[:min(5, len(problems))])
			}
		})
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func scenarioProducer(t *testing.T, addrs []string, group, instance string, opts ...producer.Option) rocketmqProducer {
	t.Helper()
	all := append([]producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		producer.WithGroupName(group),
		producer.WithInstanceName(instance),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10 * time.Second),
	}, opts...)
	p, err := producer.NewDefaultProducer(all...)
	if err != nil {
		t.Fatalf("create producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	return p
}

// ------------------------------------------------------------------ cluster rebalance

// TestBrokerClusterRebalance: consumer A alone, then B joins, then B leaves. The Go client does
// not expose its queue assignment, so the test waits a fixed settle time after each change.
func TestBrokerClusterRebalance(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	n := envInt("COMPAT_GO_COUNT", 400)
	topic, group := topicBase+"-cluster", groupBase+"-cluster"
	pre := "go-" + runID + "-cluster-"
	p1 := newTracker("phase1(A alone)", pre+"p1-", n)
	p2 := newTracker("phase2(A+B)", pre+"p2-", n)
	p3 := newTracker("phase3(A after B left)", pre+"p3-", n)
	trs := []*tracker{p1, p2, p3}
	p := scenarioProducer(t, addrs, group+"_producer", "go-cluster-producer-"+runID)
	defer p.Shutdown()
	a := startPush(t, addrs, group, "A", topic, "*", trs, nil)
	defer a.Shutdown()
	time.Sleep(3 * time.Second)
	produceSync(t, p, topic, p1, "")
	w1, _ := waitFor(scenarioTimeout(), p1.complete)
	_, dupsAlone := p1.stats()
	b := startPush(t, addrs, group, "B", topic, "*", trs, nil)
	bDown := false
	defer func() {
		if !bDown {
			b.Shutdown()
		}
	}()
	time.Sleep(5 * time.Second)
	produceSync(t, p, topic, p2, "")
	w2, _ := waitFor(scenarioTimeout(), p2.complete)
	b.Shutdown()
	bDown = true
	time.Sleep(5 * time.Second)
	produceSync(t, p, topic, p3, "")
	w3, _ := waitFor(scenarioTimeout(), p3.complete)
	_, dups2 := p2.stats()
	t.Logf("%s (%v); %s (%v, A %d, B %d); %s (%v, A %d)", p1.summary(), w1.Round(time.Millisecond), p2.summary(),
		w2.Round(time.Millisecond), p2.instance("A"), p2.instance("B"), p3.summary(), w3.Round(time.Millisecond), p3.instance("A"))
	if !p1.complete() || !p2.complete() || !p3.complete() {
		t.Errorf("not all messages received by the group")
	}
	if dupsAlone != 0 {
		t.Errorf("%d duplicates with A alone", dupsAlone)
	}
	if dups2 != 0 {
		t.Errorf("%d duplicates with A+B (5 s after B joined)", dups2)
	}
	if p2.instance("A") == 0 || p2.instance("B") == 0 {
		t.Errorf("not both instances received phase-2 messages (A %d, B %d)", p2.instance("A"), p2.instance("B"))
	}
}

// ------------------------------------------------------------------ broadcasting

func TestBrokerBroadcast(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	n := envInt("COMPAT_GO_COUNT", 400)
	topic, group := topicBase+"-broadcast", groupBase+"-broadcast"
	pre := "go-" + runID + "-broadcast-"
	t1 := newTracker("consumer1", pre, n)
	t2 := newTracker("consumer2", pre, n)
	c1 := startPush(t, addrs, group, "bc1-"+runID, topic, "*", []*tracker{t1}, nil, consumer.WithConsumerModel(consumer.BroadCasting))
	defer c1.Shutdown()
	c2 := startPush(t, addrs, group, "bc2-"+runID, topic, "*", []*tracker{t2}, nil, consumer.WithConsumerModel(consumer.BroadCasting))
	defer c2.Shutdown()
	p := scenarioProducer(t, addrs, group+"_producer", "go-broadcast-producer-"+runID)
	defer p.Shutdown()
	time.Sleep(2 * time.Second)
	produceSync(t, p, topic, t1, "")
	w, ok := waitFor(scenarioTimeout(), func() bool { return t1.complete() && t2.complete() })
	t.Logf("%s; %s (%v)", t1.summary(), t2.summary(), w.Round(time.Millisecond))
	if !ok {
		t.Errorf("not every consumer received every message")
	}
}

// ------------------------------------------------------------------ orderly

func TestBrokerOrderly(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	n := envInt("COMPAT_GO_COUNT", 400)
	topic, group := topicBase+"-orderly", groupBase+"-orderly"
	const keys = 16
	perKey := n / keys
	pre := "go-" + runID + "-orderly-"
	var mu sync.Mutex
	seqs := map[string][]int{}
	queuesOfKey := map[string]map[int]bool{}
	perInstance := map[string]int{}
	received := 0
	var busy sync.Map
	var concurrent int32
	start := func(inst string) pushConsumer {
		c, err := consumer.NewPushConsumer(
			consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
			consumer.WithGroupName(group),
			consumer.WithInstance(inst),
			consumer.WithConsumerModel(consumer.Clustering),
			consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
			consumer.WithConsumerOrder(true),
		)
		if err != nil {
			t.Fatalf("create orderly consumer: %v", err)
		}
		err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
			func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
				for _, m := range msgs {
					v, _ := busy.LoadOrStore(m.Queue.QueueId, new(int32))
					if atomic.AddInt32(v.(*int32), 1) > 1 {
						atomic.AddInt32(&concurrent, 1)
					}
					body := string(m.Body)
					if strings.HasPrefix(body, pre) {
						parts := strings.Split(strings.TrimPrefix(body, pre), "-")
						seq, _ := strconv.Atoi(parts[1])
						mu.Lock()
						seqs[parts[0]] = append(seqs[parts[0]], seq)
						if queuesOfKey[parts[0]] == nil {
							queuesOfKey[parts[0]] = map[int]bool{}
						}
						queuesOfKey[parts[0]][m.Queue.QueueId] = true
						perInstance[inst]++
						received++
						mu.Unlock()
					}
					atomic.AddInt32(v.(*int32), -1)
				}
				return consumer.ConsumeSuccess, nil
			})
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		if err := c.Start(); err != nil {
			t.Fatalf("start orderly consumer: %v", err)
		}
		return c
	}
	// One orderly consumer only: rocketmq-client-go v2.1.2 does not unlock the queues it gives
	// up in a rebalance, so a second orderly instance waits for the broker's 60 s lock expiry
	// (seen with the Java broker 5.3.3 as well); that would cost more than a minute per run.
	c1 := start("o1-" + runID)
	defer c1.Shutdown()
	p := scenarioProducer(t, addrs, group+"_producer", "go-orderly-producer-"+runID,
		producer.WithQueueSelector(producer.NewHashQueueSelector()))
	defer p.Shutdown()
	time.Sleep(5 * time.Second)
	sentQueue := map[string]int{}
	for seq := 0; seq < perKey; seq++ {
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("okey%d", k)
			m := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s%s-%d", pre, key, seq)))
			m.WithShardingKey(key)
			res, err := p.SendSync(context.Background(), m)
			if err != nil {
				t.Fatalf("send %s-%d: %v", key, seq, err)
			}
			if q, ok := sentQueue[key]; ok && q != res.MessageQueue.QueueId {
				t.Errorf("key %s sent to queues %d and %d", key, q, res.MessageQueue.QueueId)
			}
			sentQueue[key] = res.MessageQueue.QueueId
		}
	}
	total := keys * perKey
	w, _ := waitFor(scenarioTimeout(), func() bool {
		mu.Lock()
		defer mu.Unlock()
		d := 0
		for _, l := range seqs {
			seen := map[int]bool{}
			for _, s := range l {
				seen[s] = true
			}
			d += len(seen)
		}
		return d >= total
	})
	mu.Lock()
	defer mu.Unlock()
	outOfOrder, distinct := 0, 0
	for k := 0; k < keys; k++ {
		key := fmt.Sprintf("okey%d", k)
		max := -1
		seen := map[int]bool{}
		for _, s := range seqs[key] {
			if s > max+1 {
				outOfOrder++
				if outOfOrder <= 5 {
					t.Errorf("%s: seq %d received before %d (order %v)", key, s, max+1, seqs[key])
				}
			}
			if s > max {
				max = s
			}
			seen[s] = true
		}
		distinct += len(seen)
		if len(queuesOfKey[key]) != 1 || !queuesOfKey[key][sentQueue[key]] {
			t.Errorf("%s: received from queues %v, sent to %d", key, queuesOfKey[key], sentQueue[key])
		}
	}
	t.Logf("%d keys x %d: received %d/%d distinct, %d deliveries in %v, per instance %v, %d out of order, %d concurrent",
		keys, perKey, distinct, total, received, w.Round(time.Millisecond), perInstance, outOfOrder, concurrent)
	if distinct != total {
		t.Errorf("received %d/%d", distinct, total)
	}
	if received != distinct {
		t.Errorf("%d duplicates", received-distinct)
	}
	if concurrent != 0 {
		t.Errorf("%d concurrent consumptions of one queue", concurrent)
	}
}

// ------------------------------------------------------------------ tag filtering

func TestBrokerTagFilter(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	n := envInt("COMPAT_GO_COUNT", 400) / 2
	topic, group := topicBase+"-tags", groupBase+"-tags"
	pre := "go-" + runID + "-tags-"
	ta := newTracker("TagA", pre+"TagA-", n)
	tb := newTracker("TagB", pre+"TagB-", n)
	tc := newTracker("TagC", pre+"TagC-", n)
	var wrong int32
	c := startPush(t, addrs, group, "go-tags-"+runID, topic, "TagA || TagB", []*tracker{ta, tb, tc},
		func(m *primitive.MessageExt) {
			body := string(m.Body)
			if !strings.HasPrefix(body, pre+m.GetTags()+"-") {
				atomic.AddInt32(&wrong, 1)
			}
		})
	defer c.Shutdown()
	p := scenarioProducer(t, addrs, group+"_producer", "go-tags-producer-"+runID)
	defer p.Shutdown()
	for i := 0; i < n; i++ {
		for _, tr := range []*tracker{ta, tb, tc} {
			m := primitive.NewMessage(topic, []byte(tr.body(i))).WithTag(tr.name)
			if _, err := p.SendSync(context.Background(), m); err != nil {
				t.Fatalf("send %s: %v", tr.body(i), err)
			}
		}
	}
	w, ok := waitFor(scenarioTimeout(), func() bool { return ta.complete() && tb.complete() })
	time.Sleep(3 * time.Second)
	_, _ = tc.stats()
	tc.mu.Lock()
	cDeliveries := tc.deliveries
	tc.mu.Unlock()
	t.Logf("'TagA || TagB': %s, %s, TagC delivered %d (%v)", ta.summary(), tb.summary(), cDeliveries, w.Round(time.Millisecond))
	if !ok {
		t.Errorf("TagA/TagB not all received")
	}
	if cDeliveries != 0 {
		t.Errorf("%d TagC messages delivered", cDeliveries)
	}
	if wrong != 0 {
		t.Errorf("%d messages with a tag not matching the body", wrong)
	}
}

// ------------------------------------------------------------------ pull consumer (subscribe + Poll)

func TestBrokerPullConsumer(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	n := envInt("COMPAT_GO_COUNT", 400)
	topic, group := topicBase+"-pull", groupBase+"-pull"
	tr := newTracker("pull", "go-"+runID+"-pull-", n)
	p := scenarioProducer(t, addrs, group+"_producer", "go-pull-producer-"+runID)
	produceSync(t, p, topic, tr, "")
	p.Shutdown()
	c, err := consumer.NewPullConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		consumer.WithGroupName(group),
		consumer.WithInstance("go-pull-"+runID),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("create pull consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start pull consumer: %v", err)
	}
	defer c.Shutdown()
	start := time.Now()
	polls := 0
	for !tr.complete() && time.Since(start) < scenarioTimeout() {
		cr, err := c.Poll(context.Background(), time.Second)
		polls++
		if consumer.IsNoNewMsgError(err) {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, m := range cr.GetMsgList() {
			tr.add(string(m.Body), "pull")
		}
		c.ACK(context.Background(), cr, consumer.ConsumeSuccess)
	}
	t.Logf("subscribe+Poll: %s in %v (%d polls)", tr.summary(), time.Since(start).Round(time.Millisecond), polls)
	if !tr.complete() {
		t.Errorf("not all messages polled: %s", tr.summary())
	}
}

// ------------------------------------------------------------------ transactions with check-back

type txListener struct {
	pre    string
	mu     sync.Mutex
	checks map[string]int
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	b := string(m.Body)
	switch {
	case strings.HasPrefix(b, l.pre+"commit-"):
		return primitive.CommitMessageState
	case strings.HasPrefix(b, l.pre+"rollback-"):
		return primitive.RollbackMessageState
	}
	return primitive.UnknowState
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	b := string(m.Body)
	l.mu.Lock()
	l.checks[b]++
	l.mu.Unlock()
	if strings.HasPrefix(b, l.pre+"checkcommit-") {
		return primitive.CommitMessageState
	}
	return primitive.RollbackMessageState
}

// TestBrokerTransaction: 5 messages each committed and rolled back at once, and 5 each answered
// UnknowState and then committed / rolled back by the broker's check-back. Exactly the committed
// ones arrive and every UnknowState one is checked.
func TestBrokerTransaction(t *testing.T) {
	addrs, topicBase, groupBase, runID := scenarioEnv(t)
	topic, group := topicBase+"-tx", groupBase+"-tx"
	pre := "go-" + runID + "-tx-"
	const n = 5
	kinds := []string{"commit", "rollback", "checkcommit", "checkrollback"}
	var mu sync.Mutex
	got := map[string]bool{}
	c, err := consumer.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		consumer.WithGroupName(group),
		consumer.WithInstance("go-tx-"+runID),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		for _, m := range msgs {
			got[string(m.Body)] = true
		}
		mu.Unlock()
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start consumer: %v", err)
	}
	defer c.Shutdown()
	l := &txListener{pre: pre, checks: map[string]int{}}
	p, err := producer.NewTransactionProducer(l,
		producer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		producer.WithGroupName(group+"_txproducer"),
		producer.WithInstanceName("go-tx-producer-"+runID))
	if err != nil {
		t.Fatalf("transaction producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	defer p.Shutdown()
	for _, k := range kinds {
		for i := 0; i < n; i++ {
			body := fmt.Sprintf("%s%s-%d", pre, k, i)
			if _, err := p.SendMessageInTransaction(context.Background(), primitive.NewMessage(topic, []byte(body))); err != nil {
				t.Fatalf("send %s: %v", body, err)
			}
		}
	}
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		for i := 0; i < n; i++ {
			for _, k := range []string{"commit", "checkcommit"} {
				if !got[fmt.Sprintf("%s%s-%d", pre, k, i)] {
					return false
				}
			}
			for _, k := range []string{"checkcommit", "checkrollback"} {
				if l.checks[fmt.Sprintf("%s%s-%d", pre, k, i)] == 0 {
					return false
				}
			}
		}
		return true
	}
	w, ok := waitFor(scenarioTimeout(), done)
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	rolledBack := 0
	for b := range got {
		if strings.Contains(b, "-rollback-") || strings.Contains(b, "-checkrollback-") {
			rolledBack++
		}
	}
	wrongChecks := 0
	for b := range l.checks {
		if !strings.Contains(b, "-check") {
			wrongChecks++
		}
	}
	t.Logf("received %d (want %d committed), %d rolled back delivered, %d messages checked back (%v)",
		len(got), 2*n, rolledBack, len(l.checks), w.Round(time.Millisecond))
	if !ok {
		t.Errorf("committed messages or check-backs missing")
	}
	if rolledBack != 0 || wrongChecks != 0 {
		t.Errorf("%d rolled-back messages delivered, %d resolved messages checked", rolledBack, wrongChecks)
	}
}
