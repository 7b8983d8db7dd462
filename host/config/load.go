package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the config file Load reads.
const MaxFileSize = 4 << 20

// Load reads, completes and validates the config file at path. Relative
// paths in it resolve against the file's directory. Problems with the
// content come back as *Error, listing every problem with its line.
func Load(path string) (*Config, error) { return LoadWith(path, LoadOptions{}) }

// LoadOptions change what Load reads.
type LoadOptions struct {
	// OsloConfigFile, when set, replaces the file's oslo_config_file
	// (`wasmrpcd run --oslo-config FILE`); relative to the working
	// directory.
	OsloConfigFile string
}

// LoadWith is Load with opts.
func LoadWith(path string, opts LoadOptions) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, MaxFileSize)
	}
	e := systemEnv()
	e.osloConfigFile = opts.OsloConfigFile
	if e.osloConfigFile != "" {
		abs, err := filepath.Abs(e.osloConfigFile)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		e.osloConfigFile = abs
	}
	return parse(data, path, e)
}

// Parse decodes, completes and validates a config file's content.
// filename names the file in messages, and relative paths in the file
// resolve against its directory (the working directory when filename is
// empty or has no directory). Problems come back as *Error.
func Parse(data []byte, filename string) (*Config, error) {
	return parse(data, filename, systemEnv())
}

// env is what the defaults depend on beyond the file.
type env struct {
	hostname     func() (string, error)
	euid         int
	userCacheDir func() (string, error)
	// userStateDir is $XDG_STATE_HOME or ~/.local/state.
	userStateDir func() (string, error)
	getenv       func(string) string
	// osloConfigFile replaces the file's oslo_config_file when set.
	osloConfigFile string
}

func systemEnv() env {
	return env{hostname: os.Hostname, euid: os.Geteuid(), userCacheDir: os.UserCacheDir, userStateDir: userStateDir, getenv: os.Getenv}
}

func parse(data []byte, filename string, e env) (*Config, error) {
	c := Default()
	c.file = filename
	c.lines = map[string]int{}
	root, problem := document(data)
	if problem != nil {
		return nil, newError(filename, []Problem{*problem})
	}
	d := &decoder{lines: c.lines}
	g, ok := d.config(root, c)
	problems := append([]Problem(nil), d.problems...)
	if !ok && len(problems) > 0 {
		// Not a mapping: nothing else to say.
		return nil, newError(filename, problems)
	}
	problems = append(problems, c.completeBroker(g, e)...) // may set control_exchange
	problems = append(problems, c.complete(g, e)...)
	if err := c.Validate(); err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			return nil, err
		}
		for _, p := range ce.Problems {
			if !coveredBy(p.Path, problems) {
				problems = append(problems, p)
			}
		}
	}
	if err := newError(filename, problems); err != nil {
		return nil, err
	}
	return c, nil
}

// coveredBy reports whether a problem at path was already reported, at
// that path or above it, while decoding: a value that failed to decode
// keeps its default and would otherwise be reported twice.
func coveredBy(path string, problems []Problem) bool {
	for _, p := range problems {
		if p.Path != "" && under(path, p.Path) {
			return true
		}
	}
	return false
}

// yamlLine finds the line number in the YAML library's error messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// parserProblems are the messages of the YAML library's parser errors.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// document parses data into the root node (nil for an empty document) or
// returns the syntax problem.
func document(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	err := dec.Decode(&root)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err == nil {
		var next yaml.Node
		switch err2 := dec.Decode(&next); {
		case errors.Is(err2, io.EOF):
		case err2 != nil:
			err = err2
		default:
			return nil, &Problem{Line: next.Line, Message: "more than one YAML document (remove the second ---)"}
		}
	}
	if err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		msg = strings.TrimPrefix(msg, "yaml: ")
		if parserProblems[msg] {
			// The YAML library counts the lines of parser (not scanner)
			// errors from 0 and leaves out line 0.
			line++
		}
		return nil, &Problem{Line: line, Message: "YAML syntax: " + msg}
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	return root.Content[0], nil
}

