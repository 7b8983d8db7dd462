/* Memory for a module without libc: a heap on top of the linear memory
 * (grown with memory.grow), the byte routines the compiler may call, and
 * growable byte buffers. */
#ifndef CADDER_MEM_H
#define CADDER_MEM_H

#include <stddef.h>
#include <stdint.h>

/* mem_alloc returns n bytes aligned to 16, or NULL when the memory cannot
 * grow; mem_free releases them (NULL and pointers it did not hand out are
 * ignored). Freed blocks are reused best-fit, never split or merged: the
 * host allocates few buffers, doubling them as it needs. */
void *mem_alloc(uint32_t n);
void mem_free(void *p);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* buf is a growable byte buffer. A failed allocation sets oom and drops
 * later writes, so that callers check once at the end. */
typedef struct {
	uint8_t *p;
	uint32_t len, cap;
	int oom;
} buf;

void buf_reset(buf *b);
void buf_put(buf *b, const void *src, uint32_t n);
void buf_byte(buf *b, uint8_t c);
void buf_str(buf *b, const char *s);

#endif
