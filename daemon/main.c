/*
 * main.c — raftconfd's entry point: command line, configuration, logging,
 * then the node's event loop.
 *
 * Only this file exits the process.  Everything it starts lives in modules
 * that return errors instead.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>

#include <event2/event.h>
#include <signal.h>

#include "addr.h"
#include "log.h"
#include "node.h"
#include "tls.h"

#ifndef RAFTCONF_DEFAULT_CONFIG
#define RAFTCONF_DEFAULT_CONFIG "/etc/raftconfd/raftconfd.yaml"
#endif

enum { EXIT_USAGE = 2 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: raftconfd [-c FILE] [--check] [-v] [--version] [--help]\n"
	    "       raftconfd --force-new-cluster [-c FILE] [-v]\n"
	    "       raftconfd --restore BACKUP [-c FILE]\n"
	    "\n"
	    "Replicated configuration store: keeps configuration keys identical on every\n"
	    "host of a cluster by agreeing on each change with Raft.\n"
	    "\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "      --check        validate FILE: print \"FILE: ok\" or every error as\n"
	    "                     FILE:LINE:COL: message, and exit 0 or 1\n"
	    "      --force-new-cluster  last resort once a majority is lost for good: start\n"
	    "                     with this node's data as a one-node cluster (the other\n"
	    "                     members are removed; wipe their data_dir before they\n"
	    "                     join again)\n"
	    "      --restore BACKUP  initialize FILE's data_dir, which must be empty, from\n"
	    "                     BACKUP (raftconfctl backup) as a member of the cluster\n"
	    "                     FILE's members make; do it on every member, then start\n"
	    "                     them; exit 0, or 1 with nothing written\n"
	    "  -v, --verbose      log more (once: debug, whatever log_level says)\n"
	    "      --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n"
	    "\n"
	    "See raftconfd(8) and raftconfd.yaml(5).\n",
	    RAFTCONF_DEFAULT_CONFIG);
}

/*
 * The TLS contexts cfg asks for, into *t: 0, or -EINVAL with the first
 * problem in err, as FILE:LINE:COL: key: message.
 */
static int
tls_load(const struct config *cfg, const char *path, struct node_tls *t, char *err, size_t errlen)
{
	*t = (struct node_tls){ 0 };
	if (cfg->tls_ca[0] && tls_peer_ctx_new(cfg, path, &t->peer, err, errlen) < 0)
		return -EINVAL;
	if (cfg->http_cert[0] && tls_http_ctx_new(cfg, path, &t->http, err, errlen) < 0) {
		SSL_CTX_free(t->peer);
		t->peer = NULL;
		return -EINVAL;
	}
	return 0;
}

static void
tls_unload_one(struct ssl_ctx_st **ctx)
{
	SSL_CTX_free(*ctx);
	*ctx = NULL;
}

static void
tls_unload(struct node_tls *t)
{
	SSL_CTX_free(t->peer);
	SSL_CTX_free(t->http);
	*t = (struct node_tls){ 0 };
}

static void
print_line(void *arg, bool warn, const char *line)
{
	printf("%s%s\n", line, warn ? " (warning)" : "");
}

static void
log_line(void *arg, bool warn, const char *line)
{
	if (warn)
		log_warning("%s", line);
	else
		log_info("%s", line);
}

/* --restore: exit status 0 or 1. */
static int
restore(const char *path, const char *file)
{
	struct config cfg;
	struct config_errors errs = { 0 };
	char msg[RAFTCONF_MAX_PATH * 2 + 256], err[RAFTCONF_MAX_PATH * 2 + 512];
	int rc;

	if (config_load(path, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i].msg);
		config_errors_free(&errs);
		return 1;
	}
	log_init("raftconfd", LOG_NOTICE);
	rc = node_restore(&cfg, file, msg, sizeof(msg), err, sizeof(err));
	config_free(&cfg);
	if (rc < 0) {
		fprintf(stderr, "raftconfd: %s\n", err);
		return 1;
	}
	printf("%s\n", msg);
	return 0;
}

/*
 * A port this node binds that lies in the kernel's range for outgoing
 * connections (net.ipv4.ip_local_port_range): any outgoing connection may
 * hold it when the node starts, and then it cannot listen (issue 17: spares
 * on such ports could not start).  Said by --check and at every start.
 */
