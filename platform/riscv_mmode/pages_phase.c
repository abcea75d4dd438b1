// SPDX-License-Identifier: BSD-2-Clause
/*
 * The page API on every hart of the M-mode port (see pages_phase.h). Each
 * allocation's pages carry a word naming the hart, the slot and a sequence
 * number, checked before every free, so a page handed out twice shows as a
 * mismatch. A quarter of the frees go through a neighbour's mailbox.
 */
#include <percpu/pages.h>
#include <platform/port.h>

#include "pages_phase.h"

#define SLOTS 16
#define MAX_ORDER 2

struct held {
	void *p;
	unsigned order;
	uint64_t tag;
};

static struct phase_hart {
	struct held slot[SLOTS];
	struct held irq;       /* the tick's page; masked while touched */
	/*
	 * One producer (the previous hart) and one consumer (this one): the
	 * producer fills `box` only while `mailbox` is NULL, the consumer
	 * copies it out before setting `mailbox` back to NULL.
	 */
	struct held *mailbox;  /* atomic: &box while full */
	struct held box;
	uint64_t rng, seq, ops, handed, irq_ops, mismatches;
} phase[PORT_MAX_HARTS] __attribute__((aligned(PORT_CACHE_LINE)));

static uint64_t next_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

static void stamp(struct held *h)
{
	for (unsigned k = 0; k < (1U << h->order); k++)
		*(volatile uint64_t *)((char *)h->p + k * PAGES_SIZE) = h->tag + k;
}

static void check_and_free(struct phase_hart *me, struct held *h)
{
	for (unsigned k = 0; k < (1U << h->order); k++)
		if (*(volatile uint64_t *)((char *)h->p + k * PAGES_SIZE) != h->tag + k) {
			me->mismatches++;
			port_panic(PORT_EXIT_FAIL, "pages: page %p (order %u, page %u) holds "
				   "another owner's stamp", h->p, h->order, k);
		}
	free_pages(h->p, h->order);
	h->p = NULL;
}

/* The page in this hart's mailbox, if any, taken out (into *out). */
static bool mailbox_take(struct phase_hart *me, struct held *out)
{
	/* Acquire: pairs with the producer's release; the box is filled. */
	struct held *in = __atomic_load_n(&me->mailbox, __ATOMIC_ACQUIRE);

	if (!in)
		return false;
	*out = *in;
	/* Release: our copy is done before the producer may refill the box. */
	__atomic_store_n(&me->mailbox, NULL, __ATOMIC_RELEASE);
	return true;
}

static void take(struct phase_hart *me, unsigned hart, struct held *h, unsigned order)
{
	h->order = order;
	h->p = alloc_pages(order);
	if (!h->p)
		port_panic(PORT_EXIT_OOM, "pages: alloc_pages(%u) failed", order);
	h->tag = (uint64_t)hart << 56 | ++me->seq << 8;
	stamp(h);
}

void pages_phase_run(unsigned hart, unsigned nharts, uint64_t ops)
{
	struct phase_hart *me = &phase[hart];
	struct phase_hart *next = &phase[(hart + 1) % nharts];

	me->rng = hart + 1;
	for (uint64_t op = 0; op < ops; op++) {
		struct held *h = &me->slot[next_rand(&me->rng) % SLOTS], in;

		if (mailbox_take(me, &in))
			check_and_free(me, &in);
		if (!h->p) {
			take(me, hart, h, (unsigned)(next_rand(&me->rng) % (MAX_ORDER + 1)));
		} else if (nharts > 1 && next_rand(&me->rng) % 4 == 0 &&
			   /* Acquire: the consumer's copy of the last box is done. */
			   !__atomic_load_n(&next->mailbox, __ATOMIC_ACQUIRE)) {
			next->box = *h;
			h->p = NULL;
			/* Release: the box and the stamp, before the neighbour looks. */
			__atomic_store_n(&next->mailbox, &next->box, __ATOMIC_RELEASE);
			me->handed++;
		} else {
			check_and_free(me, h);
		}
		me->ops++;
	}
}

void pages_phase_tick(void)
{
	unsigned hart = port_hart_id();
	struct phase_hart *me = &phase[hart];

	/* In the handler, interrupts masked: the irq slot is ours alone. */
	if (me->irq.p)
		check_and_free(me, &me->irq);
	take(me, hart, &me->irq, 0);
	me->irq_ops++;
}

void pages_phase_finish(unsigned hart)
{
	struct phase_hart *me = &phase[hart];
	port_irqflags_t f;
	struct held in;

	for (unsigned i = 0; i < SLOTS; i++)
		if (me->slot[i].p)
			check_and_free(me, &me->slot[i]);
	/* The neighbours have all stopped (a barrier before this). */
	if (mailbox_take(me, &in))
		check_and_free(me, &in);
	f = port_irq_save();
	if (me->irq.p)
		check_and_free(me, &me->irq);
	port_irq_restore(f);
	pages_reclaim();
}

bool pages_phase_verdict(unsigned nharts)
{
	struct pages_stats st;
	uint64_t ops = 0, handed = 0, irq_ops = 0, bad = 0;

	for (unsigned h = 0; h < nharts; h++) {
		ops += phase[h].ops;
		handed += phase[h].handed;
		irq_ops += phase[h].irq_ops;
		bad += phase[h].mismatches;
	}
	pages_get_stats(&st);
	port_printf("pages: harts=%u ops=%llu handed_over=%llu irq_ops=%llu "
		    "cache_hits=%llu runs_carved=%llu used=%zu cached=%zu runs_left=%zu\n",
		    nharts, (unsigned long long)ops, (unsigned long long)handed,
		    (unsigned long long)irq_ops, (unsigned long long)st.cache_hits,
		    (unsigned long long)st.runs_carved, st.used_pages, st.cached_pages, st.runs);
	return bad == 0 && st.used_pages == 0 && st.cached_pages == 0 && st.runs == 0;
}
