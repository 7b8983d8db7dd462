package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// The broker's settings: where the transport URL comes from, the oslo
// config file a daemon may share with a Python service, and the transport
// options they make.

// osloRabbitGroup is the oslo.config group of the rabbit driver's options.
const osloRabbitGroup = "oslo_messaging_rabbit"

// completeBroker takes the transport URL from its file or environment
// variable, and what the file leaves out from OsloConfigFile. It resolves
// the paths of path options.
func (c *Config) completeBroker(g given, e env) []Problem {
	var problems []Problem
	add := func(path, format string, args ...any) {
		problems = append(problems, Problem{Line: c.lines[path], Path: path, Message: fmt.Sprintf(format, args...)})
	}
	dir := c.Dir()
	c.rabbitFrom = map[string]string{}
	for name := range c.Rabbit {
		c.rabbitFrom[name] = c.where("rabbit." + name)
	}
	for name, v := range c.Rabbit {
		if opt, _ := transport.LookupRabbitOption(name); opt.Type == "path" && v != "" {
			c.Rabbit[name] = resolve(dir, v)
		}
	}

	var sources []string
	for _, s := range []struct{ key, v string }{{"transport_url", c.TransportURL}, {"transport_url_file", c.TransportURLFile}, {"transport_url_env", c.TransportURLEnv}} {
		if s.v != "" {
			sources = append(sources, s.key)
		}
	}
	switch {
	case len(sources) > 1:
		add(sources[1], "give one of %s, not several", strings.Join(sources, ", "))
	case c.TransportURLFile != "":
		c.TransportURLFile = resolve(dir, c.TransportURLFile)
		data, err := os.ReadFile(c.TransportURLFile)
		if err != nil {
			add("transport_url_file", "%v", err)
		}
		c.TransportURL = strings.TrimSpace(string(data))
		if err == nil && c.TransportURL == "" {
			add("transport_url_file", "%s is empty", c.TransportURLFile)
		}
	case c.TransportURLEnv != "":
		c.TransportURL = strings.TrimSpace(e.getenv(c.TransportURLEnv))
		if c.TransportURL == "" {
			add("transport_url_env", "the environment variable %s is not set", clip(c.TransportURLEnv))
		}
	}

	if e.osloConfigFile != "" {
		c.OsloConfigFile = e.osloConfigFile // --oslo-config, relative to the working directory
	} else if c.OsloConfigFile != "" {
		c.OsloConfigFile = resolve(dir, c.OsloConfigFile)
	}
	if c.OsloConfigFile == "" {
		return problems
	}
	oc, err := ReadOsloConfig(c.OsloConfigFile)
	if err != nil {
		add("oslo_config_file", "%v", err)
		return problems
	}
	for _, w := range oc.Warnings {
		c.loadWarnings = append(c.loadWarnings, Problem{Line: c.lines["oslo_config_file"], Path: "oslo_config_file", Message: w})
	}
	if c.TransportURL == "" && len(sources) == 0 {
		c.TransportURL = oc.TransportURL
	}
	if !g.controlExchange && oc.ControlExchange != "" {
		c.ControlExchange = oc.ControlExchange
	}
	for k, v := range oc.Rabbit {
		if _, set := c.Rabbit[k]; !set { // the config file's own value wins
			c.Rabbit[k] = v
			c.rabbitFrom[k] = oc.From[k]
		}
	}
	return problems
}

// OsloConfig is what an oslo.config file says of the broker.
type OsloConfig struct {
	// TransportURL and ControlExchange are [DEFAULT]'s; "" when absent.
	TransportURL, ControlExchange string
	// Rabbit holds the [oslo_messaging_rabbit] options it sets, checked
	// against transport.RabbitOptions (relative paths resolved against
	// the file's directory).
	Rabbit map[string]string
	// From says on which "file:line" each option of Rabbit is set.
	From map[string]string
	// Warnings name the options of [oslo_messaging_rabbit] that the rabbit
	// driver does not have: oslo.config ignores them, and so does this.
	Warnings []string
}

