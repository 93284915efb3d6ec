/*
 * kernel_baseline - the raw kernel limit the server's fan-out is measured
 * against (tests/bench/bench_server.py): one writer process sends one
 * message of --size bytes to each of --conns connected loopback TCP
 * sockets in turn, one send(2) per socket per pass (TCP_NODELAY, as the
 * server's sockets), for --duration-ms; a reader process drains the other
 * ends with epoll. No WebSocket, no JSON, no queues: what a perfect server
 * could not beat with single sends.
 *
 *   kernel_baseline [--conns 1000] [--size 300] [--batch 1]
 *                   [--duration-ms 3000] [--writer-cpu 0] [--reader-cpu 1]
 *
 * --batch K sends K messages' bytes in each send (the server's burst path
 * writes everything pending for a connection at once). A cpu of 65535
 * leaves that process unpinned.
 *
 * Output: one JSON object on stdout: sends and messages in the window,
 * sends that met a full socket (EAGAIN: the reader fell behind, the pass
 * moves on), the window, the writer's CPU in it, and the reader's CPU and
 * wall time from its first byte to the last EOF (a reader near 100% means
 * the reader, not the writer, set the pace). Integers only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KB_MAX_CONNS 8000u
#define KB_READ_BUF (256u * 1024u)

static uint64_t mono_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i]; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static void pin(uint64_t cpu)
{
	cpu_set_t set;

	if (cpu >= CPU_SETSIZE)
		return;
	CPU_ZERO(&set);
	CPU_SET((size_t)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("kernel_baseline: sched_setaffinity");
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/* The reader: drains every socket until each reports EOF, then writes
 * its CPU time and wall time (from its first byte to the last EOF, in us)
 * to report. */
static int reader(const int *fds, size_t n, int report)
{
	uint64_t first = 0, c0 = 0, out[2];
	struct epoll_event ev, *evs;
	uint8_t *buf = malloc(KB_READ_BUF);
	size_t open_n = n, i;
	int ep = epoll_create1(0);

	evs = calloc(n, sizeof(*evs));
	if (ep < 0 || buf == NULL || evs == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		ev.events = EPOLLIN;
		ev.data.u64 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0)
			return 1;
	}
	while (open_n > 0) {
		int k = epoll_wait(ep, evs, (int)n, 1000), j;

		if (k < 0 && errno != EINTR)
			return 1;
		if (k > 0 && first == 0) {
			first = mono_us();
			c0 = cpu_us();
		}
		for (j = 0; j < k; j++) {
			size_t idx = (size_t)evs[j].data.u64;
			ssize_t r = recv(fds[idx], buf, KB_READ_BUF, MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				(void)epoll_ctl(ep, EPOLL_CTL_DEL, fds[idx], NULL);
				close(fds[idx]);
				open_n--;
			}
		}
	}
	out[0] = cpu_us() - c0;
	out[1] = mono_us() - first;
	if (write(report, out, sizeof(out)) != (ssize_t)sizeof(out))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t conns = 1000, size = 300, batch = 1, duration_ms = 3000;
	uint64_t wcpu = 0, rcpu = 1, sends = 0, full = 0, t0, t1, c0, c1, now;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int *wfd, *rfd, lfd, one = 1, i, status = 0;
	size_t k, len;
	uint8_t *msg;
	uint64_t rep[2] = { 0, 0 };
	int pfd[2];
	pid_t child;

	for (i = 1; i + 1 < argc; i += 2) {
		uint64_t *dst = NULL;

		if (strcmp(argv[i], "--conns") == 0)
			dst = &conns;
		else if (strcmp(argv[i], "--size") == 0)
			dst = &size;
		else if (strcmp(argv[i], "--batch") == 0)
			dst = &batch;
		else if (strcmp(argv[i], "--duration-ms") == 0)
			dst = &duration_ms;
		else if (strcmp(argv[i], "--writer-cpu") == 0)
			dst = &wcpu;
		else if (strcmp(argv[i], "--reader-cpu") == 0)
			dst = &rcpu;
		if (dst == NULL || parse_u64(argv[i + 1], dst) != 0)
			break;
	}
	if (i != argc || conns == 0 || conns > KB_MAX_CONNS || size == 0 ||
	    batch == 0 || size > (1u << 20) || batch > 1024) {
		fprintf(stderr, "usage: kernel_baseline [--conns N] [--size B] [--batch K] "
			"[--duration-ms D] [--writer-cpu C] [--reader-cpu C]\n");
		return 2;
	}
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	(void)signal(SIGPIPE, SIG_IGN);
	len = (size_t)(size * batch);
	msg = malloc(len);
	wfd = calloc(conns, sizeof(*wfd));
	rfd = calloc(conns, sizeof(*rfd));
	if (msg == NULL || wfd == NULL || rfd == NULL)
		return 1;
	memset(msg, 'x', len);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 4096) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("kernel_baseline: listen");
		return 1;
	}
	for (k = 0; k < conns; k++) {
		rfd[k] = socket(AF_INET, SOCK_STREAM, 0);
		if (rfd[k] < 0 || connect(rfd[k], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			perror("kernel_baseline: connect");
			return 1;
		}
		wfd[k] = accept(lfd, NULL, NULL);
		if (wfd[k] < 0) {
			perror("kernel_baseline: accept");
			return 1;
		}
		(void)setsockopt(wfd[k], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	close(lfd);

	if (pipe(pfd) != 0) {
		perror("kernel_baseline: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("kernel_baseline: fork");
		return 1;
	}
	if (child == 0) {
		for (k = 0; k < conns; k++)
			close(wfd[k]);
		close(pfd[0]);
		pin(rcpu);
		_exit(reader(rfd, conns, pfd[1]));
	}
	close(pfd[1]);
	for (k = 0; k < conns; k++)
		close(rfd[k]);
	pin(wcpu);

	/* a short warm-up pass, then the window */
	t0 = mono_us();
	while (mono_us() - t0 < 200000)
		for (k = 0; k < conns; k++)
			(void)send(wfd[k], msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	c0 = cpu_us();
	t0 = mono_us();
	do {
		for (k = 0; k < conns; k++) {
			ssize_t w = send(wfd[k], msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w > 0)
				sends++;
			else
				full++;
		}
		now = mono_us();
	} while (now - t0 < duration_ms * 1000u);
	t1 = now;
	c1 = cpu_us();
	for (k = 0; k < conns; k++)
		close(wfd[k]);
	if (read(pfd[0], rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		rep[0] = rep[1] = 0;
	close(pfd[0]);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fprintf(stderr, "kernel_baseline: the reader failed\n");
	printf("{\"conns\":%llu,\"size\":%llu,\"batch\":%llu,\"window_us\":%llu,"
	       "\"sends\":%llu,\"messages\":%llu,\"full\":%llu,\"writer_cpu_us\":%llu,"
	       "\"reader_cpu_us\":%llu,\"reader_wall_us\":%llu}\n",
	       (unsigned long long)conns, (unsigned long long)size,
	       (unsigned long long)batch, (unsigned long long)(t1 - t0),
	       (unsigned long long)sends, (unsigned long long)(sends * batch),
	       (unsigned long long)full, (unsigned long long)(c1 - c0),
	       (unsigned long long)rep[0], (unsigned long long)rep[1]);
	free(msg);
	free(wfd);
	free(rfd);
	return 0;
}
