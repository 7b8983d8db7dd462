package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/wasmrpcd/wasmrpcd/host/config"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// Check does everything Run does before it connects to the broker: checks
// every module file against its pin and the admin token file, then
// compiles, validates and instantiates every module under its tenant's
// limits. It writes a line
// per module version to w and returns the first problem.
func Check(ctx context.Context, cfg *config.Config, w io.Writer, log *slog.Logger) error {
	if err := cfg.CheckFiles(); err != nil {
		return err
	}
	if cfg.AdminListen != "" && cfg.Admin.TokenFile != "" {
		if _, err := loadAdminToken(cfg.Admin.TokenFile); err != nil {
			return fmt.Errorf("admin.token_file: %w", err)
		}
	}
	rt, err := wasm.NewRuntime(ctx, wasm.Config{CacheDir: cfg.CacheDir, CacheKeyFile: cfg.CacheKeyFile, Logger: log})
	if err != nil {
		return fmt.Errorf("wasm runtime: %w", err)
	}
	defer rt.Close(ctx)
	d := New(cfg, log)
	d.runtime = rt
	for i := range cfg.Modules {
		mc := &cfg.Modules[i]
		m, err := d.newModule(ctx, mc, cfg.Tenant(mc.Tenant))
		if err != nil {
			return err
		}
		for _, v := range m.versions {
			var eps []string
			for _, ep := range v.Manifest().Endpoints {
				ns := ep.Namespace
				if ns == "" {
					ns = "-"
				}
				eps = append(eps, fmt.Sprintf("namespace %s version %s (%d methods)", ns, ep.Version, len(ep.Methods)))
			}
			fmt.Fprintf(w, "module %s: ok: %s, digest %s\n", m.cfg.Name, strings.Join(eps, "; "), v.Digest())
		}
		m.close(ctx)
	}
	return nil
}

// NewLogger returns the daemon's logger as the config's log section says,
// writing to w.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
