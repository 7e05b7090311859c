// ACL 1.0 with the Go client (compat-tests/acl/run.sh): producer and push consumer signing with
// primitive.Credentials (the client's ACLInterceptor: HmacSHA1 over the sorted ext values + body).
//
// Skipped unless COMPAT_GO_ACL=1. Environment (besides NAMESRV_ADDR):
//
//	COMPAT_ACL_AK, COMPAT_ACL_SK   an account allowed PUB|SUB on COMPAT_ACL_TOPIC, DENY on
//	                               COMPAT_ACL_DENY_TOPIC, SUB on groups
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

func aclEnv(t *testing.T) (addrs []string, cred primitive.Credentials, topic, deny, runID string) {
	t.Helper()
	if os.Getenv("COMPAT_GO_ACL") != "1" {
		t.Skip("COMPAT_GO_ACL != 1")
	}
	addrs = nameServers(t)
	cred = primitive.Credentials{AccessKey: os.Getenv("COMPAT_ACL_AK"), SecretKey: os.Getenv("COMPAT_ACL_SK")}
	return addrs, cred, envOr("COMPAT_ACL_TOPIC", "acl-ok"), envOr("COMPAT_ACL_DENY_TOPIC", "acl-deny"),
		strconv.FormatInt(time.Now().UnixNano(), 36)
}

func aclProducer(t *testing.T, addrs []string, cred primitive.Credentials, name string) rocketmq.Producer {
	t.Helper()
	opts := []producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		producer.WithGroupName(name),
		producer.WithInstanceName(name),
		producer.WithRetry(0),
	}
	if !cred.IsEmpty() {
		opts = append(opts, producer.WithCredentials(cred))
	}
	p, err := producer.NewDefaultProducer(opts...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	return p
}

// TestACLSignedSendConsume: 10 signed sends are acknowledged and a signed push consumer gets them.
func TestACLSignedSendConsume(t *testing.T) {
	addrs, cred, topic, _, runID := aclEnv(t)
	p := aclProducer(t, addrs, cred, "go-acl-p-"+runID)
	defer func() { _ = p.Shutdown() }()
	want := map[string]bool{}
	for i := 0; i < 10; i++ {
		body := fmt.Sprintf("go-acl-%s-%d", runID, i)
		r, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte(body)))
		if err != nil || r.Status != primitive.SendOK {
			t.Fatalf("signed send %d: %v %v", i, r, err)
		}
		want[body] = true
	}
	var mu sync.Mutex
	got := map[string]bool{}
	c, err := consumer.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(addrs)),
		consumer.WithGroupName("go-acl-g-"+runID),
		consumer.WithInstance("go-acl-c-"+runID),
		consumer.WithCredentials(cred),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new consumer: %v", err)
	}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			if want[string(m.Body)] {
				got[string(m.Body)] = true
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
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == len(want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("signed consumer got %d of %d", len(got), len(want))
}

func refusedWith(t *testing.T, cred primitive.Credentials, topic, text string) {
	t.Helper()
	addrs, _, _, _, runID := aclEnv(t)
	p := aclProducer(t, addrs, cred, "go-acl-r-"+runID)
	defer func() { _ = p.Shutdown() }()
	_, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte("refused")))
	if err == nil || !strings.Contains(err.Error(), text) {
		t.Fatalf("want a refusal containing %q, got %v", text, err)
	}
	t.Logf("refused: %v", err)
}

func TestACLWrongSecretRefused(t *testing.T) {
	_, cred, topic, _, _ := aclEnv(t)
	cred.SecretKey = "wrongsecret"
	refusedWith(t, cred, topic, "Check signature failed for accessKey="+cred.AccessKey)
}

func TestACLDenyTopicRefused(t *testing.T) {
	_, cred, _, deny, _ := aclEnv(t)
	refusedWith(t, cred, deny, "No default permission for topic:"+deny)
}

func TestACLNoSignatureRefused(t *testing.T) {
	_, _, topic, _, _ := aclEnv(t)
	refusedWith(t, primitive.Credentials{}, topic, "No accessKey is configured")
}
