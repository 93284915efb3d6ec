/*
 * loop.c - the epoll event loop: fd watchers, a timer heap, end-of-turn
 * hooks, signalfd and an eventfd wake-up. Every epoll call of the library
 * lives in this file.
 */
#include "collab/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* First timer-heap allocation, in entries; it doubles from there. */
#define LOOP_HEAP_MIN_CAP 16

/* collab_io.state */
#define IO_REGISTERED 1u

/* collab_loop.in_turn */
#define TURN_NONE  0
#define TURN_MAIN  1 /* fd events and timers */
#define TURN_HOOKS 2

/* ---- clock ------------------------------------------------------------ */

static uint64_t ts_to_ms(const struct timespec *ts)
{
	if (ts->tv_sec < 0)
		return 0;
	return (uint64_t)ts->tv_sec * 1000u + (uint64_t)ts->tv_nsec / 1000000u;
}

/* Floor of CLOCK_MONOTONIC in ms. Flooring (with deadlines compared on the
 * same floored scale) is what keeps timers from firing early: see
 * wait_timeout(). */
static uint64_t monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return ts_to_ms(&ts);
}

uint64_t collab_loop_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return ts_to_ms(&ts);
}

static uint64_t clock_read(const struct collab_loop *loop)
{
	return loop->cfg.now_ms(loop->cfg.clock_ctx);
}

uint64_t collab_loop_now(const struct collab_loop *loop)
{
	return loop->now;
}

uint64_t collab_loop_update_now(struct collab_loop *loop)
{
	uint64_t t = clock_read(loop);

	/* A clock hook that steps back would un-fire nothing but could make
	 * deadlines jump; keep the cache monotonic whatever it returns. */
	if (t > loop->now)
		loop->now = t;
	return loop->now;
}

/* ---- epoll and fd watchers --------------------------------------------- */

static uint32_t epoll_bits(unsigned mask)
{
	uint32_t ev = 0;

	if (mask & COLLAB_LOOP_READ)
		ev |= EPOLLIN;
	if (mask & COLLAB_LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

static int ctl(struct collab_loop *loop, int op, struct collab_io *io,
	       unsigned mask)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = epoll_bits(mask); /* level-triggered: no EPOLLET */
	ev.data.ptr = io;
	return epoll_ctl(loop->epfd, op, io->fd, &ev) == 0 ? 0 : COLLAB_EIO;
}

void collab_loop_io_init(struct collab_io *io, int fd,
			 void (*on_io)(struct collab_loop *loop,
				       struct collab_io *io, unsigned events),
			 void *ctx)
{
	io->fd = fd;
	io->mask = 0;
	io->state = 0;
	io->on_io = on_io;
	io->ctx = ctx;
}

static int mask_ok(unsigned mask)
{
	return (mask & ~(COLLAB_LOOP_READ | COLLAB_LOOP_WRITE)) == 0;
}

int collab_loop_io_add(struct collab_loop *loop, struct collab_io *io,
		       unsigned mask)
{
	int rc;

	if (!mask_ok(mask) || io->on_io == NULL)
		return COLLAB_EINVAL;
	if (io->state & IO_REGISTERED)
		return COLLAB_EEXIST;
	rc = ctl(loop, EPOLL_CTL_ADD, io, mask);
	if (rc != 0)
		return rc;
	io->mask = (uint16_t)mask;
	io->state |= IO_REGISTERED;
	return 0;
}

int collab_loop_io_modify(struct collab_loop *loop, struct collab_io *io,
			  unsigned mask)
{
	int rc;

	if (!mask_ok(mask))
		return COLLAB_EINVAL;
	if (!(io->state & IO_REGISTERED))
		return COLLAB_ESTATE;
	/* The connection pump re-derives its interest after every pump; make
	 * the common "nothing changed" case free. */
	if (io->mask == mask)
		return 0;
	rc = ctl(loop, EPOLL_CTL_MOD, io, mask);
	if (rc != 0)
		return rc;
	io->mask = (uint16_t)mask;
	return 0;
}

int collab_loop_io_remove(struct collab_loop *loop, struct collab_io *io)
{
	struct epoll_event *evs = loop->events;
	size_t i;
	int rc;

	if (!(io->state & IO_REGISTERED))
		return 0;
	rc = epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) == 0 ?
		0 : COLLAB_EIO;
	io->state &= (uint16_t)~IO_REGISTERED;
	io->mask = 0;
	/* The batch being dispatched may still hold events for io further
	 * on (epoll reports each fd once per batch, but a removed and
	 * re-added fd, or a caller that frees io now, must not be reached
	 * through a stale pointer). Drop them: the caller may free io as
	 * soon as we return. ev_n is 0 outside dispatch. */
	for (i = loop->ev_pos + 1; i < loop->ev_n; i++)
		if (evs[i].data.ptr == io)
			evs[i].data.ptr = NULL;
	return rc;
}

