/*
 * completion.h — raftconfctl completion bash|zsh: the shell completion
 * scripts, built into the program.
 *
 * The scripts are ctl/raftconfctl.bash and ctl/raftconfctl.zsh, turned
 * into C strings by make (ctl/completion_scripts.inc), the same files that
 * make install installs: what the command prints and what is installed
 * cannot differ.
 */
#ifndef RAFTCONF_CTL_COMPLETION_H
#define RAFTCONF_CTL_COMPLETION_H

/* The script for shell ("bash" or "zsh"), static; NULL for another shell. */
const char *completion_script(const char *shell);

#endif
