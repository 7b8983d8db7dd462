package sdk

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/abi/cborcodec"
)

// encMode encodes results into a reusable buffer with the ABI's options;
// decMode checks bytes with the ABI's decoding options.
var (
	encMode = mustEncMode()
	decMode = mustDecMode()
)

func mustDecMode() cbor.DecMode {
	m, err := cborcodec.DecOptions().DecMode()
	if err != nil {
		panic(fmt.Sprintf("sdk: decoding options: %v", err))
	}
	return m
}

func mustEncMode() cbor.UserBufferEncMode {
	m, err := cborcodec.EncOptions().UserBufferEncMode()
	if err != nil {
		panic(fmt.Sprintf("sdk: encoding options: %v", err))
	}
	return m
}

// valueHeader is the CBOR of a one-entry map's header and its key "value":
// a success Result is this followed by the value's CBOR.
var valueHeader = []byte{0xa1, 0x65, 'v', 'a', 'l', 'u', 'e'}

// resultWriter encodes Results into one growable buffer. The bytes it
// returns stay valid until its next use, as the ABI asks of a result.
type resultWriter struct {
	buf bytes.Buffer
}

// value encodes the success Result {"value": v}. A value that cannot be
// encoded becomes Python json's TypeError.
func (w *resultWriter) value(v any) []byte {
	w.buf.Reset()
	w.buf.Write(valueHeader)
	if err := encMode.MarshalToBuffer(v, &w.buf); err != nil {
		return w.error(toABI(encodeError(err)))
	}
	return w.buf.Bytes()
}

// error encodes the error Result {"error": e}. Should the error's own
// arguments not encode, they are dropped; the class and message always
// reach the caller.
func (w *resultWriter) error(e *abi.Error) []byte {
	w.buf.Reset()
	err := encMode.MarshalToBuffer(abi.Result{Error: e}, &w.buf)
	if err != nil {
		w.buf.Reset()
		bare := &abi.Error{Class: e.Class, Module: e.Module, Message: e.Message, Expected: e.Expected}
		if err := encMode.MarshalToBuffer(abi.Result{Error: bare}, &w.buf); err != nil {
			// Strings and bools always encode; this cannot happen.
			panic(fmt.Sprintf("sdk: encoding an error result: %v", err))
		}
	}
	return w.buf.Bytes()
}

// encodeError words an encoding failure of a result as Python's json
// module does: TypeError "Object of type set is not JSON serializable".
func encodeError(err error) error {
	var ute *cbor.UnsupportedTypeError
	if errors.As(err, &ute) {
		return builtinError("TypeError", fmt.Sprintf("Object of type %v is not JSON serializable", ute.Type))
	}
	return builtinError("TypeError", fmt.Sprintf("result is not serializable: %v", cleanCBORError(err)))
}
