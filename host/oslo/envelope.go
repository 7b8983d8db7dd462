package oslo

import (
	"errors"
	"fmt"
	"sync"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Envelope keys and version, as oslo_messaging/_drivers/common.py names
// them.
const (
	// EnvelopeVersion is the RPC envelope version oslo.messaging writes
	// and the only major version it reads.
	EnvelopeVersion = "2.0"
	versionKey      = "oslo.version"
	messageKey      = "oslo.message"
)

// AMQP properties oslo.messaging's rabbit driver (through kombu) sets on
// every message it publishes, requests, replies and notifications alike.
const (
	ContentType     = "application/json"
	ContentEncoding = "utf-8"
	// DeliveryMode is persistent (2), kombu's default.
	DeliveryMode = 2
)

// ErrMessage is wrapped by errors about a message that is valid JSON but
// not the message oslo.messaging would send: a missing method, arguments
// that are not an object, an envelope of another version.
var ErrMessage = errors.New("malformed oslo.messaging message")

var parsers = sync.Pool{New: func() any { return new(parser) }}

func getParser() *parser { return parsers.Get().(*parser) }

// maxPooledBuffer is the largest buffer a pooled parser keeps: one huge
// message must not pin its memory for the life of the process.
const maxPooledBuffer = 1 << 20

func putParser(p *parser) {
	p.src = nil
	for _, b := range []*[]byte{&p.str, &p.msg, &p.discard, &p.aux, &p.args, &p.ctx, &p.num, &p.merge} {
		if cap(*b) > maxPooledBuffer {
			*b = nil
		}
	}
	if cap(p.pairs) > maxPooledBuffer/24 {
		p.pairs = nil
	}
	if cap(p.ctxPairs) > maxPooledBuffer/24 {
		p.ctxPairs = nil
	}
	if cap(p.spans) > maxPooledBuffer/24 {
		p.spans = nil
	}
	if cap(p.winner) > maxPooledBuffer/8 {
		p.winner, p.order = nil, nil
	}
	parsers.Put(p)
}

// OpenEnvelope returns the message an AMQP body carries, as
// oslo_messaging's deserialize_msg does: the JSON text of "oslo.message",
// unescaped and appended to dst, when body is a JSON object with both
// "oslo.version" and "oslo.message"; body itself when it is an object
// without them (the 1.0 format, used by the legacy "messaging"
// notification driver). enveloped tells which. The envelope's version must
// be compatible with [EnvelopeVersion]: major 2, minor 0.
func OpenEnvelope(dst, body []byte) (msg []byte, enveloped bool, err error) {
	p := getParser()
	defer putParser(p)
	msg, enveloped, err = p.openEnvelope(body)
	if err != nil {
		return dst, false, err
	}
	return append(dst, msg...), enveloped, nil
}

// openEnvelope is OpenEnvelope with the parser's buffers: msg is p.msg or
// body, valid until the parser is reused.
func (p *parser) openEnvelope(body []byte) (msg []byte, enveloped bool, err error) {
	p.reset(body)
	p.ws()
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return nil, false, fmt.Errorf("%w: the body is not a JSON object", ErrMessage)
	}
	p.pos++
	var version string
	haveVersion, haveMessage := false, false
	var versionErr, messageErr error
	err = p.members(func(key []byte) error {
		switch string(key) {
		case versionKey:
			s, ok, err := p.optString()
			if err != nil {
				return err
			}
			haveVersion, version = true, s
			if !ok {
				versionErr = fmt.Errorf("%w: %s is not a string", ErrMessage, versionKey)
			}
			return nil
		case messageKey:
			haveMessage = true
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				messageErr = fmt.Errorf("%w: %s is not a string", ErrMessage, messageKey)
				return p.skip()
			}
			s, err := p.stringBytes()
			if err != nil {
				return err
			}
			if len(s) > 0 && len(p.str) > 0 && &s[0] == &p.str[0] {
				p.msg, p.str = s, p.msg[:0] // take the unescaped text over
			} else {
				p.msg = append(p.msg[:0], s...)
			}
			messageErr = nil
			return nil
		default:
			// Checked in full when the message itself is read; a value
			// too deep to convert must not hide the reply queue after it.
			return p.skipDeep()
		}
	})
	if err != nil {
		return nil, false, err
	}
	p.ws()
	if p.pos != len(p.src) {
		return nil, false, p.errorf("extra data")
	}
	if !haveVersion || !haveMessage {
		return body, false, nil
	}
	if versionErr != nil {
		return nil, false, versionErr
	}
	if messageErr != nil {
		return nil, false, messageErr
	}
	v, err := abi.ParseVersion(version)
	if err != nil || !(abi.APIVersion{Major: 2}).Serves(v) {
		return nil, false, fmt.Errorf("%w: envelope version %q is not supported (speaking %s)", ErrMessage, version, EnvelopeVersion)
	}
	return p.msg, true, nil
}

// members reads the members of the object whose '{' was consumed, calling
// member with each key (unescaped, valid only during the call) with p.pos
// at the start of its value; member must consume the value.
func (p *parser) members(member func(key []byte) error) error {
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return nil
	}
	for {
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return p.errorf("expected a string key")
		}
		key, err := p.stringBytes()
		if err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.errorf("expected ':'")
		}
		p.pos++
		p.ws()
		if err := member(key); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) {
			return p.errorf("unterminated object")
		}
		c := p.src[p.pos]
		p.pos++
		if c == '}' {
			return nil
		}
		if c != ',' {
			p.pos--
			return p.errorf("expected ',' or '}'")
		}
	}
}

// skip reads and checks one value without keeping it.
func (p *parser) skip() error {
	depth := p.depth
	p.depth = 0
	var err error
	p.discard, err = p.value(p.discard[:0])
	p.depth = depth
	return err
}

// skipDeep moves past the JSON value at p.pos however deeply it nests,
// without recursion; it checks only enough syntax to find the value's end
// (brackets, strings and their escapes).
func (p *parser) skipDeep() error {
	p.ws()
	depth := 0
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return p.errorf("unbalanced %q", c)
			}
		case '"':
			if _, err := p.stringBytes(); err != nil {
				return err
			}
			if depth == 0 {
				return nil
			}
			continue
		}
		p.pos++
		if depth == 0 {
			// A scalar outside brackets cannot be too deep; skip() reads it.
			if c := p.src[p.pos-1]; c != '}' && c != ']' {
				p.pos--
				return p.skip()
			}
			return nil
		}
	}
	return p.errorf("unexpected end of input")
}

// optString reads a string or null. ok is false for any other value,
// which is consumed.
func (p *parser) optString() (s string, ok bool, err error) {
	if p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '"':
			b, err := p.stringBytes()
			return string(b), true, err
		case 'n':
			return "", true, p.literal("null")
		}
	}
	return "", false, p.skip()
}
