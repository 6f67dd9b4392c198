/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The command line engine: the rte_cmdline table assembled from the noun
 * groups, one-line execution with useful errors, `help`, `quit`, and the
 * three ways commands arrive (terminal, pipe or FIFO, command file).
 *
 * rte_cmdline's own reader prints a bare "Bad arguments" for a wrong line.
 * We want to say what was expected, so the terminal loop drives rdline
 * directly with our own validate callback (cmdline_parse() plus
 * explain()), and pipes are read line by line.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmdline.h>
#include <cmdline_parse_string.h>
#include <cmdline_rdline.h>

#include "cli.h"

/* Longest command line. */
#define CLI_LINE_MAX 1024
/* Most words explain() compares. */
#define CLI_MAX_WORDS 16

static cmdline_parse_ctx_t *g_ctx;
static struct cmdline *g_cl;
static bool g_failed;
static bool g_quit;

static const struct cli_group cli_misc_group;
static const struct cli_group *const g_groups[] = {
	&cli_show_group, &cli_port_group, &cli_vhost_group,
	&cli_fwd_group,  &cli_fdb_group,  &cli_misc_group,
};

void
cli_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void
cli_fail(const char *err)
{
	g_failed = true;
	printf("error: %s\n", err);
}

void
cli_failf(const char *fmt, ...)
{
	char buf[VUS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cli_fail(buf);
}

int
cli_port_sel(const char *s, int *id)
{
	char *end;
	unsigned long v;

	if (strcmp(s, "all") == 0) {
		*id = -1;
		return 0;
	}
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || v >= FWD_MAX_PORTS) {
		cli_failf("expected all or a port id (0..%u), got '%s'", FWD_MAX_PORTS - 1, s);
		return -1;
	}
	*id = (int)v;
	return 0;
}

bool
cli_quit_requested(void)
{
	return g_quit;
}

/* --- explaining what was expected -------------------------------------------------------- */

/* The SYNTAX part of "SYNTAX: description" into @p buf. */
static const char *
syntax_of(const cmdline_parse_inst_t *inst, char *buf, size_t len)
{
	const char *h = inst->help_str, *colon = strstr(h, ": ");
	size_t n = colon != NULL ? (size_t)(colon - h) : strlen(h);

	snprintf(buf, len, "%.*s", (int)RTE_MIN(n, len - 1), h);
	return buf;
}

