package budget

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

func TestTenantLevel(t *testing.T) {
	cfg := Default()
	cfg.LogLevel, cfg.LogMaxLevel = slog.LevelInfo, slog.LevelWarn
	tn := New("acme", cfg)
	for _, tc := range []struct {
		in   slog.Level
		want slog.Level
		kept bool
	}{
		{slog.LevelDebug, slog.LevelDebug, false},
		{slog.LevelInfo, slog.LevelInfo, true},
		{slog.LevelWarn, slog.LevelWarn, true},
		{slog.LevelError, slog.LevelWarn, true},
		{slog.LevelError + 4, slog.LevelWarn, true},
	} {
		got, kept := tn.Level(StreamLog, tc.in, 10)
		if kept != tc.kept || (kept && got != tc.want) {
			t.Errorf("Level(%v) = %v, %v; want %v, %v", tc.in, got, kept, tc.want, tc.kept)
		}
	}
	c := tn.Counts()
	if c.DroppedLines[StreamLog][DropLevel] != 1 || c.DroppedBytes[StreamLog][DropLevel] != 10 {
		t.Errorf("counts %+v; want one line of 10 bytes dropped for its level", c)
	}
}

func TestTenantTakeLog(t *testing.T) {
	cfg := Config{LogRate: 1, LogBurst: 100}
	tn := New("acme", cfg)
	for i, tc := range []struct {
		s    Stream
		n    int
		want bool
	}{
		{StreamStdout, 60, true},
		{StreamLog, 60, false}, // one budget for every stream
		{StreamStderr, 40, true},
		{StreamStderr, 1, false},
		{StreamStdout, 7, false},
	} {
		if got := tn.TakeLog(tc.s, tc.n); got != tc.want {
			t.Fatalf("take %d: TakeLog(%v, %d) = %v, want %v", i, tc.s, tc.n, got, tc.want)
		}
	}
	c := tn.Counts()
	want := [numStreams]uint64{60, 7, 1}
	for _, s := range Streams {
		if c.DroppedBytes[s][DropRate] != want[s] || c.DroppedLines[s][DropRate] != min(want[s], 1) {
			t.Errorf("%v: dropped %d bytes, %d lines; want %d bytes, one line", s, c.DroppedBytes[s][DropRate], c.DroppedLines[s][DropRate], want[s])
		}
	}
}

func TestTenantRefusals(t *testing.T) {
	tn := New("acme", Config{HostCallRate: 1, HostCallBurst: 2, NotificationRate: 1, NotificationBurst: 1, MaxNotificationSize: 100,
		PublishRate: 1, PublishBurst: 1000})
	check := func(err error, class, msg string) {
		t.Helper()
		if class == "" {
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			return
		}
		var e *abi.Error
		if !errors.As(err, &e) || e.Class != class || !strings.Contains(e.Message, msg) {
			t.Fatalf("error %#v; want class %s saying %q", err, class, msg)
		}
	}
	check(tn.HostCall(), "", "")
	check(tn.HostCall(), "", "")
	check(tn.HostCall(), ErrorClass, "tenant acme has made more host calls than its budget of 1 a second (burst 2)")
	check(tn.Notification(101), "ValueError", "notification payload of 101 bytes exceeds tenant acme's max_notification_size of 100 bytes")
	check(tn.Notification(100), "", "")
	check(tn.Notification(1), ErrorClass, "tenant acme has emitted more notifications than its budget of 1 a second (burst 1)")
	check(tn.Publish(1001), "ValueError", "a message of 1001 bytes exceeds tenant acme's publish_burst of 1000 bytes")
	check(tn.Publish(600), "", "")
	check(tn.Publish(400), "", "")
	check(tn.Publish(100), ErrorClass, "tenant acme has sent the broker more than its budget of 1 bytes a second (burst 1000); this message of 100 bytes is refused")
	c := tn.Counts()
	if c.Refused != [numRefusals]uint64{1, 1, 1, 1, 1} {
		t.Errorf("refused %v, want one of each", c.Refused)
	}

	tn.Set(Config{}) // no limits; the counts go on
	for range 100 {
		check(tn.HostCall(), "", "")
		check(tn.Notification(1<<30), "", "")
		check(tn.Publish(1<<30), "", "")
	}
	if tn.Counts().Refused != c.Refused {
		t.Error("Set lost the counts")
	}

	var none *Tenant
	check(none.HostCall(), "", "")
	check(none.Notification(1<<30), "", "")
	check(none.Publish(1<<30), "", "")
	if !none.TakeLog(StreamLog, 1<<30) {
		t.Error("a nil tenant dropped a line")
	}
	if l, ok := none.Level(StreamLog, slog.LevelError, 1); !ok || l != slog.LevelError {
		t.Error("a nil tenant changed a level")
	}
}

func TestNames(t *testing.T) {
	if StreamStderr.String() != "stderr" || DropLevel.String() != "level" || RefuseNotificationSize.String() != "notification_size" || RefusePublishSize.String() != "publish_size" {
		t.Error("names")
	}
	if New("", Config{HostCallRate: 1, HostCallBurst: 1}).HostCall() != nil {
		t.Fatal("first call refused")
	}
}

// BenchmarkTenantLog is a guest log line within budget: level, then
// bytes.
func BenchmarkTenantLog(b *testing.B) {
	cfg := Default()
	cfg.LogRate, cfg.LogBurst = 1<<40, 1<<40
	tn := New("acme", cfg)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := tn.Level(StreamLog, slog.LevelInfo, 100); !ok || !tn.TakeLog(StreamLog, 100) {
				b.Fatal("dropped")
			}
		}
	})
}
