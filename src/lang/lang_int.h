/* SPDX-License-Identifier: MIT */
/*
 * The scenario language's insides, shared by its files and its unit tests
 * but not by tools (which see only lang/lang.h): the lexer and its tokens,
 * the arena a program lives in, the syntax tree, and the name tables
 * (constants, calls, struct layouts, ioctls, exit fields).
 *
 * Layering: the lexer turns text into tokens, the parser builds steps, the
 * checker resolves every name (constants, calls, struct fields, results)
 * before anything runs, and the executor drives the public API.
 *
 * Errors: every function here returns 0 or a negative errno (pointers: an
 * ERR_PTR-style value, lib/err.h) and puts the human message in a struct
 * lang_diag; see src/lang/README.md.
 */
#ifndef MV_LANG_LANG_INT_H
#define MV_LANG_LANG_INT_H

#ifdef MV_LANG_API_ONLY
#error "tools see the scenario language through lang/lang.h only"
#endif

#include "lang/lang.h"

/*
 * Fills @d with @pos and the message, and returns @err: the error convention
 * in one line, "return lang_diag_set(diag, pos, -EINVAL, "...", ...);".
 */
__attribute__((format(printf, 4, 5)))
int lang_diag_set(struct lang_diag *d, struct lang_pos pos, int err, const char *fmt, ...);

/* ---- lexer ---- */

enum lang_tok_kind {
	LT_EOF,
	LT_NEWLINE,
	LT_IDENT,
	LT_INT,
	LT_STRING,    /* "..." with C escapes */
	LT_BYTES,     /* x"00ff..." */
	LT_LPAREN,
	LT_RPAREN,
	LT_LBRACE,
	LT_RBRACE,
	LT_COMMA,
	LT_EQ,
	LT_PIPE,
	LT_PLUS,
	LT_MINUS,
	LT_COLON,
};

struct lang_tok {
	enum lang_tok_kind kind;
	struct lang_pos pos;
	const char *text;      /* into the source */
	size_t text_len;
	uint64_t ival;         /* LT_INT */
	uint8_t *bytes;        /* LT_STRING, LT_BYTES: decoded; owned by the arena */
	size_t nbytes;
};

struct lang_arena;

struct lang_lexer {
	const char *src;
	size_t len;
	size_t off;
	int line;
	int col;
	int depth;             /* ( and { nesting: newlines inside do not end a step */
	struct lang_arena *arena;
};

void lang_lex_init(struct lang_lexer *lx, const char *src, size_t len, struct lang_arena *arena);
/* 0 and the next token, or -EINVAL with @diag filled (line/col, message). */
int lang_lex_next(struct lang_lexer *lx, struct lang_tok *tok, struct lang_diag *diag);
const char *lang_tok_kind_name(enum lang_tok_kind kind);

/* ---- arena: every allocation of a program, freed at once ---- */
struct lang_arena *lang_arena_create(void);
void lang_arena_destroy(struct lang_arena *a);
void *lang_arena_alloc(struct lang_arena *a, size_t size);   /* zeroed; NULL on ENOMEM */
char *lang_arena_strndup(struct lang_arena *a, const char *s, size_t n);

/* ---- syntax tree ---- */

enum lang_expr_kind {
	LE_INT,
	LE_NAME,       /* constant, result (rN) or task (tN) */
	LE_STRING,
	LE_BYTES,
	LE_STRUCT,     /* {field=value, ...} */
	LE_BINOP,      /* | + - */
	LE_NEG,
	LE_BLANK,      /* _ : a scratch output buffer */
	LE_CALL,       /* signal(...), fault(...), exit(...): only as expectations */
};

struct lang_expr;

/* An argument (key NULL) or a named argument / struct field (key = value). */
struct lang_arg {
	const char *key;
	struct lang_pos pos;
	struct lang_expr *val;
	/* checker: the described field of a struct literal */
	const struct lang_field_desc *field;
};

/* How the checker resolved a name. */
enum lang_ref_kind {
	LR_NONE,
	LR_CONST,
	LR_RESULT,     /* value slot */
	LR_TASK,       /* task slot */
};

