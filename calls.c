/* The error-capturing wrappers: every call into s2n that can fail goes
 * through one of these, which read s2n_errno inside the same C call. The
 * one-line wrappers are generated from calls.h; those that do more than one
 * call follow. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cgo_helpers.h"

#if defined(__has_include)
#if __has_include(<s2n_go_buildinfo.h>)
#include <s2n_go_buildinfo.h>
#endif
#endif
#ifndef S2N_GO_S2N_VERSION
#define S2N_GO_S2N_VERSION "unknown (system s2n-tls)"
#define S2N_GO_LIBCRYPTO_MODE "system"
#endif

/* Fill e from s2n_errno when rc reports failure, and clear s2n_errno as the
 * s2n docs ask, so a later success on this thread is not misread. */
long go_s2n_check(long rc, go_s2n_error *e)
{
    if (rc >= 0) {
        return rc;
    }
    int sys_errno = errno; /* before anything below can change it */
    int err = s2n_errno;
    e->code = err;
    e->type = s2n_error_get_type(err);
    e->sys_errno = e->type == S2N_ERR_T_IO ? sys_errno : 0;
    if (err == S2N_ERR_T_OK) {
        /* A failure that set no error (some getters return NULL that way). */
        e->type = S2N_ERR_T_INTERNAL;
        e->debug[0] = '\0';
        e->source[0] = '\0';
        return rc;
    }
    if (e->type == S2N_ERR_T_BLOCKED) {
        /* Not a failure but "call again": the hot path of every non-blocking
         * handshake and read, where the debug location tells nothing. */
        e->debug[0] = '\0';
        e->source[0] = '\0';
    } else {
        const char *debug = s2n_strerror_debug(err, "EN");
        snprintf(e->debug, sizeof(e->debug), "%s", debug ? debug : "");
        const char *source = s2n_strerror_source(err);
        snprintf(e->source, sizeof(e->source), "%s", source ? source : "");
    }
    s2n_errno = S2N_ERR_T_OK;
    return rc;
}

void *go_s2n_check_ptr(void *p, go_s2n_error *e)
{
    if (p == NULL) {
        go_s2n_check(-1, e);
    }
    return p;
}

const char *go_s2n_strerror_name(int code)
{
    return s2n_strerror_name(code);
}

const char *go_s2n_strerror(int code)
{
    return s2n_strerror(code, "EN");
}

#define GO_S2N_CALL(name, params, args) \
    int go_##name params                \
    {                                   \
        return (int) go_s2n_check(name args, e); \
    }
#define GO_S2N_CALL_SIZE(name, params, args) \
    ssize_t go_##name params                 \
    {                                        \
        return (ssize_t) go_s2n_check(name args, e); \
    }
#define GO_S2N_CALL_PTR(type, name, params, args) \
    type *go_##name params                        \
    {                                             \
        s2n_errno = S2N_ERR_T_OK;                 \
        return go_s2n_check_ptr((void *) name args, e); \
    }
#define GO_S2N_DRIVE_BODY(type, name, args)                   \
    {                                                         \
        uintptr_t prev = go_s2n_driving;                      \
        go_s2n_driving = (uintptr_t) s2n_connection_get_ctx(c); \
        type rc = name args;                                  \
        go_s2n_driving = prev;                                \
        return (type) go_s2n_check(rc, e);                    \
    }
#define GO_S2N_DRIVE(name, params, args) int go_##name params GO_S2N_DRIVE_BODY(int, name, args)
#define GO_S2N_DRIVE_SIZE(name, params, args) ssize_t go_##name params GO_S2N_DRIVE_BODY(ssize_t, name, args)
#include "calls.h"

/* ---- facts about the build ---- */
const char *go_s2n_version(void)
{
    return S2N_GO_S2N_VERSION;
}

const char *go_s2n_libcrypto_mode(void)
{
    return S2N_GO_LIBCRYPTO_MODE;
}

const char *go_s2n_libcrypto_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

uintptr_t go_s2n_thread_id(void)
{
    return (uintptr_t) pthread_self();
}

