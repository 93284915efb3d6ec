/*
 * collab/loop.h - one epoll event loop per thread: fd watchers, timers,
 * end-of-turn hooks, signals and a cross-thread wake-up.
 *
 * A turn of the loop: wait in epoll_wait (no longer than the earliest timer
 * allows), dispatch the batch of fd events, fire every timer that is due,
 * then run every end-of-turn hook once. The server's batching and group
 * commit hang on the hooks: everything a turn received is handled before
 * they run.
 *
 * Ownership: the caller owns every struct here - the loop and each watcher,
 * timer, hook and signal. The loop keeps pointers to the ones registered
 * with it, so a registered object MUST stay at the same address and MUST be
 * removed (or cancelled, or unregistered) before its memory is freed or
 * reused. The loop itself MUST NOT be moved or copied after
 * collab_loop_init() (epoll holds pointers into it). The loop allocates only
 * through the allocator in its config: the epoll event batch at init and the
 * timer heap as it grows.
 *
 * Thread rules: a loop belongs to the thread that runs it. Every function
 * in this header MUST be called from that thread, and never concurrently -
 * except collab_loop_wake(), the only function safe to call from any other
 * thread (and from a signal handler). To act on a loop from another thread,
 * hand the work over through your own synchronized queue and call
 * collab_loop_wake(); the loop thread's on_wake callback picks it up.
 * collab_loop_wall_ms() touches no loop and is safe anywhere.
 *
 * Callbacks run on the loop thread, inside collab_loop_run() or
 * collab_loop_run_once(). A callback may add, modify or remove any watcher,
 * arm or cancel any timer, register or unregister any hook or signal, and
 * call collab_loop_stop(); it MUST NOT call collab_loop_run(),
 * collab_loop_run_once() or collab_loop_free() on its own loop.
 */
#ifndef COLLAB_LOOP_H
#define COLLAB_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "collab/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct collab_loop;

/* Interest and readiness bits of an fd watcher. */
#define COLLAB_LOOP_READ  1u
#define COLLAB_LOOP_WRITE 2u

/* Default and upper bound of collab_loop_config.max_events. */
#define COLLAB_LOOP_DEFAULT_MAX_EVENTS 256
#define COLLAB_LOOP_MAX_EVENTS_LIMIT   65536

/*
 * An fd watcher (24 bytes on LP64: the server holds tens of thousands of
 * idle connections). Level-triggered: on_io is called on every turn while
 * the fd is ready for something in the interest mask. events holds
 * COLLAB_LOOP_READ and/or COLLAB_LOOP_WRITE. An error or hang-up on the fd
 * (EPOLLERR, EPOLLHUP) is reported as READ|WRITE whatever the interest, so
 * the normal read or write path meets the error and closes; a watcher that
 * ignores it is called again on every turn.
 *
 * The fields are public so that the struct can be embedded; treat them as
 * read-only after collab_loop_io_init().
 */
struct collab_io {
	int fd;
	uint16_t mask;     /* current interest: COLLAB_LOOP_READ|WRITE */
	uint16_t state;    /* private: registered with a loop or not */
	void (*on_io)(struct collab_loop *loop, struct collab_io *io,
		      unsigned events);
	void *ctx;         /* the caller's; the loop never touches it */
};

/*
 * A one-shot timer (40 bytes on LP64). Armed timers sit in the loop's
 * binary min-heap ordered by (deadline, arming sequence): they fire in
 * deadline order, and timers with equal deadlines in the order they were
 * (last) armed. A timer is unarmed again when its callback runs, so the
 * callback may re-arm it (it then fires on a later turn, never twice in one
 * turn), or free its memory. Fields are read-only for the caller.
 */
struct collab_timer {
	uint64_t deadline; /* loop-clock ms; valid while armed */
	uint64_t seq;      /* arming sequence: breaks deadline ties */
	size_t idx;        /* heap position + 1; 0 while unarmed */
	void (*on_timer)(struct collab_loop *loop, struct collab_timer *t);
	void *ctx;         /* the caller's */
};