struct lang_expr {
	enum lang_expr_kind kind;
	struct lang_pos pos;
	uint64_t ival;                 /* LE_INT; LE_NAME resolved to a constant */
	const char *name;              /* LE_NAME, LE_CALL */
	const uint8_t *bytes;          /* LE_STRING, LE_BYTES */
	size_t nbytes;
	char op;                       /* LE_BINOP: '|', '+', '-' */
	struct lang_expr *l, *r;       /* LE_BINOP; LE_NEG uses l */
	struct lang_arg *args;         /* LE_STRUCT fields, LE_CALL arguments */
	size_t nargs;
	enum lang_ref_kind ref;        /* LE_NAME, after checking */
	int slot;
	const struct lang_struct_desc *type;   /* LE_STRUCT, after checking */
};

struct lang_call_desc;

struct lang_step {
	struct lang_pos pos;
	size_t index;                  /* in the program, or in its guest block */
	/*
	 * Its source text (source.c prints it): from the first token to the
	 * end of the last, over every line a wrapped step or a guest block
	 * takes; call_len leaves out the expectation, head_len a guest block
	 * (it stops after the '{').
	 */
	const char *src;
	size_t src_len, call_len, head_len;
	struct lang_pos end;           /* just after the last token */
	const char *task_name;         /* "t1" of "t1: ..."; NULL: t0 */
	struct lang_pos task_pos;
	int task_slot;
	const char *result_name;       /* "r0" of "r0 = ..." */
	struct lang_pos result_pos;
	int result_slot;               /* value or task slot, -1: none */
	const char *call;
	struct lang_pos call_pos;
	struct lang_arg *args;
	size_t nargs;
	struct lang_expr *expect;      /* NULL: record the result only */
	struct lang_pos expect_pos;
	const struct lang_call_desc *desc;     /* after checking */
	const char *story;             /* its "#:" story lines, '\n'-joined; NULL: none */
	/* guest(VCPU) { ... }: the guest operations, one step each */
	bool has_body;
	struct lang_pos body_pos;      /* the '{' */
	struct lang_step *body;
	size_t nbody;
	const struct lang_step *parent;    /* a guest operation: its guest(...) step */
};

struct lang_program {
	const char *file;
	struct lang_arena *arena;
	struct lang_step *steps;
	size_t nsteps;
	size_t cap;
	int nvalues;                   /* value slots (rN) */
	int ntasks;                    /* task slots; t0 is slot 0 */
	const char **value_names;
	const char **task_names;
	const char *story_end;         /* "#:" story lines after the last step; NULL: none */
};


/* parser.c internals shared with check.c */
int lang_parse_syntax(struct lang_program *p, const char *src, size_t len, struct lang_diag *diag);
int lang_check(struct lang_program *p, struct lang_diag *diag);
/*
 * Story comments (story.c): a line whose first non-blank characters are "#:"
 * is prose for readers such as 'memvisor tour'. Each step gets the story
 * lines between the previous step and itself ("#:" and one blank removed);
 * the lexer skips them like any comment. 0, or -ENOMEM.
 */
int lang_attach_stories(struct lang_program *p, const char *src, size_t len);

/* ---- machine options (machine.c): one table for machine(...) and --machine ---- */

enum lang_machine_kind {
	LMK_SIZE,      /* bytes, between min and max, a multiple of align; 0: the default */
	LMK_FLAGS,     /* a set of bits within max */
	LMK_CHOICE,    /* one of min..max */
	LMK_INT,       /* any value */
};

struct lang_machine_key {
	const char *name;
	enum lang_machine_kind kind;
	const char *prefix;        /* names may leave it out: MTE for MV_FEAT_MTE */
	uint64_t min, max, align;
	size_t offset, size;       /* the value in struct lang_machine_opts */
	size_t set_offset;         /* its "_set" flag there */
};

const struct lang_machine_key *lang_machine_key_find(const char *name);
const char *lang_machine_key_suggest(const char *name);
/* "ram, features_off, epc, abi or seed", for messages. */
void lang_machine_keys_list(char *buf, size_t size);
/* 0, or -EINVAL and @diag naming the key and the limit @v breaks. */
int lang_machine_key_check(const struct lang_machine_key *k, uint64_t v, struct lang_pos pos,
			   struct lang_diag *diag);
void lang_machine_key_set(const struct lang_machine_key *k, struct lang_machine_opts *mo,
			  uint64_t v);
