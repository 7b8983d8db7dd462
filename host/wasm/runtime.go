package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Runtime loads modules. Every module it loads shares one compilation
// cache, so the same bytes compile once (once per cache directory across
// restarts). Its methods are safe for concurrent use.
type Runtime struct {
	cfg      Config
	log      *slog.Logger
	cache    wazero.CompilationCache
	rtConfig wazero.RuntimeConfig
	disk     *diskCache // nil without a CacheDir

	mu      sync.Mutex // guards modules, closed
	modules map[*Module]struct{}
	closed  bool
}

// NewRuntime returns a runtime configured by cfg. It creates cfg.CacheDir
// (0700) and cfg.CacheKeyFile when they are missing, and refuses a
// CacheDir that another user owns or that group or others may write.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	var cache wazero.CompilationCache
	if cfg.Compiler != nil && cfg.CacheDir == "" {
		return nil, errors.New("wasm: a Compiler needs a CacheDir")
	}
	var disk *diskCache
	if cfg.CacheDir == "" {
		cache = wazero.NewCompilationCache()
	} else {
		var err error
		if disk, cache, err = openDiskCache(cfg.CacheDir, cfg.CacheKeyFile); err != nil {
			return nil, err
		}
	}
	return &Runtime{
		cfg:      cfg,
		log:      log,
		cache:    cache,
		rtConfig: runtimeConfig(cache),
		disk:     disk,
		modules:  make(map[*Module]struct{}),
	}, nil
}

// runtimeConfig is the wazero configuration of every module's runtime.
// The memory limit is enforced per instance by cappedMemory, not by
// wazero's WithMemoryLimitPages: see memory.go.
func runtimeConfig(cache wazero.CompilationCache) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2).
		WithCloseOnContextDone(true).
		WithCompilationCache(cache)
}

// Load compiles wasm (through the compilation cache), validates it as a
// module of this host's ABI version, and instantiates a first instance,
// so that the module is ready to serve when Load returns. name names the
// module in logs, errors and to HostCalls.
//
// With a Config.Compiler, a module new to the cache is compiled by it
// first. Load runs the module's own code (_initialize, wasmrpc.abi_version,
// wasmrpc.manifest) under lim, each bounded by the call timeout. Every
// error is a [*LoadError] wrapping one of ErrInvalidModule,
// ErrABIVersion, ErrCommandModule, ErrMemoryLimit, ErrInitialize,
// ErrManifest, ErrMissingExport, ErrSignature, ErrCompiler or ErrClosed,
// or the error of ctx.
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte, lim Limits) (*Module, error) {
	m, err := r.load(ctx, name, wasm, lim)
	if err != nil {
		return nil, &LoadError{Module: name, Err: err}
	}
	return m, nil
}

func (r *Runtime) load(ctx context.Context, name string, wasm []byte, lim Limits) (_ *Module, err error) {
	lim, err = lim.withDefaults()
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return nil, fmt.Errorf("%w: not a WebAssembly binary (it does not start with \\0asm)", ErrInvalidModule)
	}
	// The digest is of the module's own bytes (what a pin names); what
	// compiles is the module with its tables bounded and its stack
	// counted (see sandbox).
	sb, err := sandbox(wasm)
	if err != nil {
		return nil, err
	}
	memCap, err := memoryCap(lim, sb.tables)
	if err != nil {
		return nil, err
	}
	if sb.maxFrame > lim.StackLimit {
		r.log.Warn("a function of the module counts more than the stack limit a frame: a call of it fails; raise the tenant's stack_limit to call it",
			"module", name, "frame", formatSize(sb.maxFrame), "stack_limit", formatBytes(lim.StackLimit))
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}

	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	if r.disk != nil {
		// wazero finds the checked compiled form for the time of the
		// compile (see cacheentry.go): the entry of the module's digest
		// holds what sandbox makes of it, compiled (see compileSealed).
		release, err := r.disk.stage(ctx, name, sum, wasm, r.cfg.Compiler, r.log)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	rt := wazero.NewRuntimeWithConfig(ctx, r.rtConfig)
	defer func() {
		if err != nil {
			_ = rt.Close(context.Background())
		}
	}()
	compiled, err := rt.CompileModule(compileContext(ctx), sb.wasm)
	if err != nil {
		return nil, compileError(ctx, err)
	}
	if err := checkCompiled(compiled, lim, memCap); err != nil {
		return nil, err
	}

	m := &Module{
		name:     name,
		digest:   digest,
		size:     len(wasm),
		lim:      lim,
		memCap:   memCap,
		log:      r.log.With("module", name),
		host:     r.cfg.Host,
		owner:    r,
		rt:       rt,
		compiled: compiled,
		pool:     newPool(lim.MaxInstances),
	}

	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("instantiating WASI: %w", err)
	}
	if err := m.instantiateHost(ctx, rt); err != nil {
		return nil, fmt.Errorf("instantiating the host imports: %w", err)
	}

	in, err := m.newInstance(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			in.close()
		}
	}()
	if err := m.negotiate(ctx, in); err != nil {
		return nil, err
	}
	if m.manifest, err = m.readManifest(ctx, in); err != nil {
		return nil, err
	}
	m.exportNames = m.manifest.Exports()
	m.exports = make(map[string]int, len(m.exportNames))
	for i, e := range m.exportNames {
		m.exports[e] = i
	}
	in.resolve(m.exportNames)
	m.pool.add(in)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.modules[m] = struct{}{}
	return m, nil
}

// forget drops a closed module.
func (r *Runtime) forget(m *Module) {
	r.mu.Lock()
	delete(r.modules, m)
	r.mu.Unlock()
}

// Close closes every module still loaded (see [Module.Close]; ctx bounds
// the wait for calls in flight), then the compilation cache. Loads after
// Close fail with ErrClosed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	modules := make([]*Module, 0, len(r.modules))
	for m := range r.modules {
		modules = append(modules, m)
	}
	r.mu.Unlock()

	var errs []error
	for _, m := range modules {
		if err := m.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing module %s: %w", m.name, err))
		}
	}
	if err := r.cache.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("closing the compilation cache: %w", err))
	}
	if r.disk != nil {
		if err := r.disk.close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the compilation cache: %w", err))
		}
	}
	return errors.Join(errs...)
}

// compileContext asks wazero to compile a module's functions on as many
// goroutines as there are CPUs: a new version of a large module (a Go
// guest) is ready that much sooner.
func compileContext(ctx context.Context) context.Context {
	return experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0))
}
