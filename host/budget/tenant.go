package budget

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Config is what a tenant's guests may do each second. A rate of 0 means
// no limit (its burst is then ignored).
type Config struct {
	// LogRate is the bytes of guest log lines a second, over the log
	// import, stdout and stderr; LogBurst the bytes at once. A line that
	// does not fit is dropped whole.
	LogRate, LogBurst int64
	// HostCallRate is the host calls (call, cast, notify) a second;
	// HostCallBurst the calls at once.
	HostCallRate, HostCallBurst int64
	// NotificationRate is the notifications a second; NotificationBurst
	// the notifications at once.
	NotificationRate, NotificationBurst int64
	// MaxNotificationSize caps the CBOR payload of one notification, in
	// bytes; 0 means no cap.
	MaxNotificationSize int64
	// PublishRate is the bytes a second of what guests send to the broker
	// (the requests of their calls and casts, their notifications'
	// payloads); PublishBurst the bytes at once, and so the largest one.
	PublishRate, PublishBurst int64
	// LogLevel is the least severe guest line kept; LogMaxLevel the most
	// severe level a guest line is written at (a line above it is
	// written at it).
	LogLevel, LogMaxLevel slog.Level
}

// Defaults: a service that logs, calls and notifies as OpenStack
// services do never meets them; a guest that loops on them is held to a
// few MiB of log and a few hundred notifications per call. See
// docs/RATIONALE.md.
const (
	DefaultLogRate             = 256 << 10 // bytes a second
	DefaultLogBurst            = 1 << 20   // bytes
	DefaultHostCallRate        = 1000      // a second
	DefaultHostCallBurst       = 1000
	DefaultNotificationRate    = 100 // a second
	DefaultNotificationBurst   = 200
	DefaultMaxNotificationSize = 256 << 10 // bytes
	DefaultPublishRate         = 16 << 20  // bytes a second
	DefaultPublishBurst        = 64 << 20  // bytes
	DefaultLogLevel            = slog.LevelDebug
	DefaultLogMaxLevel         = slog.LevelError
)

// Default returns the default budgets.
func Default() Config {
	return Config{
		LogRate: DefaultLogRate, LogBurst: DefaultLogBurst,
		HostCallRate: DefaultHostCallRate, HostCallBurst: DefaultHostCallBurst,
		NotificationRate: DefaultNotificationRate, NotificationBurst: DefaultNotificationBurst,
		MaxNotificationSize: DefaultMaxNotificationSize,
		PublishRate:         DefaultPublishRate, PublishBurst: DefaultPublishBurst,
		LogLevel: DefaultLogLevel, LogMaxLevel: DefaultLogMaxLevel,
	}
}

// Stream is where a guest log line comes from.
type Stream uint8

// Streams.
const (
	StreamLog    Stream = iota // the wasmrpc.log import
	StreamStdout               // WASI fd 1
	StreamStderr               // WASI fd 2
	numStreams
)

var streamNames = [numStreams]string{"log", "stdout", "stderr"}

// String returns the stream's name, as in the stream attribute of a
// guest's log records: log, stdout or stderr.
func (s Stream) String() string {
	if s < numStreams {
		return streamNames[s]
	}
	return fmt.Sprintf("Stream(%d)", uint8(s))
}

// Drop is why a guest log line was dropped.
type Drop uint8

// Reasons to drop a line.
const (
	DropRate  Drop = iota // over the tenant's log budget
	DropLevel             // below the tenant's guest_log_level
	numDrops
)

var dropNames = [numDrops]string{"rate", "level"}

func (r Drop) String() string {
	if r < numDrops {
		return dropNames[r]
	}
	return fmt.Sprintf("Drop(%d)", uint8(r))
}

// Refusal is why a host call was refused.
type Refusal uint8

// Reasons to refuse a host call.
const (
	RefuseHostCallRate     Refusal = iota // over the tenant's host call budget
	RefuseNotificationRate                // over the tenant's notification budget
	RefuseNotificationSize                // payload over max_notification_size
	RefusePublishRate                     // over the tenant's publish budget
	RefusePublishSize                     // larger than the tenant's publish burst
	numRefusals
)

var refusalNames = [numRefusals]string{"host_call_rate", "notification_rate", "notification_size", "publish_rate", "publish_size"}

func (r Refusal) String() string {
	if r < numRefusals {
		return refusalNames[r]
	}
	return fmt.Sprintf("Refusal(%d)", uint8(r))
}

// Counts are what a tenant's budgets dropped and refused since it was
// made.
type Counts struct {
	// DroppedBytes and DroppedLines are the guest log lines dropped, by
	// stream and reason.
	DroppedBytes, DroppedLines [numStreams][numDrops]uint64
	// Refused are the host calls refused, by reason.
	Refused [numRefusals]uint64
}

// Streams, Drops and Refusals list the values of each, for iterating
// over Counts.
var (
	Streams  = []Stream{StreamLog, StreamStdout, StreamStderr}
	Drops    = []Drop{DropRate, DropLevel}
	Refusals = []Refusal{RefuseHostCallRate, RefuseNotificationRate, RefuseNotificationSize, RefusePublishRate, RefusePublishSize}
)

// Tenant is the budgets of one tenant, shared by all its instances. Its
// methods are safe for concurrent use; a nil *Tenant has no limits.
type Tenant struct {
	name   string
	limits atomic.Pointer[limits]

	droppedBytes, droppedLines [numStreams][numDrops]atomic.Uint64
	refused                    [numRefusals]atomic.Uint64
}

