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

/* ---- bulk over loopback TCP, two threads (inproc_tcp_*) ---- */

#include <netinet/in.h>
#include <netinet/tcp.h>

/* A client and server connection over a loopback TCP connection, blocking
 * sockets, with a writer thread for the client side: the native counterpart
 * of two goroutines moving data through net.Conn. */
struct inproc_tcp {
    struct inproc *ip;
    struct pair p;
    struct transport t; /* fds[0] server's, fds[1] client's: TCP here */
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long jobs;      /* writes of size bytes the writer still has to do */
    size_t size;
    bool quit;
};

static void set_blocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK) < 0) {
        die("fcntl");
    }
}

/* A connected loopback TCP pair: fds[0] accepted (server), fds[1] dialled. */
static void tcp_pair(int fds[2])
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(l, 1) < 0
            || getsockname(l, (struct sockaddr *) &a, &alen) < 0) {
        die("listen");
    }
    fds[1] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[1] < 0 || connect(fds[1], (struct sockaddr *) &a, sizeof(a)) < 0) {
        die("connect");
    }
    if ((fds[0] = accept(l, NULL, NULL)) < 0) {
        die("accept");
    }
    close(l);
    /* As Go's net package does for every TCP connection. */
    int one = 1;
    for (int i = 0; i < 2; i++) {
        if (setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
            die("TCP_NODELAY");
        }
    }
}

static void *tcp_writer(void *arg)
{
    struct inproc_tcp *tc = arg;
    pthread_mutex_lock(&tc->mu);
    for (;;) {
        while (tc->jobs == 0 && !tc->quit) {
            pthread_cond_wait(&tc->cv, &tc->mu);
        }
        if (tc->quit) {
            break;
        }
        long n = tc->jobs;
        size_t size = tc->size;
        pthread_mutex_unlock(&tc->mu);
        for (long i = 0; i < n; i++) {
            size_t sent = 0;
            s2n_blocked_status blocked;
            while (sent < size) {
                ssize_t w = s2n_send(tc->p.client, tc->ip->buf + sent, (ssize_t) (size - sent), &blocked);
                if (w < 0) {
                    die_s2n("s2n_send", __LINE__);
                }
                sent += (size_t) w;
            }
        }
        pthread_mutex_lock(&tc->mu);
        tc->jobs = 0;
    }
    pthread_mutex_unlock(&tc->mu);
    return NULL;
}

struct inproc_tcp *inproc_tcp_new(struct inproc *ip)
{
    struct inproc_tcp *tc = calloc(1, sizeof(*tc));
    if (tc == NULL) {
        die("calloc");
    }
    tc->ip = ip;
    tc->t.mem = false;
    tcp_pair(tc->t.fds);
    for (int i = 0; i < 2; i++) {
        set_blocking(tc->t.fds[i], false);
    }
    tc->p.t = &tc->t;
    tc->p.server_cfg = ip->p.server_cfg;
    tc->p.client_cfg = ip->p.client_cfg;
    pair_new(&tc->p);
    /* s2n at its best for bulk: 16 KiB records (as the binding's side gets
     * with SetMaxFragmentLength) and reads of many records at once. */
    S2N_CHECK(s2n_connection_prefer_throughput(tc->p.client));
    S2N_CHECK(s2n_connection_prefer_throughput(tc->p.server));
    S2N_CHECK(s2n_connection_set_recv_buffering(tc->p.server, true));
    S2N_CHECK(s2n_connection_set_recv_buffering(tc->p.client, true));
    handshake(&tc->p, CB_NONE);
    for (int i = 0; i < 2; i++) {
        set_blocking(tc->t.fds[i], true);
    }
    pthread_mutex_init(&tc->mu, NULL);
    pthread_cond_init(&tc->cv, NULL);
    if (pthread_create(&tc->writer, NULL, tcp_writer, tc) != 0) {
        die("pthread_create");
    }
    return tc;
}

/* n writes of size bytes by the writer thread, received here in RECV_BUF
 * reads: returns when all n*size bytes have arrived. */
void inproc_tcp_transfers(struct inproc_tcp *tc, long n, size_t size)
{
    struct inproc *ip = tc->ip;
    if (ip->buf_size < size) {
        free(ip->buf);
        if ((ip->buf = malloc(size)) == NULL) {
            die("malloc");
        }
        memset(ip->buf, 'x', size);
        ip->buf_size = size;
    }
    if (ip->rbuf == NULL && (ip->rbuf = malloc(RECV_BUF)) == NULL) {
        die("malloc");
    }
    pthread_mutex_lock(&tc->mu);
    tc->size = size;
    tc->jobs = n;
    pthread_cond_signal(&tc->cv);
    pthread_mutex_unlock(&tc->mu);
    size_t want = (size_t) n * size, got = 0;
    s2n_blocked_status blocked;
    while (got < want) {
        ssize_t r = s2n_recv(tc->p.server, ip->rbuf, RECV_BUF, &blocked);
        if (r <= 0) {
            die_s2n("s2n_recv", __LINE__);
        }
        got += (size_t) r;
    }
    /* The writer is done: it finished its last s2n_send before the last
     * bytes could arrive; wait for it to say so before the next job. */
    pthread_mutex_lock(&tc->mu);
    while (tc->jobs != 0) {
        pthread_mutex_unlock(&tc->mu);
        sched_yield();
        pthread_mutex_lock(&tc->mu);
    }
    pthread_mutex_unlock(&tc->mu);
}

void inproc_tcp_free(struct inproc_tcp *tc)
{
    pthread_mutex_lock(&tc->mu);
    tc->quit = true;
    pthread_cond_signal(&tc->cv);
    pthread_mutex_unlock(&tc->mu);
    pthread_join(tc->writer, NULL);
    pair_free(&tc->p);
    transport_free(&tc->t);
    pthread_mutex_destroy(&tc->mu);
    pthread_cond_destroy(&tc->cv);
    free(tc);
}
