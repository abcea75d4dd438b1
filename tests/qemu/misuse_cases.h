/* SPDX-License-Identifier: BSD-2-Clause */
/* The table of qemu_misuse's cases (misuse_cases.c). */
#ifndef TESTS_MISUSE_CASES_H
#define TESTS_MISUSE_CASES_H

struct misuse_case {
	const char *name;   /* the bootarg case=NAME */
	const char *expect; /* the report, "<ptr>"/"<function>" for any value */
	/* The run's exit code; 0 in the table stands for PORT_EXIT_MISUSE. */
	int exit_code;
	/* The mistake: made on hart 0 while the others idle, or ... */
	void (*on_hart0)(void);
	/* ... made by every hart together (the cross-hart cases). */
	void (*on_every_hart)(unsigned hart);
};

extern const struct misuse_case misuse_cases[];
extern const unsigned misuse_case_count;

#endif
