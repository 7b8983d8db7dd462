package tests

import (
	"fmt"
	"strings"
)

// The cases of the differential test. Each names the Python server's
// outcome (want) and requires wasmrpcd's to be the same, except where
// known states a difference by design.

// echoCases return every kind of JSON value through echo.
func echoCases() []diffCase {
	values := []struct{ name, json string }{
		{"zero", `0`},
		{"int", `42`},
		{"negative int", `-7`},
		{"int64 max", `9223372036854775807`},
		{"int64 min", `-9223372036854775808`},
		{"uint64 max", `18446744073709551615`},
		{"2^64", `18446744073709551616`},
		{"big int", `1180591620717411303424`},
		{"negative big int", `-1180591620717411303424`},
		{"huge int", `123456789012345678901234567890123456789012345678901234567890`},
		{"float", `3.14`},
		{"whole float", `1.0`},
		{"negative zero", `-0.0`},
		{"large float", `1e+300`},
		{"max float", `1.7976931348623157e+308`},
		{"smallest float", `5e-324`},
		{"NaN", `NaN`},
		{"Infinity", `Infinity`},
		{"-Infinity", `-Infinity`},
		{"true", `true`},
		{"false", `false`},
		{"null", `null`},
		{"empty string", `""`},
		{"ascii", `"hello"`},
		{"latin-1", `"h\u00e9llo w\u00f6rld"`},
		{"cjk", `"\u65e5\u672c\u8a9e"`},
		{"astral", `"\ud83d\ude00 \ud834\udd1e"`},
		{"control chars", `"\u0000\t\n\r\u001f\u007f"`},
		{"quotes and backslashes", `"\"\\/"`},
		{"empty list", `[]`},
		{"empty object", `{}`},
		{"list", `[1, "a", null, true, 2.5, [], {}]`},
		{"nested", `{"a": {"b": [{"c": []}, {"d": {"e": null}}]}}`},
		{"object", `{"z": 1, "a": 2, "m": [3], "\u00e9": 4, "": 5}`},
		{"nested to the limit", nested(maxEchoDepth)},
		{"long string", `"` + strings.Repeat("0123456789abcdef", 64<<10) + `"`},
		{"long list", "[" + strings.TrimSuffix(strings.Repeat("1, ", 10000), ", ") + "]"},
	}
	cases := make([]diffCase, 0, len(values))
	for _, v := range values {
		cases = append(cases, diffCase{
			name: "echo " + v.name,
			req:  Request{Method: "echo", Args: `{"value": ` + v.json + `}`},
			want: "ok " + v.json,
		})
	}
	// A lone surrogate, which a Python str holds but UTF-8 cannot,
	// becomes U+FFFD on its way to the module (docs/VALUES.md).
	lone := diffCase{name: "echo lone surrogate", req: Request{Method: "echo", Args: `{"value": "a\ud800b"}`}, want: `ok "a\ud800b"`}
	lone.known = func(py, wasm Outcome) error {
		if !wasm.resultIs(`"a\ufffdb"`) {
			return fmt.Errorf("wasmrpcd: %v, want \"a\\ufffdb\"", wasm)
		}
		return nil
	}
	// Values nest at most abi.MaxNesting (64) levels in wasmrpcd
	// (docs/VALUES.md), about a thousand in Python. Deeper arguments are
	// refused, but the caller must hear of it: a failure, not a timeout.
	deep := diffCase{name: "echo nested beyond the limit", req: Request{Method: "echo", Args: `{"value": ` + nested(100) + `}`, Timeout: 5}, want: "ok " + nested(100)}
	deep.known = func(py, wasm Outcome) error {
		if wasm.OK || wasm.isTimeout() {
			return fmt.Errorf("wasmrpcd: %v, want a failure saying the value nests too deep", wasm)
		}
		return nil
	}
	// A Python client sees the order of a dict's keys: the module must
	// return them in the order it got them, as Python does.
	order := diffCase{name: "echo object key order", req: Request{Method: "echo", Args: `{"value": {"z": 1, "a": 2, "m": {"y": [], "b": null}}}`},
		want: `ok {"z": 1, "a": 2, "m": {"y": [], "b": null}}`}
	return append(cases, lone, deep, order)
}

// maxEchoDepth is the deepest list echo takes in wasmrpcd: the arguments
// object is the first of abi.MaxNesting (64) levels.
const maxEchoDepth = 63