/* EPOLLERR/EPOLLHUP count as readable and writable whatever the interest,
 * so the normal read or write path meets the error. Plain readiness is
 * filtered by the current interest: an earlier callback of the batch may
 * have changed it. */
static unsigned io_events(uint32_t ev, unsigned mask)
{
	unsigned out = 0;

	if (ev & EPOLLIN)
		out |= COLLAB_LOOP_READ;
	if (ev & EPOLLOUT)
		out |= COLLAB_LOOP_WRITE;
	out &= mask;
	if (ev & (EPOLLERR | EPOLLHUP))
		out |= COLLAB_LOOP_READ | COLLAB_LOOP_WRITE;
	return out;
}

static void dispatch(struct collab_loop *loop, size_t n)
{
	struct epoll_event *evs = loop->events;

	loop->ev_n = n;
	for (loop->ev_pos = 0; loop->ev_pos < loop->ev_n; loop->ev_pos++) {
		struct collab_io *io = evs[loop->ev_pos].data.ptr;
		unsigned what;

		if (io == NULL) /* removed earlier in this batch */
			continue;
		what = io_events(evs[loop->ev_pos].events, io->mask);
		if (what)
			io->on_io(loop, io, what);
		/* io may be freed now: do not touch it again. */
	}
	loop->ev_n = 0;
	loop->ev_pos = 0;
}

/* ---- timer heap --------------------------------------------------------- */

/* Strict order: deadline, then arming sequence (unique), so the heap's
 * order is total and equal deadlines fire in arming order. */
