// Package oslo is the oslo.messaging wire codec: it turns the bodies of
// AMQP messages that oslo.messaging's RabbitMQ driver publishes into Go
// values and back, byte for byte as oslo.messaging 14 writes them. It does
// no I/O; host/transport moves the bytes and host/rpc and host/notify act on
// them.
//
// It covers:
//
//   - the RPC envelope {"oslo.version": "2.0", "oslo.message": "<JSON>"} and
//     the older un-enveloped (1.0) form, see [OpenEnvelope];
//   - RPC requests, with the request context packed into "_context_*" keys
//     and "_msg_id", "_reply_q", "_timeout", "_unique_id", see [Request],
//     [DecodeRequest] and [EncodeRequest];
//   - replies, heartbeats included, see [Reply], [EncodeReply] and
//     [DecodeReply];
//   - remote exceptions ("failures"), see [Failure];
//   - notifications in the messagingv2 and legacy messaging formats, see
//     [Notification];
//   - the mapping between the JSON values on the wire and the CBOR values
//     that wasm guests see, see [JSONToCBOR] and [CBORToJSON].
//
// # Values
//
// Arguments, context and results travel as JSON on the wire and as CBOR
// (RFC 8949) everywhere inside wasmrpcd. The two transcoders work directly
// between the two encodings, without building Go values, and follow
// Python's json module on the wire side: NaN and Infinity tokens are
// accepted and written, integers of any size keep their exact value, and
// JSON is written with Python's separators, escapes and float
// representation, so a value that goes JSON→CBOR→JSON comes back byte for
// byte. docs/VALUES.md lists every type's mapping.
//
// # Notes
//
// Request, Reply and Notification hold values as CBOR: the slices they
// carry are owned by the caller once returned and never alias the input.
package oslo
