/* cadder: a wasmrpcd module in C, built with clang for wasm32 and no libc,
 * proof that the ABI (abi/README.md) does not depend on Go.
 *
 * Endpoint: namespace none, version 1.0, methods
 *   echo(value)  returns value unchanged;
 *   add(a, b)    returns a + b with Python's semantics: int + int is an int
 *                (bool counts as int; a sum outside int64 becomes a float),
 *                ints and floats mix into a float, str + str, bytes + bytes
 *                and list + list concatenate, anything else raises
 *                Python's TypeError.
 * Missing or unexpected keyword arguments raise the TypeError a Python
 * endpoint raises, worded the same. */

#include <stdint.h>

#include "cbor.h"
#include "mem.h"

#define EXPORT(name) __attribute__((export_name(name)))

static uint64_t pack(const void *p, uint32_t n) { return (uint64_t)(uintptr_t)p << 32 | n; }

/* out is the result buffer: valid until the next call, as the ABI asks. */
static buf out;
/* msg builds error messages. */
static buf msg;

EXPORT("wasmrpc.abi_version") int32_t abi_version(void) { return 1; }

EXPORT("wasmrpc.alloc") uint32_t wr_alloc(int32_t n) {
	if (n < 0)
		return 0;
	return (uint32_t)(uintptr_t)mem_alloc((uint32_t)n);
}

EXPORT("wasmrpc.free") void wr_free(uint32_t p, int32_t n) {
	(void)n;
	mem_free((void *)(uintptr_t)p);
}

/* ---- the manifest ---- */

static buf manifest_buf;

static void put_method(buf *b, const char *name, const char *export) {
	cbor_put_head(b, CBOR_MAP, 2);
	cbor_put_cstr(b, "name");
	cbor_put_cstr(b, name);
	cbor_put_cstr(b, "export");
	cbor_put_cstr(b, export);
}

EXPORT("wasmrpc.manifest") uint64_t manifest(void) {
	buf *b = &manifest_buf;
	if (b->len == 0 || b->oom) {
		buf_reset(b);
		cbor_put_head(b, CBOR_MAP, 3);
		cbor_put_cstr(b, "abi_version");
		cbor_put_int(b, 1);
		cbor_put_cstr(b, "module");
		cbor_put_cstr(b, "cadder");
		cbor_put_cstr(b, "endpoints");
		cbor_put_head(b, CBOR_ARRAY, 1);
		cbor_put_head(b, CBOR_MAP, 2);
		cbor_put_cstr(b, "version");
		cbor_put_cstr(b, "1.0");
		cbor_put_cstr(b, "methods");
		cbor_put_head(b, CBOR_ARRAY, 2);
		put_method(b, "echo", "rpc.echo");
		put_method(b, "add", "rpc.add");
	}
	if (b->oom)
		return 0;
	return pack(b->p, b->len);
}

/* ---- results ---- */

/* value_result starts {"value": …}; the caller writes the value. */
static void value_result(void) {
	buf_reset(&out);
	cbor_put_head(&out, CBOR_MAP, 1);
	cbor_put_cstr(&out, "value");
}

/* finish returns the packed result, or 0 (which the host reports as a
 * malformed result) when the memory ran out. */
static uint64_t finish(void) { return out.oom ? 0 : pack(out.p, out.len); }

/* raise returns {"error": {"class": class, "module": "builtins",
 * "message": <msg>}}. */
static uint64_t raise(const char *class) {
	buf_reset(&out);
	cbor_put_head(&out, CBOR_MAP, 1);
	cbor_put_cstr(&out, "error");
	cbor_put_head(&out, CBOR_MAP, 3);
	cbor_put_cstr(&out, "class");
	cbor_put_cstr(&out, class);
	cbor_put_cstr(&out, "module");
	cbor_put_cstr(&out, "builtins");
	cbor_put_cstr(&out, "message");
	cbor_put_text(&out, msg.oom ? "out of memory" : (const char *)msg.p, msg.oom ? 13 : msg.len);
	return finish();
}

/* ---- argument binding, as Python binds method(ctxt, **kwargs) ---- */

typedef struct {
	const uint8_t *p;
	uint32_t n;
} bytes;

static int key_is(bytes k, const char *s) {
	uint32_t n = (uint32_t)strlen(s);
	return k.n == n && memcmp(k.p, s, n) == 0;
}

/* type_name is the Python type of the value at the start of raw. */
static const char *type_name(const uint8_t *raw, uint32_t n) {
	cbor_reader r = {raw, raw + n};
	cbor_item it;
	if (cbor_head(&r, &it))
		return "object";
	switch (it.major) {
	case CBOR_UINT:
	case CBOR_NEGINT:
		return "int";
	case CBOR_BYTES:
		return "bytes";
	case CBOR_TEXT:
		return "str";
	case CBOR_ARRAY:
		return "list";
	case CBOR_MAP:
		return "dict";
	}
	switch (it.ai) {
	case 20:
	case 21:
		return "bool";
	case 22:
	case 23:
		return "NoneType";
	case 25:
	case 26:
	case 27:
		return "float";
	}
	return "object";
}

