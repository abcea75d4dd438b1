// SPDX-License-Identifier: BSD-2-Clause
/* TEMPORARY: see include/heap/kheap.h. */
#include <heap/kheap.h>
#include <platform/port.h>
#include <platform/ticket_lock.h>

static struct heap kh;
static ticket_lock_t kh_lock = TICKET_LOCK_INIT;
static kheap_reclaim_fn reclaim_fn;
static void *reclaim_ctx;
static kheap_report_fn report_fn;
static kheap_misuse_fn misuse_fn;

#define LOCKED(expr)                                                          \
	({                                                                    \
		port_irqflags_t f_ = ticket_lock_irqsave(&kh_lock, NULL);     \
		__typeof__(expr) r_ = (expr);                                 \
		ticket_unlock_irqrestore(&kh_lock, f_);                       \
		r_;                                                           \
	})

static void misuse(enum heap_error e, void *p)
{
	if (e == HEAP_OK)
		return;
	if (misuse_fn) {
		misuse_fn(e, p);
		return;
	}
	port_panic(PORT_EXIT_MISUSE, "heap: %s (%p)", heap_error_name(e), p);
}

void kheap_init(void *start, void *end) { heap_init(&kh, start, end); }
void kheap_set_reclaim_hook(kheap_reclaim_fn fn, void *ctx) { reclaim_fn = fn; reclaim_ctx = ctx; }
void kheap_set_report_extra(kheap_report_fn fn) { report_fn = fn; }
void kheap_set_misuse_handler(kheap_misuse_fn fn) { misuse_fn = fn; }

void *kheap_try_alloc(size_t size, size_t align)
{
	for (int i = 0; i < 2; i++) {
		enum heap_error e = HEAP_OK;
		void *p = LOCKED(heap_alloc(&kh, size, align, &e));
		if (p)
			return p;
		if (e != HEAP_ERR_OOM) {
			misuse(e, NULL);
			return NULL;
		}
		if (i || !reclaim_fn || !reclaim_fn(reclaim_ctx))
			break;
	}
	return NULL;
}

void *kheap_alloc(size_t size, size_t align)
{
	void *p = kheap_try_alloc(size, align);
	if (!p) {
		struct heap_stats st;
		kheap_get_stats(&st);
		port_printf("OOM: size %zu align %zu free %zu live %zu\n", size,
			    align, st.bytes_free, st.live_allocs);
		if (report_fn)
			report_fn();
		port_panic(PORT_EXIT_OOM, "out of memory");
	}
	return p;
}

void kheap_free(void *p) { misuse(LOCKED(heap_free(&kh, p)), p); }
void kheap_free_sized(void *p, size_t s) { misuse(LOCKED(heap_free_sized(&kh, p, s)), p); }
void *kheap_calloc(size_t n, size_t size)
{
	enum heap_error e = HEAP_OK;
	void *p = LOCKED(heap_calloc(&kh, n, size, &e));
	misuse(e == HEAP_ERR_OOM ? HEAP_OK : e, NULL);
	return p;
}
void *kheap_realloc(void *p, size_t size)
{
	enum heap_error e = HEAP_OK;
	void *q = LOCKED(heap_realloc(&kh, p, size, &e));
	misuse(e == HEAP_ERR_OOM ? HEAP_OK : e, p);
	return q;
}
size_t kheap_usable_size(const void *p) { return LOCKED(heap_usable_size(&kh, (void *)p)); }
size_t kheap_alloc_batch(size_t size, size_t align, void **out, size_t n)
{
	return LOCKED(heap_alloc_batch(&kh, size, align, out, n));
}
void kheap_free_batch(void **ptrs, size_t n)
{
	enum heap_error e = HEAP_OK;
	size_t bad = 0;
	size_t nbad = LOCKED(heap_free_batch_err(&kh, ptrs, n, &e, &bad));
	if (nbad)
		misuse(e, ptrs[bad]);
}
void kheap_get_stats(struct heap_stats *st)
{
	port_irqflags_t f = ticket_lock_irqsave(&kh_lock, NULL);
	heap_get_stats(&kh, st);
	ticket_unlock_irqrestore(&kh_lock, f);
}
size_t kheap_validate(void (*report)(void *ctx, const char *msg, void *addr), void *ctx)
{
	return LOCKED(heap_validate(&kh, report, ctx));
}
