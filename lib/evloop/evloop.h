/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EVLOOP_H
#define EVLOOP_H

/**
 * @file
 * A small epoll event loop for the control thread: fd watches with
 * callbacks, one-shot timers, and calls posted from other threads.
 * Callbacks run on the loop thread, one at a time; they must not block.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evloop;
struct evloop_watch;
struct evloop_timer;

/** Events of a watch (epoll's). */
#define EVLOOP_IN 0x001u
#define EVLOOP_OUT 0x004u
#define EVLOOP_ERR 0x008u
#define EVLOOP_HUP 0x010u

typedef void (*evloop_fd_cb)(void *arg, int fd, uint32_t events);
typedef void (*evloop_timer_cb)(void *arg);

/** Create a loop. @return NULL on failure. */
struct evloop *evloop_create(void);

/** Free a loop; watches and timers still registered are freed (fds are not closed). */
void evloop_destroy(struct evloop *loop);

/** Watch @p fd for @p events. @return the watch, NULL on failure. */
struct evloop_watch *evloop_watch_add(struct evloop *loop, int fd, uint32_t events, evloop_fd_cb cb,
				      void *arg);

/** Change the events of a watch. @return 0 or -errno. */
int evloop_watch_mod(struct evloop_watch *w, uint32_t events);

/** Stop watching and free the watch. Safe inside any callback. NULL is ignored. */
void evloop_watch_del(struct evloop_watch *w);

/** Create a timer firing once after @p ms milliseconds. @return NULL on failure. */
struct evloop_timer *evloop_timer_add(struct evloop *loop, uint64_t ms, evloop_timer_cb cb,
				      void *arg);

/**
 * Create a timer firing every @p ms milliseconds until deleted (a tick that
 * fell behind fires once). @return NULL on failure.
 */
struct evloop_timer *evloop_timer_every(struct evloop *loop, uint64_t ms, evloop_timer_cb cb,
					void *arg);

/** Cancel and free a timer. Safe inside any callback. NULL is ignored. */
void evloop_timer_del(struct evloop_timer *t);

/** Run until evloop_stop(). @return 0, or -errno if epoll_wait failed. */
int evloop_run(struct evloop *loop);

/** Make evloop_run() return. Any thread, async-signal-safe. */
void evloop_stop(struct evloop *loop);

/** True while evloop_run() is running and the caller is not the loop thread. */
bool evloop_is_remote(struct evloop *loop);

/**
 * Run fn(arg) on the loop thread and wait for its result. Runs fn directly
 * when called on the loop thread or when the loop is not running.
 */
int evloop_call(struct evloop *loop, int (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* EVLOOP_H */
