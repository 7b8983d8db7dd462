package oslo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/x448/float16"
)

// DefaultVersion is the version oslo.messaging's dispatcher assumes for a
// request that names none.
const DefaultVersion = "1.0"

// Request is an RPC request, a call or a cast, as oslo.messaging's
// RPCClient sends it: {"method", "args", "namespace", "version"} plus the
// keys the amqp driver adds.
type Request struct {
	// Method is the endpoint method to run.
	Method string
	// Namespace is the target namespace; "" for none (absent or null).
	Namespace string
	// Version is the requested API version, "major.minor"; "" when the
	// client named none (the dispatcher then takes [DefaultVersion]).
	Version string
	// Args is the CBOR map of keyword arguments; nil encodes as {}.
	Args []byte
	// Context is the CBOR map of the request context. From DecodeRequest
	// it is what a Python endpoint receives as ctxt: the "_context_*"
	// members without "msg_id" and "reply_q", with "client_timeout" set
	// to the call monitor timeout (null when none). EncodeRequest packs
	// it as it is.
	Context []byte
	// MsgID identifies a call; empty for a cast. The reply carries it.
	MsgID string
	// ReplyQ is the queue the caller reads replies from (calls only).
	ReplyQ string
	// CallMonitorTimeout is the "_timeout" of a call: the caller's
	// call_monitor_timeout, which asks the server for heartbeats; 0 for
	// none.
	CallMonitorTimeout time.Duration
	// UniqueID identifies the message for duplicate detection
	// ("_unique_id").
	UniqueID string
	// Hops is how many requests the request descends from: a request a
	// wasmrpcd guest sends while it serves a request of Hops h has Hops
	// h+1 ("_wasmrpcd_hops", written only when not 0; oslo.messaging's
	// dispatcher reads the members it knows and ignores this one, and a
	// Python peer does not pass it on). 0 for a request from anyone else.
	Hops int
}

// keyHops carries Request.Hops.
const keyHops = "_wasmrpcd_hops"

// MaxHops is the largest Hops DecodeRequest reads; more is read as
// MaxHops.
const MaxHops = 1 << 16

// IsCall reports whether the request expects a reply.
func (r *Request) IsCall() bool { return r.MsgID != "" }

// HeartbeatInterval is how often a Python server sends heartbeat replies
// while the method runs: half of the whole seconds of the call monitor
// timeout, or 0 (no heartbeats) when that is under one second.
func (r *Request) HeartbeatInterval() time.Duration {
	whole := r.CallMonitorTimeout.Truncate(time.Second)
	if whole/2 < time.Second {
		return 0
	}
	return whole / 2
}

// DecodeRequest decodes an RPC request from an AMQP message body, with or
// without the 2.0 envelope, as an oslo.messaging RPC server reads it.
//
// When the body is JSON but not a valid request (no method, arguments
// that are not an object, a non-string namespace), the returned Request
// still carries MsgID, ReplyQ, UniqueID and whatever else was read, so
// that the server can reply with a failure, as a Python server does; the
// error wraps [ErrMessage]. Errors about the JSON itself wrap
// [ErrSyntax] or [ErrTooDeep].
func DecodeRequest(body []byte) (Request, error) {
	p := getParser()
	defer putParser(p)
	var r Request
	var haveArgs, haveMethod bool
	var argsErr error // arguments too deep: the rest is read for the reply queue
	p.args = p.args[:0]
	_, pk, err := p.message(body, func(key []byte) error {
		switch string(key) {
		case "method":
			haveMethod = true
			return p.field("method", &r.Method)
		case "namespace":
			return p.field("namespace", &r.Namespace)
		case "version":
			return p.field("version", &r.Version)
		case keyHops:
			var err error
			r.Hops, err = p.hops()
			return err
		case "args":
			var err error
			haveArgs = true
			start := p.pos
			p.args, err = p.value(p.args[:0])
			if errors.Is(err, ErrTooDeep) {
				// oslo writes _msg_id and _reply_q after args: skip the
				// value so that the caller can still be told.
				p.pos = start
				if serr := p.skipDeep(); serr != nil {
					return err
				}
				argsErr, err = err, nil
				p.args = p.args[:0]
				return nil
			}
			if err == nil && p.args[0]&0xe0 != majorMap {
				err = fmt.Errorf("%w: args is not an object", ErrMessage)
			}
			return err
		default:
			return p.skip()
		}
	})
	r.MsgID, r.ReplyQ, r.UniqueID = pk.msgID, pk.replyQ, pk.uniqueID
	r.CallMonitorTimeout = secondsOf(pk.timeout)
	if err == nil && argsErr != nil {
		err = fmt.Errorf("%w: args: %w", ErrMessage, argsErr)
	}
	// "method": "" is a method no endpoint has (NoSuchMethod, as Python
	// answers); no method at all is a malformed request.
	if err == nil && !haveMethod {
		err = fmt.Errorf("%w: the request names no method", ErrMessage)
	}
	if err == nil && r.MsgID != "" && r.ReplyQ == "" {
		err = fmt.Errorf("%w: call %s has no reply queue", ErrMessage, r.MsgID)
	}
	if err != nil && isSyntax(err) {
		return r, err
	}
	if !haveArgs || len(p.args) == 0 || p.args[0]&0xe0 != majorMap {
		p.args = append(p.args[:0], majorMap) // {}
	}
	out := make([]byte, 0, p.contextLen(pk.timeout)+len(p.args))
	out = p.appendContext(out, pk.timeout)
	n := len(out)
	out = append(out, p.args...)
	r.Context, r.Args = out[:n:n], out[n:]
	return r, err
}