/* bind reads the keyword arguments in args into vals (one per name in
 * params, in order). It returns 0, or -1 with the TypeError's message in
 * msg. */
static int bind(const char *fn, const char *const *params, int nparams, const uint8_t *args, uint32_t len, bytes *vals) {
	for (int i = 0; i < nparams; i++)
		vals[i].p = NULL;
	buf_reset(&msg);
	buf_str(&msg, fn);
	if (len > 0) {
		cbor_reader r = {args, args + len};
		cbor_reader whole = r;
		if (cbor_skip(&whole, 0) || whole.p != whole.end) {
			buf_str(&msg, "() arguments are not valid CBOR");
			return -1;
		}
		cbor_item m;
		cbor_head(&r, &m);
		if (m.major != CBOR_MAP) {
			buf_str(&msg, "() argument after ** must be a mapping, not ");
			buf_str(&msg, type_name(args, len));
			return -1;
		}
		bytes bad = {0, 0};
		int bad_reserved = 0;
		for (uint64_t i = 0; m.indef ? *r.p != 0xff : i < m.arg; i++) {
			cbor_item k;
			cbor_head(&r, &k);
			if (k.major != CBOR_TEXT || k.indef) {
				buf_str(&msg, "() keywords must be strings");
				return -1;
			}
			bytes key = {r.p, (uint32_t)k.arg};
			r.p += k.arg;
			const uint8_t *v = r.p;
			cbor_skip(&r, 1);
			bytes val = {v, (uint32_t)(r.p - v)};
			int known = 0;
			for (int j = 0; j < nparams; j++)
				if (key_is(key, params[j])) {
					if (vals[j].p) {
						buf_str(&msg, "() got multiple values for keyword argument '");
						buf_put(&msg, key.p, key.n);
						buf_str(&msg, "'");
						return -1;
					}
					vals[j] = val;
					known = 1;
				}
			if (!known && bad.p == NULL) { /* the first, as Python reports it */
				bad = key;
				bad_reserved = key_is(key, "self") || key_is(key, "ctxt");
			}
		}
		if (bad.p) {
			buf_str(&msg, bad_reserved ? "() got multiple values for argument '" : "() got an unexpected keyword argument '");
			buf_put(&msg, bad.p, bad.n);
			buf_str(&msg, "'");
			return -1;
		}
	}
	int missing = 0;
	for (int i = 0; i < nparams; i++)
		missing += vals[i].p == NULL;
	if (missing == 0)
		return 0;
	buf_str(&msg, "() missing ");
	char digit[2] = {(char)('0' + missing), 0}; /* methods here take < 10 */
	buf_str(&msg, digit);
	buf_str(&msg, missing == 1 ? " required positional argument: " : " required positional arguments: ");
	for (int i = 0, seen = 0; i < nparams; i++) {
		if (vals[i].p)
			continue;
		if (seen > 0)
			buf_str(&msg, missing == 2 ? " and " : (seen == missing - 1 ? ", and " : ", "));
		buf_str(&msg, "'");
		buf_str(&msg, params[i]);
		buf_str(&msg, "'");
		seen++;
	}
	return -1;
}

/* ---- echo ---- */

EXPORT("rpc.echo") uint64_t echo(const uint8_t *ctx, uint32_t ctx_len, const uint8_t *args, uint32_t args_len) {
	(void)ctx;
	(void)ctx_len;
	static const char *const params[] = {"value"};
	bytes v[1];
	if (bind("echo", params, 1, args, args_len, v))
		return raise("TypeError");
	value_result();
	buf_put(&out, v[0].p, v[0].n);
	return finish();
}

/* ---- add ---- */

enum kind { K_INT, K_FLOAT, K_STR, K_BYTES, K_LIST, K_OTHER };

typedef struct {
	enum kind kind;
	const char *type;
	int64_t i;
	double f;
	bytes s;        /* string contents, or the encoded items of a list */
	uint64_t count; /* list items */
} value;

/* read_value decodes an argument for add. Integers outside int64 become
 * floats, as the ABI does with JSON integers outside that range. It
 * returns -1 for what add does not take apart (indefinite-length strings,
 * which the host never sends), with a ValueError's message in msg. */
