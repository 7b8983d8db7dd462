#include "cbor.h"

int cbor_head(cbor_reader *r, cbor_item *it) {
	if (r->p >= r->end)
		return -1;
	uint8_t ib = *r->p++;
	it->major = ib >> 5;
	it->ai = ib & 31;
	it->indef = 0;
	int n;
	switch (it->ai) {
	case 24: n = 1; break;
	case 25: n = 2; break;
	case 26: n = 4; break;
	case 27: n = 8; break;
	case 28: case 29: case 30:
		return -1;
	case 31:
		/* Indefinite length for strings, arrays and maps; "break" (0xff)
		 * only where an indefinite item ends, which callers check. */
		if (it->major == CBOR_UINT || it->major == CBOR_NEGINT || it->major == CBOR_TAG)
			return -1;
		it->indef = 1;
		it->arg = 0;
		return 0;
	default:
		it->arg = (uint64_t)it->ai;
		return 0;
	}
	if (r->end - r->p < n)
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | *r->p++;
	it->arg = v;
	if (it->major == CBOR_SIMPLE && it->ai == 24 && v < 32)
		return -1; /* a simple value in two bytes must be >= 32 */
	return 0;
}

static int is_break(const cbor_reader *r) { return r->p < r->end && *r->p == 0xff; }

int cbor_valid_utf8(const uint8_t *s, uint64_t n) {
	uint64_t i = 0;
	while (i < n) {
		/* ASCII eight bytes at a time: fewer loop iterations matter, as a
		 * host that can interrupt guests checks at every one. */
		if (n - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		int len;
		uint32_t min, cp;
		if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < (uint64_t)len)
			return 0;
		for (int k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += (uint64_t)len;
	}
	return 1;
}

/* skip_string skips a byte or text string, with indefinite chunks; text
 * must be valid UTF-8. */
static int skip_string(cbor_reader *r, const cbor_item *it) {
	if (!it->indef) {
		if (it->arg > (uint64_t)(r->end - r->p))
			return -1;
		if (it->major == CBOR_TEXT && !cbor_valid_utf8(r->p, it->arg))
			return -1;
		r->p += it->arg;
		return 0;
	}
	while (!is_break(r)) {
		cbor_item c;
		if (cbor_head(r, &c) || c.major != it->major || c.indef)
			return -1;
		if (skip_string(r, &c))
			return -1;
	}
	if (r->p >= r->end)
		return -1;
	r->p++;
	return 0;
}

int cbor_skip(cbor_reader *r, int depth) {
	if (depth > CBOR_MAX_NESTING)
		return -1;
	cbor_item it;
	if (cbor_head(r, &it))
		return -1;
	switch (it.major) {
	case CBOR_UINT:
	case CBOR_NEGINT:
		return 0;
	case CBOR_BYTES:
	case CBOR_TEXT:
		return skip_string(r, &it);
	case CBOR_ARRAY:
	case CBOR_MAP: {
		uint64_t per = it.major == CBOR_MAP ? 2 : 1;
		if (it.indef) {
			while (!is_break(r))
				for (uint64_t k = 0; k < per; k++)
					if (cbor_skip(r, depth + 1))
						return -1;
			if (r->p >= r->end)
				return -1;
			r->p++;
			return 0;
		}
		/* Every item takes at least one byte: a count beyond the bytes
		 * left is malformed, and checking it first bounds the loop. */
		if (it.arg > (uint64_t)(r->end - r->p) / per)
			return -1;
		for (uint64_t i = 0; i < it.arg * per; i++)
			if (cbor_skip(r, depth + 1))
				return -1;
		return 0;
	}
	case CBOR_TAG:
		/* The ABI's values are JSON's: no tags. */
		return -1;
	default: /* simple values and floats */
		return it.indef ? -1 : 0;
	}
}

static double ldexp_(double x, int e) {
	while (e > 0) {
		x *= 2;
		e--;
	}
	while (e < 0) {
		x /= 2;
		e++;
	}
	return x;
}

double cbor_float(const cbor_item *it) {
	switch (it->ai) {
	case 25: { /* half precision, RFC 8949 appendix D */
		uint32_t h = (uint32_t)it->arg;
		int e = (h >> 10) & 0x1f;
		uint32_t m = h & 0x3ff;
		double v;
		if (e == 0)
			v = ldexp_(m, -24);
		else if (e != 31)
			v = ldexp_(m + 1024, e - 25);
		else
			v = m == 0 ? __builtin_inf() : __builtin_nan("");
		return h & 0x8000 ? -v : v;
	}
	case 26: {
		uint32_t bits = (uint32_t)it->arg;
		float f;
		memcpy(&f, &bits, 4);
		return f;
	}
	default: {
		double d;
		memcpy(&d, &it->arg, 8);
		return d;
	}
	}
}

void cbor_put_head(buf *b, int major, uint64_t arg) {
	uint8_t h[9];
	int n;
	uint8_t mt = (uint8_t)(major << 5);
	if (arg < 24) {
		h[0] = mt | (uint8_t)arg;
		n = 1;
	} else if (arg <= 0xff) {
		h[0] = mt | 24;
		n = 2;
	} else if (arg <= 0xffff) {
		h[0] = mt | 25;
		n = 3;
	} else if (arg <= 0xffffffffu) {
		h[0] = mt | 26;
		n = 5;
	} else {
		h[0] = mt | 27;
		n = 9;
	}
	for (int i = n - 1; i >= 1; i--, arg >>= 8)
		h[i] = (uint8_t)arg;
	buf_put(b, h, (uint32_t)n);
}

void cbor_put_text(buf *b, const char *s, uint32_t n) {
	cbor_put_head(b, CBOR_TEXT, n);
	buf_put(b, s, n);
}

void cbor_put_cstr(buf *b, const char *s) { cbor_put_text(b, s, (uint32_t)strlen(s)); }

void cbor_put_int(buf *b, int64_t v) {
	if (v >= 0)
		cbor_put_head(b, CBOR_UINT, (uint64_t)v);
	else
		cbor_put_head(b, CBOR_NEGINT, (uint64_t)(-(v + 1)));
}

void cbor_put_double(buf *b, double v) {
	uint64_t bits;
	memcpy(&bits, &v, 8);
	uint8_t h[9];
	h[0] = 0xfb;
	for (int i = 8; i >= 1; i--, bits >>= 8)
		h[i] = (uint8_t)bits;
	buf_put(b, h, 9);
}
