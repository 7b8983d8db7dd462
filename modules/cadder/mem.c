#include "mem.h"

/* The linker puts the heap after the data and the stack. */
extern unsigned char __heap_base;

#define PAGE 65536u
#define ALIGN 16u
#define USED 0xa110c8edu
#define FREE 0xf4eeb10cu

typedef struct block {
	uint32_t size; /* usable bytes after the header */
	uint32_t magic;
	struct block *next; /* free list link */
	uint32_t pad;
} block;

static block *free_list;
static uintptr_t brk;

static uintptr_t align_up(uintptr_t n) { return (n + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1); }

/* grow takes n bytes from the end of the heap, growing the memory. */
static void *grow(uint32_t n) {
	if (brk == 0)
		brk = align_up((uintptr_t)&__heap_base);
	uintptr_t have = __builtin_wasm_memory_size(0) * (uintptr_t)PAGE;
	if (n > UINT32_MAX - brk)
		return NULL;
	uintptr_t end = brk + n;
	if (end > have) {
		uintptr_t pages = (end - have + PAGE - 1) / PAGE;
		if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
			return NULL;
	}
	void *p = (void *)brk;
	brk = end;
	return p;
}

void *mem_alloc(uint32_t n) {
	if (n == 0)
		n = 1;
	if (n > UINT32_MAX - 2 * ALIGN - sizeof(block))
		return NULL;
	n = (uint32_t)align_up(n);
	block **best = NULL;
	for (block **pp = &free_list; *pp; pp = &(*pp)->next)
		if ((*pp)->size >= n && (best == NULL || (*pp)->size < (*best)->size))
			best = pp;
	block *b;
	if (best) {
		b = *best;
		*best = b->next;
	} else {
		b = grow(sizeof(block) + n);
		if (!b)
			return NULL;
		b->size = n;
	}
	b->magic = USED;
	b->next = NULL;
	return b + 1;
}

void mem_free(void *p) {
	uintptr_t a = (uintptr_t)p;
	if (p == NULL || a % ALIGN != 0 || a < align_up((uintptr_t)&__heap_base) + sizeof(block) || a >= brk)
		return;
	block *b = (block *)p - 1;
	if (b->magic != USED)
		return;
	b->magic = FREE;
	b->next = free_list;
	free_list = b;
}

/* With -mbulk-memory these builtins are the memory.copy and memory.fill
 * instructions (which also handle overlapping ranges), not calls. */
void *memcpy(void *dst, const void *src, size_t n) {
	__builtin_memmove(dst, src, n);
	return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
	__builtin_memmove(dst, src, n);
	return dst;
}

void *memset(void *dst, int c, size_t n) {
	__builtin_memset(dst, c, n);
	return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s) {
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void buf_reset(buf *b) {
	b->len = 0;
	b->oom = 0;
}

void buf_put(buf *b, const void *src, uint32_t n) {
	if (b->oom)
		return;
	if (n > b->cap - b->len) {
		if (n > UINT32_MAX / 2 - b->len) {
			b->oom = 1;
			return;
		}
		uint32_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = mem_alloc(cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		if (b->len)
			memcpy(p, b->p, b->len);
		mem_free(b->p);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

void buf_byte(buf *b, uint8_t c) { buf_put(b, &c, 1); }

void buf_str(buf *b, const char *s) { buf_put(b, s, (uint32_t)strlen(s)); }