/*
 * An end-of-turn hook: on_turn runs once at the end of every turn, after
 * that turn's fd events and timers, in registration order. A hook
 * registered during the hook phase first runs at the end of the next turn.
 */
struct collab_hook {
	struct collab_hook *prev, *next; /* private */
	uint64_t turn;                   /* private: last turn it ran */
	int linked;                      /* private */
	void (*on_turn)(struct collab_loop *loop, struct collab_hook *h);
	void *ctx;                       /* the caller's */
};

/* A signal delivered through the loop's signalfd. Read-only fields. */
struct collab_signal {
	struct collab_signal *next;      /* private */
	int signo;
	int was_blocked;  /* private: blocked before registration */
	void (*on_signal)(struct collab_loop *loop, struct collab_signal *s);
	void *ctx;        /* the caller's */
};

/*
 * Configuration; collab_loop_config_init() fills the defaults. The loop
 * copies it at init.
 */
struct collab_loop_config {
	/* Events taken from epoll_wait per turn, 1..COLLAB_LOOP_MAX_EVENTS_LIMIT
	 * (default COLLAB_LOOP_DEFAULT_MAX_EVENTS). More ready fds simply wait
	 * for the next turn: level-triggered epoll reports them again. */
	size_t max_events;
	/* Allocator for the event batch and the timer heap. NULL (default):
	 * collab_alloc_default(). MUST outlive the loop. */
	const struct collab_alloc *alloc;
	/* Monotonic clock in milliseconds. NULL (default): CLOCK_MONOTONIC.
	 * Tests install a fake clock here to drive timers; called with
	 * clock_ctx. It MUST never go backwards. */
	uint64_t (*now_ms)(void *clock_ctx);
	void *clock_ctx;
	/* Called on the loop thread after one or more collab_loop_wake()
	 * calls (wakes coalesce: one call may stand for many). NULL: none. */
	void (*on_wake)(struct collab_loop *loop);
	/* The caller's; available as loop->cfg.ctx. */
	void *ctx;
};

/*
 * The loop. Defined here so that the caller can own it; every field is
 * private to loop.c, except cfg.ctx (read-only) and heap/heap_len, which
 * the unit tests read to verify the heap.
 */
struct collab_loop {
	struct collab_loop_config cfg;
	int epfd;                 /* epoll instance */
	int wakefd;               /* eventfd for collab_loop_wake() */
	int sigfd;                /* signalfd; -1 until the first signal */
	int stop;                 /* collab_loop_stop() was called */
	int in_turn;              /* a turn is running */
	uint64_t now;             /* cached clock for the current turn */
	uint64_t turn;            /* turns started so far */
	uint64_t timer_seq;       /* next arming sequence number */
	void *events;             /* struct epoll_event[cfg.max_events] */
	size_t ev_n;              /* events in the batch being dispatched */
	size_t ev_pos;            /* index of the event being dispatched */
	struct collab_timer **heap; /* the timer min-heap */
	size_t heap_len, heap_cap;
	struct collab_hook *hook_head, *hook_tail;
	struct collab_hook *hook_iter; /* next hook of the running phase */
	struct collab_signal *signals;
	struct collab_io wake_io, sig_io;
};

/* Fills cfg with the defaults above. */
void collab_loop_config_init(struct collab_loop_config *cfg);

/*
 * Creates the epoll instance (EPOLL_CLOEXEC) and the wake-up eventfd, and
 * allocates the event batch. cfg NULL: defaults. Returns 0, COLLAB_EINVAL
 * (max_events out of range), COLLAB_ENOMEM, or COLLAB_EIO (errno says
 * which system call failed). On failure nothing is left to free.
 */
int collab_loop_init(struct collab_loop *loop,
		     const struct collab_loop_config *cfg);

