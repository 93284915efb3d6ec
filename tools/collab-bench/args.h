/* collab-bench: the command line (collab-bench --help lists it). */
#ifndef COLLAB_BENCH_ARGS_H
#define COLLAB_BENCH_ARGS_H

/* Fills bench.o: 0, 1 (--help printed) or 2 (bad usage, said on stderr). */
int bench_parse_args(int argc, char **argv);
/* --sources and --source-range into bench.sources: 0 or -1 (said). */
int bench_parse_sources(void);

#endif
