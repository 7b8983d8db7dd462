package rpc

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// BenchmarkClientCall is the round trip of a call of echo with a 100-byte
// string through the in-memory transport and a real Server: the client's
// and the server's own cost, without a broker.
func BenchmarkClientCall(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			server, err := transport.NewMemory(transport.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer server.Close()
			client, err := server.Connect(transport.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			d, err := NewDispatcher(newRecorder("a").endpoint("", "1.5"))
			if err != nil {
				b.Fatal(err)
			}
			s := NewServer(server, transport.Target{Topic: "bench", Server: "a"}, d, ServerOptions{})
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer s.Shutdown(context.Background())
			c := NewClient(client, Target{Topic: "bench"})
			defer c.Close()
			args, err := cborcodec.Marshal(map[string]string{"value": strings.Repeat("x", 100)})
			if err != nil {
				b.Fatal(err)
			}
			call := func() {
				if _, err := c.Call(context.Background(), "echo", abi.RawMessage(args)); err != nil {
					b.Error(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if bc.parallel {
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						call()
					}
				})
				return
			}
			for b.Loop() {
				call()
			}
		})
	}
}
