// Command rpcecho serves echo(value) with wasmrpcd's own RPC stack, an
// rpc.Server on the AMQP transport, and a plain Go handler instead of a
// wasm module: what the daemon costs without wasm, and how the number of
// the transport's confirm-mode publishing channels changes it.
//
//	rpcecho -topic T [-url rabbit://guest:guest@127.0.0.1:5672/] [-server S] [-publish-channels 8]
//
// It prints "ready" once it consumes and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/rpc"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

func main() {
	url := flag.String("url", "rabbit://guest:guest@127.0.0.1:5672/", "transport `URL`")
	topic := flag.String("topic", "", "the `topic` to serve (required)")
	server := flag.String("server", "bench-host", "the target's `server`")
	channels := flag.Int("publish-channels", 8, "the transport's confirm-mode publishing channels (its default: 8)")
	flag.Parse()
	if *topic == "" {
		fmt.Fprintln(os.Stderr, "usage: rpcecho -topic T [-url URL] [-server S] [-publish-channels N]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *url, *topic, *server, *channels); err != nil {
		fmt.Fprintln(os.Stderr, "rpcecho:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, url, topic, server string, channels int) error {
	t, err := transport.Open(ctx, url, transport.Options{PublishChannels: channels})
	if err != nil {
		return err
	}
	defer t.Close()
	d, err := rpc.NewDispatcher(rpc.Endpoint{
		Version: "1.5",
		Methods: []string{"echo"},
		Handler: rpc.HandlerFunc(func(_ context.Context, req *rpc.Request) ([]byte, error) {
			var args map[string]abi.RawMessage
			if err := cborcodec.Unmarshal(req.Args, &args); err != nil {
				return nil, err
			}
			return args["value"], nil
		}),
	})
	if err != nil {
		return err
	}
	s := rpc.NewServer(t, transport.Target{Topic: topic, Server: server}, d, rpc.ServerOptions{})
	if err := s.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return s.Shutdown(context.Background())
}