/* ---- objects carrying their Go handle ---- */
struct s2n_config *go_s2n_config_new(uintptr_t handle, int minimal, go_s2n_error *e)
{
    s2n_errno = S2N_ERR_T_OK;
    struct s2n_config *c = go_s2n_check_ptr(minimal ? s2n_config_new_minimal() : s2n_config_new(), e);
    if (c == NULL) {
        return NULL;
    }
    if (go_s2n_check(s2n_config_set_ctx(c, (void *) handle), e) < 0 || go_s2n_config_set_clocks(c, e) < 0) {
        s2n_config_free(c);
        return NULL;
    }
    return c;
}

struct s2n_connection *go_s2n_connection_new(s2n_mode mode, uintptr_t handle, go_s2n_error *e)
{
    struct s2n_connection *c = go_s2n_check_ptr(s2n_connection_new(mode), e);
    if (c == NULL) {
        return NULL;
    }
    if (go_s2n_check(s2n_connection_set_ctx(c, (void *) handle), e) < 0) {
        s2n_connection_free(c);
        return NULL;
    }
    return c;
}

struct s2n_cert_chain_and_key *go_s2n_cert_chain_and_key_new(const uint8_t *chain, uint32_t chain_len, const uint8_t *key,
        uint32_t key_len, int cstrings, uintptr_t handle, go_s2n_error *e)
{
    struct s2n_cert_chain_and_key *ck = go_s2n_check_ptr(s2n_cert_chain_and_key_new(), e);
    if (ck == NULL) {
        return NULL;
    }
    int rc = 0;
    if (cstrings) {
        rc = s2n_cert_chain_and_key_load_pem(ck, (const char *) chain, (const char *) key);
    } else if (key == NULL) {
        rc = s2n_cert_chain_and_key_load_public_pem_bytes(ck, (uint8_t *) chain, chain_len);
    } else {
        rc = s2n_cert_chain_and_key_load_pem_bytes(ck, (uint8_t *) chain, chain_len, (uint8_t *) key, key_len);
    }
    if (go_s2n_check(rc, e) < 0 || go_s2n_check(s2n_cert_chain_and_key_set_ctx(ck, (void *) handle), e) < 0) {
        s2n_cert_chain_and_key_free(ck);
        return NULL;
    }
    return ck;
}

uintptr_t go_s2n_cert_chain_and_key_handle(struct s2n_cert_chain_and_key *ck)
{
    return (uintptr_t) s2n_cert_chain_and_key_get_ctx(ck);
}

int go_s2n_connection_wipe(struct s2n_connection *c, uintptr_t handle, go_s2n_error *e)
{
    if (go_s2n_check(s2n_connection_wipe(c), e) < 0) {
        return -1;
    }
    /* Wipe resets the context; the Go object is still the same one. */
    return (int) go_s2n_check(s2n_connection_set_ctx(c, (void *) handle), e);
}

/* ---- connection facts ---- */
int go_s2n_connection_get_selected_algs(struct s2n_connection *c, int client, s2n_tls_signature_algorithm *sig,
        s2n_tls_hash_algorithm *hash, go_s2n_error *e)
{
    int rc = client ? s2n_connection_get_selected_client_cert_signature_algorithm(c, sig)
                    : s2n_connection_get_selected_signature_algorithm(c, sig);
    if (go_s2n_check(rc, e) < 0) {
        return -1;
    }
    rc = client ? s2n_connection_get_selected_client_cert_digest_algorithm(c, hash)
                : s2n_connection_get_selected_digest_algorithm(c, hash);
    return (int) go_s2n_check(rc, e);
}

/* The group's name, or NULL when none was negotiated (not an error). */
const char *go_s2n_connection_get_key_exchange_group(struct s2n_connection *c)
{
    const char *name = NULL;
    if (s2n_connection_get_key_exchange_group(c, &name) < 0) {
        s2n_errno = S2N_ERR_T_OK;
        return NULL;
    }
    return name;
}

void go_s2n_connection_get_facts(struct s2n_connection *c, go_s2n_facts *f)
{
    f->version = s2n_connection_get_actual_protocol_version(c);
    f->cipher = s2n_connection_get_cipher(c);
    f->group = go_s2n_connection_get_key_exchange_group(c);
    f->alpn = s2n_get_application_protocol(c);
    f->server_name = s2n_get_server_name(c);
    f->resumed = s2n_connection_is_session_resumed(c);
    f->ocsp = s2n_connection_get_ocsp_response(c, &f->ocsp_len);
    f->sct = s2n_connection_get_sct_list(c, &f->sct_len);
    s2n_errno = S2N_ERR_T_OK; /* getters that found nothing may have set it */
    if (s2n_connection_get_cipher_iana_value(c, &f->iana[0], &f->iana[1]) < 0) {
        f->iana[0] = f->iana[1] = 0;
        s2n_errno = S2N_ERR_T_OK;
    }
}

