package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
	"github.com/wasmrpcd/wasmrpcd/host/bench"
)

// benchJSON is what `wasmrpcd bench --json` prints.
type benchJSON struct {
	Mode         string  `json:"mode"`
	Topic        string  `json:"topic"`
	Method       string  `json:"method"`
	PayloadBytes int     `json:"payload_bytes"`
	Concurrency  int     `json:"concurrency"`
	Calls        int     `json:"calls"`
	Errors       int     `json:"errors"`
	Seconds      float64 `json:"seconds"`
	Rate         float64 `json:"rate"`
	P50ms        float64 `json:"p50_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
}

// runBench is `wasmrpcd bench`: a closed-loop load of calls (or casts)
// over the oslo.messaging wire format against any RPC server.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	var f rpcFlags
	f.register(fs)
	method := fs.String("method", "echo", "the `method` to call")
	payload := fs.Int("payload-bytes", 100, "size of the string argument `value`")
	concurrency := fs.Int("concurrency", 1, "callers, each with one request in flight")
	calls := fs.Int("calls", 1000, "requests to time; 0 with --duration")
	duration := fs.Duration("duration", 0, "time to run instead of --calls")
	warmup := fs.Int("warmup", -1, "requests before timing (default: 2 per caller)")
	cast := fs.Bool("cast", false, "send casts instead of calls: the rate of publishing")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	fs.IntVar(&f.publishChannels, "publish-channels", 0, "the client's confirm-mode publishing channels (default: max(8, concurrency))")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wasmrpcd bench --topic T [--method M] [--payload-bytes N] [--concurrency C] [--calls K | --duration D] [flags]")
		fmt.Fprintln(fs.Output(), `Calls M({"value": "<N bytes>"}) K times from C callers and prints, last:`)
		fmt.Fprintln(fs.Output(), "  calls=K seconds=S rate=R/s p50_ms=X p99_ms=Y")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, pos)
	case *concurrency < 1:
		return fmt.Errorf("%w: --concurrency must be at least 1", errUsage)
	case *payload < 0:
		return fmt.Errorf("%w: --payload-bytes must not be negative", errUsage)
	case *duration > 0 && *calls > 0 && isSet(fs, "calls"):
		return fmt.Errorf("%w: --calls and --duration exclude each other", errUsage)
	case *duration > 0:
		*calls = 0
	case *calls <= 0:
		return fmt.Errorf("%w: --calls must be positive (or use --duration)", errUsage)
	}
	if err := f.check(); err != nil {
		return err
	}
	if f.publishChannels == 0 {
		f.publishChannels = max(8, *concurrency)
	}
	if *warmup < 0 {
		*warmup = 2 * *concurrency
	}
	reqArgs, err := cborcodec.Marshal(map[string]string{"value": strings.Repeat("x", *payload)})
	if err != nil {
		return err
	}

	t, err := f.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	ctx, c, err := f.client(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close()
	op := func(ctx context.Context) error {
		_, err := c.Call(ctx, *method, cbor.RawMessage(reqArgs))
		return err
	}
	mode := "call"
	if *cast {
		mode = "cast"
		op = func(ctx context.Context) error { return c.Cast(ctx, *method, cbor.RawMessage(reqArgs)) }
	}

	if *warmup > 0 {
		r, err := bench.Run(ctx, bench.Config{Concurrency: *concurrency, Requests: *warmup}, op)
		if err != nil || r.Errors > 0 {
			if err == nil {
				err = r.FirstError
			}
			return requestError("bench", fmt.Errorf("warm-up: %w", err), false)
		}
	}
	cfg := bench.Config{Concurrency: *concurrency, Requests: *calls, Duration: *duration}
	if terminal(stderr) {
		cfg.Progress = func(p bench.Progress) {
			fmt.Fprintf(stderr, "\r%s: %d %ss, %.0f/s, %d errors, %.0f s\033[K", mode, p.Done, mode, p.Rate, p.Errors, p.Elapsed.Seconds())
		}
	}
	r, err := bench.Run(ctx, cfg, op)
	if cfg.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return requestError("bench", err, false)
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(benchJSON{
			Mode: mode, Topic: f.topic, Method: *method, PayloadBytes: *payload, Concurrency: *concurrency,
			Calls: r.Requests, Errors: r.Errors, Seconds: r.Elapsed.Seconds(), Rate: r.Rate(),
			P50ms: millis(r.P50), P90ms: millis(r.P90), P99ms: millis(r.P99), MaxMs: millis(r.Max),
		})
	} else {
		fmt.Fprintf(stdout, "%s %s topic=%s payload_bytes=%d concurrency=%d warmup=%d errors=%d p90_ms=%.3f max_ms=%.3f\n",
			mode, *method, f.topic, *payload, *concurrency, *warmup, r.Errors, millis(r.P90), millis(r.Max))
		_, err = fmt.Fprintln(stdout, r.Line())
	}
	if err != nil {
		return err
	}
	if r.Errors > 0 {
		fmt.Fprintf(stderr, "wasmrpcd bench: %d of %d requests failed; the first: %v\n", r.Errors, r.Errors+r.Requests, r.FirstError)
		if r.Requests == 0 {
			return requestError("bench", r.FirstError, false)
		}
		return exitError{code: 1}
	}
	return nil
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// isSet reports whether the flag name was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// terminal reports whether w is a terminal, where a progress line can be
// redrawn.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
