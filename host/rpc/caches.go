package rpc

import (
	"sync"
	"time"
)

// recentIDs remembers the last few `_unique_id`s a listener acknowledged,
// as oslo's _MsgIdCache does (16), so that a message the broker delivers
// again (its acknowledgement sent but lost with the connection) is not run
// twice. An id is added only once its acknowledgement was sent: a request
// whose acknowledgement failed runs when the broker delivers it again.
type recentIDs struct {
	mu   sync.Mutex
	ids  [16]string
	next int
}

// addIfNew remembers id, forgetting the oldest, and reports whether it
// was new: one step, so that copies of a message taken by several workers
// at once run once. An empty id is always new and never remembered.
func (r *recentIDs) addIfNew(id string) bool {
	if id == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.ids {
		if have == id {
			return false
		}
	}
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
	return true
}

// goneQueues remembers reply queues that stayed missing for the whole
// reply retry time, as oslo's ObsoleteReplyQueuesCache does (200 queues
// for 60 s), so that replies to a caller known to be gone are dropped at
// once instead of holding a worker for the retry time again.
type goneQueues struct {
	mu    sync.Mutex
	until map[string]time.Time
}

const (
	goneQueuesSize = 200
	goneQueuesTTL  = time.Minute
)

func (g *goneQueues) isGone(queue string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.until[queue]
	if ok && now.After(t) {
		delete(g.until, queue)
		return false
	}
	return ok
}

func (g *goneQueues) add(queue string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil {
		g.until = make(map[string]time.Time)
	}
	if len(g.until) >= goneQueuesSize {
		for q, t := range g.until {
			if now.After(t) || len(g.until) >= goneQueuesSize {
				delete(g.until, q)
			}
		}
	}
	g.until[queue] = now.Add(goneQueuesTTL)
}