// field reads a string-or-null member into dst; anything else is an
// error wrapping ErrMessage, after the value is consumed.
func (p *parser) field(name string, dst *string) error {
	s, ok, err := p.optString()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s is not a string", ErrMessage, name)
	}
	*dst = s
	return nil
}

// hops reads the value of the envelope's hop count member (a member of
// the envelope, one level down) as hopsOf does.
func (p *parser) hops() (int, error) {
	p.depth = 1
	v, err := p.value(nil)
	p.depth = 0
	return hopsOf(v), err
}

// hopsOf reads a CBOR unsigned integer as a hop count, at most MaxHops;
// anything else is 0, as is a request from a peer that does not count.
func hopsOf(b []byte) int {
	if len(b) == 0 || b[0]&0xe0 != majorUint {
		return 0
	}
	w := writer{src: b}
	_, _, n, _, err := w.head()
	if err != nil {
		return 0
	}
	return int(min(n, MaxHops))
}

// secondsOf reads a CBOR number of seconds as a duration: 0 for anything
// else, negative or not finite.
func secondsOf(b []byte) time.Duration {
	if len(b) == 0 {
		return 0
	}
	var f float64
	switch {
	case b[0]&0xe0 == majorUint:
		w := writer{src: b}
		_, _, n, _, err := w.head()
		if err != nil {
			return 0
		}
		f = float64(n)
	case b[0] == cborFloat16 && len(b) == 3:
		f = float64(float16.Frombits(binary.BigEndian.Uint16(b[1:])).Float32())
	case b[0] == cborFloat32 && len(b) == 5:
		f = float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:])))
	case b[0] == cborFloat64 && len(b) == 9:
		f = math.Float64frombits(binary.BigEndian.Uint64(b[1:]))
	default:
		return 0
	}
	if !(f > 0) || math.IsInf(f, 0) {
		return 0
	}
	if f >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(f * float64(time.Second))
}

// EncodeRequest appends the AMQP body of r, in the 2.0 envelope, to dst,
// byte for byte as oslo.messaging 14's RPCClient and amqp driver write it:
// method, args, namespace and version when set, then for a call
// "_msg_id", "_reply_q" and "_timeout" (null without a call monitor
// timeout), "_unique_id", and the context as "_context_*" members.
//
// A call needs MsgID and ReplyQ, every request a UniqueID ([NewID] makes
// both IDs as oslo does). Args and Context must be CBOR maps (or nil) with
// text keys.
func EncodeRequest(dst []byte, r *Request) ([]byte, error) {
	switch {
	case r.Method == "":
		return dst, fmt.Errorf("%w: the request names no method", ErrMessage)
	case r.UniqueID == "":
		return dst, fmt.Errorf("%w: the request has no unique ID", ErrMessage)
	case r.MsgID != "" && r.ReplyQ == "":
		return dst, fmt.Errorf("%w: call %s has no reply queue", ErrMessage, r.MsgID)
	}
	p := getParser()
	defer putParser(p)
	m := append(p.msg[:0], `{"method": `...)
	m = appendPyString(m, []byte(r.Method))
	m = append(m, `, "args": `...)
	var err error
	if m, err = appendArgs(m, r.Args); err != nil {
		return dst, err
	}
	if r.Namespace != "" {
		m = append(m, `, "namespace": `...)
		m = appendPyString(m, []byte(r.Namespace))
	}
	if r.Version != "" {
		m = append(m, `, "version": `...)
		m = appendPyString(m, []byte(r.Version))
	}
	if r.MsgID != "" {
		m = append(m, `, "_msg_id": `...)
		m = appendPyString(m, []byte(r.MsgID))
		m = append(m, `, "_reply_q": `...)
		m = appendPyString(m, []byte(r.ReplyQ))
		m = append(m, `, "_timeout": `...)
		m = appendSeconds(m, r.CallMonitorTimeout)
	}
	m = append(m, `, "_unique_id": `...)
	m = appendPyString(m, []byte(r.UniqueID))
	if r.Hops > 0 {
		m = fmt.Appendf(append(m, `, "`+keyHops+`": `...), "%d", min(r.Hops, MaxHops))
	}
	if m, err = appendPackedContext(m, r.Context); err != nil {
		return dst, err
	}
	m = append(m, '}')
	p.msg = m
	return appendEnvelope(dst, m), nil
}

// appendArgs appends the CBOR map args as JSON; nil is {}.
func appendArgs(dst, args []byte) ([]byte, error) {
	if len(args) == 0 {
		return append(dst, '{', '}'), nil
	}
	if args[0]&0xe0 != majorMap {
		return dst, fmt.Errorf("%w: args is not a map", ErrCBOR)
	}
	dst, err := CBORToJSON(dst, args)
	if err != nil {
		return dst, fmt.Errorf("args: %w", err)
	}
	return dst, nil
}

// appendSeconds writes a duration in seconds as a Python client would
// have given it: an integer when whole, a float otherwise, null for 0.
func appendSeconds(dst []byte, d time.Duration) []byte {
	switch {
	case d <= 0:
		return append(dst, "null"...)
	case d%time.Second == 0:
		return fmt.Appendf(dst, "%d", d/time.Second)
	default:
		return appendPyFloat(dst, d.Seconds())
	}
}

// appendEnvelope appends {"oslo.version": "2.0", "oslo.message": msg} as
// kombu's json.dumps writes it, msg being JSON text.
func appendEnvelope(dst, msg []byte) []byte {
	dst = append(dst, `{"oslo.version": "2.0", "oslo.message": `...)
	dst = appendPyString(dst, msg)
	return append(dst, '}')
}
