/* common/cleanup.h: scope-exit cleanup attributes and ownership hand-off. */
#ifndef SB_COMMON_CLEANUP_H
#define SB_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void sb_cleanup_freep(void *p)
{
	void **pp = (void **)p;
	free(*pp);
}

static inline void sb_cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void sb_cleanup_fclosep(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}

#define cleanup_free __attribute__((cleanup(sb_cleanup_freep)))
#define cleanup_close __attribute__((cleanup(sb_cleanup_closep)))
#define cleanup_file __attribute__((cleanup(sb_cleanup_fclosep)))

/* Returns *pp and sets *pp to NULL: hands ownership out of a cleanup variable. */
static inline void *sb_steal_pointer(void *pp)
{
	void **p = (void **)pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) sb_steal_pointer(pp)

#endif