// complete fills in the defaults that depend on what the file left out,
// on the machine and on the file's directory, and returns problems
// finding them.
func (c *Config) complete(g given, e env) []Problem {
	var problems []Problem
	dir := c.Dir()
	if c.Server == "" {
		h, err := e.hostname()
		if err != nil || h == "" {
			problems = append(problems, Problem{Line: c.lines["server"], Path: "server", Message: fmt.Sprintf("no default: cannot find the host name (%v); set server", err)})
		}
		c.Server = h
	}
	switch {
	case !g.cacheDir:
		dflt, err := defaultCacheDir(e)
		if err != nil {
			problems = append(problems, Problem{Path: "cache_dir", Message: fmt.Sprintf("no default: %v; set cache_dir", err)})
		}
		c.CacheDir = dflt
	case c.CacheDir != "":
		c.CacheDir = resolve(dir, c.CacheDir)
	}
	switch {
	case c.CacheDir == "":
		c.CacheKeyFile = "" // no cache, no key
	case !g.cacheKeyFile || c.CacheKeyFile == "":
		dflt, err := defaultCacheKeyFile(e)
		if err != nil {
			problems = append(problems, Problem{Path: "cache_key_file", Message: fmt.Sprintf("no default: %v; set cache_key_file", err)})
		}
		c.CacheKeyFile = dflt
	default:
		c.CacheKeyFile = resolve(dir, c.CacheKeyFile)
	}
	c.completeAdmin(dir)
	if _, ok := c.Tenants[DefaultTenant]; !ok {
		c.Tenants[DefaultTenant] = NewTenant(DefaultTenant)
	}
	for _, t := range c.Tenants {
		for i := range t.RPCTargets {
			if t.RPCTargets[i].Exchange == "" {
				t.RPCTargets[i].Exchange = c.ControlExchange
			}
		}
	}
	for i := range c.Modules {
		m := &c.Modules[i]
		if m.Tenant == "" {
			m.Tenant = DefaultTenant
		}
		if m.Server == "" {
			m.Server = c.Server
		}
		if m.Exchange == "" {
			m.Exchange = c.ControlExchange
		}
		for j := range m.Versions {
			f := &m.Versions[j]
			if f.Path != "" {
				f.Path = resolve(dir, f.Path)
			}
			f.SHA256 = strings.ToLower(f.SHA256)
		}
	}
	return problems
}

// defaultCacheDir is /var/cache/wasmrpcd for root and the user's cache
// directory ($XDG_CACHE_HOME or ~/.cache) plus wasmrpcd for anyone else.
func defaultCacheDir(e env) (string, error) {
	if e.euid == 0 {
		return "/var/cache/wasmrpcd", nil
	}
	d, err := e.userCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "wasmrpcd"), nil
}

// DefaultCacheKeyFile is the default of cache_key_file for this
// process's user: /var/lib/wasmrpcd/cache.key for root, otherwise
// cache.key in wasmrpcd of the user's state directory ($XDG_STATE_HOME,
// or ~/.local/state).
func DefaultCacheKeyFile() (string, error) { return defaultCacheKeyFile(systemEnv()) }

func defaultCacheKeyFile(e env) (string, error) {
	if e.euid == 0 {
		return "/var/lib/wasmrpcd/cache.key", nil
	}
	if e.userStateDir == nil {
		return "", errors.New("no state directory")
	}
	d, err := e.userStateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "wasmrpcd", "cache.key"), nil
}

// userStateDir is $XDG_STATE_HOME, or ~/.local/state, as the XDG base
// directory specification says.
func userStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("neither $XDG_STATE_HOME nor $HOME are defined")
	}
	return filepath.Join(home, ".local", "state"), nil
}

// dirOf returns the absolute directory of a config file name.
func dirOf(file string) string {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// resolve makes a path from the file absolute against dir.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