static unsigned int
split_words(char *s, char **w, unsigned int max)
{
	unsigned int n = 0;

	for (char *save = NULL, *t = strtok_r(s, " \t", &save); t != NULL && n < max;
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	return n;
}

/* Does syntax word @p sw ("a|b", "<x>", "[c]") accept input word @p in? */
static bool
word_matches(const char *sw, const char *in)
{
	char alt[128], *save = NULL;

	snprintf(alt, sizeof(alt), "%s", sw + (sw[0] == '['));
	alt[strcspn(alt, "]")] = '\0';
	for (char *a = strtok_r(alt, "|", &save); a != NULL; a = strtok_r(NULL, "|", &save))
		if (a[0] == '<' || strcmp(a, in) == 0)
			return true;
	return false;
}

/* How many leading words of @p in the syntax of @p inst accepts. */
static unsigned int
match_score(const cmdline_parse_inst_t *inst, char **in, unsigned int nin)
{
	char syn[256], *sw[CLI_MAX_WORDS];
	unsigned int ns = split_words((char *)syntax_of(inst, syn, sizeof(syn)), sw, CLI_MAX_WORDS);
	unsigned int k = 0;

	while (k < nin && k < ns && word_matches(sw[k], in[k]))
		k++;
	return k;
}

/* Print the syntax of the commands closest to the line (deduplicated). */
static void
explain(const char *line, int why)
{
	char copy[CLI_LINE_MAX + 1], *in[CLI_MAX_WORDS], syn[256], last[256] = "";
	unsigned int nin, best = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	nin = split_words(copy, in, CLI_MAX_WORDS);
	for (unsigned int i = 0; g_ctx[i] != NULL; i++)
		best = RTE_MAX(best, match_score(g_ctx[i], in, nin));
	if (best == 0) {
		cli_failf("unknown command '%s': type help", nin > 0 ? in[0] : "");
		return;
	}
	cli_failf(why == CMDLINE_PARSE_AMBIGUOUS ? "ambiguous command" : "bad arguments");
	printf("expected:\n");
	for (unsigned int i = 0; g_ctx[i] != NULL; i++) {
		if (match_score(g_ctx[i], in, nin) != best)
			continue;
		syntax_of(g_ctx[i], syn, sizeof(syn));
		if (strcmp(syn, last) != 0)
			printf("  %s\n", syn);
		snprintf(last, sizeof(last), "%s", syn);
	}
}

int
cli_exec(const char *line)
{
	char buf[CLI_LINE_MAX + 1];
	size_t n;
	int ret;

	while (isblank((unsigned char)*line))
		line++;
	n = strcspn(line, "\r\n");
	if (n == 0 || line[0] == '#')
		return 0;
	g_failed = false;
	if (n >= CLI_LINE_MAX) {
		cli_failf("line longer than %u characters", CLI_LINE_MAX - 1);
		fflush(stdout);
		return -1;
	}
	/* cmdline_parse() wants the end of line. */
	snprintf(buf, sizeof(buf), "%.*s\n", (int)n, line);
	ret = cmdline_parse(g_cl, buf);
	if (ret == CMDLINE_PARSE_AMBIGUOUS || ret == CMDLINE_PARSE_NOMATCH ||
	    ret == CMDLINE_PARSE_BAD_ARGS) {
		buf[n] = '\0';
		explain(buf, ret);
	}
	fflush(stdout);
	return g_failed ? -1 : 0;
}

/* --- help and quit ----------------------------------------------------------------------- */

struct cmd_help_result {
	cmdline_fixed_string_t help;
	cmdline_fixed_string_t topic;
};

/* Does the syntax name @p topic literally (placeholders do not count)? */
static bool
has_word(const char *syntax, const char *topic)
{
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", syntax);
	for (char *w = strtok_r(copy, " |[]", &save); w != NULL; w = strtok_r(NULL, " |[]", &save))
		if (strcmp(w, topic) == 0)
			return true;
	return false;
}

static void
help_group(const struct cli_group *g, const char *topic)
{
	char syn[256];
	bool title = false;

	for (unsigned int i = 0; g->cmds[i] != NULL; i++) {
		const char *h = g->cmds[i]->help_str, *desc = strstr(h, ": ");

		syntax_of(g->cmds[i], syn, sizeof(syn));
		if (topic != NULL && !has_word(syn, topic))
			continue;
		/* Variants of one command share a help string: list it once. */
		if (i > 0 && strcmp(h, g->cmds[i - 1]->help_str) == 0)
			continue;
		if (!title)
			printf("%s:\n", g->title);
		title = true;
		printf("  %s\n      %s\n", syn, desc != NULL ? desc + 2 : "");
	}
}

static void
help_all(const char *topic)
{
	for (unsigned int i = 0; i < RTE_DIM(g_groups); i++)
		help_group(g_groups[i], topic);
}

static void
cmd_help_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_help_result *r = parsed;
	char syn[256];
	bool any = false;

	if (data == NULL) {
		help_all(NULL);
		return;
	}
	for (unsigned int i = 0; g_ctx[i] != NULL; i++)
		any |= has_word(syntax_of(g_ctx[i], syn, sizeof(syn)), r->topic);
	if (!any) {
		cli_failf("no command mentions '%s': type help", r->topic);
		return;
	}
	help_all(r->topic);
}

static cmdline_parse_token_string_t cmd_help_help = TOKEN_STRING_INITIALIZER(struct cmd_help_result,
									     help, "help");
static cmdline_parse_token_string_t cmd_help_topic = TOKEN_STRING_INITIALIZER(
	struct cmd_help_result, topic, NULL);

static cmdline_parse_inst_t cmd_help = {
	.f = cmd_help_parsed,
	.data = NULL,
	.help_str = "help: list every command",
	.tokens = { (void *)&cmd_help_help, NULL },
};

static cmdline_parse_inst_t cmd_help_word = {
	.f = cmd_help_parsed,
	.data = (void *)1,
	.help_str = "help <word>: the commands with that word, e.g. help fdb",
	.tokens = { (void *)&cmd_help_help, (void *)&cmd_help_topic, NULL },
};

static void
cmd_quit_parsed(void *parsed, struct cmdline *cl, void *data)
{
	g_quit = true;
	printf("Bye...\n");
}

static cmdline_parse_token_string_t cmd_quit_quit = TOKEN_STRING_INITIALIZER(struct cmd_help_result,
									     help, "quit");

static cmdline_parse_inst_t cmd_quit = {
	.f = cmd_quit_parsed,
	.data = NULL,
	.help_str = "quit: stop forwarding, close every port and exit",
	.tokens = { (void *)&cmd_quit_quit, NULL },
};

static cmdline_parse_inst_t *const misc_cmds[] = { &cmd_help, &cmd_help_word, &cmd_quit, NULL };
static const struct cli_group cli_misc_group = { .title = "Other", .cmds = misc_cmds };

/* --- set-up ------------------------------------------------------------------------------ */

int
cli_init(void)
{
	unsigned int n = 0, k = 0;

	for (unsigned int g = 0; g < RTE_DIM(g_groups); g++)
		for (unsigned int i = 0; g_groups[g]->cmds[i] != NULL; i++)
			n++;
	g_ctx = calloc(n + 1, sizeof(*g_ctx));
	if (g_ctx == NULL)
		return -ENOMEM;
	for (unsigned int g = 0; g < RTE_DIM(g_groups); g++)
		for (unsigned int i = 0; g_groups[g]->cmds[i] != NULL; i++)
			g_ctx[k++] = g_groups[g]->cmds[i];
	/*
	 * Output goes through stdio (cli_printf); the object parses, and lists
	 * completions on stdout. Its own reader is not used: an empty prompt
	 * keeps cmdline_new() from printing one.
	 */
	g_cl = cmdline_new(g_ctx, "", STDIN_FILENO, STDOUT_FILENO);
	if (g_cl == NULL) {
		free(g_ctx);
		g_ctx = NULL;
		return -ENOMEM;
	}
	return 0;
}

