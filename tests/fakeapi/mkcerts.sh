#!/usr/bin/env bash
# mkcerts.sh DIR: a throw-away CA, a server certificate for 127.0.0.1 and
# localhost, and a client certificate (CN svcplane), all signed by the CA.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fakeapi-ca -keyout ca.key -out ca.crt
q openssl req -newkey rsa:2048 -nodes -subj /CN=fakeapi -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
q openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt
q openssl req -newkey rsa:2048 -nodes -subj /CN=svcplane/O=system:node-proxier -keyout client.key -out client.csr
q openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt
# A second CA that signed nothing here: a kubeconfig trusting it must fail.
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other-ca.key -out other-ca.crt
rm -f ./*.csr server.ext ca.srl
