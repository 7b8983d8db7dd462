package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// withNonce returns module bytes with a custom section of random bytes
// appended: the same module to the runtime, a new file to any cache.
func withNonce(module []byte) []byte {
	const name = "wasmrpcd.bench.nonce"
	payload := make([]byte, 16)
	_, _ = rand.Read(payload)
	body := append(appendULEB(nil, len(name)), name...)
	body = append(body, payload...)
	out := append([]byte(nil), module...)
	out = append(out, 0) // custom section
	out = appendULEB(out, len(body))
	return append(out, body...)
}

func appendULEB(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// place replaces dst with data as a deployment does: a temporary file in
// the same directory renamed over dst.
func place(data []byte, dst string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".deploy-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// deleteTopology deletes queues and exchanges; missing ones are fine.
func deleteTopology(url string, queues, exchanges []string) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			if ch, err = conn.Channel(); err != nil {
				return err
			}
		}
	}
	for _, x := range exchanges {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			if ch, err = conn.Channel(); err != nil {
				return err
			}
		}
	}
	return ch.Close()
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return quantile(s, 0.5)
}

// quantile returns the q-quantile of sorted samples (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func minOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