void
cli_fini(void)
{
	if (g_cl != NULL)
		cmdline_free(g_cl);
	free(g_ctx);
	g_cl = NULL;
	g_ctx = NULL;
}

/* --- where commands come from ------------------------------------------------------------ */

/* A line from a pipe or a file: echoed after the prompt, run. */
static void
echo_exec(const char *line, int *failed)
{
	size_t n = strcspn(line, "\r\n");

	printf("%.*s\n", (int)n, line);
	if (cli_exec(line) != 0 && failed != NULL)
		(*failed)++;
	if (!g_quit)
		printf("%s", CLI_PROMPT);
	fflush(stdout);
}

int
cli_run_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[CLI_LINE_MAX + 2];
	int failed = 0;

	if (f == NULL) {
		printf("error: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("Read CLI commands from %s\n%s", path, CLI_PROMPT);
	while (!g_quit && fgets(line, sizeof(line), f) != NULL) {
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue; /* blank lines make no transcript */
		echo_exec(line, &failed);
	}
	if (!g_quit)
		printf("\n");
	fclose(f);
	fflush(stdout);
	return failed;
}

/* Wait up to 200 ms for input, so signals and `stop` are noticed. */
static int
wait_input(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return poll(&p, 1, 200);
}

static void
run_lines(volatile sig_atomic_t *stop)
{
	char buf[CLI_LINE_MAX * 4];
	size_t len = 0;

	printf("%s", CLI_PROMPT);
	fflush(stdout);
	while (!*stop && !g_quit) {
		ssize_t n;
		char *nl;

		if (wait_input() <= 0)
			continue;
		n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		while (!g_quit && (nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			echo_exec(buf, NULL);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line too long for anyone: dropped */
	}
	/* End of input without a final newline: the last command still runs. */
	if (len > 0 && !g_quit && !*stop) {
		buf[len] = '\0';
		echo_exec(buf, NULL);
	}
	if (!g_quit)
		printf("\n");
	fflush(stdout);
}

static int
tty_write(struct rdline *rdl, char c)
{
	return write(STDOUT_FILENO, &c, 1) == 1 ? 0 : -1;
}

static void
tty_validate(struct rdline *rdl, const char *buf, unsigned int size)
{
	cli_exec(buf);
	fflush(stdout);
}

static int
tty_complete(struct rdline *rdl, const char *buf, char *dst, unsigned int size, int *state)
{
	return cmdline_complete(g_cl, buf, state, dst, size);
}

/* As cmdline_in() does: keep a line in the history unless it repeats the last. */
static void
tty_history(struct rdline *rdl)
{
	const char *buf = rdline_get_buffer(rdl);
	const char *last = rdline_get_history_item(rdl, 0);
	size_t n = strlen(buf);

	if (n <= 1 ||
	    (last != NULL && strncmp(buf, last, strlen(last)) == 0 && buf[strlen(last)] == '\n'))
		return;
	rdline_add_history(rdl, buf);
}

/* Feed @p n characters; false once the session ends (Ctrl-D, quit). */
static bool
tty_feed(struct rdline *rdl, const char *c, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		int ret = rdline_char_in(rdl, c[i]);

		if (ret == RDLINE_RES_VALIDATED) {
			tty_history(rdl);
			if (g_quit)
				return false;
			rdline_newline(rdl, CLI_PROMPT);
		} else if (ret == RDLINE_RES_EOF || ret == RDLINE_RES_EXITED) {
			printf("\n");
			return false;
		}
	}
	return true;
}

static void
run_tty(volatile sig_atomic_t *stop)
{
	struct termios old, raw;
	struct rdline *rdl = rdline_new(tty_write, tty_validate, tty_complete, NULL);
	char c[64];

	if (rdl == NULL) {
		run_lines(stop);
		return;
	}
	/* Characters one by one, echoed by rdline; Ctrl-C still signals. */
	tcgetattr(STDIN_FILENO, &old);
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	rdline_newline(rdl, CLI_PROMPT);
	while (!*stop && !g_quit) {
		ssize_t n;

		if (wait_input() <= 0)
			continue;
		n = read(STDIN_FILENO, c, sizeof(c));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || !tty_feed(rdl, c, n))
			break;
	}
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	rdline_free(rdl);
	fflush(stdout);
}

void
cli_run(volatile sig_atomic_t *stop)
{
	if (isatty(STDIN_FILENO))
		run_tty(stop);
	else
		run_lines(stop);
}