/* A checked machine(...) step's settings. */
void lang_machine_from_step(const struct lang_step *s, struct lang_machine_opts *mo);
/* "4M", "1G", or hex when no suffix fits. */
void lang_fmt_size(char *buf, size_t size, uint64_t v);
/* The value of an expression of constants only; false if it names a result. */
bool lang_expr_const(const struct lang_expr *e, uint64_t *v);

/* ---- names: constants, calls, structs ---- */

/* 0 and *value for a constant name memvisor implements (errno names too). */
int lang_const_lookup(const char *name, uint64_t *value);
/* The known constant closest to @name (edit distance), or NULL. */
const char *lang_const_suggest(const char *name);
/* Name of a constant of @value whose name starts with @prefix ("SIG", "SEGV_"), or NULL. */
const char *lang_const_name(const char *prefix, uint64_t value);
/*
 * "Did you mean" (suggest.c): feed every known name to lang_suggest_add;
 * lang_suggest_best gives the closest one that looks like a slip (a typo
 * or a shortening), or NULL.
 */
struct lang_suggest {
	const char *name;
	const char *best;
	int score;
};
void lang_suggest_init(struct lang_suggest *sg, const char *name);
void lang_suggest_add(struct lang_suggest *sg, const char *cand);
const char *lang_suggest_best(const struct lang_suggest *sg);
/* Edit distance, capped. */
int lang_edit_distance(const char *a, const char *b);

enum lang_arg_kind {
	LA_INT,        /* an integer (values, flags, lengths, addresses) */
	LA_FD,         /* an integer file descriptor */
	LA_STR,        /* host string: a string literal, or an integer pointer */
	LA_IN,         /* input buffer/struct: literal -> host copy; integer -> pointer */
	LA_OUT,        /* output buffer/struct: _ scratch, literal = expected output */
	LA_IOCTL,      /* ioctl argument: typed by the command (lang_ioctl_find) */
	LA_TASK,       /* a task name (pseudo-calls) */
	LA_BYTES,      /* bytes to write (pseudo-calls): string or x"" literal */
};

enum lang_call_type {
	LC_SYSCALL,
	LC_MACHINE,
	LC_SPAWN,
	LC_CLONE,
	LC_EXIT,
	LC_WRITE_MEM,
	LC_READ_MEM,
	LC_CPU,        /* the task's CPU and remote access: lang_cpu_op */
	LC_GUEST,      /* guest(VCPU) { ops }: a guest program for the next KVM_RUNs */
	LC_GUEST_OP,   /* one operation inside a guest program: lang_guest_op */
	LC_HEKI_POLICY,    /* KVM_HEKI_SET_POLICY of one list (exec_heki.c); nr: its type */
};

/* What a guest program does, one operation at a time (exec_guest.c). */
enum lang_guest_op {
	LG_READ,
	LG_WRITE,
	LG_FETCH,
	LG_HYPERCALL,
	LG_READ_CR,
	LG_WRITE_CR,
	LG_READ_U64,
	LG_WRITE_U64,
	LG_ENCLS,      /* SGX: ENCLS leaf, rbx, rcx, rdx (mv_guest_encls) */
	LG_SET_TAG,        /* MTE: STG, LDG, SCTLR_EL1.TCF */
	LG_GET_TAG,
	LG_SET_TCF,
	LG_RDMSR,          /* the guest's CET MSRs (mv_guest_rdmsr / wrmsr) */
	LG_WRMSR,
	/* the guest kernel's calls (<memvisor/guest_kernel.h>, exec_gkernel.c); keep them last */
	LG_KERNEL_BOOT,
	LG_SET_MEMORY_RO,
	LG_SET_MEMORY_RW,
	LG_SET_MEMORY_X,
	LG_SET_MEMORY_NX,
	LG_VMALLOC,
	LG_VFREE,
	LG_VMAP,
	LG_VUNMAP,
	LG_TEXT_POKE,
	LG_MODULE_LOAD,
	LG_MODULE_UNLOAD,
	LG_MODULE_AUTHENTICATED,
	LG_GET_PTE,
	LG_POKE_PTE,
	LG_HEKI_PERMISSIONS,
	LG_HEKI_HYPERCALLS,
};

