/*
 * lib/rt_switch_aarch64.S - the task runtime's context switch, AArch64
 * AAPCS64.
 *
 *   void weft__rt_switch(void **save_sp, void *load_sp);
 *
 * Saves the callee-saved state the ABI requires (x19-x28, the frame
 * pointer x29, the link register x30 and the low halves d8-d15 of v8-v15)
 * in a 160-byte frame on the current stack, stores sp in *save_sp, loads
 * load_sp, restores the same frame from there and returns through the
 * restored x30. FPCR is left alone: AAPCS64 treats its rounding and
 * exception-trap fields as global (like errno), not per call.
 *
 * Frame (offsets): x19..x28 0-79, x29 80, x30 88, d8..d15 96-159.
 * A new context is such a frame built by lib/rt.c (make_context) with
 * x30 = weft__rt_trampoline, x19 = argument, x20 = entry, x29 = 0.
 */
	.text
	.globl	weft__rt_switch
	.hidden	weft__rt_switch
	.type	weft__rt_switch, %function
	.p2align 4
weft__rt_switch:
	.cfi_startproc
	sub	sp, sp, #160
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mov	x2, sp
	str	x2, [x0]
	mov	sp, x1
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #160
	ret
	.cfi_endproc
	.size	weft__rt_switch, .-weft__rt_switch

/* First "return" of a new context: entry(arg); entry never returns. */
	.globl	weft__rt_trampoline
	.hidden	weft__rt_trampoline
	.type	weft__rt_trampoline, %function
	.p2align 4
weft__rt_trampoline:
	.cfi_startproc
	.cfi_undefined x30
	mov	x0, x19
	blr	x20
	brk	#0
	.cfi_endproc
	.size	weft__rt_trampoline, .-weft__rt_trampoline

	.section .note.GNU-stack,"",%progbits