/* Copies the peer's chain as DER certificates, each preceded by its 4-byte
 * big-endian length, into buf. Returns the bytes needed (call again with a
 * larger buffer if that exceeds cap), or -1. */
long go_s2n_connection_get_peer_chain(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e)
{
    struct s2n_cert_chain_and_key *chain = go_s2n_check_ptr(s2n_cert_chain_and_key_new(), e);
    if (chain == NULL) {
        return -1;
    }
    long need = -1;
    uint32_t n = 0;
    if (go_s2n_check(s2n_connection_get_peer_cert_chain(c, chain), e) < 0
            || go_s2n_check(s2n_cert_chain_get_length(chain, &n), e) < 0) {
        goto out;
    }
    need = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct s2n_cert *cert = NULL;
        const uint8_t *der = NULL;
        uint32_t len = 0;
        if (go_s2n_check(s2n_cert_chain_get_cert(chain, &cert, i), e) < 0 || go_s2n_check(s2n_cert_get_der(cert, &der, &len), e) < 0) {
            need = -1;
            goto out;
        }
        if ((uint64_t) need + 4 + len <= cap) {
            uint8_t *p = buf + need;
            p[0] = len >> 24;
            p[1] = len >> 16;
            p[2] = len >> 8;
            p[3] = len;
            memcpy(p + 4, der, len);
        }
        need += 4 + len;
    }
out:
    s2n_cert_chain_and_key_free(chain);
    return need;
}

long go_s2n_cert_x509_extension(struct s2n_cert_chain_and_key *ck, struct s2n_connection *peer, uint32_t idx,
        const char *oid, uint8_t *buf, uint32_t cap, bool *critical, go_s2n_error *e)
{
    struct s2n_cert_chain_and_key *chain = ck;
    if (peer != NULL) {
        chain = go_s2n_check_ptr(s2n_cert_chain_and_key_new(), e);
        if (chain == NULL) {
            return -1;
        }
        if (go_s2n_check(s2n_connection_get_peer_cert_chain(peer, chain), e) < 0) {
            s2n_cert_chain_and_key_free(chain);
            return -1;
        }
    }
    long rc = -1;
    struct s2n_cert *cert = NULL;
    uint32_t len = 0;
    if (go_s2n_check(s2n_cert_chain_get_cert(chain, &cert, idx), e) < 0
            || go_s2n_check(s2n_cert_get_x509_extension_value_length(cert, (const uint8_t *) oid, &len), e) < 0) {
        goto out;
    }
    rc = len;
    if (cap != 0 && len <= cap) {
        uint32_t n = cap;
        rc = go_s2n_check(s2n_cert_get_x509_extension_value(cert, (const uint8_t *) oid, buf, &n, critical), e) < 0 ? -1 : (long) n;
    }
out:
    if (peer != NULL) {
        s2n_cert_chain_and_key_free(chain);
    }
    return rc;
}

long go_s2n_cert_utf8_from_extension_data(const uint8_t *data, uint32_t len, uint8_t *out, uint32_t cap, go_s2n_error *e)
{
    uint32_t n = 0;
    if (go_s2n_check(s2n_cert_get_utf8_string_from_extension_data_length(data, len, &n), e) < 0) {
        return -1;
    }
    if (cap == 0 || n > cap) {
        return n;
    }
    n = cap;
    if (go_s2n_check(s2n_cert_get_utf8_string_from_extension_data(data, len, out, &n), e) < 0) {
        return -1;
    }
    return n;
}

/* Copies the session state into buf when it fits; returns its length, 0 when
 * there is none yet, or -1. */
int go_s2n_connection_get_session(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e)
{
    int len = (int) go_s2n_check(s2n_connection_get_session_length(c), e);
    if (len <= 0 || (uint32_t) len > cap) {
        return len;
    }
    return (int) go_s2n_check(s2n_connection_get_session(c, buf, (size_t) len), e);
}

/* Reports the input's size in *size, and copies it when it fits in cap: one
 * crossing for the common case (digests and RSA ciphertexts are small). */
