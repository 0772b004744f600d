/* See inproc.h. s2n is initialised by the binding (s2n.Init) before any of
 * these run, with the binding's allocator: native and binding share it. */
#include "inproc.h"

#include "native/core.h"

struct inproc {
    struct keypair k;
    struct transport t;
    struct pair p;
    enum cb_mode cb;
    bool bulk_ready;
    uint8_t *buf, *rbuf;
    size_t buf_size;
};

/* A copy in C memory with a terminating NUL (the trust store takes a C string). */
static uint8_t *copy_pem(const uint8_t *pem, uint32_t len)
{
    uint8_t *p = malloc(len + 1);
    if (p == NULL) {
        die("malloc");
    }
    memcpy(p, pem, len);
    p[len] = 0;
    return p;
}

struct inproc *inproc_new(const uint8_t *cert, uint32_t cert_len, const uint8_t *key, uint32_t key_len,
        const char *policy, int cb)
{
    struct inproc *ip = calloc(1, sizeof(*ip));
    if (ip == NULL) {
        die("calloc");
    }
    ip->cb = (enum cb_mode) cb;
    keypair_init(&ip->k, "inproc", copy_pem(cert, cert_len), cert_len, copy_pem(key, key_len), key_len);
    transport_init(&ip->t, false);
    ip->p.t = &ip->t;
    ip->p.server_cfg = server_config(&ip->k, policy, ip->cb);
    ip->p.client_cfg = client_config(&ip->k, policy);
    if (ip->cb == CB_OFFTHREAD) {
        worker_start();
    }
    if (ip->cb == CB_REUSE) {
        pair_new(&ip->p);
    }
    return ip;
}

void inproc_handshakes(struct inproc *ip, long n)
{
    for (long i = 0; i < n; i++) {
        one_handshake(&ip->p, ip->cb);
    }
}

void inproc_transfers(struct inproc *ip, long n, size_t size)
{
    if (!ip->bulk_ready) {
        pair_new(&ip->p);
        handshake(&ip->p, CB_NONE);
        ip->bulk_ready = true;
    }
    if (ip->buf_size != size) {
        free(ip->buf);
        ip->buf = malloc(size);
        if (ip->buf == NULL) {
            die("malloc");
        }
        memset(ip->buf, 'x', size);
        ip->buf_size = size;
    }
    if (ip->rbuf == NULL && (ip->rbuf = malloc(RECV_BUF)) == NULL) {
        die("malloc");
    }
    for (long i = 0; i < n; i++) {
        transfer(&ip->p, ip->buf, size, ip->rbuf, RECV_BUF);
    }
}

void inproc_free(struct inproc *ip)
{
    if (ip->cb == CB_REUSE || ip->bulk_ready) {
        pair_free(&ip->p);
    }
    S2N_CHECK(s2n_config_free(ip->p.server_cfg));
    S2N_CHECK(s2n_config_free(ip->p.client_cfg));
    S2N_CHECK(s2n_cert_chain_and_key_free(ip->k.chain));
    transport_free(&ip->t);
    free(ip->k.cert_pem);
    free(ip->k.key_pem);
    free(ip->buf);
    free(ip->rbuf);
    free(ip);
}

/* The handshake of inproc_handshakes one s2n call per cgo call, driven from
 * Go (rawcgo in inproc.go): the binding's crossing pattern without the
 * binding, to tell the cost of the crossings from the cost of the binding's
 * own Go code. */
void inproc_pair_new(struct inproc *ip)
{
    pair_new(&ip->p);
}

void inproc_pair_free(struct inproc *ip)
{
    pair_free(&ip->p);
}

/* 1: done, 0: blocked (status in *blocked); dies on any other failure. */
int inproc_negotiate(struct inproc *ip, int server, int *blocked)
{
    s2n_blocked_status b = S2N_NOT_BLOCKED;
    int rc = s2n_negotiate(server ? ip->p.server : ip->p.client, &b);
    check_blocked(rc, "s2n_negotiate");
    *blocked = (int) b;
    return rc == 0;
}
