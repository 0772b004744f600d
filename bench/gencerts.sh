#!/usr/bin/env bash
# gencerts.sh DIR: throwaway self-signed certificates for "localhost", made
# with the openssl command line, for the native driver and the Go benchmarks
# (S2N_BENCH_CERTS=DIR). ecdsa.{crt,key}: P-256; rsa.{crt,key}: RSA-2048.
# The keys are generated per run and never committed.
set -euo pipefail
dir=${1:?usage: gencerts.sh DIR}
mkdir -p "$dir"
umask 077
gen() { # gen NAME KEYALG KEYOPT
	openssl req -x509 -newkey "$2" -pkeyopt "$3" -nodes -sha256 -days 2 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=digitalSignature,keyEncipherment,keyCertSign \
		-keyout "$dir/$1.key" -out "$dir/$1.crt" 2>/dev/null
}
gen ecdsa ec ec_paramgen_curve:P-256
gen rsa rsa rsa_keygen_bits:2048