int go_s2n_async_pkey_op_get_input(struct s2n_async_pkey_op *op, uint8_t *buf, uint32_t cap, uint32_t *size, go_s2n_error *e)
{
    if (go_s2n_check(s2n_async_pkey_op_get_input_size(op, size), e) < 0) {
        return -1;
    }
    if (*size > cap) {
        return 0;
    }
    return (int) go_s2n_check(s2n_async_pkey_op_get_input(op, buf, *size), e);
}

/* s2n_client_hello_cb_done checks the mode of the connection's current
 * config: if the ClientHello callback swapped it for a config that is not in
 * non-blocking mode, mark the callback done against the config whose
 * callback ran (cb), then put the current one (cur) back. */
int go_s2n_client_hello_done(struct s2n_connection *c, struct s2n_config *cb, struct s2n_config *cur, go_s2n_error *e)
{
    if (cb == NULL || cb == cur) {
        return (int) go_s2n_check(s2n_client_hello_cb_done(c), e);
    }
    if (go_s2n_check(s2n_connection_set_config(c, cb), e) < 0) {
        return -1;
    }
    int rc = (int) go_s2n_check(s2n_client_hello_cb_done(c), e);
    go_s2n_error restore;
    if (go_s2n_check(s2n_connection_set_config(c, cur), &restore) < 0 && rc == 0) {
        *e = restore;
        return -1;
    }
    return rc;
}

int go_s2n_certificate_authority_list_has_next(struct s2n_certificate_authority_list *l)
{
    return s2n_certificate_authority_list_has_next(l) ? 1 : 0;
}

int go_s2n_offered_psk_list_has_next(struct s2n_offered_psk_list *l)
{
    return s2n_offered_psk_list_has_next(l) ? 1 : 0;
}

/* ---- session resumption ---- */
long go_s2n_session_ticket_read(struct s2n_session_ticket *t, uint8_t *buf, size_t cap, uint32_t *lifetime, go_s2n_error *e)
{
    size_t len = 0;
    if (go_s2n_check(s2n_session_ticket_get_data_len(t, &len), e) < 0 || go_s2n_check(s2n_session_ticket_get_lifetime(t, lifetime), e) < 0) {
        return -1;
    }
    if (len > 0 && len <= cap && go_s2n_check(s2n_session_ticket_get_data(t, cap, buf), e) < 0) {
        return -1;
    }
    return (long) len;
}

ssize_t go_s2n_recv_cb(struct s2n_connection *c, uint8_t *buf, ssize_t size, s2n_blocked_status *blocked, go_s2n_error *e)
{
    return go_s2n_recv(c, buf, size, blocked, e);
}

int go_s2n_shutdown_cb(struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e)
{
    return go_s2n_shutdown(c, blocked, e);
}

ssize_t go_s2n_recv_some(struct s2n_connection *c, uint8_t *buf, ssize_t size, s2n_blocked_status *blocked,
        go_s2n_error *e, go_s2n_error *later, int *later_kind)
{
    ssize_t total = 0;
    for (;;) {
        ssize_t n = s2n_recv(c, buf + total, size - total, blocked);
        if (n < 0) {
            if (total == 0) {
                return go_s2n_check(n, e);
            }
            if (s2n_error_get_type(s2n_errno) == S2N_ERR_T_BLOCKED) {
                s2n_errno = S2N_ERR_T_OK;
            } else {
                go_s2n_check(n, later);
                *later_kind = GO_S2N_RECV_LATER_ERROR;
            }
            *blocked = S2N_NOT_BLOCKED;
            return total;
        }
        if (n == 0) { /* close_notify */
            if (total > 0) {
                *later_kind = GO_S2N_RECV_LATER_EOF;
            }
            return total;
        }
        total += n;
        if (total == size || s2n_peek_buffered(c) == 0) {
            return total;
        }
    }
}

/* ---- renegotiation ---- */
int go_s2n_renegotiate_wipe(struct s2n_connection *c, uintptr_t handle, go_s2n_error *e)
{
    if (go_s2n_check(s2n_renegotiate_wipe(c), e) < 0) {
        return -1;
    }
    /* The wipe resets the context, as s2n_connection_wipe does. */
    return (int) go_s2n_check(s2n_connection_set_ctx(c, (void *) handle), e);
}
