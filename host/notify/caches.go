package notify

import (
	"context"
	"sync"
)

// recentIDs remembers the last `_unique_id`s a listener acknowledged, as
// oslo's _MsgIdCache does (16), so that a notification the broker delivers
// again after a lost acknowledgement is not handled twice.
type recentIDs struct {
	mu   sync.Mutex
	ids  [16]string
	next int
}

// seen reports whether id was added before; an empty id is never seen.
func (r *recentIDs) seen(id string) bool {
	if id == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.ids {
		if have == id {
			return true
		}
	}
	return false
}

// add remembers id, forgetting the oldest.
func (r *recentIDs) add(id string) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.ids {
		if have == id {
			return
		}
	}
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
}

// acquire takes a slot of s; nil Slots always have one.
func acquire(ctx context.Context, s Slots) error {
	if s == nil {
		return nil
	}
	return s.Acquire(ctx)
}

// release returns a slot taken by acquire.
func release(s Slots) {
	if s != nil {
		s.Release()
	}
}
