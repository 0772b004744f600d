/* The error-capturing wrappers, one line each, grouped by s2n feature area.
 *
 * GO_S2N_CALL(name, params, args) stands for the C function
 *     int go_<name> params
 * which returns name args and, when that fails, fills the go_s2n_error *e
 * that ends params from s2n_errno inside the same C call (go_s2n_check).
 * GO_S2N_CALL_SIZE is the same for calls returning ssize_t, GO_S2N_CALL_PTR
 * for calls returning a pointer (NULL is the failure).
 *
 * This file has no include guard on purpose: cgo_helpers.h includes it to
 * declare the wrappers and calls.c to define them. Wrappers that do more
 * than one call live in calls.c, declared in cgo_helpers.h. */

/* ---- config ---- */
GO_S2N_CALL(s2n_config_free, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_set_cipher_preferences, (struct s2n_config *c, const char *version, go_s2n_error *e), (c, version))
GO_S2N_CALL(s2n_config_add_pem_to_trust_store, (struct s2n_config *c, const char *pem, go_s2n_error *e), (c, pem))
GO_S2N_CALL(s2n_config_wipe_trust_store, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_disable_x509_verification, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_set_client_auth_type, (struct s2n_config *c, s2n_cert_auth_type t, go_s2n_error *e), (c, t))
GO_S2N_CALL(s2n_config_set_max_blinding_delay, (struct s2n_config *c, uint32_t seconds, go_s2n_error *e), (c, seconds))
GO_S2N_CALL(s2n_config_set_max_fragment_length, (struct s2n_config *c, uint16_t n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_config_set_protocol_preferences,
        (struct s2n_config *c, const char *const *protocols, int count, go_s2n_error *e), (c, protocols, count))

/* ---- certificate chains and keys ---- */
GO_S2N_CALL(s2n_config_add_cert_chain_and_key_to_store,
        (struct s2n_config *c, struct s2n_cert_chain_and_key *ck, go_s2n_error *e), (c, ck))
GO_S2N_CALL(s2n_cert_chain_and_key_free, (struct s2n_cert_chain_and_key *ck, go_s2n_error *e), (ck))
GO_S2N_CALL_PTR(s2n_cert_private_key, s2n_cert_chain_and_key_get_private_key,
        (struct s2n_cert_chain_and_key *ck, go_s2n_error *e), (ck))

/* ---- connection ---- */
GO_S2N_CALL(s2n_connection_free, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_set_config, (struct s2n_connection *c, struct s2n_config *config, go_s2n_error *e), (c, config))
GO_S2N_CALL(s2n_connection_set_fd, (struct s2n_connection *c, int fd, go_s2n_error *e), (c, fd))
GO_S2N_CALL(s2n_set_server_name, (struct s2n_connection *c, const char *name, go_s2n_error *e), (c, name))
GO_S2N_CALL(s2n_connection_set_blinding, (struct s2n_connection *c, s2n_blinding b, go_s2n_error *e), (c, b))
GO_S2N_CALL(s2n_connection_prefer_throughput, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_prefer_low_latency, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_release_buffers, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_free_handshake, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL_PTR(struct s2n_cert_chain_and_key, s2n_connection_get_selected_cert, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_tls_exporter,
        (struct s2n_connection *c, const uint8_t *label, uint32_t label_len, const uint8_t *context, uint32_t context_len,
                uint8_t *out, uint32_t out_len, go_s2n_error *e),
        (c, label, label_len, context, context_len, out, out_len))

/* ---- I/O: the calls that move the connection on ---- */
GO_S2N_CALL(s2n_negotiate, (struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e), (c, blocked))
GO_S2N_CALL_SIZE(s2n_send, (struct s2n_connection *c, const uint8_t *buf, ssize_t size, s2n_blocked_status *blocked, go_s2n_error *e),
        (c, buf, size, blocked))
GO_S2N_CALL_SIZE(s2n_recv, (struct s2n_connection *c, uint8_t *buf, ssize_t size, s2n_blocked_status *blocked, go_s2n_error *e),
        (c, buf, size, blocked))
GO_S2N_CALL(s2n_shutdown, (struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e), (c, blocked))
GO_S2N_CALL(s2n_shutdown_send, (struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e), (c, blocked))

/* ---- session resumption ---- */
GO_S2N_CALL(s2n_connection_set_session, (struct s2n_connection *c, const uint8_t *session, size_t len, go_s2n_error *e),
        (c, session, len))
GO_S2N_CALL(s2n_config_set_session_tickets_onoff, (struct s2n_config *c, uint8_t enabled, go_s2n_error *e), (c, enabled))
GO_S2N_CALL(s2n_config_add_ticket_crypto_key,
        (struct s2n_config *c, const uint8_t *name, uint32_t name_len, uint8_t *key, uint32_t key_len, uint64_t intro_time,
                go_s2n_error *e),
        (c, name, name_len, key, key_len, intro_time))

/* ---- async private-key operations ---- */
GO_S2N_CALL(s2n_config_set_async_pkey_validation_mode,
        (struct s2n_config *c, s2n_async_pkey_validation_mode mode, go_s2n_error *e), (c, mode))
GO_S2N_CALL(s2n_async_pkey_op_get_op_type, (struct s2n_async_pkey_op *op, s2n_async_pkey_op_type *type, go_s2n_error *e),
        (op, type))
GO_S2N_CALL(s2n_async_pkey_op_set_output, (struct s2n_async_pkey_op *op, const uint8_t *data, uint32_t len, go_s2n_error *e),
        (op, data, len))
GO_S2N_CALL(s2n_async_pkey_op_perform, (struct s2n_async_pkey_op *op, s2n_cert_private_key *key, go_s2n_error *e), (op, key))
GO_S2N_CALL(s2n_async_pkey_op_apply, (struct s2n_async_pkey_op *op, struct s2n_connection *c, go_s2n_error *e), (op, c))
GO_S2N_CALL(s2n_async_pkey_op_free, (struct s2n_async_pkey_op *op, go_s2n_error *e), (op))