/*
 * Closes the loop's fds and frees its memory. Timers still armed become
 * unarmed, hooks unregistered, and signals are removed (their masks
 * restored), so those structs MUST still be valid memory; fd watchers still
 * registered are left as they are and MUST be re-initialized with
 * collab_loop_io_init() before reuse. Not from a callback of this loop.
 */
void collab_loop_free(struct collab_loop *loop);

/*
 * Runs turns until collab_loop_stop() is called, then returns 0 (the stop
 * request is consumed, so the loop can be run again). The turn in which
 * stop was called is finished first: its remaining fd events, its due
 * timers and its end-of-turn hooks all run. If stop was called before
 * collab_loop_run(), it returns at once. COLLAB_EIO if epoll_wait fails
 * (EINTR is not a failure); COLLAB_ESTATE if called from a callback.
 */
int collab_loop_run(struct collab_loop *loop);

/*
 * Runs exactly one turn. timeout_ms < 0: wait until an fd is ready or the
 * earliest timer is due; 0: do not wait; > 0: wait at most that long (less
 * if a timer is due sooner). Returns 0, COLLAB_EIO (epoll_wait failed) or
 * COLLAB_ESTATE (called from a callback). Does not look at or clear the
 * stop request.
 */
int collab_loop_run_once(struct collab_loop *loop, int timeout_ms);

/* Asks collab_loop_run() to return at the end of the current turn. Loop
 * thread only (from another thread: collab_loop_wake() and stop in
 * on_wake). */
void collab_loop_stop(struct collab_loop *loop);

/*
 * Wakes the loop: its next (or current) epoll_wait returns and on_wake
 * runs on the loop thread. The ONLY loop function safe to call from another
 * thread, and async-signal-safe. The caller MUST make sure loop is
 * initialized before and not freed during the call (join your threads
 * before collab_loop_free()). Returns 0 or COLLAB_EIO.
 */
int collab_loop_wake(struct collab_loop *loop);

/* The loop clock in ms, cached once per turn (after epoll_wait returns);
 * timers measure delays from it. */
uint64_t collab_loop_now(const struct collab_loop *loop);

/* Re-reads the clock into the cache (after a long computation, or before
 * arming timers outside a turn). Returns the new value. */
uint64_t collab_loop_update_now(struct collab_loop *loop);

/* Wall-clock time (CLOCK_REALTIME) in ms since the Unix epoch, for event
 * timestamps; never use it for timeouts. Any thread. */
uint64_t collab_loop_wall_ms(void);

/* ---- fd watchers ------------------------------------------------------ */

/* Prepares io for fd; registers nothing. ctx may be NULL. */
void collab_loop_io_init(struct collab_io *io, int fd,
			 void (*on_io)(struct collab_loop *loop,
				       struct collab_io *io, unsigned events),
			 void *ctx);

/*
 * Registers io (prepared with collab_loop_io_init()) with interest mask
 * (COLLAB_LOOP_READ|WRITE; 0 allowed: then only errors and hang-ups are
 * reported). Returns 0, COLLAB_EINVAL (unknown
 * mask bits or NULL on_io), COLLAB_EEXIST (io already registered) or
 * COLLAB_EIO (epoll_ctl refused the fd; errno says why: e.g. EPERM for a
 * regular file, EEXIST for an fd another watcher already holds).
 */
int collab_loop_io_add(struct collab_loop *loop, struct collab_io *io,
		       unsigned mask);

/*
 * Changes the interest mask; no system call when it is unchanged. Events
 * of the current batch not yet dispatched to io are filtered by the new
 * mask. Returns 0, COLLAB_EINVAL, COLLAB_ESTATE (io not registered) or
 * COLLAB_EIO.
 */
int collab_loop_io_modify(struct collab_loop *loop, struct collab_io *io,
			  unsigned mask);

