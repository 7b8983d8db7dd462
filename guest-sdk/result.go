package sdk

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/guest-sdk/internal/cbor"
)

// resultWriter encodes Results into one growable buffer. The bytes it
// returns stay valid until its next use, as the ABI asks of a result.
type resultWriter struct {
	enc cbor.Encoder
	// trusted are the arguments the current call's Raw parameters got,
	// checked to be well formed when the arguments were read: returning
	// one of them unchanged needs no second check.
	trusted [maxTrusted][]byte
	ntrust  int
}

// maxTrusted is how many Raw arguments a call remembers as checked.
const maxTrusted = 4

// trust records a Raw argument checked to be well formed.
func (w *resultWriter) trust(b []byte) {
	if w.ntrust < maxTrusted {
		w.trusted[w.ntrust] = b
		w.ntrust++
	}
}

// isTrusted reports whether r, not empty, is exactly one of the trusted
// arguments.
func (w *resultWriter) isTrusted(r Raw) bool {
	for i := range w.ntrust {
		if t := w.trusted[i]; len(t) == len(r) && &t[0] == &r[0] {
			return true
		}
	}
	return false
}

// start begins a success Result: {"value": followed by the value.
func (w *resultWriter) start() {
	w.enc.ResetResult()
	w.trusted, w.ntrust = [maxTrusted][]byte{}, 0
}

// bytes returns the Result written.
func (w *resultWriter) bytes() []byte { return w.enc.Bytes() }

// value writes v after start.
func (w *resultWriter) value(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return &encodeError{err}
	}
	return nil
}

// reflectValue writes v after start.
func (w *resultWriter) reflectValue(v reflect.Value) error {
	if err := w.enc.EncodeValue(v); err != nil {
		return &encodeError{err}
	}
	return nil
}

// raw writes r, which must be one well-formed CBOR item, after start,
// checking it unless it is a trusted argument.
func (w *resultWriter) raw(r Raw) error {
	if len(r) == 0 {
		w.enc.AppendRaw([]byte{cbor.Null})
		return nil
	}
	if w.isTrusted(r) {
		w.enc.AppendRaw(r)
		return nil
	}
	if err := cbor.Wellformed(r); err != nil {
		return &encodeError{fmt.Errorf("a Raw result is not one well-formed CBOR value: %w", err)}
	}
	w.enc.AppendRaw(r)
	return nil
}

// encodeError is a result that cannot be encoded.
type encodeError struct{ err error }

func (e *encodeError) Error() string { return e.err.Error() }

// python words an encoding failure of a result as Python's json module
// does: TypeError "Object of type set is not JSON serializable".
func (e *encodeError) python() error {
	var ute *cbor.UnsupportedTypeError
	if errors.As(e.err, &ute) {
		return builtinError("TypeError", fmt.Sprintf("Object of type %v is not JSON serializable", ute.Type))
	}
	return builtinError("TypeError", fmt.Sprintf("result is not serializable: %v", cleanCBORError(e.err)))
}

// error encodes the error Result {"error": e}. Should the error's own
// arguments not encode, they are dropped; the class and message always
// reach the caller.
func (w *resultWriter) error(e *abi.Error) []byte {
	w.enc.ResetError()
	if err := w.errorMap(e, true); err != nil {
		w.enc.ResetError()
		_ = w.errorMap(e, false) // strings and bools always encode
	}
	return w.enc.Bytes()
}

// errorMap writes e as the map abi.Error encodes to, its keys in the
// encoder's order, without reflection; withArgs false leaves out its
// arguments.
func (w *resultWriter) errorMap(e *abi.Error, withArgs bool) error {
	args := withArgs && len(e.Args) > 0
	kwargs := withArgs && len(e.Kwargs) > 0
	n := 2 // class, message
	for _, set := range [...]bool{args, kwargs, e.Module != "", e.Expected} {
		if set {
			n++
		}
	}
	w.enc.Head(5, n) // a map
	if args {
		w.enc.Text("args")
		if err := w.enc.Encode(e.Args); err != nil {
			return err
		}
	}
	w.enc.Text("class")
	w.enc.Text(e.Class)
	if kwargs {
		w.enc.Text("kwargs")
		if err := w.enc.Encode(e.Kwargs); err != nil {
			return err
		}
	}
	if e.Module != "" {
		w.enc.Text("module")
		w.enc.Text(e.Module)
	}
	w.enc.Text("message")
	w.enc.Text(e.Message)
	if e.Expected {
		w.enc.Text("expected")
		w.enc.Bool(true)
	}
	return nil
}