// nested returns a list nested depth levels deep around 1.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// addCases: numbers add, strings and lists concatenate, mismatched types
// raise TypeError.
func addCases() []diffCase {
	add := func(name, a, b, want string) diffCase {
		return diffCase{name: "add " + name, req: Request{Method: "add", Args: fmt.Sprintf(`{"a": %s, "b": %s}`, a, b)}, want: want}
	}
	cases := []diffCase{
		add("ints", `1`, `2`, "ok 3"),
		add("negative ints", `-5`, `2`, "ok -3"),
		add("floats", `1.5`, `2.25`, "ok 3.75"),
		add("int and float", `1`, `2.5`, "ok 3.5"),
		add("float sum", `0.1`, `0.2`, "ok 0.30000000000000004"),
		add("floats to a whole float", `0.5`, `0.5`, "ok 1.0"),
		add("strings", `"ab"`, `"cd"`, `ok "abcd"`),
		add("unicode strings", `"\u00e9"`, `"\ud83d\ude00"`, `ok "\u00e9\ud83d\ude00"`),
		add("lists", `[1]`, `[2, "x"]`, `ok [1, 2, "x"]`),
		add("int and string", `1`, `"x"`, "error TypeError"),
		add("string and int", `"x"`, `1`, "error TypeError"),
		add("list and string", `[1]`, `"x"`, "error TypeError"),
		add("objects", `{"a": 1}`, `{"b": 2}`, "error TypeError"),
		add("null and int", `null`, `1`, "error TypeError"),
		add("bools", `true`, `true`, "ok 2"),
		add("bool and int", `true`, `41`, "ok 42"),
		add("bool and float", `false`, `0.5`, "ok 0.5"),
		add("NaN", `NaN`, `1`, "ok NaN"),
		add("infinities", `Infinity`, `-Infinity`, "ok NaN"),
		add("float overflow", `1.7976931348623157e+308`, `1.7976931348623157e+308`, "ok Infinity"),
	}
	// A sum of integers beyond 64 bits is a float in the module (its
	// numbers are 64-bit) and an exact int in Python.
	overflow := add("int64 overflow", `9223372036854775807`, `1`, "ok 9223372036854775808")
	overflow.known = func(py, wasm Outcome) error {
		if !wasm.resultIs("9.223372036854776e+18") {
			return fmt.Errorf("wasmrpcd: %v, want the float 9.223372036854776e+18", wasm)
		}
		return nil
	}
	// The same holds for integers beyond 64 bits, which the module gets
	// as big integers.
	big := add("big ints", `1180591620717411303424`, `1`, "ok 1180591620717411303425")
	big.known = func(py, wasm Outcome) error {
		if !wasm.resultIs("1.1805916207174113e+21") {
			return fmt.Errorf("wasmrpcd: %v, want the float 1.1805916207174113e+21", wasm)
		}
		return nil
	}
	return append(cases, overflow, big)
}

// contextCases read the request context.
func contextCases() []diffCase {
	ctx := `{"user": "alice", "roles": ["admin", "member"], "n": 7, "nested": {"a": [1, 2.5, null]}, "u": "\u00e9\ud83d\ude00"}`
	c := func(name, key, context, want string) diffCase {
		return diffCase{name: "context " + name, req: Request{Method: "context", Args: `{"key": ` + key + `}`, Context: context}, want: want}
	}
	cases := []diffCase{
		c("string", `"user"`, ctx, `ok "alice"`),
		c("list", `"roles"`, ctx, `ok ["admin", "member"]`),
		c("int", `"n"`, ctx, `ok 7`),
		c("nested", `"nested"`, ctx, `ok {"a": [1, 2.5, null]}`),
		c("unicode", `"u"`, ctx, `ok "\u00e9\ud83d\ude00"`),
		c("absent key", `"nobody"`, ctx, `ok null`),
		c("empty context", `"user"`, ``, `ok null`),
		c("key not a string", `1`, ctx, "error TypeError"),
		// What the RPC layer adds to the context a Python endpoint gets.
		c("msg_id", `"msg_id"`, ctx, `ok null`),
		c("reply_q", `"reply_q"`, ctx, `ok null`),
		c("client_timeout without call monitor", `"client_timeout"`, ctx, `ok null`),
	}
	cm := c("client_timeout with call monitor", `"client_timeout"`, ctx, `ok 5`)
	cm.req.CallMonitorTimeout = 5
	return append(cases, cm)
}

