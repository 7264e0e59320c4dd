#!/bin/sh
# A three-node raftconfd cluster on 127.0.0.1, from etc/demo/n{1,2,3}.yaml,
# its peers speaking mutual TLS with certificates from etc/tls/mkcerts.sh.
# Every line below is something you could type yourself.
set -eu
cd "$(dirname "$0")/../.."
PATH=$PWD:$PATH

mkdir -p /tmp/raftconfd-demo
# A CA and a certificate for each node: the peers speak mutual TLS.
[ -e /tmp/raftconfd-demo/tls/n3.pem ] ||
	etc/tls/mkcerts.sh -d /tmp/raftconfd-demo/tls n1 n2 n3
for i in 1 2 3; do
	raftconfd -c etc/demo/n$i.yaml >>/tmp/raftconfd-demo/n$i.log 2>&1 &
	echo "started n$i (pid $!), log in /tmp/raftconfd-demo/n$i.log"
done

# Wait (up to 20 s) until node n1 knows a leader.
i=0
until raftconfctl -s /tmp/raftconfd-demo/n1.sock status 2>/dev/null |
	awk '$1 == "leader:" && $2 != "none" { found = 1 } END { exit !found }'; do
	i=$((i + 1)); [ $i -le 200 ] || { echo "no leader after 20 s; see the logs"; exit 1; }
	sleep 0.1
done
raftconfctl -s /tmp/raftconfd-demo/n1.sock status

echo '$ raftconfctl -s /tmp/raftconfd-demo/n1.sock set /app/db/host 10.0.0.5'
raftconfctl -s /tmp/raftconfd-demo/n1.sock set /app/db/host 10.0.0.5
echo '$ raftconfctl -s /tmp/raftconfd-demo/n3.sock get /app/db/host'
raftconfctl -s /tmp/raftconfd-demo/n3.sock get /app/db/host
echo
echo "The cluster keeps running. Try: raftconfctl -s /tmp/raftconfd-demo/n2.sock members"
echo "Stop it with: pkill -f 'raftconfd -c etc/demo/'   (data stays in /tmp/raftconfd-demo)"
