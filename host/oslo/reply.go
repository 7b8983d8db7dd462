package oslo

import (
	"fmt"
)

// Reply is what an RPC server sends to a caller's reply queue:
// {"result", "failure", "ending", "_msg_id", "_unique_id"}.
//
// A Python server sends one reply with Ending true per call, carrying the
// result or the failure, and, while a call with a call monitor timeout
// runs, heartbeats: replies with no result, no failure and Ending false.
// A Python client keeps waiting until a reply with Ending true; a non-null
// result in a reply without it (older servers sent results that way)
// becomes the call's result unless a later one replaces it.
type Reply struct {
	// MsgID is the request's MsgID.
	MsgID string
	// UniqueID identifies the reply for duplicate detection.
	UniqueID string
	// Result is the CBOR of the method's return value; nil encodes as
	// null. DecodeReply always sets it (0xf6 for null).
	Result []byte
	// Failure is the exception the method raised, or nil.
	Failure *Failure
	// Ending marks the final reply of a call.
	Ending bool
}

// IsHeartbeat reports whether r is a call-monitor heartbeat: not the
// final reply, and with neither result nor failure.
func (r *Reply) IsHeartbeat() bool {
	return !r.Ending && r.Failure == nil && (len(r.Result) == 0 || r.Result[0] == cborNull)
}

// ResultReply is the final reply of a call that returned result (CBOR;
// nil for None).
func ResultReply(msgID, uniqueID string, result []byte) *Reply {
	return &Reply{MsgID: msgID, UniqueID: uniqueID, Result: result, Ending: true}
}

// FailureReply is the final reply of a call that raised f.
func FailureReply(msgID, uniqueID string, f *Failure) *Reply {
	return &Reply{MsgID: msgID, UniqueID: uniqueID, Failure: f, Ending: true}
}

// HeartbeatReply is a call-monitor heartbeat for the call msgID.
func HeartbeatReply(msgID, uniqueID string) *Reply {
	return &Reply{MsgID: msgID, UniqueID: uniqueID}
}

// EncodeReply appends the AMQP body of r, in the 2.0 envelope, to dst,
// byte for byte as oslo.messaging's AMQPIncomingMessage._send_reply
// writes it; the failure is a JSON string inside the message, as
// serialize_remote_exception makes it.
func EncodeReply(dst []byte, r *Reply) ([]byte, error) {
	if r.MsgID == "" || r.UniqueID == "" {
		return dst, fmt.Errorf("%w: a reply needs the call's msg ID and a unique ID", ErrMessage)
	}
	p := getParser()
	defer putParser(p)
	m := append(p.msg[:0], `{"result": `...)
	if len(r.Result) == 0 {
		m = append(m, "null"...)
	} else {
		var err error
		if m, err = CBORToJSON(m, r.Result); err != nil {
			return dst, fmt.Errorf("result: %w", err)
		}
	}
	m = append(m, `, "failure": `...)
	if r.Failure == nil {
		m = append(m, "null"...)
	} else {
		f, err := EncodeFailure(p.discard[:0], r.Failure)
		if err != nil {
			return dst, err
		}
		p.discard = f
		m = appendPyString(m, f)
	}
	if r.Ending {
		m = append(m, `, "ending": true, "_msg_id": `...)
	} else {
		m = append(m, `, "ending": false, "_msg_id": `...)
	}
	m = appendPyString(m, []byte(r.MsgID))
	m = append(m, `, "_unique_id": `...)
	m = appendPyString(m, []byte(r.UniqueID))
	m = append(m, '}')
	p.msg = m
	return appendEnvelope(dst, m), nil
}

// DecodeReply decodes a reply from an AMQP message body, as an
// oslo.messaging client's ReplyWaiter reads it. A failure that is null or
// "" means none; "ending" absent or null means false.
func DecodeReply(body []byte) (Reply, error) {
	p := getParser()
	defer putParser(p)
	var r Reply
	var failure []byte
	p.args = append(p.args[:0], cborNull)
	_, pk, err := p.message(body, func(key []byte) error {
		switch string(key) {
		case "result":
			var err error
			p.args, err = p.value(p.args[:0])
			return err
		case "failure":
			if p.pos < len(p.src) && p.src[p.pos] == '"' {
				s, err := p.stringBytes()
				failure = append(p.aux[:0], s...)
				p.aux = failure
				return err
			}
			failure = nil
			s, ok, err := p.optString()
			if err == nil && (!ok || s != "") {
				err = fmt.Errorf("%w: failure is not a string", ErrMessage)
			}
			return err
		case "ending":
			if p.pos < len(p.src) {
				switch p.src[p.pos] {
				case 't':
					r.Ending = true
					return p.literal("true")
				case 'f':
					r.Ending = false
					return p.literal("false")
				case 'n':
					r.Ending = false
					return p.literal("null")
				}
			}
			if err := p.skip(); err != nil {
				return err
			}
			return fmt.Errorf("%w: ending is not a boolean", ErrMessage)
		default:
			return p.skip()
		}
	})
	r.MsgID, r.UniqueID = pk.msgID, pk.uniqueID
	if err != nil {
		return r, err
	}
	if len(failure) > 0 {
		f, err := DecodeFailure(failure)
		if err != nil {
			return r, err
		}
		r.Failure = f
	}
	r.Result = append([]byte(nil), p.args...)
	return r, nil
}
