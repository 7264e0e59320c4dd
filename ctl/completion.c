/*
 * completion.c — the completion scripts built in (contract in completion.h).
 *
 * Not here: printing them (raftconfctl.c), what they complete (the
 * scripts themselves).
 */
#include "completion.h"

#include <stddef.h>
#include <string.h>

/* completion_bash[], completion_zsh[]: made from the scripts by make. */
#include "ctl/completion_scripts.inc"

const char *
completion_script(const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		return completion_bash;
	if (strcmp(shell, "zsh") == 0)
		return completion_zsh;
	return NULL;
}
