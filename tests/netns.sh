# tests/netns.sh — nodes in network namespaces of their own, for tests that
# cut a node off the network as a partition does (not a stopped process: it
# runs, its peers' packets just do not arrive).  Sourced after cluster.sh,
# before cluster_init: it replaces node_addr and node_exec.  Needs root
# and iproute2 (ip netns, veth, bridge).
#
# netns_init N: N namespaces, each with one end of a veth pair whose other
# end is on a bridge in the test's own namespace; node I listens on
# ${NETNS_NET}I:7000 in namespace I.  Returns 1 (and says why) when the
# namespaces cannot be made.  The control sockets are files: raftconfctl
# reaches every node from here.
# netns_cut I: node I's link goes down: nothing reaches it, nothing leaves.
# netns_heal I: its link comes back.
# Everything is removed at exit.

NETNS_TAG=rc$$
# 10.200-249.X.I/24: a net of this test's own (the pid picks it)
NETNS_NET=10.$((200 + $$ % 50)).$((($$ / 50) % 250)).

node_addr() { echo "$NETNS_NET$1:7000"; }
node_exec() { exec ip netns exec "${NETNS_TAG}n$1" "${@:2}"; }

# (a namespace outlives its name while a socket of it lingers, a connection
# closed towards a peer cut off: its link is deleted here all the same)
netns_cleanup() {
	local i
	for ((i = 1; i <= NETNS_N; i++)); do
		ip link del "${NETNS_TAG}v$i" 2>/dev/null # the pair's other end with it
		ip netns del "${NETNS_TAG}n$i" 2>/dev/null
	done
	ip link del "${NETNS_TAG}b" 2>/dev/null
}

netns_init() {
	local i ns
	NETNS_N=$1
	on_exit netns_cleanup
	if ! ip link add "${NETNS_TAG}b" type bridge 2>"$TEST_DIR/netns.err" ||
		! ip link set "${NETNS_TAG}b" up 2>>"$TEST_DIR/netns.err"; then
		echo "# no bridge: $(cat "$TEST_DIR/netns.err")"
		return 1
	fi
	for ((i = 1; i <= NETNS_N; i++)); do
		ns=${NETNS_TAG}n$i
		if ! { ip netns add "$ns" &&
			ip link add "${NETNS_TAG}v$i" type veth peer name "${NETNS_TAG}e$i" &&
			ip link set "${NETNS_TAG}e$i" netns "$ns" &&
			ip link set "${NETNS_TAG}v$i" master "${NETNS_TAG}b" &&
			ip link set "${NETNS_TAG}v$i" up &&
			ip netns exec "$ns" ip link set lo up &&
			ip netns exec "$ns" ip addr add "$NETNS_NET$i/24" dev "${NETNS_TAG}e$i" &&
			ip netns exec "$ns" ip link set "${NETNS_TAG}e$i" up; } 2>>"$TEST_DIR/netns.err"; then
			echo "# namespace $ns: $(cat "$TEST_DIR/netns.err")"
			return 1
		fi
	done
}

netns_cut() { ip link set "${NETNS_TAG}v$1" down; }
netns_heal() { ip link set "${NETNS_TAG}v$1" up; }
