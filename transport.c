/* The in-memory transport of Conn: s2n's recv and send callbacks, pure C,
 * move bytes between s2n and the go_s2n_io buffers; Go fills and drains the
 * buffers between calls into s2n (conn.go). */
#include <errno.h>
#include <string.h>

#include "cgo_helpers.h"

/* Output accepted before s2n is told to wait for a flush. */
#define GO_S2N_IO_OUT_MAX (256u * 1024u)

go_s2n_io *go_s2n_io_new(uint32_t in_cap)
{
    go_s2n_io *io = calloc(1, sizeof(*io));
    if (io == NULL) {
        return NULL;
    }
    if (go_s2n_io_alloc_in(io, in_cap) < 0) {
        free(io);
        return NULL;
    }
    return io;
}

/* (Re)allocates the input buffer after go_s2n_io_release freed it. */
int go_s2n_io_alloc_in(go_s2n_io *io, uint32_t in_cap)
{
    if (io->in != NULL) {
        return 0;
    }
    io->in = malloc(in_cap);
    if (io->in == NULL) {
        return -1;
    }
    io->in_cap = in_cap;
    io->in_off = io->in_len = 0;
    return 0;
}

/* Frees what an idle connection holds: s2n's own I/O buffers, then ours.
 * Nothing is freed while s2n holds part of a record (its release fails):
 * the rest of the record is on its way, and a released input buffer would
 * make each wake-up read only a few bytes. Ours are freed only if empty; the
 * spare output buffer only when the caller holds the flusher's lock
 * (spare != 0). Returns 0, or -1 when s2n kept its buffers because they hold
 * data (not a failure of the connection: the caller goes on as before). */
int go_s2n_io_release(struct s2n_connection *c, go_s2n_io *io, int spare, go_s2n_error *e)
{
    if (go_s2n_connection_release_buffers(c, e) < 0) {
        return -1;
    }
    if (io->in != NULL && io->in_off == io->in_len) {
        free(io->in);
        io->in = NULL;
        io->in_cap = io->in_off = io->in_len = 0;
    }
    if (io->out != NULL && io->out_len == 0) {
        free(io->out);
        io->out = NULL;
        io->out_cap = 0;
    }
    if (spare && io->spare != NULL) {
        free(io->spare);
        io->spare = NULL;
        io->spare_cap = 0;
    }
    return 0;
}

void go_s2n_io_free(go_s2n_io *io)
{
    if (io == NULL) {
        return;
    }
    free(io->in);
    free(io->out);
    free(io->spare);
    free(io);
}

/* go_s2n_early_rejected: within s2n_recv_early_data (io->in_early set),
 * whether s2n has rejected the client's early data. The rejected early
 * data records that follow are then left for the s2n_negotiate after
 * s2n_recv_early_data: inside it s2n counts them (their ciphertext) against
 * the maximum early data size and fails the handshake when they exceed it,
 * after it s2n skips them. s2n reading a socket itself (s2n-tls's s2nd)
 * usually finds them not yet arrived at that point, s2n_recv_early_data
 * returns, and the same happens. */
static int go_s2n_early_rejected(go_s2n_io *io)
{
    s2n_early_data_status_t st = S2N_EARLY_DATA_STATUS_OK;
    return io->in_early && io->conn != NULL
            && s2n_connection_get_early_data_status(io->conn, &st) == S2N_SUCCESS
            && st == S2N_EARLY_DATA_STATUS_REJECTED;
}

static int go_s2n_io_recv(void *ctx, uint8_t *buf, uint32_t len)
{
    go_s2n_io *io = ctx;
    if (go_s2n_early_rejected(io)) {
        errno = EAGAIN;
        return -1;
    }
    uint32_t avail = io->in_len - io->in_off;
    if (avail == 0) {
        if (io->in_eof) {
            return 0;
        }
        errno = EAGAIN;
        return -1;
    }
    uint32_t n = avail < len ? avail : len;
    memcpy(buf, io->in + io->in_off, n);
    io->in_off += n;
    if (io->in_off == io->in_len) {
        io->in_off = io->in_len = 0;
    }
    return (int) n;
}

static int go_s2n_io_send(void *ctx, const uint8_t *buf, uint32_t len)
{
    go_s2n_io *io = ctx;
    uint64_t want = (uint64_t) io->out_len + len;
    if (want > io->out_cap) {
        if (io->out_len > 0 && want > GO_S2N_IO_OUT_MAX) {
            errno = EAGAIN;
            return -1;
        }
        uint64_t cap = io->out_cap ? io->out_cap : 16384;
        while (cap < want) {
            cap *= 2;
        }
        uint8_t *p = realloc(io->out, cap);
        if (p == NULL) {
            errno = ENOMEM;
            return -1;
        }
        io->out = p;
        io->out_cap = (uint32_t) cap;
    }
    memcpy(io->out + io->out_len, buf, len);
    io->out_len += len;
    return (int) len;
}

int go_s2n_connection_set_io(struct s2n_connection *c, go_s2n_io *io, go_s2n_error *e)
{
    io->conn = c;
    if (go_s2n_check(s2n_connection_set_recv_cb(c, go_s2n_io_recv), e) < 0
            || go_s2n_check(s2n_connection_set_send_cb(c, go_s2n_io_send), e) < 0
            || go_s2n_check(s2n_connection_set_recv_ctx(c, io), e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_connection_set_send_ctx(c, io), e);
}