// failCases raise exceptions: built-in classes come back as themselves,
// others as RemoteError.
func failCases() []diffCase {
	f := func(kind, message, want string) diffCase {
		return diffCase{
			name: "fail " + kind,
			req:  Request{Method: "fail", Args: fmt.Sprintf(`{"kind": %q, "message": %s}`, kind, message)},
			want: want,
		}
	}
	cases := []diffCase{}
	for _, kind := range []string{"ValueError", "KeyError", "TypeError", "RuntimeError", "IndexError",
		"LookupError", "AttributeError", "NotImplementedError", "ZeroDivisionError", "OverflowError",
		"Exception", "TimeoutError", "MemoryError", "PermissionError", "FileNotFoundError", "UnicodeError"} {
		cases = append(cases, f(kind, `"something broke"`, "error "+kind))
	}
	cases = append(cases,
		f("Boom", `"custom class"`, "remote Boom"),
		f("MessagingTimeout", `"not oslo's"`, "remote MessagingTimeout"),
		f("NoSuchMethod", `"not oslo's"`, "remote NoSuchMethod"),
		// Not Exceptions in Python: the client cannot rebuild them.
		f("SystemExit", `"exit"`, "remote SystemExit"),
		f("KeyboardInterrupt", `"interrupt"`, "remote KeyboardInterrupt"),
		f("GeneratorExit", `"gen"`, "remote GeneratorExit"),
		// A built-in name that is not an exception class.
		f("print", `"not a class"`, "remote print"),
		f("Warning", `"a warning"`, "error Warning"),
	)
	multi := f("ValueError", `"first line\nsecond line"`, "error ValueError")
	multi.name = "fail multi-line message"
	uni := f("Boom", `"\u00e9t\u00e9 \ud83d\ude00"`, "remote Boom")
	uni.name = "fail unicode message"
	empty := f("RuntimeError", `""`, "error RuntimeError")
	empty.name = "fail empty message"
	noKind := f("", `"x"`, "error ValueError")
	noKind.name = "fail empty kind"
	return append(cases, multi, uni, empty, noKind,
		diffCase{name: "fail kind not a string", req: Request{Method: "fail", Args: `{"kind": 1, "message": "x"}`}, want: "error TypeError"},
		diffCase{name: "fail message not a string", req: Request{Method: "fail", Args: `{"kind": "ValueError", "message": null}`}, want: "error TypeError"},
		diffCase{name: "read_file", req: Request{Method: "read_file", Args: `{"path": "/etc/hostname"}`}, want: "error OSError"},
	)
}

// dispatchCases: unknown and private methods, wrong arguments, versions
// and namespaces.
func dispatchCases() []diffCase {
	call := func(name, method, args, want string) diffCase {
		return diffCase{name: name, req: Request{Method: method, Args: args}, want: want}
	}
	version := func(target, v, want string) diffCase {
		return diffCase{name: "version " + v + " on " + map[string]string{"": "1.5", "v16": "1.6"}[target],
			target: target, req: Request{Method: "echo", Args: `{"value": "v"}`, Version: v}, want: want}
	}
	namespace := func(ns, want string) diffCase {
		return diffCase{name: "namespace " + ns, req: Request{Method: "echo", Args: `{"value": 1}`, Namespace: ns}, want: want}
	}
	return []diffCase{
		call("unknown method", "nope", `{}`, "remote NoSuchMethod"),
		call("private method", "_private", `{}`, "remote NoSuchMethod"),
		call("dunder method", "__init__", `{}`, "remote NoSuchMethod"),
		call("method with a dot", "echo.x", `{"value": 1}`, "remote NoSuchMethod"),
		call("method case", "Echo", `{"value": 1}`, "remote NoSuchMethod"),
		call("empty method name", "", `{}`, "remote NoSuchMethod"),
		call("missing argument", "echo", `{}`, "error TypeError"),
		call("missing arguments", "add", `{}`, "error TypeError"),
		call("one missing argument", "add", `{"a": 1}`, "error TypeError"),
		call("unexpected argument", "echo", `{"value": 1, "extra": 2}`, "error TypeError"),
		call("unexpected argument only", "echo", `{"extra": 2}`, "error TypeError"),
		call("unexpected arguments, the first reported", "echo", `{"value": 1, "zz": 2, "bb": 3}`, "error TypeError"),
		call("unexpected argument before self", "echo", `{"zz": 1, "self": 2, "value": 3}`, "error TypeError"),
		call("self before an unexpected argument", "echo", `{"self": 1, "zz": 2, "value": 3}`, "error TypeError"),
		call("argument of the wrong type", "spin", `{"ms": "10"}`, "error TypeError"),
		call("bool for a number", "spin", `{"ms": true}`, "error TypeError"),
		call("float for an int", "alloc", `{"mb": 1.0}`, "error TypeError"),
		call("negative alloc", "alloc", `{"mb": -1}`, "error ValueError"),
		call("alloc", "alloc", `{"mb": 1}`, "ok 1"),
		allocBeyondLimit(),
		call("spin", "spin", `{"ms": 5}`, "ok 5"),
		call("spin float", "spin", `{"ms": 1.5}`, "ok 1.5"),
		version("", "1.0", `ok "v"`),
		version("", "1.4", `ok "v"`),
		version("", "1.5", `ok "v"`),
		version("", "1.5.0", `ok "v"`),
		version("", "1.5.1", "remote UnsupportedVersion"),
		version("", "1.6", "remote UnsupportedVersion"),
		version("", "2.0", "remote UnsupportedVersion"),
		version("", "0.9", "remote UnsupportedVersion"),
		version("", "1", "error IndexError"),
		version("", "1.x", "error ValueError"),
		version("", "01.05", `ok "v"`),
		version("v16", "1.5", `ok "v"`),
		version("v16", "1.6", `ok "v"`),
		version("v16", "1.7", "remote UnsupportedVersion"),
		namespace("other", "remote UnsupportedVersion"),
		namespace("testkit", "remote UnsupportedVersion"),
	}
}

