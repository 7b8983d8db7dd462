package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// brokerFlags say which broker a command talks to, and how: --url, or
// the settings of a service's oslo config file (--oslo-config), whose
// transport_url --url overrides.
type brokerFlags struct {
	url        string
	urlSet     bool
	osloConfig string
}

func (b *brokerFlags) register(fs *flag.FlagSet) {
	b.url = os.Getenv("WASMRPCD_URL")
	if b.url == "" {
		b.url = defaultURL
	}
	fs.Func("url", "transport `URL` (default $WASMRPCD_URL or "+defaultURL+")", func(s string) error {
		b.url, b.urlSet = s, true
		return nil
	})
	fs.StringVar(&b.osloConfig, "oslo-config", "", "an oslo.config `file` (such as /etc/cinder/cinder.conf) whose transport_url, control_exchange and [oslo_messaging_rabbit] options to use")
}

// transport returns the transport URL and opts with the oslo config
// file's settings applied; warnings go to stderr.
func (b *brokerFlags) transport(opts transport.Options, stderr io.Writer) (string, transport.Options, error) {
	url, opts, err := b.settings(opts, stderr)
	if err != nil {
		return "", opts, err
	}
	// With the queue manager, a command's reply queue is named after its
	// process name: not the daemon's, whose replies it would take.
	if u, err := transport.ParseURL(url); err == nil {
		if eff, _, err := opts.Apply(u.Query); err == nil && eff.QueueManager && eff.ProcessName == "" {
			opts.ProcessName = fmt.Sprintf("wasmrpcd-cli-%d", os.Getpid())
		}
	}
	return url, opts, nil
}

// settings returns --url, or the oslo config file's settings.
func (b *brokerFlags) settings(opts transport.Options, stderr io.Writer) (string, transport.Options, error) {
	if b.osloConfig == "" {
		return b.url, opts, nil
	}
	oc, err := config.ReadOsloConfig(b.osloConfig)
	if err != nil {
		return "", opts, fmt.Errorf("%w: --oslo-config: %w", errUsage, err)
	}
	for _, w := range oc.Warnings {
		fmt.Fprintln(stderr, "wasmrpcd: warning:", w)
	}
	url := b.url
	if !b.urlSet && oc.TransportURL != "" {
		url = oc.TransportURL
	}
	if opts.ControlExchange == "" {
		opts.ControlExchange = oc.ControlExchange
	}
	opts, warnings, err := opts.Apply(oc.Rabbit)
	if err != nil {
		return "", opts, fmt.Errorf("%w: --oslo-config: %w", errUsage, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	for _, w := range warnings {
		log.Warn(b.osloConfig + ": " + w)
	}
	return url, opts, nil
}
