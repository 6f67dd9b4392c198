/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fwd.h"
#include "fwd_switch.h"
#include "options.h"

void
vus_options_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- [--vhost-user PATH[,client][,queues=N]]...\n"
		"  --vhost-user PATH[,client][,queues=N]\n"
		"        a vhost-user port on unix socket PATH; server mode unless 'client';\n"
		"        N queue pairs at most (default %u, max %u). Repeatable.\n"
		"  Without --vhost-user: %u server ports %s/vhost0.sock ... (the default).\n"
		"  --fwd MODE\n"
		"        switch: L2 learning switch between all ports (default);\n"
		"        io, mac, macswap: ports 0<->1, 2<->3, ... as testpmd. Known: %s\n"
		"  --rxq N\n"
		"        RX queues (RSS) per ethdev port (default 1)\n"
		"  --vlan PORT:access:VLAN | PORT:trunk:LIST[:native:VLAN]\n"
		"        port VLAN mode (default access VLAN 1); LIST like 10,20,30-40\n"
		"  Every ethdev probed by EAL (-a PCI, --vdev net_af_packet0,iface=...) is a port,\n"
		"  numbered after the vhost-user ports.\n"
		"  -i, --interactive\n"
		"        the vuswitch> command prompt on stdin (doc/cli.md); from a pipe or a\n"
		"        FIFO, commands are read line by line; end of input quits\n"
		"  --cmdline-file FILE\n"
		"        run the commands in FILE at start\n"
		"  --stats-period S\n"
		"        without -i: every S seconds, one line per port: rx/tx Mpps, drops\n"
		"  --rebalance-interval S\n"
		"        every S seconds, move RX queues between lcores by measured load if\n"
		"        that lowers the busiest lcore's load by more than 25%% (default: never;\n"
		"        the rebalance command does it on demand)\n"
		"  --rxq-lcore PORT:QUEUE:LCORE[,PORT:QUEUE:LCORE...]\n"
		"        RX queue QUEUE of port PORT is polled by forwarding lcore LCORE (as\n"
		"        testpmd's --config); applied when the port is added, now or later;\n"
		"        a queue the port does not have is not pinned. Repeatable\n"
		"  --idle-sleep US\n"
		"        a forwarding lcore that found nothing to do %u times in a row sleeps\n"
		"        US microseconds (0..%u; 0, the default: always poll). For lcores that share\n"
		"        their CPU with other busy threads; adds up to US (and the kernel's\n"
		"        timer slack) to the first packet after an idle spell\n",
		prog, VHOST_CTRL_DEFAULT_QUEUE_PAIRS, VHOST_CTRL_MAX_QUEUE_PAIRS, VUS_DEFAULT_PORTS,
		VUS_DEFAULT_DIR, fwd_engine_names(), FWD_IDLE_STREAK, FWD_IDLE_SLEEP_MAX_US);
}

static int
parse_vhost(struct vus_options *o, const char *arg)
{
	unsigned int i = o->nvhost;
	struct vhost_port_params *p = &o->vhost[i];
	char *copy, *tok, *save = NULL;
	int ret = 0;

	if (i == VUS_MAX_CLI_PORTS) {
		fprintf(stderr, "too many --vhost-user ports (max %u)\n", VUS_MAX_CLI_PORTS);
		return -1;
	}
	copy = strdup(arg);
	if (copy == NULL)
		return -1;
	tok = strtok_r(copy, ",", &save);
	if (tok == NULL || strlen(tok) >= sizeof(o->vhost_paths[i])) {
		fprintf(stderr, "--vhost-user: bad path '%s'\n", arg);
		free(copy);
		return -1;
	}
	snprintf(o->vhost_paths[i], sizeof(o->vhost_paths[i]), "%s", tok);
	memset(p, 0, sizeof(*p));
	p->path = o->vhost_paths[i];
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		char *end;

		if (strcmp(tok, "client") == 0) {
			p->client = true;
		} else if (strncmp(tok, "queues=", 7) == 0) {
			unsigned long q = strtoul(tok + 7, &end, 10);

			if (*end != '\0' || q == 0 || q > VHOST_CTRL_MAX_QUEUE_PAIRS) {
				fprintf(stderr, "--vhost-user: queues must be 1..%u, got '%s'\n",
					VHOST_CTRL_MAX_QUEUE_PAIRS, tok + 7);
				ret = -1;
			}
			p->queue_pairs = (unsigned int)q;
		} else {
			fprintf(stderr, "--vhost-user: unknown option '%s'\n", tok);
			ret = -1;
		}
	}
	free(copy);
	if (ret == 0)
		o->nvhost++;
	return ret;
}