static int before(const struct collab_timer *a, const struct collab_timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void heap_set(struct collab_loop *loop, size_t i, struct collab_timer *t)
{
	loop->heap[i] = t;
	t->idx = i + 1;
}

static void sift_up(struct collab_loop *loop, size_t i)
{
	struct collab_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void sift_down(struct collab_loop *loop, size_t i)
{
	struct collab_timer *t = loop->heap[i];
	size_t n = loop->heap_len;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!before(loop->heap[c], t))
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

/* Restores the heap property at i after its key changed either way. */
static void heap_fix(struct collab_loop *loop, size_t i)
{
	if (i > 0 && before(loop->heap[i], loop->heap[(i - 1) / 2]))
		sift_up(loop, i);
	else
		sift_down(loop, i);
}

/* Makes room for one more entry; the heap is untouched on failure. */
static int heap_grow(struct collab_loop *loop)
{
	/* The heap holds pointers: its element is a pointer, not a timer. */
	const size_t elem = sizeof(struct collab_timer *);
	const struct collab_alloc *a = loop->cfg.alloc;
	struct collab_timer **nh;
	size_t cap;

	if (loop->heap_len < loop->heap_cap)
		return 0;
	cap = loop->heap_cap ? loop->heap_cap : LOOP_HEAP_MIN_CAP / 2;
	if (cap > SIZE_MAX / 2 / elem)
		return COLLAB_ENOMEM;
	cap *= 2;
	nh = a->alloc(a->ctx, cap * elem);
	if (nh == NULL)
		return COLLAB_ENOMEM;
	if (loop->heap_len)
		memcpy(nh, loop->heap, loop->heap_len * elem);
	if (loop->heap)
		a->free(a->ctx, loop->heap, loop->heap_cap * elem);
	loop->heap = nh;
	loop->heap_cap = cap;
	return 0;
}

void collab_loop_timer_init(struct collab_timer *t,
			    void (*on_timer)(struct collab_loop *loop,
					     struct collab_timer *t),
			    void *ctx)
{
	t->deadline = 0;
	t->seq = 0;
	t->idx = 0;
	t->on_timer = on_timer;
	t->ctx = ctx;
}

int collab_loop_timer_armed(const struct collab_timer *t)
{
	return t->idx != 0;
}

int collab_loop_timer_arm_at(struct collab_loop *loop, struct collab_timer *t,
			     uint64_t deadline_ms)
{
	if (t->on_timer == NULL)
		return COLLAB_EINVAL;
	if (t->idx == 0) {
		int rc = heap_grow(loop);

		if (rc != 0)
			return rc;
		t->deadline = deadline_ms;
		t->seq = loop->timer_seq++;
		heap_set(loop, loop->heap_len++, t);
		sift_up(loop, loop->heap_len - 1);
		return 0;
	}
	t->deadline = deadline_ms;
	t->seq = loop->timer_seq++;
	heap_fix(loop, t->idx - 1);
	return 0;
}

int collab_loop_timer_arm(struct collab_loop *loop, struct collab_timer *t,
			  uint64_t delay_ms)
{
	uint64_t d = delay_ms > UINT64_MAX - loop->now ?
		UINT64_MAX : loop->now + delay_ms;

	return collab_loop_timer_arm_at(loop, t, d);
}

void collab_loop_timer_cancel(struct collab_loop *loop, struct collab_timer *t)
{
	size_t i;
	struct collab_timer *last;

	if (t->idx == 0)
		return;
	i = t->idx - 1;
	t->idx = 0;
	last = loop->heap[--loop->heap_len];
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_fix(loop, i);
}

/*
 * Fires the due timers in (deadline, seq) order. Timers armed by these very
 * callbacks carry a seq >= limit and wait for the next turn, so a callback
 * that re-arms with delay 0 cannot keep the turn from ending. Stopping at
 * such a timer cannot reorder anything: all that remains fires next turn,
 * still in heap order.
 */
static void fire_timers(struct collab_loop *loop)
{
	uint64_t limit = loop->timer_seq;

	while (loop->heap_len) {
		struct collab_timer *t = loop->heap[0];

		if (t->deadline > loop->now || t->seq >= limit)
			break;
		collab_loop_timer_cancel(loop, t);
		t->on_timer(loop, t);
	}
}

/* epoll_wait's timeout for this turn: the caller's, cut down to the time
 * left until the earliest deadline. Both sides are floored ms, so waiting
 * (deadline - now) ms wakes at or after the deadline: never early. */
static int wait_timeout(struct collab_loop *loop, int timeout_ms)
{
	uint64_t now, left;

	if (loop->heap_len == 0 || timeout_ms == 0)
		return timeout_ms;
	now = collab_loop_update_now(loop);
	left = loop->heap[0]->deadline > now ? loop->heap[0]->deadline - now : 0;
	if (timeout_ms > 0 && (uint64_t)timeout_ms < left)
		return timeout_ms;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* ---- end-of-turn hooks --------------------------------------------------- */

void collab_loop_hook_init(struct collab_hook *h,
			   void (*on_turn)(struct collab_loop *loop,
					   struct collab_hook *h),
			   void *ctx)
{
	h->prev = h->next = NULL;
	h->turn = 0;
	h->linked = 0;
	h->on_turn = on_turn;
	h->ctx = ctx;
}

int collab_loop_hook_add(struct collab_loop *loop, struct collab_hook *h)
{
	if (h->on_turn == NULL)
		return COLLAB_EINVAL;
	if (h->linked)
		return COLLAB_EEXIST;
	/* Added during the hook phase: counts as having run this turn, so
	 * that every hook runs at most once per turn. */
	h->turn = loop->in_turn == TURN_HOOKS ? loop->turn : loop->turn - 1;
	h->linked = 1;
	h->next = NULL;
	h->prev = loop->hook_tail;
	if (loop->hook_tail)
		loop->hook_tail->next = h;
	else
		loop->hook_head = h;
	loop->hook_tail = h;
	return 0;
}

void collab_loop_hook_remove(struct collab_loop *loop, struct collab_hook *h)
{
	if (!h->linked)
		return;
	if (loop->hook_iter == h)
		loop->hook_iter = h->next;
	if (h->prev)
		h->prev->next = h->next;
	else
		loop->hook_head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		loop->hook_tail = h->prev;
	h->prev = h->next = NULL;
	h->linked = 0;
}

/* hook_iter is the cursor: collab_loop_hook_remove() advances it past a
 * hook removed ahead of it, so any hook may remove any other. */
static void run_hooks(struct collab_loop *loop)
{
	struct collab_hook *h = loop->hook_head;

	while (h) {
		loop->hook_iter = h->next;
		if (h->turn != loop->turn) {
			h->turn = loop->turn;
			h->on_turn(loop, h);
		}
		h = loop->hook_iter;
	}
	loop->hook_iter = NULL;
}

/* ---- signals and wake-up -------------------------------------------------- */

static struct collab_signal *signal_find(const struct collab_loop *loop,
					 int signo)
{
	struct collab_signal *s;

	for (s = loop->signals; s; s = s->next)
		if (s->signo == signo)
			return s;
	return NULL;
}

static void signal_set(const struct collab_loop *loop, sigset_t *set)
{
	const struct collab_signal *s;

	sigemptyset(set);
	for (s = loop->signals; s; s = s->next)
		sigaddset(set, s->signo);
}

static void on_sigfd(struct collab_loop *loop, struct collab_io *io,
		     unsigned events)
{
	struct signalfd_siginfo si;

	(void)events;
	/* Standard signals coalesce in the kernel, so this drains quickly;
	 * a handler may remove its own or any registration meanwhile, hence
	 * the lookup per signal. */
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct collab_signal *s = signal_find(loop, (int)si.ssi_signo);

		if (s)
			s->on_signal(loop, s);
	}
}

int collab_loop_signal(struct collab_loop *loop, struct collab_signal *s,
		       int signo,
		       void (*on_signal)(struct collab_loop *loop,
					 struct collab_signal *s),
		       void *ctx)
{
	const struct collab_signal *p;
	sigset_t one, old, set;
	int fd;

	if (on_signal == NULL || signo <= 0 || signo >= SIGRTMAX + 1 ||
	    signo == SIGKILL || signo == SIGSTOP)
		return COLLAB_EINVAL;
	for (p = loop->signals; p; p = p->next)
		if (p == s || p->signo == signo)
			return COLLAB_EEXIST;
	sigemptyset(&one);
	sigaddset(&one, signo);
	/* Blocked first, so that no instance slips past both the old
	 * disposition and the signalfd. */
	if (pthread_sigmask(SIG_BLOCK, &one, &old) != 0)
		return COLLAB_EIO;
	s->signo = signo;
	s->was_blocked = sigismember(&old, signo) == 1;
	s->on_signal = on_signal;
	s->ctx = ctx;
	s->next = loop->signals;
	loop->signals = s;
	signal_set(loop, &set);
	fd = signalfd(loop->sigfd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd >= 0 && loop->sigfd < 0) {
		collab_loop_io_init(&loop->sig_io, fd, on_sigfd, NULL);
		if (collab_loop_io_add(loop, &loop->sig_io,
				       COLLAB_LOOP_READ) != 0) {
			close(fd);
			fd = -1;
		} else {
			loop->sigfd = fd;
		}
	}
	if (fd < 0) {
		loop->signals = s->next;
		s->next = NULL;
		if (!s->was_blocked)
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return COLLAB_EIO;
	}
	return 0;
}

void collab_loop_signal_remove(struct collab_loop *loop,
			       struct collab_signal *s)
{
	struct collab_signal **pp;
	sigset_t set;

	for (pp = &loop->signals; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return;
	*pp = s->next;
	s->next = NULL;
	if (loop->sigfd >= 0) {
		signal_set(loop, &set);
		/* Narrowing the mask of an existing signalfd cannot fail
		 * short of a bad fd, which would be our bug. */
		(void)signalfd(loop->sigfd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	}
	if (!s->was_blocked) {
		sigemptyset(&set);
		sigaddset(&set, s->signo);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
}

static void on_wakefd(struct collab_loop *loop, struct collab_io *io,
		      unsigned events)
{
	uint64_t n;

	(void)events;
	/* One read resets the counter: many wakes, one on_wake. */
	if (read(io->fd, &n, sizeof(n)) == (ssize_t)sizeof(n) &&
	    loop->cfg.on_wake)
		loop->cfg.on_wake(loop);
}

int collab_loop_wake(struct collab_loop *loop)
{
	uint64_t one = 1;
	ssize_t w = write(loop->wakefd, &one, sizeof(one));

	/* EAGAIN: the counter is saturated, a wake is pending anyway. */
	if (w == (ssize_t)sizeof(one) || (w < 0 && errno == EAGAIN))
		return 0;
	return COLLAB_EIO;
}

/* ---- life cycle and turns ------------------------------------------------- */

void collab_loop_config_init(struct collab_loop_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_events = COLLAB_LOOP_DEFAULT_MAX_EVENTS;
}

int collab_loop_init(struct collab_loop *loop,
		     const struct collab_loop_config *cfg)
{
	const struct collab_alloc *a;
	int err;

	memset(loop, 0, sizeof(*loop));
	if (cfg)
		loop->cfg = *cfg;
	else
		collab_loop_config_init(&loop->cfg);
	if (loop->cfg.max_events == 0 ||
	    loop->cfg.max_events > COLLAB_LOOP_MAX_EVENTS_LIMIT)
		return COLLAB_EINVAL;
	if (loop->cfg.alloc == NULL)
		loop->cfg.alloc = collab_alloc_default();
	if (loop->cfg.now_ms == NULL)
		loop->cfg.now_ms = monotonic_ms;
	a = loop->cfg.alloc;
	loop->epfd = loop->wakefd = loop->sigfd = -1;

	loop->events = a->alloc(a->ctx, loop->cfg.max_events *
				sizeof(struct epoll_event));
	if (loop->events == NULL)
		return COLLAB_ENOMEM;
	err = COLLAB_EIO;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto fail;
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->wakefd < 0)
		goto fail;
	collab_loop_io_init(&loop->wake_io, loop->wakefd, on_wakefd, NULL);
	err = collab_loop_io_add(loop, &loop->wake_io, COLLAB_LOOP_READ);
	if (err != 0)
		goto fail;
	loop->now = clock_read(loop);
	return 0;
fail:
	{
		int saved = errno; /* the header promises errno */

		if (loop->wakefd >= 0)
			close(loop->wakefd);
		if (loop->epfd >= 0)
			close(loop->epfd);
		a->free(a->ctx, loop->events,
			loop->cfg.max_events * sizeof(struct epoll_event));
		loop->events = NULL;
		loop->epfd = loop->wakefd = -1;
		errno = saved;
	}
	return err;
}

void collab_loop_free(struct collab_loop *loop)
{
	const struct collab_alloc *a = loop->cfg.alloc;

	if (loop->events == NULL)
		return; /* never initialized, or freed already */
	while (loop->signals)
		collab_loop_signal_remove(loop, loop->signals);
	while (loop->hook_head)
		collab_loop_hook_remove(loop, loop->hook_head);
	while (loop->heap_len)
		collab_loop_timer_cancel(loop, loop->heap[loop->heap_len - 1]);
	if (loop->heap)
		a->free(a->ctx, loop->heap,
			loop->heap_cap * sizeof(struct collab_timer *));
	a->free(a->ctx, loop->events,
		loop->cfg.max_events * sizeof(struct epoll_event));
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->wakefd);
	close(loop->epfd);
	loop->heap = NULL;
	loop->heap_len = loop->heap_cap = 0;
	loop->events = NULL;
	loop->epfd = loop->wakefd = loop->sigfd = -1;
}

int collab_loop_run_once(struct collab_loop *loop, int timeout_ms)
{
	int n;

	if (loop->in_turn != TURN_NONE)
		return COLLAB_ESTATE;
	n = epoll_wait(loop->epfd, loop->events, (int)loop->cfg.max_events,
		       wait_timeout(loop, timeout_ms));
	if (n < 0 && errno != EINTR)
		return COLLAB_EIO;
	loop->in_turn = TURN_MAIN;
	loop->turn++;
	collab_loop_update_now(loop);
	if (n > 0)
		dispatch(loop, (size_t)n);
	fire_timers(loop);
	loop->in_turn = TURN_HOOKS;
	run_hooks(loop);
	loop->in_turn = TURN_NONE;
	return 0;
}

int collab_loop_run(struct collab_loop *loop)
{
	int rc = 0;

	if (loop->in_turn != TURN_NONE)
		return COLLAB_ESTATE;
	while (!loop->stop) {
		rc = collab_loop_run_once(loop, -1);
		if (rc != 0)
			break;
	}
	loop->stop = 0;
	return rc;
}

void collab_loop_stop(struct collab_loop *loop)
{
	loop->stop = 1;
}