/*
 * Unregisters io; a no-op for an unregistered io. Safe from any callback,
 * io's own included: events of the current batch still pointing at io are
 * dropped, so io may be freed as soon as this returns. MUST be called
 * before io->fd is closed. Returns 0, or COLLAB_EIO if epoll_ctl failed
 * (io is unregistered all the same).
 */
int collab_loop_io_remove(struct collab_loop *loop, struct collab_io *io);

/* ---- timers ----------------------------------------------------------- */

/* Prepares an unarmed timer. A zeroed struct with on_timer set is also an
 * unarmed timer. ctx may be NULL. */
void collab_loop_timer_init(struct collab_timer *t,
			    void (*on_timer)(struct collab_loop *loop,
					     struct collab_timer *t),
			    void *ctx);

/*
 * Arms t to fire delay_ms after collab_loop_now() (the deadline saturates
 * at UINT64_MAX). An armed timer is moved (re-armed), which never
 * allocates; arming an unarmed one may grow the heap (it doubles, and
 * keeps its size until collab_loop_free()). O(log n). A timer never fires
 * before its deadline on the loop clock. t MUST have been prepared with
 * collab_loop_timer_init() (or zeroed, on_timer set). Returns 0,
 * COLLAB_EINVAL (on_timer NULL), or COLLAB_ENOMEM (t stays unarmed, every
 * other timer as it was).
 */
int collab_loop_timer_arm(struct collab_loop *loop, struct collab_timer *t,
			  uint64_t delay_ms);

/* Same, at an absolute loop-clock deadline (in the past: the next turn). */
int collab_loop_timer_arm_at(struct collab_loop *loop, struct collab_timer *t,
			     uint64_t deadline_ms);

/* Disarms t; a no-op when t is not armed. O(log n). */
void collab_loop_timer_cancel(struct collab_loop *loop, struct collab_timer *t);

/* Non-zero while t is armed. */
int collab_loop_timer_armed(const struct collab_timer *t);

/* ---- end-of-turn hooks ------------------------------------------------ */

/* Prepares an unregistered hook. ctx may be NULL. */
void collab_loop_hook_init(struct collab_hook *h,
			   void (*on_turn)(struct collab_loop *loop,
					   struct collab_hook *h),
			   void *ctx);

/* Appends h (prepared with collab_loop_hook_init()) to the hooks, which
 * run in registration order. Returns 0, COLLAB_EINVAL (on_turn NULL) or
 * COLLAB_EEXIST (h already registered). */
int collab_loop_hook_add(struct collab_loop *loop, struct collab_hook *h);

/* Unregisters h (a no-op if it is not registered); safe from any hook, h
 * itself included: a hook unregistered before its turn came does not run. */
void collab_loop_hook_remove(struct collab_loop *loop, struct collab_hook *h);

/* ---- signals ---------------------------------------------------------- */

/*
 * Delivers signo through the loop's signalfd as a call of on_signal on the
 * loop thread. Blocks signo for the calling thread (pthread_sigmask), which
 * MUST be the loop thread. In a multi-threaded program, register signals
 * before starting other threads (they inherit the mask), or block them
 * there yourself: a process-directed signal goes to any thread that does
 * not block it. One registration per signal number per loop. Returns 0,
 * COLLAB_EINVAL (SIGKILL, SIGSTOP, out of range, or NULL on_signal),
 * COLLAB_EEXIST (signo or s already registered) or COLLAB_EIO.
 */
int collab_loop_signal(struct collab_loop *loop, struct collab_signal *s,
		       int signo,
		       void (*on_signal)(struct collab_loop *loop,
					 struct collab_signal *s),
		       void *ctx);

/*
 * Stops delivering s->signo and restores the thread's mask: the signal is
 * unblocked unless it was blocked before collab_loop_signal(). An instance
 * still pending then meets the signal's disposition. A no-op for an
 * unregistered s; safe from on_signal.
 */
void collab_loop_signal_remove(struct collab_loop *loop,
			       struct collab_signal *s);

#ifdef __cplusplus
}
#endif
#endif