/* PORT:access:VLAN or PORT:trunk:LIST[:native:VLAN] */
static int
parse_vlan(struct vus_options *o, const char *arg)
{
	struct vus_vlan_opt *v = &o->vlans[o->nvlans];
	char buf[256], *mode, *val, *nat, *end;
	unsigned long port, n;

	if (o->nvlans == VUS_MAX_CLI_PORTS || strlen(arg) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", arg);
	memset(v, 0, sizeof(*v));
	mode = strchr(buf, ':');
	if (mode == NULL)
		goto bad;
	*mode++ = '\0';
	val = strchr(mode, ':');
	if (val == NULL)
		goto bad;
	*val++ = '\0';
	port = strtoul(buf, &end, 10);
	if (*end != '\0' || end == buf || port >= 256)
		goto bad;
	v->port = (uint16_t)port;
	if (strcmp(mode, "access") == 0) {
		n = strtoul(val, &end, 10);
		if (*end != '\0' || n < 1 || n > 4094)
			goto bad;
		v->vlan = (uint16_t)n;
	} else if (strcmp(mode, "trunk") == 0) {
		v->trunk = true;
		nat = strstr(val, ":native:");
		if (nat != NULL) {
			*nat = '\0';
			n = strtoul(nat + 8, &end, 10);
			if (*end != '\0' || n < 1 || n > 4094)
				goto bad;
			v->vlan = (uint16_t)n;
		}
		if (fwd_vlan_list_parse(val, v->allowed) != 0)
			goto bad;
	} else {
		goto bad;
	}
	o->nvlans++;
	return 0;
bad:
	fprintf(stderr,
		"--vlan: expected PORT:access:VLAN or PORT:trunk:LIST[:native:VLAN] "
		"(VLANs 1..4094), got '%s'\n",
		arg);
	return -1;
}

/* One PORT:QUEUE:LCORE at @p s into @p pin. @return what follows it, or NULL. */
static const char *
parse_pin(const char *s, struct vus_rxq_pin *pin)
{
	static const unsigned long max[3] = { FWD_MAX_PORTS - 1, VHOST_CTRL_MAX_QUEUE_PAIRS - 1,
					      RTE_MAX_LCORE - 1 };
	unsigned long v[3];
	char *end;

	for (unsigned int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return NULL;
		v[i] = strtoul(s, &end, 10);
		if (v[i] > max[i] || (i < 2 && *end != ':'))
			return NULL;
		s = i < 2 ? end + 1 : end;
	}
	pin->port = (uint16_t)v[0];
	pin->queue = (uint16_t)v[1];
	pin->lcore_id = (unsigned int)v[2];
	return s;
}

/* PORT:QUEUE:LCORE[,PORT:QUEUE:LCORE...]; nothing is kept from a bad list. */
static int
parse_rxq_lcore(struct vus_options *o, const char *arg)
{
	unsigned int n = o->nrxq_pins;
	const char *s = arg;

	for (;;) {
		if (n == VUS_MAX_RXQ_PINS) {
			fprintf(stderr, "--rxq-lcore: more than %u pins\n", VUS_MAX_RXQ_PINS);
			return -1;
		}
		s = parse_pin(s, &o->rxq_pins[n]);
		if (s == NULL || (*s != ',' && *s != '\0')) {
			fprintf(stderr,
				"--rxq-lcore: expected PORT:QUEUE:LCORE[,PORT:QUEUE:LCORE...] "
				"(port 0..%u, queue 0..%u, lcore 0..%u), got '%s'\n",
				FWD_MAX_PORTS - 1, VHOST_CTRL_MAX_QUEUE_PAIRS - 1,
				RTE_MAX_LCORE - 1, arg);
			return -1;
		}
		n++;
		if (*s++ == '\0')
			break;
	}
	o->nrxq_pins = n;
	return 0;
}

/* A decimal number in [min, max] for option @p name (@p unit for the message). */
static int
parse_uint(const char *name, const char *arg, unsigned int min, unsigned int max, const char *unit,
	   unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "--%s: %u..%u%s expected, got '%s'\n", name, min, max, unit, arg);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

/* Seconds, 1..3600, for option @p name. */
static int
parse_seconds(const char *name, const char *arg, unsigned int *out)
{
	return parse_uint(name, arg, 1, 3600, " seconds", out);
}

static int
parse_rxq(struct vus_options *o, const char *arg)
{
	unsigned int q;

	if (parse_uint("rxq", arg, 1, 64, "", &q) != 0)
		return -1;
	o->ethdev_rxq = (uint16_t)q;
	return 0;
}

static int
parse_fwd(struct vus_options *o, const char *arg)
{
	if (fwd_engine_find(arg) == NULL) {
		fprintf(stderr, "--fwd: unknown mode '%s' (known: %s)\n", arg, fwd_engine_names());
		return -1;
	}
	snprintf(o->fwd, sizeof(o->fwd), "%s", arg);
	return 0;
}

static void
set_defaults(struct vus_options *o)
{
	mkdir(VUS_DEFAULT_DIR, 0755);
	for (unsigned int i = 0; i < VUS_DEFAULT_PORTS; i++) {
		snprintf(o->vhost_paths[i], sizeof(o->vhost_paths[i]), "%s/vhost%u.sock",
			 VUS_DEFAULT_DIR, i);
		memset(&o->vhost[i], 0, sizeof(o->vhost[i]));
		o->vhost[i].path = o->vhost_paths[i];
	}
	o->nvhost = VUS_DEFAULT_PORTS;
	o->defaults = true;
}

int
vus_options_parse(struct vus_options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vhost-user", required_argument, NULL, 'v' },
		{ "fwd", required_argument, NULL, 'f' },
		{ "rxq", required_argument, NULL, 'r' },
		{ "vlan", required_argument, NULL, 'V' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "cmdline-file", required_argument, NULL, 'c' },
		{ "stats-period", required_argument, NULL, 's' },
		{ "rebalance-interval", required_argument, NULL, 'R' },
		{ "rxq-lcore", required_argument, NULL, 'L' },
		{ "idle-sleep", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	snprintf(o->fwd, sizeof(o->fwd), "switch");
	o->ethdev_rxq = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hi", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (parse_vhost(o, optarg) != 0)
				return -1;
			break;
		case 'f':
			if (parse_fwd(o, optarg) != 0)
				return -1;
			break;
		case 'r':
			if (parse_rxq(o, optarg) != 0)
				return -1;
			break;
		case 'V':
			if (parse_vlan(o, optarg) != 0)
				return -1;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 'c':
			o->cmdline_file = optarg;
			break;
		case 's':
			if (parse_seconds("stats-period", optarg, &o->stats_period) != 0)
				return -1;
			break;
		case 'R':
			if (parse_seconds("rebalance-interval", optarg, &o->rebalance_interval) !=
			    0)
				return -1;
			break;
		case 'L':
			if (parse_rxq_lcore(o, optarg) != 0)
				return -1;
			break;
		case 'S':
			if (parse_uint("idle-sleep", optarg, 0, FWD_IDLE_SLEEP_MAX_US,
				       " microseconds", &o->idle_sleep_us) != 0)
				return -1;
			break;
		case 'h':
		default:
			vus_options_usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument '%s'\n", argv[optind]);
		vus_options_usage(argv[0]);
		return -1;
	}
	if (o->nvhost == 0)
		set_defaults(o);
	return 0;
}
