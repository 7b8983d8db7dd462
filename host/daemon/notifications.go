package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/wasmrpcd/wasmrpcd/host/notify"
	"github.com/wasmrpcd/wasmrpcd/host/oslo"
	"github.com/wasmrpcd/wasmrpcd/host/wasm"
)

// notifyHandler serves one notification priority of a module: it calls
// the export of the first loaded version that handles the priority, found
// at each notification so that a swap takes effect at once.
type notifyHandler struct {
	m        *module
	priority string
}

var _ notify.Handler = (*notifyHandler)(nil)

func (h *notifyHandler) HandleNotification(ctx context.Context, msg *notify.Message) (notify.Result, error) {
	args, err := msg.Args()
	if err != nil {
		return notify.Requeue, err
	}
	for attempt := 0; ; attempt++ {
		v, export, hidden := h.m.notifyExport(h.priority)
		if v == nil {
			return notify.Requeue, fmt.Errorf("module %s no longer handles %s notifications", h.m.name(), h.priority)
		}
		msgCtx, err := oslo.HideContextKeys(msg.Context, hidden)
		if err != nil {
			return notify.Requeue, fmt.Errorf("module %s: the notification's context: %w", h.m.name(), err)
		}
		value, err := v.Call(withChain(ctx, msg.Hops), export, msgCtx, args)
		if errors.Is(err, wasm.ErrClosed) && attempt < 8 {
			continue // swapped out before the call started: take the new version
		}
		if err != nil {
			return notify.Requeue, guestFailure(h.m.name(), export, err)
		}
		return notify.ResultOf(value)
	}
}

// notifyExport returns the version and export that handle priority, and
// the context keys their guest does not see.
func (m *module) notifyExport(priority string) (*wasm.Module, string, map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.versions {
		for _, h := range v.Manifest().Notifications {
			if h.Priority == priority {
				return v, h.Export, hiddenKeys(m.tenant)
			}
		}
	}
	return nil, "", nil
}

// priorities returns the notification priorities the module's versions
// handle, sorted.
func prioritiesOf(versions []*wasm.Module) []string {
	var out []string
	for _, v := range versions {
		for _, h := range v.Manifest().Notifications {
			if !slices.Contains(out, h.Priority) {
				out = append(out, h.Priority)
			}
		}
	}
	slices.Sort(out)
	return out
}

// startListener starts the module's notification listener on its
// notification topics, for the priorities its versions handle. The
// caller holds m.mu.
func (m *module) startListenerLocked(ctx context.Context) error {
	if len(m.cfg.NotificationTopics) == 0 {
		return nil
	}
	priorities := prioritiesOf(m.versions)
	if len(priorities) == 0 {
		m.log.Warn("module has notification_topics but handles no notification priority")
		return nil
	}
	handlers := map[notify.Priority]notify.Handler{}
	for _, p := range priorities {
		handlers[notify.Priority(p)] = &notifyHandler{m: m, priority: p}
	}
	disp, err := notify.NewDispatcher(notify.Endpoint{Handlers: handlers})
	if err != nil {
		return fmt.Errorf("module %s: %w", m.cfg.Name, err)
	}
	var targets []notify.Target
	for _, topic := range m.cfg.NotificationTopics {
		targets = append(targets, notify.Target{Exchange: m.cfg.Exchange, Topic: topic})
	}
	cfg := m.d.config()
	l := notify.NewListener(m.d.currentTransport(), targets, disp, notify.ListenerOptions{
		Pool:      m.cfg.NotificationPool,
		NoRequeue: !m.cfg.NotificationAllowRequeue,
		Executors: cfg.ExecutorThreads,
		Slots:     m.slots(),
		Logger:    m.log,
	})
	if err := l.Start(ctx); err != nil {
		return fmt.Errorf("module %s: notification listener: %w", m.cfg.Name, err)
	}
	m.listener, m.listenerPriorities = l, priorities
	return nil
}

var _ notify.Slots = chain(nil)
