// SPDX-License-Identifier: BSD-2-Clause
/* SBI ecalls: a7 = extension, a6 = function, a0..a2 = arguments. */
#include "sbi.h"

static struct sbiret sbi_call(unsigned long ext, unsigned long fid,
			      unsigned long arg0, unsigned long arg1,
			      unsigned long arg2)
{
	register unsigned long a0 __asm__("a0") = arg0;
	register unsigned long a1 __asm__("a1") = arg1;
	register unsigned long a2 __asm__("a2") = arg2;
	register unsigned long a6 __asm__("a6") = fid;
	register unsigned long a7 __asm__("a7") = ext;

	/* "memory": the SBI may read what we wrote (e.g. a started hart). */
	__asm__ volatile("ecall"
			 : "+r"(a0), "+r"(a1)
			 : "r"(a2), "r"(a6), "r"(a7)
			 : "memory");
	return (struct sbiret){ .error = (long)a0, .value = (long)a1 };
}

struct sbiret sbi_hart_start(unsigned long hartid, unsigned long addr,
			     unsigned long opaque)
{
	return sbi_call(SBI_EXT_HSM, 0, hartid, addr, opaque);
}

struct sbiret sbi_hart_get_status(unsigned long hartid)
{
	return sbi_call(SBI_EXT_HSM, 2, hartid, 0, 0);
}

struct sbiret sbi_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base)
{
	return sbi_call(SBI_EXT_IPI, 0, hart_mask, hart_mask_base, 0);
}

struct sbiret sbi_set_timer(uint64_t deadline)
{
	return sbi_call(SBI_EXT_TIME, 0, deadline, 0, 0);
}
