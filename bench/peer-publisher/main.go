// peer-publisher: the stand-in for krylovsk/mqtt-benchmark v0.2.0 in `npm run bench:publish` (the Go
// module proxy answers 403 "not available" for that module here). Same discipline as that tool: N
// connections (Eclipse Paho, clean session), each publishing its messages one after another and
// waiting for each publish's token (QoS 0: written to the network; QoS 1: PUBACK), random payloads of a
// fixed size, no subscriber. Prints one JSON line: messages acknowledged, seconds, msg/s.
package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func main() {
	broker := flag.String("broker", "tcp://127.0.0.1:1883", "broker URL")
	clients := flag.Int("clients", 10, "connections")
	count := flag.Int("count", 10000, "messages per connection")
	size := flag.Int("size", 219, "payload bytes")
	qos := flag.Int("qos", 0, "QoS 0 or 1")
	topic := flag.String("topic", "peer/bench", "topic prefix")
	flag.Parse()

	conns := make([]mqtt.Client, *clients)
	for i := range conns {
		o := mqtt.NewClientOptions().AddBroker(*broker).SetClientID(fmt.Sprintf("peer-publisher-%d-%d", os.Getpid(), i)).SetCleanSession(true).SetAutoReconnect(false)
		c := mqtt.NewClient(o)
		if t := c.Connect(); t.Wait() && t.Error() != nil {
			fmt.Fprintln(os.Stderr, "connect:", t.Error())
			os.Exit(5)
		}
		conns[i] = c
	}
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c mqtt.Client) {
			defer wg.Done()
			t := fmt.Sprintf("%s/%d", *topic, i)
			for n := 0; n < *count; n++ {
				payload := make([]byte, *size)
				_, _ = rand.Read(payload)
				tok := c.Publish(t, byte(*qos), false, payload)
				tok.Wait()
				if tok.Error() != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}(i, c)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	for _, c := range conns {
		c.Disconnect(100)
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"messages": ok.Load(), "failed": failed.Load(), "seconds": secs, "perS": float64(ok.Load()) / secs})
}
