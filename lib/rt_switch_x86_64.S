/*
 * lib/rt_switch_x86_64.S - the task runtime's context switch, x86-64 SysV.
 *
 *   void weft__rt_switch(void **save_sp, void *load_sp);
 *
 * Pushes the callee-saved state the ABI requires (rbp rbx r12-r15, the
 * MXCSR control bits and the x87 control word) on the current stack,
 * stores the stack pointer in *save_sp, loads load_sp and pops the same
 * frame from there, returning into the other context. Everything else is
 * caller-saved: the C caller already assumes the call clobbers it.
 *
 * Frame (low to high): [mxcsr:4][x87 cw:2][pad:2] r15 r14 r13 r12 rbx rbp ret
 * A new context is such a frame built by lib/rt.c (make_context) whose
 * "ret" is weft__rt_trampoline, with r12 = argument and r13 = entry.
 */
	.text
	.globl	weft__rt_switch
	.hidden	weft__rt_switch
	.type	weft__rt_switch, @function
	.p2align 4
weft__rt_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	weft__rt_switch, .-weft__rt_switch

/* First "return" of a new context: entry(arg); entry never returns. The
 * stack is 16-byte aligned here, as a call requires. */
	.globl	weft__rt_trampoline
	.hidden	weft__rt_trampoline
	.type	weft__rt_trampoline, @function
	.p2align 4
weft__rt_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	xorl	%ebp, %ebp
	callq	*%r13
	ud2
	.cfi_endproc
	.size	weft__rt_trampoline, .-weft__rt_trampoline

	.section .note.GNU-stack,"",@progbits