// limits are the buckets of one Config.
type limits struct {
	cfg                                    Config
	log, hostCalls, notifications, publish *Bucket
}

// New returns the budgets of the tenant named name (for messages), full.
func New(name string, cfg Config) *Tenant {
	t := &Tenant{name: name}
	t.Set(cfg)
	return t
}

// Set makes cfg the tenant's budgets, full; the counts go on.
func (t *Tenant) Set(cfg Config) {
	t.limits.Store(&limits{
		cfg:           cfg,
		log:           NewBucket(float64(cfg.LogRate), float64(cfg.LogBurst)),
		hostCalls:     NewBucket(float64(cfg.HostCallRate), float64(cfg.HostCallBurst)),
		notifications: NewBucket(float64(cfg.NotificationRate), float64(cfg.NotificationBurst)),
		publish:       NewBucket(float64(cfg.PublishRate), float64(cfg.PublishBurst)),
	})
}

// Name returns the tenant's name.
func (t *Tenant) Name() string { return t.name }

// Config returns the budgets in force.
func (t *Tenant) Config() Config { return t.limits.Load().cfg }

// Level returns the level a guest line of level l from stream is
// written at, capped at the tenant's LogMaxLevel, or false when it is
// below the tenant's LogLevel: it is then dropped, and counted, n bytes.
func (t *Tenant) Level(s Stream, l slog.Level, n int) (slog.Level, bool) {
	if t == nil {
		return l, true
	}
	c := &t.limits.Load().cfg
	if l < c.LogLevel {
		t.drop(s, DropLevel, n)
		return l, false
	}
	return min(l, c.LogMaxLevel), true
}

// TakeLog takes n bytes of log budget for a line of stream, and reports
// whether the line may be written; a line refused is counted dropped.
func (t *Tenant) TakeLog(s Stream, n int) bool {
	if t == nil || t.limits.Load().log.Take(n) {
		return true
	}
	t.drop(s, DropRate, n)
	return false
}

func (t *Tenant) drop(s Stream, r Drop, n int) {
	t.droppedBytes[s][r].Add(uint64(n))
	t.droppedLines[s][r].Add(1)
}

// HostCall takes one host call of budget, or returns the exception the
// guest gets.
func (t *Tenant) HostCall() error {
	if t == nil {
		return nil
	}
	l := t.limits.Load()
	if l.hostCalls.Take(1) {
		return nil
	}
	return t.refuse(RefuseHostCallRate, fmt.Sprintf("%s has made more host calls than its budget of %d a second (burst %d); this one is refused",
		t.who(), l.cfg.HostCallRate, l.cfg.HostCallBurst))
}

// Notification takes one notification of budget for a payload of size
// bytes, or returns the exception the guest gets.
func (t *Tenant) Notification(size int) error {
	if t == nil {
		return nil
	}
	l := t.limits.Load()
	if limit := l.cfg.MaxNotificationSize; limit > 0 && int64(size) > limit {
		t.refused[RefuseNotificationSize].Add(1)
		return &abi.Error{Class: "ValueError", Module: "builtins",
			Message: fmt.Sprintf("notification payload of %d bytes exceeds %s max_notification_size of %d bytes", size, t.whose(), limit)}
	}
	if l.notifications.Take(1) {
		return nil
	}
	return t.refuse(RefuseNotificationRate, fmt.Sprintf("%s has emitted more notifications than its budget of %d a second (burst %d); this one is refused",
		t.who(), l.cfg.NotificationRate, l.cfg.NotificationBurst))
}

// Publish takes size bytes of publish budget for a request or payload a
// guest sends to the broker, or returns the exception the guest gets.
func (t *Tenant) Publish(size int) error {
	if t == nil {
		return nil
	}
	l := t.limits.Load()
	if l.publish.Take(size) {
		return nil
	}
	if int64(size) > l.cfg.PublishBurst {
		t.refused[RefusePublishSize].Add(1)
		return &abi.Error{Class: "ValueError", Module: "builtins",
			Message: fmt.Sprintf("a message of %d bytes exceeds %s publish_burst of %d bytes", size, t.whose(), l.cfg.PublishBurst)}
	}
	return t.refuse(RefusePublishRate, fmt.Sprintf("%s has sent the broker more than its budget of %d bytes a second (burst %d); this message of %d bytes is refused",
		t.who(), l.cfg.PublishRate, l.cfg.PublishBurst, size))
}

// ErrorClass is the exception class of a host call refused for a rate:
// the guest may retry later.
const ErrorClass = "RateLimitExceeded"

// ErrorModule is the module of ErrorClass.
const ErrorModule = "wasmrpcd"

func (t *Tenant) refuse(r Refusal, msg string) error {
	t.refused[r].Add(1)
	return &abi.Error{Class: ErrorClass, Module: ErrorModule, Message: msg}
}

func (t *Tenant) who() string {
	if t.name == "" {
		return "this module"
	}
	return "tenant " + t.name
}

func (t *Tenant) whose() string {
	if t.name == "" {
		return "the module's"
	}
	return "tenant " + t.name + "'s"
}

// Counts returns what the tenant's budgets dropped and refused so far.
func (t *Tenant) Counts() Counts {
	var c Counts
	for s := range numStreams {
		for r := range numDrops {
			c.DroppedBytes[s][r] = t.droppedBytes[s][r].Load()
			c.DroppedLines[s][r] = t.droppedLines[s][r].Load()
		}
	}
	for r := range numRefusals {
		c.Refused[r] = t.refused[r].Load()
	}
	return c
}
