package wasm

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// wasmMagic starts every WebAssembly binary.
var wasmMagic = []byte("\x00asm")

// Function signatures the ABI requires.
var (
	sigABIVersion = signature{nil, []api.ValueType{i32}}
	sigManifest   = signature{nil, []api.ValueType{i64}}
	sigAlloc      = signature{[]api.ValueType{i32}, []api.ValueType{i32}}
	sigFree       = signature{[]api.ValueType{i32, i32}, nil}
	sigMethod     = signature{[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}}
)

type signature struct{ params, results []api.ValueType }

func (s signature) matches(def api.FunctionDefinition) bool {
	return slices.Equal(def.ParamTypes(), s.params) && slices.Equal(def.ResultTypes(), s.results)
}

func (s signature) String() string { return formatSignature(s.params, s.results) }

func formatSignature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(out, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

// checkSignature checks that the module exports name with signature want.
func checkSignature(defs map[string]api.FunctionDefinition, name string, want signature) error {
	def, ok := defs[name]
	if !ok {
		return fmt.Errorf("%w: the module does not export %s", ErrMissingExport, name)
	}
	if !want.matches(def) {
		return fmt.Errorf("%w: %s is %s, the ABI wants %s", ErrSignature, name,
			formatSignature(def.ParamTypes(), def.ResultTypes()), want)
	}
	return nil
}

// checkCompiled checks what can be checked without running the module:
// that it says which ABI it speaks, is a reactor, has its memory within
// what its tables leave of the limit (memCap), and imports only what this
// host provides.
func checkCompiled(c wazero.CompiledModule, lim Limits, memCap uint64) error {
	defs := c.ExportedFunctions()
	def, ok := defs[abi.ExportABIVersion]
	if !ok {
		return fmt.Errorf("%w: the module exports no %s, so it is not built for the wasmrpcd ABI (this host speaks version %d)",
			ErrABIVersion, abi.ExportABIVersion, abi.Version)
	}
	if !sigABIVersion.matches(def) {
		return fmt.Errorf("%w: %s is %s, not %s: the module is not built for the wasmrpcd ABI version %d",
			ErrABIVersion, abi.ExportABIVersion, formatSignature(def.ParamTypes(), def.ResultTypes()), sigABIVersion, abi.Version)
	}
	if _, start := defs[abi.ExportStart]; start {
		if _, init := defs[abi.ExportInitialize]; !init {
			return fmt.Errorf("%w: it exports %s and no %s; build it as a reactor (Go: -buildmode=c-shared; C: -mexec-model=reactor)",
				ErrCommandModule, abi.ExportStart, abi.ExportInitialize)
		}
	}
	if len(c.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: it imports a memory; it must define and export its own", ErrInvalidModule)
	}
	mem, ok := c.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return fmt.Errorf("%w: it exports no memory named %q", ErrInvalidModule, abi.ExportMemory)
	}
	if need := uint64(mem.Min()) * pageSize; need > memCap {
		if memCap < lim.MemoryLimit {
			return fmt.Errorf("%w: its memory starts at %s and its tables can take %s, the limit is %s",
				ErrMemoryLimit, formatBytes(need), formatSize(lim.MemoryLimit-memCap), formatBytes(lim.MemoryLimit))
		}
		return fmt.Errorf("%w: its memory starts at %s, the limit is %s",
			ErrMemoryLimit, formatBytes(need), formatBytes(lim.MemoryLimit))
	}
	return checkImports(c.ImportedFunctions())
}

// checkImports checks every imported function against those this host
// provides: the wasmrpc imports of ABI version 1 and WASI preview 1.
func checkImports(imports []api.FunctionDefinition) error {
	for _, def := range imports {
		module, name, _ := def.Import()
		switch module {
		case abi.ImportModule:
			i := slices.IndexFunc(hostImports, func(h hostImport) bool { return h.name == name })
			if i < 0 {
				return fmt.Errorf("%w: it imports %s.%s, which ABI version %d does not provide",
					ErrInvalidModule, module, name, abi.Version)
			}
			want := signature{hostImports[i].params, hostImports[i].results}
			if !want.matches(def) {
				return fmt.Errorf("%w: it imports %s.%s as %s, the ABI provides %s",
					ErrSignature, module, name, formatSignature(def.ParamTypes(), def.ResultTypes()), want)
			}
		case wasi_snapshot_preview1.ModuleName:
			// wazero checks the names and signatures at instantiation.
		default:
			return fmt.Errorf("%w: it imports %s.%s; a module may import only from %q and %q",
				ErrInvalidModule, module, name, abi.ImportModule, wasi_snapshot_preview1.ModuleName)
		}
	}
	return nil
}

// negotiate checks, on the first instance, the ABI version the module
// speaks, before anything else about it is read.
func (m *Module) negotiate(ctx context.Context, in *instance) error {
	if err := in.invoke(ctx, in.mod.ExportedFunction(abi.ExportABIVersion), abi.ExportABIVersion, nil); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrABIVersion, abi.ExportABIVersion, err)
	}
	if v := api.DecodeI32(in.stack[0]); v != abi.Version {
		return fmt.Errorf("%w: the module speaks wasmrpcd ABI version %d, this host speaks version %d; rebuild it with an SDK for version %d",
			ErrABIVersion, v, abi.Version, abi.Version)
	}
	return nil
}

// readManifest calls wasmrpc.manifest on the first instance, decodes the
// manifest and checks every export it names.
func (m *Module) readManifest(ctx context.Context, in *instance) (*abi.Manifest, error) {
	defs := m.compiled.ExportedFunctions()
	for _, c := range []struct {
		name string
		sig  signature
	}{
		{abi.ExportManifest, sigManifest},
		{abi.ExportAlloc, sigAlloc},
		{abi.ExportFree, sigFree},
	} {
		if err := checkSignature(defs, c.name, c.sig); err != nil {
			return nil, err
		}
	}
	if err := in.invoke(ctx, in.mod.ExportedFunction(abi.ExportManifest), abi.ExportManifest, nil); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrManifest, abi.ExportManifest, err)
	}
	ptr, n, err := guestSpan(in.stack[0], uint64(in.mem.Size()), abi.MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrManifest, abi.ExportManifest, err)
	}
	b, _ := in.mem.Read(ptr, n)
	man, err := decodeManifest(bytes.Clone(b))
	if err != nil {
		return nil, err
	}
	for _, ep := range man.Endpoints {
		for _, meth := range ep.Methods {
			if err := checkSignature(defs, meth.Export, sigMethod); err != nil {
				return nil, fmt.Errorf("method %q (namespace %q, version %s): %w", meth.Name, ep.Namespace, ep.Version, err)
			}
		}
	}
	for _, h := range man.Notifications {
		if err := checkSignature(defs, h.Export, sigMethod); err != nil {
			return nil, fmt.Errorf("notification handler %q: %w", h.Priority, err)
		}
	}
	return man, nil
}
