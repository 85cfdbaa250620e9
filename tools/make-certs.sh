#!/usr/bin/env bash
# tools/make-certs.sh DIR [ROLE...]: makes, with openssl, a certificate authority and the
# certificates that a mutual-TLS deployment of vigild needs, for trying it out and for the tests:
#
#   DIR/ca.pem, DIR/ca.key             the CA (keep ca.key offline in a real deployment)
#   DIR/server.pem, DIR/server.key     vigild's: DNS localhost, IP 127.0.0.1
#   DIR/ROLE.pem, DIR/ROLE.key         a client's, identified by SAN URI spiffe://vigil/ROLE
#
# ROLEs default to the three of rules/authz-policy.json: gateway, app and risk. Keys are ECDSA
# P-256; certificates last 30 days. An existing CA in DIR is reused, so that more clients can be
# added to it later.
set -euo pipefail
dir=${1:?usage: tools/make-certs.sh DIR [ROLE...]}
shift
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(gateway app risk)
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f ca.pem ]; then
  key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=Vigil test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null
fi

# issue NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
issue() {
  local name=$1 subject=$2 extensions=$3
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "$extensions" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue server "/CN=vigild" \
  "$(printf '%s\n' 'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1')"
for role in "${roles[@]}"; do
  issue "$role" "/CN=$role" \
    "$(printf '%s\n' 'extendedKeyUsage=clientAuth' "subjectAltName=URI:spiffe://vigil/$role")"
done
chmod 644 ./*.pem
echo "make-certs: CA, server and ${roles[*]} certificates in $dir"
