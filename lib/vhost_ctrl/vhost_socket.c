/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sockets of a vhost-user port: listen/accept (server mode),
 * connect with backoff (client mode), reading messages in pieces and
 * writing replies, all non-blocking on the control thread.
 *
 * Trust model: the peer decides how bytes and fds are cut into reads. A
 * message is assembled across any number of reads; at most
 * VHOST_MSG_MAX_FDS fds are accepted per message (more, or a truncated
 * control message, drops the connection after closing every fd received);
 * the header is checked (vhost_msg_check_hdr) before its payload is read, so
 * the size field never drives an allocation or an overrun. A peer that stops
 * reading our replies cannot block us: replies are queued and the port
 * stops reading until they drain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_ctrl_priv.h"

/* Messages handled per wake-up before other ports get a turn. */
#define MSGS_PER_WAKEUP 64

static void sock_event(void *arg, int fd, uint32_t events);
static void retry_connect(void *arg);

static int
make_addr(const struct vhost_port *port, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(port->path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, port->path, strlen(port->path) + 1);
	return 0;
}

static void
rx_reset(struct vhost_rx *rx)
{
	for (unsigned int i = 0; i < rx->msg.nfds; i++)
		if (rx->msg.fds[i] >= 0)
			close(rx->msg.fds[i]);
	rx->msg.nfds = 0;
	rx->have = 0;
}

static void
watch_socket(struct vhost_port *port, uint32_t events)
{
	if (port->sock_w != NULL)
		evloop_watch_mod(port->sock_w, events);
}

static void
conn_up(struct vhost_port *port, int fd)
{
	struct vhost_ctrl *ctrl = port->ctrl;

	port->sock_fd = fd;
	port->sock_w = evloop_watch_add(ctrl->loop, fd, EVLOOP_IN, sock_event, port);
	if (port->sock_w == NULL) {
		PORT_LOG(port, ERR, "cannot watch the connection");
		close(fd);
		port->sock_fd = -1;
		return;
	}
	port->conn = VHOST_PORT_CONNECTED;
	port->connections++;
	port->retry_ms = VHOST_RETRY_MIN_MS;
	port->tx_len = 0;
	rx_reset(&port->rx);
	vhost_dev_reset(port, false);
	PORT_LOG(port, INFO, "front-end connected");
	if (ctrl->ops.link_changed != NULL)
		ctrl->ops.link_changed(ctrl->ops_ctx, port->id, true);
}

static void
schedule_retry(struct vhost_port *port)
{
	port->conn = VHOST_PORT_CONNECTING;
	evloop_timer_del(port->retry_t);
	port->retry_t = evloop_timer_add(port->ctrl->loop, port->retry_ms, retry_connect, port);
	port->retry_ms = port->retry_ms * 2 > VHOST_RETRY_MAX_MS ? VHOST_RETRY_MAX_MS
								 : port->retry_ms * 2;
}

