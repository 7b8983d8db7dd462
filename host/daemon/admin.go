package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// adminHandler serves the admin HTTP API:
//
//	GET  /healthz                  200 while the process is up
//	GET  /readyz                   200 when the broker is connected and every
//	                               module's consumers run, 503 otherwise
//	GET  /metrics                  Prometheus metrics
//	GET  /v1/modules               every module: versions, digests, tenant,
//	                               instances, state, last error
//	GET  /v1/modules/{name}        one module
//	POST /v1/modules/{name}/reload swap in the module's files as they are on
//	                               disk: 200 with the module, 422 when the new
//	                               version is refused (the old one serves on)
func (d *Daemon) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status := d.readiness()
		code := http.StatusOK
		if !status.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, status)
	})
	mux.Handle("GET /metrics", d.metrics.handler())
	mux.HandleFunc("GET /v1/modules", func(w http.ResponseWriter, r *http.Request) {
		list := []moduleStatus{}
		for _, m := range d.moduleList() {
			list = append(list, m.status())
		}
		writeJSON(w, http.StatusOK, map[string]any{"modules": list})
	})
	mux.HandleFunc("GET /v1/modules/{name}", func(w http.ResponseWriter, r *http.Request) {
		m := d.module(r.PathValue("name"))
		if m == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no module named " + r.PathValue("name")})
			return
		}
		writeJSON(w, http.StatusOK, m.status())
	})
	mux.HandleFunc("POST /v1/modules/{name}/reload", func(w http.ResponseWriter, r *http.Request) {
		m := d.module(r.PathValue("name"))
		if m == nil || !d.isReady() {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no module named " + r.PathValue("name")})
			return
		}
		err := m.reload(context.WithoutCancel(r.Context()), nil, nil, false, "admin request")
		switch {
		case err == nil, errors.Is(err, errUnchanged):
			writeJSON(w, http.StatusOK, map[string]any{"reloaded": err == nil, "module": m.status()})
		default:
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "module": m.status()})
		}
	})
	return mux
}

// readiness is the body of /readyz.
type readiness struct {
	Ready           bool            `json:"ready"`
	BrokerConnected bool            `json:"broker_connected"`
	Modules         map[string]bool `json:"modules"` // name → consuming
}

func (d *Daemon) readiness() readiness {
	st := readiness{Modules: map[string]bool{}}
	if !d.isReady() {
		return st
	}
	st.BrokerConnected = true
	if s, ok := d.currentTransport().(interface{ Status() transport.Status }); ok {
		status := s.Status()
		st.BrokerConnected = status.SendConnected && status.ListenConnected
	}
	st.Ready = st.BrokerConnected
	for _, m := range d.moduleList() {
		running := m.running()
		st.Modules[m.name()] = running
		st.Ready = st.Ready && running
	}
	return st
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
