/*
 * collab-server - the reference server of the collab sync protocol
 * (PROTOCOL.md). main only reads the command line, starts the server,
 * prints the listening lines once recovery is complete, and runs it until
 * SIGTERM or SIGINT; server.c does the rest.
 *
 * Exit status: 0 after a clean stop, 1 on a start or run-time failure
 * (the journal's final sync at shutdown included), 2 for a bad command
 * line (config.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "server.h"

static struct srv_server server;

int main(int argc, char **argv)
{
	struct srv_config cfg;
	char msg[SRV_CONFIG_MSG_CAP], help[SRV_CONFIG_HELP_CAP];
	char addr[SRV_CONFIG_ADDR_TEXT_MAX + 1], admin[SRV_CONFIG_ADDR_TEXT_MAX + 1];
	int rc, status = 1;

	srv_config_init(&cfg);
	if (srv_config_parse(&cfg, argc, argv, msg, sizeof(msg)) != 0) {
		(void)fprintf(stderr, "%s: %s\n(see %s --help)\n", SRV_CONFIG_PROGRAM,
			msg, SRV_CONFIG_PROGRAM);
		return 2;
	}
	if (cfg.help) {
		if (srv_config_help(help, sizeof(help), NULL) != 0)
			return 1;
		(void)fputs(help, stdout);
		return 0;
	}
	if (cfg.version) {
		puts(srv_config_version());
		return 0;
	}
	/* Writes to a closed socket fail with EPIPE instead of killing us;
	 * a journal write past RLIMIT_FSIZE fails with EFBIG (journal.h). */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGXFSZ, SIG_IGN);

	rc = srv_server_init(&server, &cfg);
	if (rc == 0 &&
	    srv_config_addr_format(&cfg.listen, server.lst.port, addr,
				   sizeof(addr)) > 0 &&
	    srv_config_addr_format(&cfg.admin, server.admin.port, admin,
				   sizeof(admin)) > 0) {
		/* PROTOCOL.md 10 and 8: the first lines, once recovery is
		 * complete and requests are served */
		printf("listening %s://%s\nadmin http://%s\n",
		       server.has_tls ? "wss" : "ws", addr, admin);
		if (cfg.demo && server.has_www)
			printf("demo: open http%s://%s/ in two browser tabs\n",
			       server.has_tls ? "s" : "", addr);
		(void)fflush(stdout);
		srv_log(&server, SRV_CONFIG_LOG_INFO,
			"%s %s: listening on %s, admin on %s, data in %s (%s)",
			SRV_CONFIG_PROGRAM, SRV_CONFIG_VERSION, addr, admin,
			cfg.data, srv_config_durability_name(cfg.durability));
		status = srv_server_run(&server) == 0 ? 0 : 1;
		if (status == 0)
			srv_log(&server, SRV_CONFIG_LOG_INFO, "stopped");
	}
	srv_server_free(&server);
	/* data the clients were sent may not be on disk */
	if (server.final_sync_failed)
		status = 1;
	return status;
}
