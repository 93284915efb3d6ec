/*
 * bench_journal.c - the journal's throughput and pauses (server/journal.h).
 *
 *   append   300-byte records committed in batches of 1 and 100 (and
 *            1000 for strict, a turn of 1,000 busy writers) under
 *            strict, relaxed (tick after every commit, 1 s interval) and
 *            none: records/s and MB/s, each for about BENCH_SECONDS of
 *            wall time (fdatasync is waiting, not computing)
 *   recover  srv_journal_open() of a 100 MB journal of 300-byte records,
 *            warm (in the page cache) and cold (the file's pages dropped
 *            with posix_fadvise(DONTNEED) first)
 *   compact  the pause of a compaction writing 100 MB of live state
 *   crc32c   GB/s of the dispatching (hardware when present) and the
 *            portable implementation over 64 MiB
 *
 * The data directory is made under $BENCH_DIR, else /var/tmp (on disk on
 * most systems, where /tmp may be tmpfs and fdatasync free); the file
 * system type is printed as a comment line, and the directory removed at
 * the end. Prints "bench <name> <value> <unit>" lines (MB = 10^6 bytes).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "journal.h"

#define BENCH_SECONDS 1.0
#define RECORD_BYTES 300
#define BIG_BYTES ((uint64_t)100 * 1000 * 1000)
#define TMPFS_MAGIC_NUMBER 0x01021994

static char root[256];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rm_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[600];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		(void)unlink(sub);
	}
	closedir(d);
	(void)rmdir(path);
}

static void die(const char *what, int rc, const char *msg)
{
	(void)fprintf(stderr, "bench_journal: %s: %d %s\n", what, rc, msg);
	exit(1);
}

static void open_journal(struct srv_journal *j, const char *dir,
			 enum srv_journal_durability d,
			 srv_journal_record_fn fn, void *ctx)
{
	struct srv_journal_config cfg;
	struct srv_journal_report rep;
	int rc;

	srv_journal_config_init(&cfg);
	cfg.dir = dir;
	cfg.durability = d;
	rc = srv_journal_open(j, &cfg, fn, ctx, &rep);
	if (rc != 0)
		die("open", rc, rep.msg);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	/* JSON-looking text, as the server writes */
	static const char alpha[] =
		"abcdefghijklmnopqrstuvwxyz0123456789 ,:\"{}";
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)alpha[(seed >> 33) % (sizeof(alpha) - 1)];
	}
}

static void bench_append(const char *mode, enum srv_journal_durability d,
			 size_t batch)
{
	char dir[300];
	struct srv_journal j;
	uint8_t rec[RECORD_BYTES];
	uint64_t n = 0;
	double t0, t;
	int rc;

	(void)snprintf(dir, sizeof(dir), "%s/append-%s-%zu", root, mode, batch);
	open_journal(&j, dir, d, NULL, NULL);
	fill(rec, sizeof(rec), 1);
	t0 = now();
	do {
		for (size_t i = 0; i < batch; i++) {
			rec[0] = (uint8_t)('a' + (n + i) % 26);
			rc = srv_journal_append(&j, 2, rec, sizeof(rec));
			if (rc != 0)
				die("append", rc, "");
		}
		rc = srv_journal_commit(&j);
		if (rc != 0)
			die("commit", rc, srv_journal_message(&j));
		n += batch;
		t = now();
		rc = srv_journal_tick(&j, (uint64_t)(t * 1000.0));
		if (rc != 0)
			die("tick", rc, srv_journal_message(&j));
	} while (t - t0 < BENCH_SECONDS);
	t = now() - t0;
	(void)printf("bench journal_append_%s_batch%zu %.0f records/s\n", mode,
		     batch, (double)n / t);
	(void)printf(
		"bench journal_append_%s_batch%zu_mb %.1f MB/s\n", mode, batch,
		(double)n * (RECORD_BYTES + SRV_JOURNAL_FRAME_HDR) / t / 1e6);
	srv_journal_close(&j);
	rm_dir(dir);
}

static int count(void *ctx, uint8_t type, const uint8_t *p, size_t len,
		 uint64_t off)
{
	(void)type;
	(void)p;
	(void)len;
	(void)off;
	(*(uint64_t *)ctx)++;
	return 0;
}

static void drop_cache(const char *dir)
{
	char path[400];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/journal", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	(void)fdatasync(fd);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	(void)close(fd);
}

