#!/bin/sh
# mkcerts.sh — a certificate authority and one certificate per node id, for
# raftconfd's mutual TLS between peers (raftconfd.yaml(5), tls), with the
# openssl command line.  Keys are ECDSA P-256; every certificate's Common
# Name is the node id it is for, which is what raftconfd checks.
#
#   mkcerts.sh [-d DIR] [--days N] [--new-key] ID...
#                                                 CA (made once) and ID.pem/ID.key
#   mkcerts.sh [-d DIR] --http NAME...            http.pem/http.key for HTTPS,
#                                                 NAME = its host names / IPs
#   mkcerts.sh [-d DIR] --revoke ID               revoke ID's certificate: crl.pem
#
# DIR (default /etc/raftconfd/tls) keeps ca.key, which signs everything: keep
# it off the nodes, and copy to each host only ca.pem, crl.pem and that
# host's ID.pem and ID.key.  Running it again for an ID renews that ID's
# certificate with the same key (with --new-key, a new key too): copy
# ID.pem over the old one and `systemctl reload raftconfd` on that host
# (a new key, handed over by LoadCredential=, needs a restart instead).
set -eu

dir=/etc/raftconfd/tls
days=825
mode=node
newkey=no
usage() {
	sed -n '2,19s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-d) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
	--days) [ $# -ge 2 ] || usage; days=$2; shift 2 ;;
	--http) mode=http; shift ;;
	--new-key) newkey=yes; shift ;;
	--revoke) mode=revoke; shift ;;
	-h|--help) usage ;;
	-*) echo "mkcerts.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
case $days in *[!0-9]*|'') echo "mkcerts.sh: --days wants a number, not \"$days\"" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "mkcerts.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }

umask 077
mkdir -p "$dir/ca.db"
cnf=$dir/ca.db/openssl.cnf
# `openssl ca` keeps what it signed in index.txt, which the CRL is made from.
[ -e "$dir/ca.db/index.txt" ] || : >"$dir/ca.db/index.txt"
[ -e "$dir/ca.db/serial" ] || openssl rand -hex 16 >"$dir/ca.db/serial"
[ -e "$dir/ca.db/crlnumber" ] || echo 1000 >"$dir/ca.db/crlnumber"
cat >"$cnf" <<CNF
[ ca ]
default_ca = raftconf
[ raftconf ]
dir = $dir/ca.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_crl_days = 3650
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
[ node ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

if [ ! -e "$dir/ca.pem" ]; then
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
	openssl req -new -x509 -key "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
		-subj "/CN=raftconfd CA $(hostname 2>/dev/null || echo)" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
	echo "mkcerts.sh: made the CA: $dir/ca.pem (its key $dir/ca.key stays here)"
fi

crl() {
	openssl ca -batch -config "$cnf" -gencrl -out "$dir/crl.pem" 2>/dev/null
}

# sign NAME CN FILE [SAN]: FILE.key, FILE.pem with Common Name CN.
sign() {
	name=$1 cn=$2 out=$3 san=${4:-}
	if [ "$newkey" = no ] && [ -s "$out.key" ]; then
		cp "$out.key" "$out.key.new" # a renewal: the same key
	else
		openssl ecparam -name prime256v1 -genkey -noout -out "$out.key.new"
	fi
	if [ -n "$san" ]; then
		openssl req -new -key "$out.key.new" -subj "/CN=$cn" -addext "subjectAltName=$san" \
			-out "$out.csr"
	else
		openssl req -new -key "$out.key.new" -subj "/CN=$cn" -out "$out.csr"
	fi
	openssl ca -batch -config "$cnf" -extensions node -days "$days" -notext \
		-in "$out.csr" -out "$out.pem.new" 2>"$out.err" || { cat "$out.err" >&2; exit 1; }
	rm -f "$out.csr" "$out.err"
	mv "$out.key.new" "$out.key"
	mv "$out.pem.new" "$out.pem"
	chmod 0644 "$out.pem"
	echo "mkcerts.sh: $out.pem and $out.key for \"$cn\" ($days days): $name"
}

case $mode in
node)
	for id in "$@"; do
		case $id in
		*[!A-Za-z0-9._-]*|'') echo "mkcerts.sh: \"$id\" is not a node id" >&2; exit 2 ;;
		esac
		sign "node $id" "$id" "$dir/$id"
	done
	;;
http)
	san=
	for n in "$@"; do
		case $n in
		*[!0-9.:]*) san="${san:+$san,}DNS:$n" ;;
		*) san="${san:+$san,}IP:$n" ;;
		esac
	done
	sign "HTTPS for $*" "$1" "$dir/http" "$san"
	;;
revoke)
	[ -e "$dir/$1.pem" ] || { echo "mkcerts.sh: no certificate $dir/$1.pem" >&2; exit 1; }
	openssl ca -batch -config "$cnf" -revoke "$dir/$1.pem" 2>/dev/null
	echo "mkcerts.sh: revoked $dir/$1.pem"
	;;
esac
crl
chmod 0644 "$dir/ca.pem" "$dir/crl.pem"
