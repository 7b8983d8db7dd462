package oslo

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeRequestTooDeepKeepsReplyQueue(t *testing.T) {
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	for _, tc := range []struct{ name, args string }{
		{"deep list", `{"value": ` + deep + `}`},
		{"deep with strings", `{"value": [[[` + strings.Repeat(`["]\\", {"k": "[{"}, `, 80) + `1` + strings.Repeat(`]`, 80) + `]]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := `{"method": "echo", "args": ` + tc.args + `, "_msg_id": "m1", "_reply_q": "reply_1", "_unique_id": "u1"}`
			r, err := DecodeRequest([]byte(msg))
			if !errors.Is(err, ErrTooDeep) || !errors.Is(err, ErrMessage) {
				t.Fatalf("err = %v, want ErrTooDeep and ErrMessage", err)
			}
			if r.MsgID != "m1" || r.ReplyQ != "reply_1" || r.UniqueID != "u1" || r.Method != "echo" {
				t.Fatalf("partial request %+v", r)
			}
		})
	}
}

func TestDecodeRequestMethod(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"method": "", "args": {}}`))
	if err != nil || r.Method != "" {
		t.Fatalf("empty method: %+v, %v (Python answers NoSuchMethod, so it must decode)", r, err)
	}
	if _, err := DecodeRequest([]byte(`{"args": {}, "_msg_id": "m", "_reply_q": "q"}`)); !errors.Is(err, ErrMessage) {
		t.Fatalf("no method: err = %v", err)
	}
}