static void bench_recover_and_compact(void)
{
	char dir[300];
	struct srv_journal j;
	struct srv_journal_compact c;
	struct srv_journal_stats st;
	uint8_t rec[RECORD_BYTES];
	uint64_t n = 0, seen;
	double t;
	int rc;

	(void)snprintf(dir, sizeof(dir), "%s/recover", root);
	open_journal(&j, dir, SRV_JOURNAL_NONE, NULL, NULL);
	fill(rec, sizeof(rec), 2);
	do {
		for (int i = 0; i < 1000; i++)
			srv_journal_append(&j, 2, rec, sizeof(rec));
		if ((rc = srv_journal_commit(&j)) != 0)
			die("commit", rc, srv_journal_message(&j));
		srv_journal_stats(&j, &st);
		n += 1000;
	} while (st.size < BIG_BYTES);
	srv_journal_sync(&j);
	srv_journal_close(&j);

	for (int cold = 0; cold < 2; cold++) {
		if (cold)
			drop_cache(dir);
		seen = 0;
		t = now();
		open_journal(&j, dir, SRV_JOURNAL_STRICT, count, &seen);
		t = now() - t;
		if (seen != n)
			die("recover", (int)seen, "record count");
		(void)printf("bench journal_recover_100mb_%s %.0f ms\n",
		       cold ? "cold" : "warm", t * 1000.0);
		(void)printf("bench journal_recover_100mb_%s_mb %.0f MB/s\n",
		       cold ? "cold" : "warm", (double)st.size / t / 1e6);
		srv_journal_close(&j);
	}

	/* compaction writing 100 MB of "live state": the loop's pause */
	open_journal(&j, dir, SRV_JOURNAL_STRICT, NULL, NULL);
	t = now();
	if ((rc = srv_journal_compact_begin(&j, &c)) != 0)
		die("compact_begin", rc, srv_journal_message(&j));
	for (uint64_t i = 0; i < n; i++)
		srv_journal_compact_append(&c, 2, rec, sizeof(rec));
	if ((rc = srv_journal_compact_commit(&c)) != 0)
		die("compact_commit", rc, srv_journal_message(&j));
	t = now() - t;
	srv_journal_stats(&j, &st);
	(void)printf("bench journal_compact_100mb_pause %.0f ms\n", t * 1000.0);
	srv_journal_close(&j);
	rm_dir(dir);
}

static void bench_crc(void)
{
	size_t n = (size_t)64 << 20;
	uint8_t *b = malloc(n);
	volatile uint32_t sink = 0;
	double t;

	if (b == NULL)
		return;
	fill(b, n, 3);
	t = now();
	sink ^= srv_crc32c(0, b, n);
	t = now() - t;
	(void)printf("bench crc32c_%s %.2f GB/s\n",
		     srv_crc32c_hw_available() ? "sse42" : "dispatch",
		     (double)n / t / 1e9);
	t = now();
	sink ^= srv_crc32c_sw(0, b, n);
	t = now() - t;
	(void)printf("bench crc32c_slicing8 %.2f GB/s\n", (double)n / t / 1e9);
	(void)sink;
	free(b);
}

int main(void)
{
	const char *base = getenv("BENCH_DIR");
	struct statfs sf;

	if (base == NULL || base[0] == '\0')
		base = "/var/tmp";
	(void)snprintf(root, sizeof(root), "%s/bench_journal.XXXXXX", base);
	if (mkdtemp(root) == NULL) {
		perror("bench_journal: mkdtemp");
		return 1;
	}
	if (statfs(root, &sf) == 0)
		(void)printf("# bench_journal: data in %s (%s)\n", root,
			     (unsigned long)sf.f_type == TMPFS_MAGIC_NUMBER
				     ? "tmpfs: fdatasync costs nothing here"
				     : "disk file system");
	(void)fflush(stdout);

	bench_crc();
	bench_append("strict", SRV_JOURNAL_STRICT, 1);
	bench_append("strict", SRV_JOURNAL_STRICT, 100);
	bench_append("strict", SRV_JOURNAL_STRICT, 1000);
	bench_append("relaxed", SRV_JOURNAL_RELAXED, 1);
	bench_append("relaxed", SRV_JOURNAL_RELAXED, 100);
	bench_append("none", SRV_JOURNAL_NONE, 1);
	bench_append("none", SRV_JOURNAL_NONE, 100);
	bench_recover_and_compact();
	(void)rmdir(root);
	return 0;
}
