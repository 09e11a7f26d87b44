/* SPDX-License-Identifier: MIT */
/*
 * Signal numbers and si_code values memvisor delivers (Linux values). The
 * C library's <signal.h> comes first when there is one: it may declare
 * the si_code values as enumerators, which a macro defined before it
 * would break. This header adds what it left out and checks the rest.
 * See <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_SIGNAL_H
#define MEMVISOR_UAPI_SIGNAL_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM
#if __has_include(<signal.h>)
#include <signal.h>
#endif
#endif

#ifndef SIGILL
#define SIGILL 4
#endif
#ifndef SIGBUS
#define SIGBUS 7
#endif
#ifndef SIGSEGV
#define SIGSEGV 11
#endif

/* si_code of a SIGSEGV the kernel forces (#GP, a bad signal frame) */
#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

#ifndef SEGV_MAPERR
#define SEGV_MAPERR 1
#endif
#ifndef SEGV_ACCERR
#define SEGV_ACCERR 2
#endif
#ifndef SEGV_BNDERR
#define SEGV_BNDERR 3
#endif
#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif
#ifndef SEGV_MTEAERR
#define SEGV_MTEAERR 8
#endif
#ifndef SEGV_MTESERR
#define SEGV_MTESERR 9
#endif
#ifndef SEGV_CPERR
#define SEGV_CPERR 10
#endif

#ifndef BUS_ADRALN
#define BUS_ADRALN 1
#endif
#ifndef BUS_ADRERR
#define BUS_ADRERR 2
#endif
#ifndef BUS_OBJERR
#define BUS_OBJERR 3
#endif

#ifndef ILL_ILLOPC
#define ILL_ILLOPC 1
#endif
#ifndef ILL_ILLOPN
#define ILL_ILLOPN 2
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(SIGILL, 4);
MV_UAPI_SAME(SIGBUS, 7);
MV_UAPI_SAME(SIGSEGV, 11);
MV_UAPI_SAME(SI_KERNEL, 0x80);
MV_UAPI_SAME(SEGV_MAPERR, 1);
MV_UAPI_SAME(SEGV_ACCERR, 2);
MV_UAPI_SAME(SEGV_BNDERR, 3);
MV_UAPI_SAME(SEGV_PKUERR, 4);
MV_UAPI_SAME(SEGV_MTEAERR, 8);
MV_UAPI_SAME(SEGV_MTESERR, 9);
MV_UAPI_SAME(SEGV_CPERR, 10);
MV_UAPI_SAME(BUS_ADRALN, 1);
MV_UAPI_SAME(BUS_ADRERR, 2);
MV_UAPI_SAME(BUS_OBJERR, 3);
MV_UAPI_SAME(ILL_ILLOPC, 1);
MV_UAPI_SAME(ILL_ILLOPN, 2);

#endif
