package oslo

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// typicalContext is the context a RequestContext packs (see the golden
// request_call_nested), the usual context of an OpenStack call.
const typicalContext = `{"user": "user-1", "project_id": "project-1", "system_scope": null, "project": "project-1", "domain": "default", "user_domain": null, "project_domain": null, "is_admin": true, "read_only": false, "show_deleted": false, "auth_token": null, "request_id": "req-0a1b2c3d-0000-4000-8000-000000000001", "global_request_id": null, "resource_uuid": null, "roles": ["admin", "member"], "user_identity": "user-1 project-1 default - -", "is_admin_project": true}`

// value100 is a 100-byte argument.
var value100 = strings.Repeat("v", 100)

// typicalRequest is a call of echo(value=<100 bytes>) with that context.
func typicalRequest(b *testing.B) []byte {
	b.Helper()
	ctx, err := JSONToCBOR(nil, []byte(typicalContext))
	if err != nil {
		b.Fatal(err)
	}
	args, err := cborcodec.Marshal(map[string]any{"value": value100})
	if err != nil {
		b.Fatal(err)
	}
	body, err := EncodeRequest(nil, &Request{
		Method: "echo", Version: "1.5", Args: args, Context: ctx,
		MsgID: NewID(), ReplyQ: "reply_" + NewID(), UniqueID: NewID(),
		CallMonitorTimeout: 30 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := typicalRequest(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRequestStdlib is the same work done the obvious way, for
// comparison: encoding/json into Go values, then cborcodec.Marshal (and no
// NaN support).
func BenchmarkDecodeRequestStdlib(b *testing.B) {
	body := typicalRequest(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var env map[string]string
		if err := json.Unmarshal(body, &env); err != nil {
			b.Fatal(err)
		}
		var msg map[string]any
		if err := json.Unmarshal([]byte(env["oslo.message"]), &msg); err != nil {
			b.Fatal(err)
		}
		ctx := map[string]any{}
		for k, v := range msg {
			if strings.HasPrefix(k, "_context_") {
				ctx[k[9:]] = v
			}
		}
		ctx["client_timeout"] = msg["_timeout"]
		if _, err := cborcodec.Marshal(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := cborcodec.Marshal(msg["args"]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	r, err := DecodeRequest(typicalRequest(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		if out, err = EncodeRequest(out[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkEncodeReply(b *testing.B) {
	result, err := cborcodec.Marshal(value100)
	if err != nil {
		b.Fatal(err)
	}
	r := ResultReply(NewID(), NewID(), result)
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		if out, err = EncodeReply(out[:0], r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkEncodeFailureReply(b *testing.B) {
	r := FailureReply(NewID(), NewID(), NoSuchMethod("frobnicate"))
	b.ReportAllocs()
	var out []byte
	var err error
	for b.Loop() {
		if out, err = EncodeReply(out[:0], r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkDecodeReply(b *testing.B) {
	result, err := cborcodec.Marshal(map[string]any{"value": value100})
	if err != nil {
		b.Fatal(err)
	}
	body, err := EncodeReply(nil, ResultReply(NewID(), NewID(), result))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeReply(body); err != nil {
			b.Fatal(err)
		}
	}
}

// nestedValue is a mixed JSON value without NaN, which encoding/json
// also reads.
const nestedValue = `{"name": "vol-1", "size": 20, "ratio": 0.75, "tags": ["a", "b", "c"], "attachments": [{"server": "srv-1", "device": "/dev/vdb", "mode": "rw"}], "metadata": {"k1": "v1", "k2": "v2", "empty": null, "flag": true}, "description": "` + "\\u00e9" + `lorem ipsum dolor sit amet"}`

func BenchmarkJSONToCBOR(b *testing.B) {
	in := []byte(nestedValue)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var out []byte
	var err error
	for b.Loop() {
		if out, err = JSONToCBOR(out[:0], in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONToCBORStdlib: encoding/json into Go values, then
// cborcodec.Marshal.
func BenchmarkJSONToCBORStdlib(b *testing.B) {
	in := []byte(nestedValue)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(in, &v); err != nil {
			b.Fatal(err)
		}
		if _, err := cborcodec.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCBORToJSON(b *testing.B) {
	in, err := JSONToCBOR(nil, []byte(nestedValue))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		if out, err = CBORToJSON(out[:0], in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCBORToJSONStdlib: cborcodec.Unmarshal into Go values, then
// encoding/json (which writes neither Python's separators nor its
// escapes).
func BenchmarkCBORToJSONStdlib(b *testing.B) {
	in, err := JSONToCBOR(nil, []byte(nestedValue))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := cborcodec.Unmarshal(in, &v); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
