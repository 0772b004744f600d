/* The native side of the in-process comparison (inproc.go): the same C code
 * as the standalone driver (native/core.h), driven from Go with one cgo call
 * per batch of ops, so that native and binding run in one process, on the
 * same thread, in alternating batches. */
#ifndef S2N_BENCH_INPROC_H
#define S2N_BENCH_INPROC_H

#include <stddef.h>
#include <stdint.h>

struct inproc;

/* A client and server config pair for the given key and policy, with the
 * server's private-key operations done as cb says (the native driver's
 * enum cb_mode: 0 none, 1 sync, 2 async, 3 offthread, 4 reuse). */
struct inproc *inproc_new(const uint8_t *cert, uint32_t cert_len, const uint8_t *key, uint32_t key_len,
        const char *policy, int cb);
/* n full handshakes, as the driver's one_handshake does them. */
void inproc_handshakes(struct inproc *ip, long n);
/* n transfers of size bytes client to server over one established pair. */
void inproc_transfers(struct inproc *ip, long n, size_t size);
void inproc_free(struct inproc *ip);

/* One step each, for a handshake driven from Go one cgo call per s2n call
 * (no callback modes). */
void inproc_pair_new(struct inproc *ip);
void inproc_pair_free(struct inproc *ip);
int inproc_negotiate(struct inproc *ip, int server, int *blocked);

/* Bulk over loopback TCP: a client and server connection (TLS 1.3, the
 * configs of ip) over blocking sockets, a writer thread sending on the
 * client side while the caller receives on the server side. */
struct inproc_tcp;
struct inproc_tcp *inproc_tcp_new(struct inproc *ip);
/* n writes of size bytes, all received before it returns. */
void inproc_tcp_transfers(struct inproc_tcp *tc, long n, size_t size);
void inproc_tcp_free(struct inproc_tcp *tc);

#endif