// ReadOsloConfig reads the broker's settings from an oslo.config file,
// such as /etc/cinder/cinder.conf, as oslo.config reads them.
func ReadOsloConfig(path string) (*OsloConfig, error) {
	f, err := readOsloFile(path)
	if err != nil {
		return nil, err
	}
	oc := &OsloConfig{Rabbit: map[string]string{}, From: map[string]string{}}
	at := func(line int) string { return fmt.Sprintf("%s:%d", path, line) }
	var errs []error
	for _, d := range []struct {
		key string
		dst *string
	}{{"transport_url", &oc.TransportURL}, {"control_exchange", &oc.ControlExchange}} {
		v, _, _, err := f.get("DEFAULT", d.key)
		if err != nil {
			errs = append(errs, err)
		}
		*d.dst = v
	}
	keys := make([]string, 0, len(f.sections[osloRabbitGroup]))
	for k := range f.sections[osloRabbitGroup] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, line, _, err := f.get(osloRabbitGroup, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		opt, known := transport.LookupRabbitOption(k)
		if !known {
			oc.Warnings = append(oc.Warnings, fmt.Sprintf("%s: [%s] %s is no option of oslo.messaging's rabbit driver; ignored", at(line), osloRabbitGroup, k))
			continue
		}
		if err := opt.Check(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: [%s] %s: %v", at(line), osloRabbitGroup, k, err))
			continue
		}
		if opt.Type == "path" && v != "" {
			v = resolve(dirOf(path), v)
		}
		oc.Rabbit[k], oc.From[k] = v, at(line)
	}
	return oc, errors.Join(errs...)
}

// where names the line of the file a key path was read from.
func (c *Config) where(path string) string {
	if l := c.lines[path]; l > 0 {
		return fmt.Sprintf("%s:%d", c.file, l)
	}
	return c.file
}

// TransportOptions returns the transport options of the control exchange
// and the rabbit options, with the warnings their values deserve. The
// transport URL's query, applied when the transport opens, comes on top.
func (c *Config) TransportOptions() (transport.Options, []string, error) {
	opts := transport.Options{ControlExchange: c.ControlExchange}
	return opts.Apply(c.Rabbit)
}

// RabbitSetting is one rabbit option as the daemon runs with it.
type RabbitSetting struct {
	Name, Value string
	// From is where the value was set: "file:line" of the config file or
	// of the oslo config file, "transport_url" for its query, or
	// "default".
	From string
}

// RabbitSettings returns every rabbit option of oslo.messaging 18.1.0 with
// its effective value and where it was set, the transport URL's query
// included, in the order of transport.RabbitOptions. Removed options
// appear only when set.
func (c *Config) RabbitSettings() []RabbitSetting {
	var query map[string]string
	if u, err := transport.ParseURL(c.TransportURL); err == nil {
		query = u.Query
	}
	var out []RabbitSetting
	for _, opt := range transport.RabbitOptions() {
		s := RabbitSetting{Name: opt.Name, Value: opt.Default, From: "default"}
		v, set := c.Rabbit[opt.Name]
		if set {
			s.Value, s.From = v, c.rabbitFrom[opt.Name]
		}
		if qv, ok := query[opt.Name]; ok {
			s.Value, s.From, set = qv, "transport_url", true
		}
		if opt.Status == transport.Removed && !set {
			continue
		}
		out = append(out, s)
	}
	return out
}

// broker checks the transport URL and the transport options
// exactly as the transport will take them, so that a file `check` passes
// is one `run` takes. It never quotes the URL: it may hold a password.
func (v *validator) broker() {
	opts, warnings, err := v.c.TransportOptions()
	if err != nil {
		v.add(v.rabbitPath(err), "%s", strings.TrimPrefix(err.Error(), transport.ErrInvalidOption.Error()+": "))
		return
	}
	for _, w := range warnings {
		name, _, _ := strings.Cut(w, " ")
		where := v.c.rabbitFrom[name]
		if where == "" {
			where = v.c.file
		}
		v.c.optionWarnings = append(v.c.optionWarnings, where+": "+w)
	}
	if v.c.TransportURL == "" {
		return // transportURL reported it
	}
	u, err := transport.ParseURL(v.c.TransportURL)
	if err != nil {
		v.add("transport_url", "%s", strings.TrimPrefix(err.Error(), transport.ErrInvalidURL.Error()+": "))
		return
	}
	opts, warnings, err = opts.Apply(u.Query)
	if err != nil {
		if errors.Is(err, transport.ErrInvalidOption) {
			v.add("transport_url", "its query: %s", strings.TrimPrefix(err.Error(), transport.ErrInvalidOption.Error()+": "))
		} else {
			v.add("transport_url", "%v", err)
		}
		return
	}
	for _, w := range warnings {
		v.c.optionWarnings = append(v.c.optionWarnings, "transport_url: "+w)
	}
	if w := opts.TLSWarning(); w != "" {
		v.c.optionWarnings = append(v.c.optionWarnings, w)
	}
}

// rabbitPath is the key path of the rabbit option an error names, or
// "rabbit".
func (v *validator) rabbitPath(err error) string {
	msg := err.Error()
	best := ""
	for name := range v.c.Rabbit {
		if strings.Contains(msg, name) && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return "rabbit"
	}
	return "rabbit." + best
}
