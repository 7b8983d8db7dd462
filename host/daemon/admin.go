package daemon

import (
	"encoding/json"
	"net/http"

	"github.com/wasmrpcd/wasmrpcd/host/transport"
)

// adminHandler serves the admin HTTP API:
//
//	GET /healthz  200 while the process is up
//	GET /readyz   200 when the broker is connected and every module's
//	              consumers run, 503 otherwise; the body says which
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
	if s, ok := d.transport.(interface{ Status() transport.Status }); ok {
		status := s.Status()
		st.BrokerConnected = status.SendConnected && status.ListenConnected
	}
	st.Ready = st.BrokerConnected
	for _, m := range d.modules {
		running := m.running()
		st.Modules[m.cfg.Name] = running
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
