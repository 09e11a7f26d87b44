/* SPDX-License-Identifier: MIT */
/*
 * Must NOT compile: a system header that gives MAP_ANONYMOUS another value
 * than memvisor's, as an unknown system might. memvisor's static
 * assertion has to name the constant.
 */
#include <sys/mman.h>
#undef MAP_ANONYMOUS
#define MAP_ANONYMOUS 0x40

#include <memvisor/memvisor.h>

int main(void)
{
	return 0;
}
