package oslo

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Keys oslo.messaging's amqp driver adds to every message it sends
// (_drivers/amqp.py and amqpdriver.py).
const (
	contextPrefix = "_context_"
	keyMsgID      = "_msg_id"
	keyReplyQ     = "_reply_q"
	keyTimeout    = "_timeout"
	keyUniqueID   = "_unique_id"
)

// Context keys that unpack_context sets or removes: "msg_id" and
// "reply_q" are taken out of the context, "client_timeout" is set to the
// "_timeout" value (null when absent).
var (
	cborKeyMsgID         = cborText("msg_id")
	cborKeyReplyQ        = cborText("reply_q")
	cborKeyClientTimeout = cborText("client_timeout")
)

func cborText(s string) []byte {
	return append(appendHead(nil, majorText, uint64(len(s))), s...)
}

// packed holds the driver keys of a message.
type packed struct {
	msgID, replyQ, uniqueID string
	// timeout is the CBOR of "_timeout", nil when absent.
	timeout []byte
}

// message opens the envelope of body and reads the top-level object of
// the message: the driver keys and "_context_*" into pk and p.ctx, every
// other member through other, which must consume the value (key is valid
// until the value is read). The driver keys are read before any error
// about other members is returned, so that a caller can still reply.
func (p *parser) message(body []byte, other func(key []byte) error) (enveloped bool, pk packed, err error) {
	msg, enveloped, err := p.openEnvelope(body)
	if err != nil {
		return false, pk, err
	}
	p.reset(msg)
	p.ctx, p.ctxPairs, p.num = p.ctx[:0], p.ctxPairs[:0], p.num[:0]
	p.ws()
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return enveloped, pk, fmt.Errorf("%w: the message is not a JSON object", ErrMessage)
	}
	p.pos++
	var late error // an error about a member, returned after the rest is read
	str := func(name string, dst *string) error {
		s, ok, err := p.optString()
		if err == nil && !ok && late == nil {
			late = fmt.Errorf("%w: %s is not a string", ErrMessage, name)
		}
		*dst = s
		return err
	}
	err = p.members(func(key []byte) error {
		switch string(key) {
		case keyMsgID:
			return str(keyMsgID, &pk.msgID)
		case keyReplyQ:
			return str(keyReplyQ, &pk.replyQ)
		case keyUniqueID:
			return str(keyUniqueID, &pk.uniqueID)
		case keyTimeout:
			p.depth = 1
			var err error
			p.num, err = p.value(p.num[:0])
			p.depth = 0
			pk.timeout = p.num
			return err
		}
		if bytes.HasPrefix(key, []byte(contextPrefix)) {
			k := key[len(contextPrefix):]
			start := len(p.ctx)
			p.ctx = appendHead(p.ctx, majorText, uint64(len(k)))
			p.ctx = append(p.ctx, k...)
			val := len(p.ctx)
			p.depth = 1
			var err error
			p.ctx, err = p.value(p.ctx)
			p.depth = 0
			p.ctxPairs = append(p.ctxPairs, pair{start, val, len(p.ctx)})
			return err
		}
		err := other(key)
		if err != nil && late == nil && !isSyntax(err) {
			late = err
			return nil
		}
		return err
	})
	if err == nil {
		p.ws()
		if p.pos != len(p.src) {
			err = p.errorf("extra data")
		}
	}
	if err == nil {
		err = late
	}
	return enveloped, pk, err
}

// contextLen is the length of the context appendContext writes.
func (p *parser) contextLen(timeout []byte) int {
	return len(p.ctx) + 16 + len(timeout) + len(cborKeyClientTimeout)
}

// appendContext appends the request context as oslo_messaging's
// unpack_context gives it to an endpoint: the "_context_*" members in
// order (a repeated key keeps its first position and last value), without
// "msg_id" and "reply_q", with "client_timeout" set to the "_timeout"
// value, or null, at its position or at the end.
func (p *parser) appendContext(dst, timeout []byte) []byte {
	pairs := p.ctxPairs
	if repeats(p.ctx, pairs) {
		p.ctx, pairs = p.mergeRepeats(p.ctx, 0, pairs)
	}
	if timeout == nil {
		timeout = []byte{cborNull}
	}
	n := 0
	haveTimeout := false
	for _, q := range pairs {
		k := p.ctx[q.key:q.val]
		switch {
		case bytes.Equal(k, cborKeyMsgID), bytes.Equal(k, cborKeyReplyQ):
			continue
		case bytes.Equal(k, cborKeyClientTimeout):
			haveTimeout = true
		}
		n++
	}
	if !haveTimeout {
		n++
	}
	dst = appendHead(dst, majorMap, uint64(n))
	for _, q := range pairs {
		k := p.ctx[q.key:q.val]
		switch {
		case bytes.Equal(k, cborKeyMsgID), bytes.Equal(k, cborKeyReplyQ):
			continue
		case bytes.Equal(k, cborKeyClientTimeout):
			dst = append(dst, k...)
			dst = append(dst, timeout...)
			continue
		}
		dst = append(dst, p.ctx[q.key:q.end]...)
	}
	if !haveTimeout {
		dst = append(dst, cborKeyClientTimeout...)
		dst = append(dst, timeout...)
	}
	return dst
}

// appendPackedContext appends the members "_context_<key>": <value> for
// each entry of the CBOR map ctx, as pack_context writes them, each
// preceded by ", ". Keys must be text.
func appendPackedContext(dst, ctx []byte) ([]byte, error) {
	if len(ctx) == 0 {
		return dst, nil
	}
	w := writer{src: ctx}
	major, _, n, indef, err := w.head()
	if err != nil {
		return dst, fmt.Errorf("context: %w", err)
	}
	if major != majorMap {
		return dst, fmt.Errorf("%w: the context is not a map", ErrCBOR)
	}
	w.depth = 1
	for i := uint64(0); ; i++ {
		ok, err := w.more(i, n, indef)
		if err != nil {
			return dst, fmt.Errorf("context: %w", err)
		}
		if !ok {
			break
		}
		km, _, kn, kindef, err := w.head()
		if err != nil {
			return dst, fmt.Errorf("context: %w", err)
		}
		if km != majorText {
			return dst, fmt.Errorf("%w: context key %d is not a text string", ErrCBOR, i)
		}
		k, err := w.stringBody(majorText, kn, kindef)
		if err != nil {
			return dst, fmt.Errorf("context: %w", err)
		}
		if !utf8.Valid(k) {
			return dst, fmt.Errorf("%w: context key %d is not valid UTF-8", ErrCBOR, i)
		}
		dst = append(dst, ", \""+contextPrefix...)
		dst = appendPyStringBody(dst, k)
		dst = append(dst, '"', ':', ' ')
		if dst, err = w.item(dst); err != nil {
			return dst, fmt.Errorf("context %q: %w", k, err)
		}
	}
	if w.pos != len(ctx) {
		return dst, fmt.Errorf("%w: %d bytes after the context", ErrCBOR, len(ctx)-w.pos)
	}
	return dst, nil
}

// isSyntax reports whether err is about the JSON text itself, after which
// reading cannot go on.
func isSyntax(err error) bool {
	return errors.Is(err, ErrSyntax) || errors.Is(err, ErrTooDeep)
}
