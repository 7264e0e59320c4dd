/*
 * check_addr.c — unit tests of daemon/addr: the listening addresses that
 * raftconfd --check, peer_listen() and http_open() all judge with it, the
 * socket addresses it makes, and how it compares addresses.  (The grammar
 * itself, addr_parse, is tested in check_config.c with the YAML errors.)
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

START_TEST(test_ip_literals_are_listening_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], text[64];

	ck_assert_int_eq(addr_parse_listen("127.0.0.1:7080", &ss, &len, err, sizeof(err)), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	addr_format((struct sockaddr *)&ss, text, sizeof(text));
	ck_assert_str_eq(text, "127.0.0.1:7080");

	ck_assert_int_eq(addr_parse_listen("[::]:7000", &ss, &len, err, sizeof(err)), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	addr_format((struct sockaddr *)&ss, text, sizeof(text));
	ck_assert_str_eq(text, "[::]:7000");

	ck_assert_int_eq(addr_parse_listen("0.0.0.0:1", NULL, NULL, NULL, 0), 0);
}
END_TEST

START_TEST(test_host_names_are_not_listening_addresses)
{
	char err[256];

	ck_assert_int_eq(addr_parse_listen("localhost:7080", NULL, NULL, err, sizeof(err)),
	    -EINVAL);
	ck_assert_str_eq(err, "\"localhost\" is a host name; a listening address is an IP "
	    "address, as in 0.0.0.0:7080, [::]:7080 or 127.0.0.1:7080");
	ck_assert_int_eq(addr_parse_listen("Node-1.example.com:7000", NULL, NULL, err,
	    sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "is a host name"));
}
END_TEST

START_TEST(test_listening_addresses_follow_the_grammar_first)
{
	char err[256];

	ck_assert_int_eq(addr_parse_listen("127.0.0.1", NULL, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "\"127.0.0.1\": missing port (expected host:port)");
	ck_assert_int_eq(addr_parse_listen("127.0.0.1:0", NULL, NULL, err, sizeof(err)),
	    -EINVAL);
	ck_assert_str_eq(err, "port 0 out of range (1-65535)");
	ck_assert_int_eq(addr_parse_listen("::1:7000", NULL, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "must be in brackets"));
}
END_TEST

START_TEST(test_resolving_a_literal_needs_no_lookup)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], text[64];

	ck_assert_int_eq(addr_resolve("[2001:db8::1]:7000", &ss, &len, err, sizeof(err)), 0);
	addr_format((struct sockaddr *)&ss, text, sizeof(text));
	ck_assert_str_eq(text, "[2001:db8::1]:7000");
	ck_assert_int_eq(addr_resolve("10.0.0.1:", &ss, &len, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_localhost_resolves_to_a_loopback_address_with_the_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], text[64];

	ck_assert_msg(addr_resolve("localhost:7001", &ss, &len, err, sizeof(err)) == 0, "%s",
	    err);
	addr_format((struct sockaddr *)&ss, text, sizeof(text));
	ck_assert_msg(strcmp(text, "127.0.0.1:7001") == 0 || strcmp(text, "[::1]:7001") == 0,
	    "localhost:7001 resolved to %s", text);
}
END_TEST

START_TEST(test_addresses_compare_as_a_peer_would_dial_them)
{
	ck_assert(addr_same("10.0.0.1:7000", "10.0.0.1:7000"));
	ck_assert(addr_same("[::1]:7000", "[0:0::1]:7000"));
	ck_assert(addr_same("Node1.Example.com:7000", "node1.example.com:7000"));
	ck_assert(!addr_same("10.0.0.1:7000", "10.0.0.1:7001"));
	ck_assert(!addr_same("10.0.0.1:7000", "10.0.0.2:7000"));
	ck_assert(!addr_same("bad", "bad"));
}
END_TEST

START_TEST(test_a_wildcard_collides_with_every_host_on_its_port)
{
	ck_assert(addr_bind_conflict("0.0.0.0:7000", "127.0.0.1:7000"));
	ck_assert(addr_bind_conflict("127.0.0.1:7000", "[::]:7000"));
	ck_assert(addr_bind_conflict("127.0.0.1:7000", "127.0.0.1:7000"));
	ck_assert(!addr_bind_conflict("127.0.0.1:7000", "127.0.0.2:7000"));
	ck_assert(!addr_bind_conflict("0.0.0.0:7000", "0.0.0.0:7001"));
}
END_TEST

/* Is the literal ip (v4 or v6) a loopback address? */
static bool
loopback(const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1)
		return addr_is_loopback((struct sockaddr *)&sin);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return addr_is_loopback((struct sockaddr *)&sin6);
}

START_TEST(test_loopback_is_127_slash_8_and_colon_colon_1_and_nothing_else)
{
	struct sockaddr sa = { .sa_family = AF_UNIX };

	ck_assert(loopback("127.0.0.1"));
	ck_assert(loopback("127.0.0.2"));
	ck_assert(loopback("127.255.255.254"));
	ck_assert(loopback("::1"));
	ck_assert(loopback("::ffff:127.0.0.1"));
	ck_assert(!loopback("128.0.0.1"));
	ck_assert(!loopback("126.255.255.255"));
	ck_assert(!loopback("0.0.0.0"));
	ck_assert(!loopback("10.0.0.1"));
	ck_assert(!loopback("192.0.2.2"));
	ck_assert(!loopback("::"));
	ck_assert(!loopback("::2"));
	ck_assert(!loopback("fe80::1"));
	ck_assert(!loopback("::ffff:10.0.0.1"));
	ck_assert(!loopback("::127.0.0.1")); /* IPv4-compatible, not mapped */
	ck_assert(!addr_is_loopback(NULL));
	ck_assert(!addr_is_loopback(&sa));
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("listen");
	tcase_add_test(tc, test_ip_literals_are_listening_addresses);
	tcase_add_test(tc, test_host_names_are_not_listening_addresses);
	tcase_add_test(tc, test_listening_addresses_follow_the_grammar_first);
	tcase_add_test(tc, test_resolving_a_literal_needs_no_lookup);
	tcase_add_test(tc, test_localhost_resolves_to_a_loopback_address_with_the_port);
	suite_add_tcase(s, tc);

	tc = tcase_create("compare");
	tcase_add_test(tc, test_addresses_compare_as_a_peer_would_dial_them);
	tcase_add_test(tc, test_a_wildcard_collides_with_every_host_on_its_port);
	tcase_add_test(tc, test_loopback_is_127_slash_8_and_colon_colon_1_and_nothing_else);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	sr = srunner_create(addr_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