// callCases are the quick requests of the differential test.
func callCases() []diffCase {
	var cases []diffCase
	for _, group := range [][]diffCase{echoCases(), addCases(), contextCases(), failCases(), dispatchCases()} {
		cases = append(cases, group...)
	}
	cases = append(cases,
		diffCase{name: "server-targeted call", req: Request{Method: "echo", Args: `{"value": "s1"}`, Server: "s1"}, want: `ok "s1"`},
		diffCase{name: "cast", req: Request{Op: "cast", Method: "echo", Args: `{"value": 1}`}, want: "ok null"},
		diffCase{name: "cast of a failing method", req: Request{Op: "cast", Method: "fail", Args: `{"kind": "ValueError", "message": "cast"}`}, want: "ok null"},
		diffCase{name: "cast of an unknown method", req: Request{Op: "cast", Method: "nope"}, want: "ok null"},
		diffCase{name: "fanout cast", req: Request{Op: "cast", Method: "echo", Args: `{"value": 1}`, Fanout: true}, want: "ok null"},
	)
	return cases
}

// allocBeyondLimit allocates more than the tenant's memory limit (64 MiB):
// the wasm instance traps and the caller gets the host's MemoryError,
// where Python, without such a limit, allocates.
func allocBeyondLimit() diffCase {
	c := diffCase{name: "alloc beyond the memory limit", req: Request{Method: "alloc", Args: `{"mb": 80}`}, want: "ok 80"}
	c.known = func(py, wasm Outcome) error {
		return wasm.check("error MemoryError")
	}
	return c
}

// timeoutCases take seconds: client timeouts and call-monitor heartbeats.
// oslo's client gives up at its timeout whatever the heartbeats say; with
// a call monitor timeout it also gives up when no heartbeat comes for that
// long, and a server sends one every half of it (in whole seconds, so none
// for less than 2 s).
func timeoutCases() []diffCase {
	return []diffCase{
		{name: "client timeout", req: Request{Method: "spin", Args: `{"ms": 3000}`, Timeout: 1}, want: "error MessagingTimeout"},
		{name: "call monitor heartbeats keep a long call alive", req: Request{Method: "spin", Args: `{"ms": 6000}`, Timeout: 60, CallMonitorTimeout: 2}, want: "ok 6000"},
		{name: "no call monitor: a long call times out", req: Request{Method: "spin", Args: `{"ms": 6000}`, Timeout: 3}, want: "error MessagingTimeout"},
		{name: "call monitor too short for heartbeats", req: Request{Method: "spin", Args: `{"ms": 4000}`, Timeout: 60, CallMonitorTimeout: 1}, want: "error MessagingTimeout"},
		{name: "server that does not exist", req: Request{Method: "echo", Args: `{"value": 1}`, Server: "nobody", Timeout: 2}, want: "error MessagingTimeout"},
		{name: "version 1.6 to a 1.5-only topic does not wait", req: Request{Method: "spin", Args: `{"ms": 1}`, Version: "1.6", Timeout: 60, CallMonitorTimeout: 2}, want: "remote UnsupportedVersion"},
	}
}
