package oslo

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random identifier as oslo.messaging makes its msg IDs,
// unique IDs and reply queue suffixes: uuid.uuid4().hex, 32 lowercase hex
// digits.
func NewID() string {
	u := uuid4()
	return hex.EncodeToString(u[:])
}

// NewMessageID returns a random identifier as oslo.messaging's Notifier
// makes a notification's message_id: str(uuid.uuid4()), in the 8-4-4-4-12
// form.
func NewMessageID() string {
	u := uuid4()
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// uuid4 returns random bytes with the version 4 and RFC 4122 variant bits.
func uuid4() [16]byte {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand, Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}