static void
ports_report(const struct config *cfg, const char *path,
    void (*line)(void *arg, bool warn, const char *line), void *arg)
{
	const char *what[2] = { "node.listen", "http.listen" };
	const char *addr[2] = { cfg->listen, cfg->http_listen };
	unsigned lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	int got = f ? fscanf(f, "%u %u", &lo, &hi) : 0;

	if (f)
		fclose(f);
	if (got != 2)
		return;
	for (int i = 0; i < 2; i++) {
		char msg[RAFTCONF_MAX_PATH + 512];
		uint16_t port;

		if (addr[i][0] == '\0' || addr_parse(addr[i], NULL, 0, &port, NULL, 0) < 0 ||
		    port < lo || port > hi)
			continue;
		snprintf(msg, sizeof(msg),
		    "%s: %s %s: port %u is in the kernel's range for outgoing connections "
		    "(%u-%u, net.ipv4.ip_local_port_range): one may hold it when raftconfd "
		    "starts, and then it cannot listen; choose a port below %u",
		    path, what[i], addr[i], port, lo, hi, lo);
		line(arg, true, msg);
	}
}

static int
check_config(const char *path)
{
	struct config cfg;
	struct config_errors errs = { 0 };
	struct node_tls tls;
	char err[TLS_ERR_SIZE * 2];
	int rc;

	rc = config_load(path, &cfg, &errs);
	if (rc == 0 && tls_load(&cfg, path, &tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (rc == 0) {
		tls_report(&cfg, path, print_line, NULL);
		ports_report(&cfg, path, print_line, NULL);
		tls_unload(&tls);
		printf("%s: ok\n", path);
		config_free(&cfg);
		return 0;
	}
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.v[i].msg);
	config_errors_free(&errs);
	return 1;
}

struct runtime {
	struct event_base *base;
	struct node *node;
	const char *path;
	int verbose;
	bool peer_tls, http_tls; /* what the node started with */
};

/* SIGHUP: the certificates, keys, CA and CRL again, for new connections. */
static void
reload_tls(struct runtime *rt, const struct config *cfg)
{
	char err[TLS_ERR_SIZE * 2];
	struct node_tls tls;

	if ((cfg->tls_ca[0] != '\0') != rt->peer_tls)
		log_warning("SIGHUP: %s %s a tls section; peers switch to or from TLS only "
			    "at a restart (of every member), so this one keeps %s",
		    rt->path, cfg->tls_ca[0] ? "now has" : "no longer has",
		    rt->peer_tls ? "TLS" : "plain TCP");
	if ((cfg->http_cert[0] != '\0') != rt->http_tls)
		log_warning("SIGHUP: HTTPS is turned on or off only at a restart; keeping %s",
		    rt->http_tls ? "HTTPS" : "plain HTTP");
	if (!rt->peer_tls && !rt->http_tls)
		return;
	if (tls_load(cfg, rt->path, &tls, err, sizeof(err)) < 0) {
		log_warning("SIGHUP: %s; keeping the certificates in use", err);
		return;
	}
	if (!rt->peer_tls)
		tls_unload_one(&tls.peer);
	if (!rt->http_tls)
		tls_unload_one(&tls.http);
	node_set_tls(rt->node, &tls);
	tls_report(cfg, rt->path, log_line, NULL);
	log_notice("SIGHUP: new connections use the certificates of %s%s%s", rt->path,
	    tls.peer ? " (peers)" : "", tls.http ? " (HTTPS)" : "");
	tls_unload(&tls);
}

static int
level_for(int configured, int verbose)
{
	return verbose ? LOG_DEBUG : configured;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct runtime *rt = arg;
	struct config cfg;
	struct config_errors errs = { 0 };

	if (sig == SIGHUP) {
		/* What can change at run time: the log level. */
		if (config_load(rt->path, &cfg, &errs) == 0) {
			log_set_level(level_for(cfg.log_level, rt->verbose));
			log_notice("SIGHUP: reloaded %s; log level %s", rt->path,
			    config_log_level_name(log_get_level()));
			reload_tls(rt, &cfg);
			config_free(&cfg);
		} else {
			log_warning("SIGHUP: %s has %zu error(s), first: %s; keeping the running "
				    "settings",
			    rt->path, errs.n, errs.n ? errs.v[0].msg : "?");
			config_errors_free(&errs);
		}
		return;
	}
	log_notice("%s: stopping", strsignal((int)sig));
	node_stop(rt->node);
}

/*
 * The soft limit of open files up to the hard one (systemd starts services
 * with 1024 of a much higher hard limit), so that the caps of the peer
 * port, the control socket and HTTP stay below it (node.c).  At most 2^20:
 * more buys nothing.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1 << 20) ? (1 << 20) : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning(
		    "cannot raise the limit of open files to %llu: %m", (unsigned long long)want);
	else
		log_debug("limit of open files raised to %llu", (unsigned long long)want);
}

static int
run(const char *path, int verbose, bool force)
{
	struct runtime rt = { .path = path, .verbose = verbose };
	struct event *sigs[3] = { NULL };
	static const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	struct config cfg;
	struct config_errors errs = { 0 };
	struct node_tls tls = { 0 };
	char err[TLS_ERR_SIZE * 2];
	int rc, status = 1;

	log_init("raftconfd", verbose ? LOG_DEBUG : LOG_INFO);
	if (config_load(path, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("%s", errs.v[i].msg);
		config_errors_free(&errs);
		return 1;
	}
	cfg.force_new_cluster = force;
	log_set_level(level_for(cfg.log_level, verbose));
	log_set_node_id(cfg.node_id);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	rt.base = event_base_new();
	if (rt.base == NULL || event_base_priority_init(rt.base, 3) < 0) {
		log_err("cannot create the event loop");
		goto out;
	}
	if (tls_load(&cfg, path, &tls, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	rt.peer_tls = tls.peer != NULL;
	rt.http_tls = tls.http != NULL;
	if (!rt.peer_tls)
		log_warning("%s has no tls section: peers talk plain TCP, and whoever reaches "
			    "%s can claim a member's id (make certificates with "
			    "etc/tls/mkcerts.sh; raftconfd.yaml(5), tls)",
		    path, cfg.listen);
	tls_report(&cfg, path, log_line, NULL);
	ports_report(&cfg, path, log_line, NULL);
	rc = node_start(rt.base, &cfg, &tls, &rt.node, err, sizeof(err));
	tls_unload(&tls);
	if (rc < 0) {
		log_err("cannot start: %s", err);
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(rt.base, signums[i], signal_cb, &rt);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) < 0) {
			log_err("cannot install a signal handler");
			goto out;
		}
	}
	event_base_dispatch(rt.base);
	if ((rc = node_failed(rt.node)) < 0) {
		log_err("stopped after a failure (%s)", strerror(-rc));
		goto out;
	}
	status = 0;
	log_notice("stopped");
out:
	for (int i = 0; i < 3; i++)
		if (sigs[i])
			event_free(sigs[i]);
	node_free(rt.node);
	if (rt.base)
		event_base_free(rt.base);
	config_free(&cfg);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "restore", required_argument, NULL, 'R' },
		{ "force-new-cluster", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = RAFTCONF_DEFAULT_CONFIG, *backup = NULL;
	bool check = false, force = false;
	int verbose = 0, c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'R':
			backup = optarg;
			break;
		case 'F':
			force = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("raftconfd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt && optopt != '?')
				fprintf(stderr,
				    "raftconfd: option -%c needs an argument or is unknown; "
				    "try 'raftconfd --help'\n",
				    optopt);
			else
				fprintf(stderr,
				    "raftconfd: unknown option '%s'; try 'raftconfd --help'\n",
				    argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "raftconfd: unexpected argument '%s'; try 'raftconfd --help'\n",
		    argv[optind]);
		return EXIT_USAGE;
	}
	if (check && backup) {
		fprintf(stderr,
		    "raftconfd: --check and --restore do not go together; try "
		    "'raftconfd --help'\n");
		return EXIT_USAGE;
	}
	if (force && (check || backup)) {
		fprintf(stderr,
		    "raftconfd: --force-new-cluster starts the daemon: not with --%s; try "
		    "'raftconfd --help'\n",
		    check ? "check" : "restore");
		return EXIT_USAGE;
	}
	if (check)
		return check_config(path);
	if (backup)
		return restore(path, backup);

	return run(path, verbose, force);
}
