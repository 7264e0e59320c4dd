/*
 * http_answer.h — inside the HTTP server: its responses (http_answer.c),
 * for http.c and http_conn.c.  Not a contract for anyone else: http.h is.
 *
 * Each call sends the response to req (evhttp_send_reply), which then is
 * evhttp's again: the caller forgets req.  None blocks.
 */
#ifndef RAFTCONF_HTTP_ANSWER_H
#define RAFTCONF_HTTP_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct evhttp_request;

/* What is in req's output buffer, as status with Content-Type ctype, never cached. */
void http_send_reply(struct evhttp_request *req, int status, const char *ctype);
/* status with the body {"error":MSG}, msg being len bytes. */
void http_send_error(struct evhttp_request *req, int status, const char *msg, size_t len);
/* The same with the message formatted (cut at RAFTCONF_MAX_ERROR). */
void http_send_errorf(struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The node's answer m to a request of type asked (keys_only: a listing
 * without values) as the response; an answer that does not fit what was
 * asked is 500.
 */
void http_send_answer(
    struct evhttp_request *req, uint8_t asked, bool keys_only, const struct proto_msg *m);

#endif