/* CPU instructions and CPU-side events (the mv_cpu_* API). */
enum lang_cpu_op {
	LCPU_CALL,
	LCPU_RET,
	LCPU_RDSSP,
	LCPU_RSTORSSP,
	LCPU_SAVEPREVSSP,
	LCPU_WRSS,
	LCPU_INCSSP,
	LCPU_GET_REG,
	LCPU_SET_REG,
	LCPU_SIGNAL,
	LCPU_SIGRETURN,
	LCPU_REMOTE_READ,
	LCPU_REMOTE_WRITE,
	LCPU_PROT_SHSTK,
	LCPU_LOAD64,       /* read_u64: an 8-byte load, always available */
	LCPU_STORE64,      /* write_u64 */
	LCPU_SET_TAG,      /* MTE: STG, LDG by the task's CPU */
	LCPU_GET_TAG,
	LCPU_COPY_TAGS,    /* KVM_ARM_MTE_COPY_TAGS with the scenario's tag buffer */
	LCPU_GET_MSR,      /* KVM_GET_MSRS / KVM_SET_MSRS of one MSR */
	LCPU_SET_MSR,
	LCPU_VM_SNAPSHOT,  /* the VMM saves a VM to a file (exec_snapshot.c) */
	LCPU_VM_RESTORE,   /* ... and restores one into a VM it built */
};

enum lang_ret_kind {
	LRK_VALUE,     /* a number (or -errno) */
	LRK_TASK,      /* a task: the result is named tN */
	LRK_BYTES,     /* bytes read */
	LRK_NONE,
};

struct lang_arg_desc {
	const char *name;
	enum lang_arg_kind kind;
	const char *type;      /* LA_IN / LA_OUT: struct name, NULL: raw bytes */
	int len_arg;           /* LA_OUT without type: index of the length argument */
};

#define LANG_MAX_ARGS 6

struct lang_call_desc {
	const char *name;
	enum lang_call_type type;
	long nr;                       /* LC_SYSCALL; LC_HEKI_POLICY: KVM_HEKI_POLICY_* */
	int nargs;
	struct lang_arg_desc args[LANG_MAX_ARGS];
	enum lang_ret_kind ret;
	int min_args;          /* trailing integers may be left out (as 0) from here; 0: all needed */
	enum lang_cpu_op op;   /* LC_CPU */
	enum lang_guest_op gop;    /* LC_GUEST_OP */
};

const struct lang_call_desc *lang_call_find(const char *name);
const char *lang_call_suggest(const char *name);
/* The operations of a guest program, by name (read, write, hypercall, ...). */
const struct lang_call_desc *lang_guest_op_find(const char *name);
const char *lang_guest_op_suggest(const char *name);

/*
 * The fields exit(REASON, field=value, ...) may name for a KVM_RUN exit
 * (kvm_exit.c): where each lives in struct kvm_run. NULL: no such field for
 * that reason. @list gets "phys_addr, len, ..." for messages.
 */
struct lang_exit_field {
	const char *name;
	uint32_t reason;
	size_t offset;
	size_t size;
	bool shown;        /* part of the exit as reports print it */
};
const struct lang_exit_field *lang_exit_field_find(uint64_t reason, const char *name);
void lang_exit_fields_list(uint64_t reason, char *list, size_t size);
const char *lang_exit_field_suggest(uint64_t reason, const char *name);
/* Does this ioctl command run a vCPU (its expectation may be exit(...))? */
bool lang_is_kvm_run(uint64_t cmd);

struct lang_field_desc {
	const char *name;
	size_t offset;
	size_t size;
};

struct lang_struct_desc {
	const char *name;
	size_t size;
	const struct lang_field_desc *fields;
	size_t nfields;
	/*
	 * The kernel follows host pointers inside it (a local iovec's bases,
	 * clone_args.set_tid): only a struct literal, whose pointer fields a
	 * scenario cannot name, may fill it, never raw bytes.
	 */
	bool host_pointers;
};

const struct lang_struct_desc *lang_struct_find(const char *name);
const struct lang_field_desc *lang_struct_field(const struct lang_struct_desc *s,
						const char *name);
const char *lang_struct_field_suggest(const struct lang_struct_desc *s, const char *name);

/* ioctl commands whose argument is a struct: direction and type. */
struct lang_ioctl_desc {
	const char *cmd_name;
	uint64_t cmd;
	enum lang_arg_kind dir;        /* LA_IN or LA_OUT */
	const char *type;
};
const struct lang_ioctl_desc *lang_ioctl_find(uint64_t cmd);

#endif
