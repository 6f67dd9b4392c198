/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Security model of the vhost-user control plane.
 *
 * The unix socket is an external interface: the front-end, and through it a
 * guest that escaped into it, is untrusted. Nothing received is used before
 * it is checked, and each check happens once, here or at the border it
 * guards:
 *  - framing (version, flags, size bound) when the header arrives
 *    (vhost_socket.c); a bad header drops the connection;
 *  - payload size and fd count per request type, before any handler runs
 *    (vhost_msg_check_body); a mismatch is a nack, or a drop when no reply
 *    was asked for (the front-end would not notice a silent refusal);
 *  - the protocol-feature gate of the request;
 *  - values (ring indices, sizes, addresses, region layouts) in the
 *    handlers, which never index an array or map memory with an unchecked
 *    value.
 * Every fd a request brings is either taken by its handler (which sets the
 * slot to -1) or closed here. Faults are logged with the port's name,
 * rate-limited, and recorded as the port's last error. A fault only ever
 * affects its own port.
 *
 * Replies: a request with a reply of its own always gets exactly it; one
 * without gets a u64 ack (0 = success) when need_reply is set. We honour
 * need_reply whether or not REPLY_ACK was negotiated (ACK-7, as DPDK): a
 * front-end that sets it waits for the answer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhost_ctrl_priv.h"

/* Returned by a handler to ask for the connection to be dropped. */
#define DROP (-ECONNABORTED)

static const vhost_handler_fn handlers[VHOST_USER_MAX] = {
#define VHOST_HANDLER_ENTRY(req, fn) [VHOST_USER_##req] = vhost_handle_##fn,
	VHOST_HANDLERS(VHOST_HANDLER_ENTRY)
#undef VHOST_HANDLER_ENTRY
};

static void
close_msg_fds(struct vhost_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

static void
send_ack(struct vhost_port *port, uint32_t request, uint64_t value)
{
	if (vhost_send_reply(port, request, &value, sizeof(value)) != 0)
		vhost_conn_drop(port, "ack could not be written");
}

/* A request refused before or by its handler. */
static void
refuse(struct vhost_port *port, const struct vhost_msg *msg, const struct vhost_msg_info *info,
       bool drop_if_silent, const char *why)
{
	uint32_t req = msg->hdr.request;

	vhost_port_fault(port, "%s (%u) refused: %s", vhost_msg_name(req), req, why);
	if (info->reply == VHOST_REPLY_ACK && vhost_msg_need_reply(msg))
		send_ack(port, req, 1);
	else if (info->reply == VHOST_REPLY_U64 && info->name != NULL && handlers[req] == NULL)
		send_ack(port, req, 1); /* e.g. IOTLB_MSG: the front-end always waits */
	else if (info->reply != VHOST_REPLY_ACK || drop_if_silent)
		vhost_conn_drop(port, why);
}

static void
send_own_reply(struct vhost_port *port, uint32_t req, const struct vhost_reply *reply)
{
	if (vhost_send_reply(port, req, &reply->u64, reply->size) != 0)
		vhost_conn_drop(port, "reply could not be written");
}

/* Handle one request; the result goes to the step history. */
static enum vhost_step_result
dispatch(struct vhost_port *port, struct vhost_msg *msg)
{
	uint32_t req = msg->hdr.request;
	const struct vhost_msg_info *info = vhost_msg_info(req);
	enum vhost_msg_fault fault = vhost_msg_check_body(msg);
	struct vhost_reply reply = { .size = 0 };
	vhost_handler_fn fn;
	char why[96];
	int ret;

	PORT_LOG(port, DEBUG, "<- %s (%u) flags 0x%x size %u fds %u", vhost_msg_name(req), req,
		 msg->hdr.flags, msg->hdr.size, msg->nfds);
	if (fault != VHOST_MSG_OK) {
		close_msg_fds(msg);
		refuse(port, msg, info, true, vhost_msg_fault_str(fault));
		return VHOST_STEP_REFUSED;
	}
	fn = req < VHOST_USER_MAX ? handlers[req] : NULL;
	if (fn == NULL) {
		close_msg_fds(msg);
		refuse(port, msg, info, false, "not served by a net back-end");
		return VHOST_STEP_REFUSED;
	}
	if (info->gate >= 0 && !vhost_dev_has_protocol(port, (unsigned int)info->gate)) {
		close_msg_fds(msg);
		snprintf(why, sizeof(why), "protocol feature %s not negotiated",
			 vhost_protocol_feature_name((unsigned int)info->gate));
		refuse(port, msg, info, false, why);
		return VHOST_STEP_REFUSED;
	}
	ret = fn(port, msg, &reply);
	close_msg_fds(msg);
	if (ret == DROP) {
		vhost_conn_drop(port, port->last_error);
		return VHOST_STEP_DROPPED;
	}
	if (info->reply != VHOST_REPLY_ACK) {
		if (ret == 0)
			send_own_reply(port, req, &reply);
		else
			vhost_conn_drop(port, port->last_error);
		return ret == 0 ? VHOST_STEP_OK : VHOST_STEP_DROPPED;
	}
	if (vhost_msg_need_reply(msg))
		send_ack(port, req, ret == 0 ? 0 : 1);
	return ret == 0 ? VHOST_STEP_OK : VHOST_STEP_FAILED;
}

void
vhost_step_record(struct vhost_port *port, uint32_t request, enum vhost_step_result r)
{
	struct vhost_step *st = &port->steps[port->steps_n % VHOST_CTRL_STEPS];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	st->request = request;
	st->result = (uint8_t)r;
	st->at_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	port->steps_n++;
}

void
vhost_dispatch(struct vhost_port *port, struct vhost_msg *msg)
{
	uint32_t req = msg->hdr.request;
	enum vhost_step_result r = dispatch(port, msg);

	/* A reply that could not be written drops the connection too. */
	if (port->sock_fd < 0)
		r = VHOST_STEP_DROPPED;
	vhost_step_record(port, req, r);
}

const char *
vhost_step_result_str(enum vhost_step_result r)
{
	switch (r) {
	case VHOST_STEP_OK:
		return "ok";
	case VHOST_STEP_FAILED:
		return "failed";
	case VHOST_STEP_REFUSED:
		return "refused";
	case VHOST_STEP_DROPPED:
		return "dropped";
	}
	return "?";
}
