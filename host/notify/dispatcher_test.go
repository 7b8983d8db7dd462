package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// recorder is a handler that records its calls as "name:priority:event"
// and answers with result (or err, or a panic).
type recorder struct {
	name   string
	calls  *[]string
	result Result
	err    error
	panic  bool
}

func (r recorder) HandleNotification(_ context.Context, m *Message) (Result, error) {
	*r.calls = append(*r.calls, r.name+":"+string(m.Priority)+":"+m.EventType)
	if r.panic {
		panic("boom")
	}
	return r.result, r.err
}

func (r recorder) HandleNotifications(_ context.Context, ms []*Message) (Result, error) {
	var evs []string
	for _, m := range ms {
		evs = append(evs, m.EventType)
	}
	*r.calls = append(*r.calls, r.name+":"+string(ms[0].Priority)+":"+strings.Join(evs, ","))
	if r.panic {
		panic("boom")
	}
	return r.result, r.err
}

func mustFilter(t *testing.T, r Rules) *Filter {
	t.Helper()
	f, err := NewFilter(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDispatch(t *testing.T) {
	errBoom := errors.New("boom")
	type ep struct {
		prios  []Priority
		result Result
		err    error
		panic  bool
		filter Rules
	}
	tests := []struct {
		name      string
		endpoints []ep
		priority  Priority
		event     string
		want      Result
		wantErr   bool
		calls     []string
	}{
		{"routed by priority", []ep{{prios: []Priority{PriorityInfo}}, {prios: []Priority{PriorityError}}},
			PriorityError, "e", Handled, false, []string{"1:error:e"}},
		{"every endpoint in order", []ep{{prios: []Priority{PriorityInfo, PriorityWarn}}, {prios: []Priority{PriorityWarn}}},
			PriorityWarn, "e", Handled, false, []string{"0:warn:e", "1:warn:e"}},
		{"no handler for the priority", []ep{{prios: []Priority{PriorityInfo}}},
			PriorityAudit, "e", Handled, false, nil},
		{"unknown priority", []ep{{prios: []Priority{PriorityInfo}}},
			"notice", "e", Handled, false, nil},
		{"requeue stops the walk", []ep{{prios: []Priority{PriorityInfo}, result: Requeue}, {prios: []Priority{PriorityInfo}}},
			PriorityInfo, "e", Requeue, false, []string{"0:info:e"}},
		{"requeue after a handled", []ep{{prios: []Priority{PriorityInfo}}, {prios: []Priority{PriorityInfo}, result: Requeue}},
			PriorityInfo, "e", Requeue, false, []string{"0:info:e", "1:info:e"}},
		{"error requeues", []ep{{prios: []Priority{PriorityInfo}, err: errBoom}, {prios: []Priority{PriorityInfo}}},
			PriorityInfo, "e", Requeue, true, []string{"0:info:e"}},
		{"panic requeues", []ep{{prios: []Priority{PriorityInfo}, panic: true}},
			PriorityInfo, "e", Requeue, true, []string{"0:info:e"}},
		{"filter screens an endpoint", []ep{
			{prios: []Priority{PriorityInfo}, filter: Rules{EventType: "^volume"}},
			{prios: []Priority{PriorityInfo}, filter: Rules{EventType: "^compute"}},
		}, PriorityInfo, "compute.x", Handled, false, []string{"1:info:compute.x"}},
		{"filtered-out requeuer is not called", []ep{
			{prios: []Priority{PriorityInfo}, result: Requeue, filter: Rules{PublisherID: "^nobody$"}},
			{prios: []Priority{PriorityInfo}},
		}, PriorityInfo, "e", Handled, false, []string{"1:info:e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var eps []Endpoint
			for i, e := range tt.endpoints {
				hs := map[Priority]Handler{}
				for _, p := range e.prios {
					hs[p] = recorder{name: fmt.Sprint(i), calls: &calls, result: e.result, err: e.err, panic: e.panic}
				}
				eps = append(eps, Endpoint{Handlers: hs, Filter: mustFilter(t, e.filter)})
			}
			d, err := NewDispatcher(eps...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Dispatch(context.Background(), &Message{Priority: tt.priority, EventType: tt.event, PublisherID: "p"})
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Dispatch = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
			if !slices.Equal(calls, tt.calls) {
				t.Fatalf("calls %q, want %q", calls, tt.calls)
			}
		})
	}
}

func TestDispatcherPriorities(t *testing.T) {
	var calls []string
	h := recorder{calls: &calls}
	d, err := NewDispatcher(
		Endpoint{Handlers: map[Priority]Handler{PrioritySample: h, PriorityInfo: h}},
		Endpoint{Handlers: map[Priority]Handler{PriorityAudit: h, PriorityInfo: h}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Priorities(), []Priority{PriorityAudit, PriorityInfo, PrioritySample}; !slices.Equal(got, want) {
		t.Fatalf("Priorities = %v, want %v", got, want)
	}
	if err := d.SetEndpoints(Endpoint{Handlers: map[Priority]Handler{PriorityError: h}}); err != nil {
		t.Fatal(err)
	}
	if got := d.Priorities(); !slices.Equal(got, []Priority{PriorityError}) {
		t.Fatalf("after SetEndpoints: %v", got)
	}
	if err := d.SetEndpoints(); err == nil || !slices.Equal(d.Priorities(), []Priority{PriorityError}) {
		t.Fatalf("SetEndpoints() = %v; the old endpoints must stay", err)
	}
}

func TestNewDispatcherErrors(t *testing.T) {
	var calls []string
	h := recorder{calls: &calls}
	tests := []struct {
		name string
		eps  []Endpoint
		want string
	}{
		{"none", nil, "no priority"},
		{"empty endpoint", []Endpoint{{}}, "no priority"},
		{"unknown priority", []Endpoint{{Handlers: map[Priority]Handler{"warning": h}}}, `unknown priority "warning"`},
		{"upper case", []Endpoint{{Handlers: map[Priority]Handler{"INFO": h}}}, `unknown priority "INFO"`},
		{"nil handler", []Endpoint{{Handlers: map[Priority]Handler{PriorityInfo: nil}}}, "nil handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewDispatcher(tt.eps...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewDispatcher: %v, want %q", err, tt.want)
			}
			beps := make([]BatchEndpoint, len(tt.eps))
			for i, e := range tt.eps {
				beps[i].Handlers = map[Priority]BatchHandler{}
				for p, hh := range e.Handlers {
					if hh == nil {
						beps[i].Handlers[p] = nil
					} else {
						beps[i].Handlers[p] = h
					}
				}
			}
			if _, err := NewBatchDispatcher(beps...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewBatchDispatcher: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBatchDispatch(t *testing.T) {
	type ep struct {
		prios  []Priority
		result Result
		err    error
		panic  bool
		filter Rules
	}
	// The batch: priority:event.
	batch := []string{"info:a", "error:b", "info:c", "notice:d", "warn:e", "info:f"}
	tests := []struct {
		name      string
		endpoints []ep
		requeue   string // the events requeued
		wantErr   bool
		calls     []string
	}{
		{"grouped by priority in sorted order", []ep{{prios: []Priority{PriorityInfo, PriorityError, PriorityWarn}}},
			"", false, []string{"0:error:b", "0:info:a,c,f", "0:warn:e"}},
		{"every endpoint gets the group", []ep{{prios: []Priority{PriorityInfo}}, {prios: []Priority{PriorityInfo}}},
			"", false, []string{"0:info:a,c,f", "1:info:a,c,f"}},
		{"requeue requeues the whole group", []ep{
			{prios: []Priority{PriorityInfo}, result: Requeue, filter: Rules{EventType: "^[ac]$"}},
			{prios: []Priority{PriorityInfo}},
			{prios: []Priority{PriorityError}},
		}, "a,c,f", false, []string{"2:error:b", "0:info:a,c"}},
		{"error requeues the group", []ep{{prios: []Priority{PriorityWarn}, err: errors.New("x")}, {prios: []Priority{PriorityInfo}}},
			"e", true, []string{"1:info:a,c,f", "0:warn:e"}},
		{"panic requeues the group", []ep{{prios: []Priority{PriorityError}, panic: true}},
			"b", true, []string{"0:error:b"}},
		{"filter leaves nothing: no call", []ep{{prios: []Priority{PriorityInfo}, result: Requeue, filter: Rules{EventType: "^z"}}},
			"", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var eps []BatchEndpoint
			for i, e := range tt.endpoints {
				hs := map[Priority]BatchHandler{}
				for _, p := range e.prios {
					hs[p] = recorder{name: fmt.Sprint(i), calls: &calls, result: e.result, err: e.err, panic: e.panic}
				}
				eps = append(eps, BatchEndpoint{Handlers: hs, Filter: mustFilter(t, e.filter)})
			}
			d, err := NewBatchDispatcher(eps...)
			if err != nil {
				t.Fatal(err)
			}
			var ms []*Message
			for _, s := range batch {
				p, ev, _ := strings.Cut(s, ":")
				ms = append(ms, &Message{Priority: Priority(p), EventType: ev})
			}
			requeue, err := d.Dispatch(context.Background(), ms)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Dispatch error %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for i, rq := range requeue {
				if rq {
					got = append(got, ms[i].EventType)
				}
			}
			if strings.Join(got, ",") != tt.requeue {
				t.Fatalf("requeued %q, want %q", got, tt.requeue)
			}
			if !slices.Equal(calls, tt.calls) {
				t.Fatalf("calls %q, want %q", calls, tt.calls)
			}
		})
	}
}

func TestMessageArgs(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    any
	}{
		{"map", cb(t, map[string]any{"size": 1}), map[string]any{"size": int64(1)}},
		{"null", hx(t, "f6"), nil},
		{"empty means null", nil, nil},
		{"string", cb(t, "x"), "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{PublisherID: "compute.host1", EventType: "volume.create.end", Priority: PriorityInfo,
				Payload: tt.payload, Metadata: Metadata{MessageID: "id", Timestamp: "ts"}}
			b, err := m.Args()
			if err != nil {
				t.Fatal(err)
			}
			got := decoded(t, b).(map[string]any)
			want := map[string]any{"publisher_id": "compute.host1", "event_type": "volume.create.end", "payload": tt.want,
				"metadata": map[string]any{"message_id": "id", "timestamp": "ts"}}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 4 {
				t.Fatalf("Args = %v, want %v", got, want)
			}
		})
	}
	if _, err := (&Message{Payload: hx(t, "a1")}).Args(); err == nil {
		t.Fatal("Args of a malformed payload must fail")
	}
}

func TestResultOf(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
		want  Result
		err   bool
	}{
		{"absent", nil, Handled, false},
		{"null", hx(t, "f6"), Handled, false},
		{"handled", cb(t, "handled"), Handled, false},
		{"requeue", cb(t, "requeue"), Requeue, false},
		{"REQUEUE is not requeue", cb(t, "REQUEUE"), Handled, false},
		{"other value", cb(t, 42), Handled, false},
		{"malformed", hx(t, "62ff"), Handled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResultOf(tt.value)
			if got != tt.want || (err != nil) != tt.err {
				t.Fatalf("ResultOf(%x) = %v, %v; want %v, error %v", tt.value, got, err, tt.want, tt.err)
			}
		})
	}
	if Handled.String() != "handled" || Requeue.String() != "requeue" {
		t.Fatal("Result names differ from oslo's")
	}
}
