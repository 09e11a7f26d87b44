/* SPDX-License-Identifier: MIT */
/* Signal numbers and si_code values memvisor delivers (Linux values). */
#ifndef MEMVISOR_UAPI_SIGNAL_H
#define MEMVISOR_UAPI_SIGNAL_H

#ifndef SIGILL
#define SIGILL   4
#endif
#ifndef SIGBUS
#define SIGBUS   7
#endif
#ifndef SIGSEGV
#define SIGSEGV 11
#endif

#ifndef SEGV_MAPERR
#define SEGV_MAPERR  1
#define SEGV_ACCERR  2
#endif
#ifndef SEGV_BNDERR
#define SEGV_BNDERR  3
#endif
#ifndef SEGV_PKUERR
#define SEGV_PKUERR  4
#endif
#ifndef SEGV_MTEAERR
#define SEGV_MTEAERR 8
#endif
#ifndef SEGV_MTESERR
#define SEGV_MTESERR 9
#endif
#ifndef SEGV_CPERR
#define SEGV_CPERR  10
#endif

#ifndef BUS_ADRALN
#define BUS_ADRALN 1
#define BUS_ADRERR 2
#define BUS_OBJERR 3
#endif

#ifndef ILL_ILLOPC
#define ILL_ILLOPC 1
#define ILL_ILLOPN 2
#endif

#endif
