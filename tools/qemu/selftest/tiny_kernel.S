/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The smallest kernel the runner can boot: prints a line on the 16550 UART,
 * then ends through sifive_test with EXIT_WORD (EXIT_AFTER_S seconds after
 * boot, if defined), or spins forever when HANG is defined. It tests the
 * runner (exit codes, expectations, watchdog) apart from the real kernel.
 */
#define UART0 0x10000000
#define SIFIVE_TEST 0x100000

	.section .text
	.globl _start
_start:
	csrw	sie, zero
	/* Only one hart prints: the others (if any) were never started. */
	la	a1, message
	li	a2, UART0
1:	lbu	a0, 0(a1)
	beqz	a0, 2f
	sb	a0, 0(a2)
	addi	a1, a1, 1
	j	1b
2:
#ifdef HANG
3:	wfi
	j	3b
#else
#ifdef EXIT_AFTER_S
	/* Ends by itself, EXIT_AFTER_S s of the 10 MHz timebase after boot. */
	li	a1, EXIT_AFTER_S * 10000000
5:	rdtime	a0
	bltu	a0, a1, 5b
#endif
	li	a0, SIFIVE_TEST
	li	a1, EXIT_WORD
	sw	a1, 0(a0)
4:	j	4b
#endif

	.section .rodata
message:
	.asciz	"tiny kernel: hello\n"
