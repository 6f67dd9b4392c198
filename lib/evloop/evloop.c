/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "evloop.h"

#define MAX_EVENTS 32

struct evloop_watch {
	struct evloop *loop;
	int fd;
	evloop_fd_cb cb;
	void *arg;
	bool dead;
	struct evloop_watch *next_dead;
};

struct evloop_timer {
	struct evloop_watch *w;
	int tfd;
	evloop_timer_cb cb;
	void *arg;
};

struct evloop_call {
	int (*fn)(void *);
	void *arg;
	int ret;
	bool done;
	struct evloop_call *next;
};

struct evloop {
	int epfd;
	int wakefd;
	atomic_bool stop;
	atomic_bool running;
	pthread_t thread;
	struct evloop_watch *dead; /* freed after the current batch of events */
	pthread_mutex_t lock;      /* protects calls (cross-thread) */
	pthread_cond_t cond;
	struct evloop_call *calls;
};

struct evloop *
evloop_create(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) != 0) {
		if (loop->epfd >= 0)
			close(loop->epfd);
		if (loop->wakefd >= 0)
			close(loop->wakefd);
		free(loop);
		return NULL;
	}
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->cond, NULL);
	return loop;
}

static void
reap_dead(struct evloop *loop)
{
	while (loop->dead != NULL) {
		struct evloop_watch *w = loop->dead;

		loop->dead = w->next_dead;
		free(w);
	}
}

void
evloop_destroy(struct evloop *loop)
{
	if (loop == NULL)
		return;
	reap_dead(loop);
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	pthread_cond_destroy(&loop->cond);
	free(loop);
}

struct evloop_watch *
evloop_watch_add(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb, void *arg)
{
	struct evloop_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (w == NULL)
		return NULL;
	w->loop = loop;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

int
evloop_watch_mod(struct evloop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0 ? 0 : -errno;
}

void
evloop_watch_del(struct evloop_watch *w)
{
	if (w == NULL)
		return;
	epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	/* Events for w may still be in the batch being dispatched: free later. */
	w->dead = true;
	w->next_dead = w->loop->dead;
	w->loop->dead = w;
}

static void
timer_fired(void *arg, int fd, uint32_t events)
{
	struct evloop_timer *t = arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	t->cb(t->arg); /* may delete t */
}

static struct evloop_timer *
timer_new(struct evloop *loop, uint64_t ms, bool periodic, evloop_timer_cb cb, void *arg)
{
	struct evloop_timer *t = calloc(1, sizeof(*t));
	struct itimerspec its = { 0 };

	if (t == NULL)
		return NULL;
	t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->tfd < 0) {
		free(t);
		return NULL;
	}
	if (ms == 0)
		ms = 1;
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (periodic)
		its.it_interval = its.it_value;
	t->cb = cb;
	t->arg = arg;
	t->w = evloop_watch_add(loop, t->tfd, EVLOOP_IN, timer_fired, t);
	if (t->w == NULL || timerfd_settime(t->tfd, 0, &its, NULL) != 0) {
		evloop_watch_del(t->w);
		close(t->tfd);
		free(t);
		return NULL;
	}
	return t;
}

struct evloop_timer *
evloop_timer_add(struct evloop *loop, uint64_t ms, evloop_timer_cb cb, void *arg)
{
	return timer_new(loop, ms, false, cb, arg);
}

struct evloop_timer *
evloop_timer_every(struct evloop *loop, uint64_t ms, evloop_timer_cb cb, void *arg)
{
	return timer_new(loop, ms, true, cb, arg);
}

void
evloop_timer_del(struct evloop_timer *t)
{
	if (t == NULL)
		return;
	evloop_watch_del(t->w);
	close(t->tfd);
	free(t);
}

static void
run_calls(struct evloop *loop)
{
	uint64_t n;

	if (read(loop->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&loop->lock);
	while (loop->calls != NULL) {
		struct evloop_call *c = loop->calls;

		loop->calls = c->next;
		pthread_mutex_unlock(&loop->lock);
		c->ret = c->fn(c->arg);
		pthread_mutex_lock(&loop->lock);
		c->done = true;
		pthread_cond_broadcast(&loop->cond);
	}
	pthread_mutex_unlock(&loop->lock);
}

int
evloop_run(struct evloop *loop)
{
	struct epoll_event evs[MAX_EVENTS];
	int ret = 0;

	loop->thread = pthread_self();
	atomic_store(&loop->running, true);
	while (!atomic_load(&loop->stop)) {
		int n = epoll_wait(loop->epfd, evs, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct evloop_watch *w = evs[i].data.ptr;

			if (w == NULL)
				run_calls(loop);
			else if (!w->dead)
				w->cb(w->arg, w->fd, evs[i].events);
		}
		reap_dead(loop);
	}
	atomic_store(&loop->running, false);
	/* Calls that raced with the stop still get an answer. */
	run_calls(loop);
	atomic_store(&loop->stop, false);
	return ret;
}

void
evloop_stop(struct evloop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stop, true);
	if (write(loop->wakefd, &one, sizeof(one)) < 0) {
		/* counter full: the loop is awake anyway */
	}
}

bool
evloop_is_remote(struct evloop *loop)
{
	return atomic_load(&loop->running) && !pthread_equal(loop->thread, pthread_self());
}

int
evloop_call(struct evloop *loop, int (*fn)(void *), void *arg)
{
	struct evloop_call c = { .fn = fn, .arg = arg };
	uint64_t one = 1;

	if (!evloop_is_remote(loop))
		return fn(arg);
	pthread_mutex_lock(&loop->lock);
	c.next = loop->calls;
	loop->calls = &c;
	pthread_mutex_unlock(&loop->lock);
	if (write(loop->wakefd, &one, sizeof(one)) < 0) {
		/* counter full: the loop is awake anyway */
	}
	pthread_mutex_lock(&loop->lock);
	while (!c.done) {
		if (!atomic_load(&loop->running) && loop->calls == &c) {
			/* Loop exited without seeing us: run here. */
			loop->calls = c.next;
			pthread_mutex_unlock(&loop->lock);
			return fn(arg);
		}
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&loop->cond, &loop->lock, &ts);
	}
	pthread_mutex_unlock(&loop->lock);
	return c.ret;
}