static void
retry_connect(void *arg)
{
	struct vhost_port *port = arg;
	struct sockaddr_un sa;
	int fd;

	evloop_timer_del(port->retry_t);
	port->retry_t = NULL;
	if (make_addr(port, &sa) != 0)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		schedule_retry(port);
		return;
	}
	/* A unix-socket connect completes at once or fails at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		schedule_retry(port);
		return;
	}
	conn_up(port, fd);
}

static void
listen_event(void *arg, int fd, uint32_t events)
{
	struct vhost_port *port = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (cfd < 0)
		return;
	if (port->sock_fd >= 0) {
		vhost_port_fault(port, "second front-end refused: one at a time");
		close(cfd);
		return;
	}
	conn_up(port, cfd);
}

static int
open_server(struct vhost_port *port)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, ret = make_addr(port, &sa);

	if (ret != 0)
		return ret;
	/* A socket file left by a killed process would make bind fail. */
	if (lstat(port->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		PORT_LOG(port, INFO, "removing stale socket file");
		unlink(port->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	port->listen_fd = fd;
	port->listen_w = evloop_watch_add(port->ctrl->loop, fd, EVLOOP_IN, listen_event, port);
	if (port->listen_w == NULL) {
		close(fd);
		unlink(port->path);
		port->listen_fd = -1;
		return -ENOMEM;
	}
	port->conn = VHOST_PORT_LISTENING;
	PORT_LOG(port, INFO, "listening");
	return 0;
}

int
vhost_socket_open(struct vhost_port *port)
{
	if (!port->client)
		return open_server(port);
	PORT_LOG(port, INFO, "connecting");
	port->retry_ms = VHOST_RETRY_MIN_MS;
	port->conn = VHOST_PORT_CONNECTING;
	retry_connect(port);
	return 0;
}

static void
conn_close(struct vhost_port *port)
{
	evloop_watch_del(port->sock_w);
	port->sock_w = NULL;
	if (port->sock_fd >= 0)
		close(port->sock_fd);
	port->sock_fd = -1;
	port->tx_len = 0;
	rx_reset(&port->rx);
}

void
vhost_conn_drop(struct vhost_port *port, const char *why)
{
	struct vhost_ctrl *ctrl = port->ctrl;

	if (port->sock_fd < 0)
		return;
	if (why != NULL) {
		char reason[sizeof(port->last_error)];

		/* why is often port->last_error itself, which the fault rewrites. */
		snprintf(reason, sizeof(reason), "%s", why);
		vhost_port_fault(port, "dropping connection: %s", reason);
	}
	conn_close(port);
	/* Stop rings, unmap memory, close every fd of the device. */
	vhost_dev_reset(port, false);
	PORT_LOG(port, INFO, "front-end disconnected");
	if (ctrl->ops.link_changed != NULL)
		ctrl->ops.link_changed(ctrl->ops_ctx, port->id, false);
	if (port->client) {
		PORT_LOG(port, INFO, "connecting");
		schedule_retry(port);
	} else {
		port->conn = VHOST_PORT_LISTENING;
	}
}

void
vhost_socket_close(struct vhost_port *port)
{
	vhost_conn_drop(port, NULL);
	evloop_timer_del(port->retry_t);
	port->retry_t = NULL;
	evloop_watch_del(port->listen_w);
	port->listen_w = NULL;
	if (port->listen_fd >= 0) {
		close(port->listen_fd);
		unlink(port->path);
	}
	port->listen_fd = -1;
}

static int
flush_tx(struct vhost_port *port)
{
	while (port->tx_len > 0) {
		ssize_t n = send(port->sock_fd, port->txbuf, port->tx_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Peer is not reading: stop reading it until it does. */
			watch_socket(port, EVLOOP_OUT);
			return 0;
		}
		if (n <= 0)
			return -EPIPE;
		memmove(port->txbuf, port->txbuf + n, port->tx_len - (size_t)n);
		port->tx_len -= (size_t)n;
	}
	watch_socket(port, EVLOOP_IN);
	return 0;
}

int
vhost_send_reply(struct vhost_port *port, uint32_t request, const void *payload, uint32_t size)
{
	struct vhost_msg_hdr hdr = { .request = request,
				     .flags = VHOST_MSG_REPLY_FLAGS,
				     .size = size };

	if (port->sock_fd < 0)
		return -ENOTCONN;
	if (port->tx_len + sizeof(hdr) + size > sizeof(port->txbuf))
		return -ENOBUFS;
	memcpy(port->txbuf + port->tx_len, &hdr, sizeof(hdr));
	memcpy(port->txbuf + port->tx_len + sizeof(hdr), payload, size);
	port->tx_len += sizeof(hdr) + size;
	return flush_tx(port);
}

/* Take the fds of one recvmsg into the message. @return 0 or a reason. */
static const char *
take_fds(struct vhost_rx *rx, struct msghdr *mh)
{
	const char *why = NULL;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int *fds;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			if (rx->msg.nfds < VHOST_MSG_MAX_FDS)
				rx->msg.fds[rx->msg.nfds++] = fd;
			else {
				close(fd);
				why = "more than 8 fds in one message";
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		why = "fds truncated (more than 8 in one message)";
	return why;
}

/* Read what is there of the current message.
 * @return 1 when a whole message is in, 0 when more is needed, <0 on drop. */
static int
read_some(struct vhost_port *port)
{
	struct vhost_rx *rx = &port->rx;
	uint8_t *buf = (uint8_t *)&rx->msg.hdr;
	union {
		char buf[CMSG_SPACE(VHOST_MSG_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	size_t want;
	struct iovec iov;
	struct msghdr mh = { 0 };
	const char *why;
	ssize_t n;

	if (rx->have < VHOST_MSG_HDR_SIZE) {
		want = VHOST_MSG_HDR_SIZE - rx->have;
		iov.iov_base = buf + rx->have;
	} else {
		want = VHOST_MSG_HDR_SIZE + rx->msg.hdr.size - rx->have;
		iov.iov_base = rx->msg.payload.raw + (rx->have - VHOST_MSG_HDR_SIZE);
	}
	iov.iov_len = want;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do {
		n = recvmsg(port->sock_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -EIO;
	why = take_fds(rx, &mh);
	if (why != NULL) {
		vhost_conn_drop(port, why);
		return -EPROTO;
	}
	if (n == 0) {
		vhost_conn_drop(port, rx->have ? "front-end closed mid-message" : NULL);
		return -EPIPE;
	}
	rx->have += (size_t)n;
	if (rx->have == VHOST_MSG_HDR_SIZE) {
		enum vhost_msg_fault f = vhost_msg_check_hdr(&rx->msg.hdr);

		if (f != VHOST_MSG_OK) {
			char reason[128];

			snprintf(reason, sizeof(reason), "%s (request %u, flags 0x%x, size %u)",
				 vhost_msg_fault_str(f), rx->msg.hdr.request, rx->msg.hdr.flags,
				 rx->msg.hdr.size);
			vhost_conn_drop(port, reason);
			return -EPROTO;
		}
	}
	return rx->have >= VHOST_MSG_HDR_SIZE && rx->have == VHOST_MSG_HDR_SIZE + rx->msg.hdr.size;
}

static void
sock_event(void *arg, int fd, uint32_t events)
{
	struct vhost_port *port = arg;

	(void)fd;
	if (port->tx_len > 0) {
		if (flush_tx(port) != 0)
			vhost_conn_drop(port, "reply could not be written");
		return;
	}
	for (int i = 0; i < MSGS_PER_WAKEUP && port->sock_fd >= 0 && port->tx_len == 0; i++) {
		int r = read_some(port);

		if (r < 0)
			return;
		if (r == 0) {
			if (events & (EVLOOP_HUP | EVLOOP_ERR))
				continue; /* read again to see the EOF */
			return;
		}
		vhost_dispatch(port, &port->rx.msg);
		if (port->sock_fd >= 0)
			rx_reset(&port->rx);
	}
}
