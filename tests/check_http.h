/*
 * check_http.h — what the two files of check_http share: the small limits
 * the server they test is built with (check_http_server.c includes http.c
 * and http_conn.c), so that every file sees struct http_server alike, and
 * the function that adds the server tests to the suite.  Include it before
 * any header of the daemon's HTTP server.
 */
#ifndef CHECK_HTTP_H
#define CHECK_HTTP_H

#include <check.h>

/* Small limits, so that the server tests reach them quickly. */
#define HTTP_MAX_CONNECTIONS	4
#define HTTP_IDLE_TIMEOUT_S	1

void http_server_tests(Suite *s);

#endif