static int read_value(bytes raw, value *v) {
	cbor_reader r = {raw.p, raw.p + raw.n};
	cbor_item it;
	v->type = type_name(raw.p, raw.n);
	cbor_head(&r, &it);
	v->kind = K_OTHER;
	switch (it.major) {
	case CBOR_UINT:
		if (it.arg > INT64_MAX) {
			v->kind = K_FLOAT;
			v->f = (double)it.arg;
		} else {
			v->kind = K_INT;
			v->i = (int64_t)it.arg;
		}
		return 0;
	case CBOR_NEGINT:
		if (it.arg > INT64_MAX) {
			v->kind = K_FLOAT;
			v->f = -1.0 - (double)it.arg;
		} else {
			v->kind = K_INT;
			v->i = -1 - (int64_t)it.arg;
		}
		return 0;
	case CBOR_BYTES:
	case CBOR_TEXT:
		if (it.indef) {
			buf_reset(&msg);
			buf_str(&msg, "indefinite-length strings are not supported");
			return -1;
		}
		v->kind = it.major == CBOR_TEXT ? K_STR : K_BYTES;
		v->s.p = r.p;
		v->s.n = (uint32_t)it.arg;
		return 0;
	case CBOR_ARRAY: {
		v->kind = K_LIST;
		const uint8_t *start = r.p;
		uint64_t n = 0;
		while (it.indef ? *r.p != 0xff : n < it.arg) {
			cbor_skip(&r, 1);
			n++;
		}
		v->s.p = start;
		v->s.n = (uint32_t)(r.p - start);
		v->count = n;
		return 0;
	}
	case CBOR_SIMPLE:
		if (it.ai == 20 || it.ai == 21) {
			v->kind = K_INT;
			v->i = it.ai == 21;
		} else if (it.ai >= 25 && it.ai <= 27) {
			v->kind = K_FLOAT;
			v->f = cbor_float(&it);
		}
		return 0;
	}
	return 0;
}

/* add_ints returns a + b, as an int when it fits int64 and as the float
 * nearest the exact sum otherwise. */
static void put_int_sum(int64_t a, int64_t b) {
	int64_t s;
	if (!__builtin_add_overflow(a, b, &s)) {
		cbor_put_int(&out, s);
		return;
	}
	uint64_t wrapped = (uint64_t)a + (uint64_t)b;
	if (a > 0) /* the exact sum is wrapped, in [2^63, 2^64) */
		cbor_put_double(&out, (double)wrapped);
	else if (wrapped == 0) /* both were -2^63 */
		cbor_put_double(&out, -18446744073709551616.0);
	else /* the exact sum is wrapped - 2^64, in (-2^64, -2^63) */
		cbor_put_double(&out, -(double)(0 - wrapped));
}

EXPORT("rpc.add") uint64_t add(const uint8_t *ctx, uint32_t ctx_len, const uint8_t *args, uint32_t args_len) {
	(void)ctx;
	(void)ctx_len;
	static const char *const params[] = {"a", "b"};
	bytes raw[2];
	if (bind("add", params, 2, args, args_len, raw))
		return raise("TypeError");
	value a, b;
	if (read_value(raw[0], &a) || read_value(raw[1], &b))
		return raise("ValueError");

	int a_num = a.kind == K_INT || a.kind == K_FLOAT, b_num = b.kind == K_INT || b.kind == K_FLOAT;
	if (a_num && b_num) {
		value_result();
		if (a.kind == K_INT && b.kind == K_INT)
			put_int_sum(a.i, b.i);
		else
			cbor_put_double(&out, (a.kind == K_INT ? (double)a.i : a.f) + (b.kind == K_INT ? (double)b.i : b.f));
		return finish();
	}
	if ((a.kind == K_STR || a.kind == K_BYTES || a.kind == K_LIST) && a.kind == b.kind) {
		value_result();
		if (a.kind == K_LIST) {
			cbor_put_head(&out, CBOR_ARRAY, a.count + b.count);
		} else {
			cbor_put_head(&out, a.kind == K_STR ? CBOR_TEXT : CBOR_BYTES, (uint64_t)a.s.n + b.s.n);
		}
		buf_put(&out, a.s.p, a.s.n);
		buf_put(&out, b.s.p, b.s.n);
		return finish();
	}

	buf_reset(&msg);
	switch (a.kind) {
	case K_STR:
	case K_LIST:
		buf_str(&msg, "can only concatenate ");
		buf_str(&msg, a.type);
		buf_str(&msg, " (not \"");
		buf_str(&msg, b.type);
		buf_str(&msg, "\") to ");
		buf_str(&msg, a.type);
		break;
	case K_BYTES:
		buf_str(&msg, "can't concat ");
		buf_str(&msg, b.type);
		buf_str(&msg, " to bytes");
		break;
	default:
		buf_str(&msg, "unsupported operand type(s) for +: '");
		buf_str(&msg, a.type);
		buf_str(&msg, "' and '");
		buf_str(&msg, b.type);
		buf_str(&msg, "'");
	}
	return raise("TypeError");
}
