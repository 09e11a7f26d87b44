/* SPDX-License-Identifier: MIT */
/*
 * A parsed program as tools see it (lang.h): its steps, their positions,
 * guest blocks and stories, without the syntax tree behind them.
 */
#include "lang/lang_int.h"

size_t lang_program_nsteps(const struct lang_program *p)
{
	return p->nsteps;
}

const struct lang_step *lang_program_step(const struct lang_program *p, size_t i)
{
	return i < p->nsteps ? &p->steps[i] : NULL;
}

const char *lang_program_story_end(const struct lang_program *p)
{
	return p->story_end;
}

struct lang_pos lang_step_pos(const struct lang_step *s)
{
	return s->pos;
}

size_t lang_step_index(const struct lang_step *s)
{
	return s->index;
}

const struct lang_step *lang_step_parent(const struct lang_step *s)
{
	return s->parent;
}

const char *lang_step_story(const struct lang_step *s)
{
	return s->story;
}

size_t lang_step_nops(const struct lang_step *s)
{
	return s->nbody;
}

const struct lang_step *lang_step_op(const struct lang_step *s, size_t i)
{
	return i < s->nbody ? &s->body[i] : NULL;
}
