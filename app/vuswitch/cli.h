/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUSWITCH_CLI_H
#define VUSWITCH_CLI_H

/**
 * @file
 * The command line front: testpmd-style commands on DPDK's rte_cmdline,
 * interactive (a terminal: editing, history, TAB completion, '?' help) or
 * read line by line from a pipe, a FIFO or a --cmdline-file. Commands live
 * in one file per noun group (cli_port.c, cli_fwd.c, cli_fdb.c,
 * cli_vhost.c, cli_show.c) and call only the operations layer (vus_ops.h).
 *
 * Every command's help string is "SYNTAX: description"; SYNTAX is what
 * `help` lists and what a wrong command is told it should have looked like.
 */

#include <signal.h>
#include <stdbool.h>

#include <cmdline_parse.h>

#include "vus_ops.h"

/** Prompt of the interactive CLI. */
#define CLI_PROMPT "vuswitch> "

/** A group of commands, listed together by `help`. */
struct cli_group {
	const char *title;
	cmdline_parse_inst_t *const *cmds; /**< NULL-terminated */
};

extern const struct cli_group cli_port_group, cli_fwd_group, cli_fdb_group, cli_vhost_group,
	cli_show_group;

/** Build the command table. @return 0 or -ENOMEM. */
int cli_init(void);

/** Free the command table. */
void cli_fini(void);

/** Run one command line (no echo). @return 0 if it ran and succeeded, -1 otherwise. */
int cli_exec(const char *line);

/**
 * Run the commands of @p path, one per line ('#' starts a comment), each
 * echoed after the prompt. @return number of failed commands, or -1 if the
 * file cannot be read.
 */
int cli_run_file(const char *path);

/**
 * Read commands from stdin until `quit`, end of input, or *@p stop becoming
 * non-zero (a signal). A terminal gets line editing; anything else is read
 * line by line, each line echoed after the prompt so the output reads as a
 * transcript.
 */
void cli_run(volatile sig_atomic_t *stop);

/** True once `quit` ran. */
bool cli_quit_requested(void);

/** Output of commands (stdout). */
void cli_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Report a failed operation: prints "error: <err>" and marks the command failed. */
void cli_fail(const char *err);

/** Like cli_fail() with a format. */
void cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Parse "all" (-1) or a port id into *@p id. On failure prints the problem
 * and returns -1.
 */
int cli_port_sel(const char *s, int *id);

/** Print the one-line stats of every port (--stats-period). */
void cli_stats_line(void);

#endif /* VUSWITCH_CLI_H */
