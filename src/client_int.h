/*
 * client_int.h - the connection struct shared by the engine's files
 * (client.c, push.c, restore.c).  Not for front ends: they use engine.h.
 */
#ifndef ABK_CLIENT_INT_H
#define ABK_CLIENT_INT_H

#include "buf.h"
#include "engine.h"
#include "proto.h"
#include "tlsconn.h"

struct abk_client {
	tls_ctx *tls;
	tls_conn *conn;
	struct proto_io io;
	abk_buf in;			/* payload of the last frame received */
	abk_buf out;			/* payload being built */
	char server_software[PROTO_SOFTWARE_MAX + 1];
	char user[PROTO_USER_MAX + 1];
	uint64_t quota;
	uint64_t used;			/* LOGIN_OK's usage, when has_used */
	int has_used;
	int append_only;
	int broken;			/* the stream is out of sync: only close */
};

/* Send c->out as a frame of type (then reset c->out). */
int client_send(abk_client *c, uint8_t type, abk_err *err);

/*
 * Receive the next frame into c->in.  A PT_ERROR frame becomes its error
 * code and sentence; a frame of another type than want (if want != 0)
 * is a protocol error.
 */
int client_recv(abk_client *c, uint8_t want, uint8_t *type, abk_err *err);

/*
 * If err holds code (ABK_E_NET: the connection dropped; ABK_E_TIMEOUT;
 * ABK_E_CANCELED; ABK_E_BUSY: the server is stopping),
 * reword it for a user who should know that running the command again
 * resumes (issue 10 item 5): "server closed the connection (it may be
 * restarting); run the same command again to resume <what>".
 */
void client_resume_hint(abk_err *err, int code, const char *what);

#endif
