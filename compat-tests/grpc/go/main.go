// Command grpcgo drives our broker's gRPC endpoint with the official Go SDK
// (github.com/apache/rocketmq-clients/golang/v5, pinned in go.mod), for compat-tests/grpc/run.sh.
//
//	grpcgo produce <endpoint> <prefix> <normal-topic> <fifo-topic> <expect-file>
//	    sends 100 normal messages (tag TagG, keys <prefix>-n<i> and <prefix>-n<i>-k2, a user
//	    property) and 20 FIFO messages (message groups <prefix>-g0 and <prefix>-g1, 10 each,
//	    tag TagGF), appending "topic key tag group message-id sequence" per acknowledged send.
//	grpcgo consume <endpoint> <group> <topic,topic...> <expect-file> <timeout-s>
//	    a SimpleConsumer subscribed to every topic receives (batches of 16, invisible 20 s) and
//	    acks until every expected message was seen; checks topic, tag, message id, body, the
//	    user property, the message group, and each group's order.
//
// The last line is "RESULT <mode> PASS|FAIL <detail>". TLS is the SDK's default
// (rocketmq.client.enableSsl unset), served by the endpoint's permissive tlsMode.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("RESULT usage FAIL grpcgo produce|consume ...")
		os.Exit(2)
	}
	os.Setenv("mq.consoleAppender.enabled", "false")
	rmq.ResetLogger()
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6])
	case "consume":
		secs, _ := strconv.Atoi(os.Args[6])
		err = consume(os.Args[2], os.Args[3], strings.Split(os.Args[4], ","), os.Args[5], time.Duration(secs)*time.Second)
	default:
		err = fmt.Errorf("unknown mode %s", os.Args[1])
	}
	if err != nil {
		fmt.Printf("RESULT %s FAIL %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func body(key string) []byte { return []byte("go-body-" + key) }

func produce(endpoint, prefix, normal, fifo, expectFile string) error {
	p, err := rmq.NewProducer(&rmq.Config{Endpoint: endpoint}, rmq.WithTopics(normal, fifo))
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer p.GracefulStop()
	out, err := os.OpenFile(expectFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	sent, total := 0, 0
	send := func(topic, key, tag, group string, seq int) error {
		total++
		m := &rmq.Message{Topic: topic, Body: body(key)}
		m.SetTag(tag)
		m.SetKeys(key, key+"-k2")
		m.AddProperty("goProp", "v-"+key)
		if group != "-" {
			m.SetMessageGroup(group)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := p.Send(ctx, m)
		if err != nil || len(r) != 1 {
			return fmt.Errorf("send %s: %v", key, err)
		}
		sent++
		_, err = fmt.Fprintf(out, "%s %s %s %s %s %d\n", topic, key, tag, group, r[0].MessageID, seq)
		return err
	}
	for i := 0; i < 100; i++ {
		if err := send(normal, fmt.Sprintf("%s-n%d", prefix, i), "TagG", "-", i); err != nil {
			return err
		}
	}
	for i := 0; i < 20; i++ {
		if err := send(fifo, fmt.Sprintf("%s-f%d", prefix, i), "TagGF", fmt.Sprintf("%s-g%d", prefix, i%2), i/2); err != nil {
			return err
		}
	}
	fmt.Printf("RESULT produce PASS sent=%d/%d\n", sent, total)
	return nil
}

type want struct{ topic, tag, group, id string }

func consume(endpoint, group string, topics []string, expectFile string, limit time.Duration) error {
	wanted := map[string]want{}
	f, err := os.Open(expectFile)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		if len(p) == 6 {
			wanted[p[1]] = want{p[0], p[2], p[3], p[4]}
		}
	}
	f.Close()
	subs := map[string]*rmq.FilterExpression{}
	for _, t := range topics {
		subs[t] = rmq.SUB_ALL
	}
	c, err := rmq.NewSimpleConsumer(&rmq.Config{Endpoint: endpoint, ConsumerGroup: group},
		rmq.WithSimpleAwaitDuration(5*time.Second), rmq.WithSimpleSubscriptionExpressions(subs))
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer c.GracefulStop()
	seen := map[string]int{}
	lastSeq := map[string]int{}
	var bad []string
	deadline := time.Now().Add(limit)
	for len(seen) < len(wanted) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		mvs, err := c.Receive(ctx, 16, 20*time.Second)
		cancel()
		if err != nil {
			continue // no new message within the await duration is reported as an error
		}
		for _, mv := range mvs {
			keys := mv.GetKeys()
			if len(keys) == 0 {
				bad = append(bad, "message "+mv.GetMessageId()+" without keys")
				continue
			}
			key := keys[0]
			w, ok := wanted[key]
			if ok {
				seen[key]++
				tag, grp := "", "-"
				if t := mv.GetTag(); t != nil {
					tag = *t
				}
				if g := mv.GetMessageGroup(); g != nil {
					grp = *g
				}
				if mv.GetTopic() != w.topic || tag != w.tag || mv.GetMessageId() != w.id || grp != w.group ||
					string(mv.GetBody()) != string(body(key)) || mv.GetProperties()["goProp"] != "v-"+key {
					bad = append(bad, fmt.Sprintf("%s: got %s/%s/%s/%s", key, mv.GetTopic(), tag, mv.GetMessageId(), grp))
				}
				if grp != "-" && seen[key] == 1 {
					// FIFO keys are <prefix>-f<i>; within a group the sequence is i/2.
					i, _ := strconv.Atoi(key[strings.LastIndex(key, "-f")+2:])
					if last, ok := lastSeq[grp]; ok && i/2 != last+1 {
						bad = append(bad, fmt.Sprintf("group %s: %d after %d", grp, i/2, last))
					}
					lastSeq[grp] = i / 2
				}
			}
			if err := c.Ack(context.Background(), mv); err != nil {
				bad = append(bad, fmt.Sprintf("ack %s: %v", key, err))
			}
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	detail := fmt.Sprintf("received=%d/%d duplicates=%d fifo-groups-in-order=%d", len(seen), len(wanted), dups, len(lastSeq))
	if len(seen) < len(wanted) || len(bad) > 0 {
		if len(bad) > 5 {
			bad = bad[:5]
		}
		return fmt.Errorf("%s %v", detail, bad)
	}
	fmt.Printf("RESULT consume PASS %s\n", detail)
	return nil
}
