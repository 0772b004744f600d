/* The error-capturing wrappers, one line each, grouped by s2n feature area.
 *
 * GO_S2N_CALL(name, params, args) stands for the C function
 *     int go_<name> params
 * which returns name args and, when that fails, fills the go_s2n_error *e
 * that ends params from s2n_errno inside the same C call (go_s2n_check).
 * GO_S2N_CALL_SIZE is the same for calls returning ssize_t, GO_S2N_CALL_PTR
 * for calls returning a pointer (NULL is the failure; s2n_errno is cleared
 * first, as some getters return NULL without setting it). GO_S2N_DRIVE and
 * GO_S2N_DRIVE_SIZE are for the calls during which s2n may run a handshake,
 * and with it the verify-host and CRL callbacks, which s2n does not hand
 * the connection (params start with the connection c): they also record
 * which connection this thread drives (go_s2n_driving).
 *
 * This file has no include guard on purpose: cgo_helpers.h includes it to
 * declare the wrappers and calls.c to define them. Wrappers that do more
 * than one call live in calls.c, declared in cgo_helpers.h. */

/* ---- the library (s2n.go) ---- */
GO_S2N_CALL(s2n_cleanup_final, (go_s2n_error *e), ())

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

GO_S2N_CALL(s2n_config_get_client_auth_type, (struct s2n_config *c, s2n_cert_auth_type *t, go_s2n_error *e), (c, t))
GO_S2N_CALL(s2n_config_get_supported_groups,
        (struct s2n_config *c, uint16_t *groups, uint16_t max, uint16_t *n, go_s2n_error *e), (c, groups, max, n))
GO_S2N_CALL(s2n_config_add_dhparams, (struct s2n_config *c, const char *pem, go_s2n_error *e), (c, pem))
GO_S2N_CALL(s2n_config_set_alert_behavior, (struct s2n_config *c, s2n_alert_behavior b, go_s2n_error *e), (c, b))
GO_S2N_CALL(s2n_config_send_max_fragment_length, (struct s2n_config *c, s2n_max_frag_len code, go_s2n_error *e), (c, code))
GO_S2N_CALL(s2n_config_accept_max_fragment_length, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_set_cipher_preferences, (struct s2n_connection *c, const char *version, go_s2n_error *e),
        (c, version))
GO_S2N_CALL(s2n_config_append_protocol_preference,
        (struct s2n_config *c, const uint8_t *protocol, uint8_t len, go_s2n_error *e), (c, protocol, len))
GO_S2N_CALL(s2n_connection_append_protocol_preference,
        (struct s2n_connection *c, const uint8_t *protocol, uint8_t len, go_s2n_error *e), (c, protocol, len))
GO_S2N_CALL(s2n_connection_set_protocol_preferences,
        (struct s2n_connection *c, const char *const *protocols, int count, go_s2n_error *e), (c, protocols, count))
GO_S2N_CALL(s2n_conn_get_signature_public_key_type,
        (struct s2n_connection *c, s2n_mode mode, char *out, uint32_t *n, go_s2n_error *e), (c, mode, out, n))

GO_S2N_CALL(s2n_config_set_verify_after_sign, (struct s2n_config *c, s2n_verify_after_sign mode, go_s2n_error *e), (c, mode))
GO_S2N_CALL(s2n_connection_use_corked_io, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_set_dynamic_buffers, (struct s2n_connection *c, bool enabled, go_s2n_error *e), (c, enabled))
GO_S2N_CALL(s2n_connection_get_client_cert_chain,
        (struct s2n_connection *c, uint8_t **chain, uint32_t *n, go_s2n_error *e), (c, chain, n))
GO_S2N_CALL_SIZE(s2n_sendv,
        (struct s2n_connection *c, const struct iovec *bufs, ssize_t count, s2n_blocked_status *blocked, go_s2n_error *e),
        (c, bufs, count, blocked))
GO_S2N_CALL_SIZE(s2n_sendv_with_offset,
        (struct s2n_connection *c, const struct iovec *bufs, ssize_t count, ssize_t offs, s2n_blocked_status *blocked,
                go_s2n_error *e),
        (c, bufs, count, offs, blocked))

GO_S2N_CALL(s2n_config_enable_cert_req_dss_legacy_compat, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_set_npn, (struct s2n_config *c, bool enable, go_s2n_error *e), (c, enable))

/* ---- certificate chains and keys ---- */
GO_S2N_CALL(s2n_config_set_cert_chain_and_key_defaults,
        (struct s2n_config *c, struct s2n_cert_chain_and_key **cks, uint32_t n, go_s2n_error *e), (c, cks, n))
GO_S2N_CALL(s2n_cert_chain_and_key_free, (struct s2n_cert_chain_and_key *ck, go_s2n_error *e), (ck))
GO_S2N_CALL_PTR(s2n_cert_private_key, s2n_cert_chain_and_key_get_private_key,
        (struct s2n_cert_chain_and_key *ck, go_s2n_error *e), (ck))

/* ---- connection ---- */
GO_S2N_CALL(s2n_connection_free, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_set_config, (struct s2n_connection *c, struct s2n_config *config, go_s2n_error *e), (c, config))
GO_S2N_CALL(s2n_connection_set_fd, (struct s2n_connection *c, int fd, go_s2n_error *e), (c, fd))
GO_S2N_CALL(s2n_connection_set_read_fd, (struct s2n_connection *c, int fd, go_s2n_error *e), (c, fd))
GO_S2N_CALL(s2n_connection_set_write_fd, (struct s2n_connection *c, int fd, go_s2n_error *e), (c, fd))
GO_S2N_CALL(s2n_connection_get_read_fd, (struct s2n_connection *c, int *fd, go_s2n_error *e), (c, fd))
GO_S2N_CALL(s2n_connection_get_write_fd, (struct s2n_connection *c, int *fd, go_s2n_error *e), (c, fd))
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
GO_S2N_DRIVE(s2n_negotiate, (struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e), (c, blocked))
/* The verify-host and CRL callbacks, which need go_s2n_driving, run only in
 * a handshake: send, recv and shutdown take the plain wrappers. */
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
GO_S2N_CALL(s2n_config_set_session_state_lifetime, (struct s2n_config *c, uint64_t secs, go_s2n_error *e), (c, secs))
GO_S2N_CALL(s2n_config_set_ticket_encrypt_decrypt_key_lifetime, (struct s2n_config *c, uint64_t secs, go_s2n_error *e), (c, secs))
GO_S2N_CALL(s2n_config_set_ticket_decrypt_key_lifetime, (struct s2n_config *c, uint64_t secs, go_s2n_error *e), (c, secs))
GO_S2N_CALL(s2n_config_require_ticket_forward_secrecy, (struct s2n_config *c, bool enabled, go_s2n_error *e), (c, enabled))
GO_S2N_CALL(s2n_config_set_initial_ticket_count, (struct s2n_config *c, uint8_t n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_add_new_tickets_to_send, (struct s2n_connection *c, uint8_t n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_get_tickets_sent, (struct s2n_connection *c, uint16_t *n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_set_server_keying_material_lifetime, (struct s2n_connection *c, uint32_t secs, go_s2n_error *e),
        (c, secs))
GO_S2N_CALL(s2n_connection_get_session_ticket_lifetime_hint, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_get_session_id_length, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_get_session_id, (struct s2n_connection *c, uint8_t *out, size_t max, go_s2n_error *e), (c, out, max))

/* ---- ClientHello (clienthello.go) ---- */
GO_S2N_CALL(s2n_connection_server_name_extension_used, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_get_client_hello_version, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL_PTR(struct s2n_client_hello, s2n_connection_get_client_hello, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL_PTR(struct s2n_client_hello, s2n_client_hello_parse_message, (const uint8_t *b, uint32_t n, go_s2n_error *e),
        (b, n))
GO_S2N_CALL(s2n_client_hello_free, (struct s2n_client_hello **ch, go_s2n_error *e), (ch))
GO_S2N_CALL_SIZE(s2n_client_hello_get_raw_message_length, (struct s2n_client_hello *ch, go_s2n_error *e), (ch))
GO_S2N_CALL_SIZE(s2n_client_hello_get_raw_message, (struct s2n_client_hello *ch, uint8_t *out, uint32_t max, go_s2n_error *e),
        (ch, out, max))
GO_S2N_CALL_SIZE(s2n_client_hello_get_cipher_suites_length, (struct s2n_client_hello *ch, go_s2n_error *e), (ch))
GO_S2N_CALL_SIZE(s2n_client_hello_get_cipher_suites, (struct s2n_client_hello *ch, uint8_t *out, uint32_t max, go_s2n_error *e),
        (ch, out, max))
GO_S2N_CALL_SIZE(s2n_client_hello_get_extensions_length, (struct s2n_client_hello *ch, go_s2n_error *e), (ch))
GO_S2N_CALL_SIZE(s2n_client_hello_get_extensions, (struct s2n_client_hello *ch, uint8_t *out, uint32_t max, go_s2n_error *e),
        (ch, out, max))
GO_S2N_CALL_SIZE(s2n_client_hello_get_extension_length,
        (struct s2n_client_hello *ch, s2n_tls_extension_type id, go_s2n_error *e), (ch, id))
GO_S2N_CALL_SIZE(s2n_client_hello_get_extension_by_id,
        (struct s2n_client_hello *ch, s2n_tls_extension_type id, uint8_t *out, uint32_t max, go_s2n_error *e), (ch, id, out, max))
GO_S2N_CALL(s2n_client_hello_has_extension, (struct s2n_client_hello *ch, uint16_t id, bool *exists, go_s2n_error *e),
        (ch, id, exists))
GO_S2N_CALL(s2n_client_hello_get_session_id_length, (struct s2n_client_hello *ch, uint32_t *n, go_s2n_error *e), (ch, n))
GO_S2N_CALL(s2n_client_hello_get_session_id,
        (struct s2n_client_hello *ch, uint8_t *out, uint32_t *n, uint32_t max, go_s2n_error *e), (ch, out, n, max))
GO_S2N_CALL(s2n_client_hello_get_compression_methods_length, (struct s2n_client_hello *ch, uint32_t *n, go_s2n_error *e),
        (ch, n))
GO_S2N_CALL(s2n_client_hello_get_compression_methods,
        (struct s2n_client_hello *ch, uint8_t *out, uint32_t max, uint32_t *n, go_s2n_error *e), (ch, out, max, n))
GO_S2N_CALL(s2n_client_hello_get_legacy_protocol_version, (struct s2n_client_hello *ch, uint8_t *v, go_s2n_error *e), (ch, v))
GO_S2N_CALL(s2n_client_hello_get_legacy_record_version, (struct s2n_client_hello *ch, uint8_t *v, go_s2n_error *e), (ch, v))
GO_S2N_CALL(s2n_client_hello_get_random, (struct s2n_client_hello *ch, uint8_t *out, uint32_t max, go_s2n_error *e),
        (ch, out, max))
GO_S2N_CALL(s2n_client_hello_get_supported_groups,
        (struct s2n_client_hello *ch, uint16_t *groups, uint16_t max, uint16_t *n, go_s2n_error *e), (ch, groups, max, n))
GO_S2N_CALL(s2n_client_hello_get_server_name_length, (struct s2n_client_hello *ch, uint16_t *n, go_s2n_error *e), (ch, n))
GO_S2N_CALL(s2n_client_hello_get_server_name,
        (struct s2n_client_hello *ch, uint8_t *out, uint16_t max, uint16_t *n, go_s2n_error *e), (ch, out, max, n))

/* ---- ClientHello fingerprints (unstable/fingerprint.h; clienthello.go) ---- */
GO_S2N_CALL_PTR(struct s2n_fingerprint, s2n_fingerprint_new, (s2n_fingerprint_type t, go_s2n_error *e), (t))
GO_S2N_CALL(s2n_fingerprint_free, (struct s2n_fingerprint **f, go_s2n_error *e), (f))
GO_S2N_CALL(s2n_fingerprint_set_client_hello, (struct s2n_fingerprint *f, struct s2n_client_hello *ch, go_s2n_error *e),
        (f, ch))
GO_S2N_CALL(s2n_fingerprint_get_hash_size, (struct s2n_fingerprint *f, uint32_t *n, go_s2n_error *e), (f, n))
GO_S2N_CALL(s2n_fingerprint_get_hash, (struct s2n_fingerprint *f, uint32_t max, uint8_t *out, uint32_t *n, go_s2n_error *e),
        (f, max, out, n))
GO_S2N_CALL(s2n_fingerprint_get_raw_size, (struct s2n_fingerprint *f, uint32_t *n, go_s2n_error *e), (f, n))
GO_S2N_CALL(s2n_fingerprint_get_raw, (struct s2n_fingerprint *f, uint32_t max, uint8_t *out, uint32_t *n, go_s2n_error *e),
        (f, max, out, n))

/* ---- certificate requests and authorities (unstable/cert_authorities.h; certrequest.go) ---- */
GO_S2N_CALL(s2n_config_set_cert_authorities_from_trust_store, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL_PTR(struct s2n_certificate_authority_list, s2n_certificate_request_get_ca_list,
        (struct s2n_certificate_request *r, go_s2n_error *e), (r))
GO_S2N_CALL(s2n_certificate_request_set_certificate,
        (struct s2n_certificate_request *r, struct s2n_cert_chain_and_key *ck, go_s2n_error *e), (r, ck))
GO_S2N_CALL(s2n_certificate_authority_list_next,
        (struct s2n_certificate_authority_list *l, uint8_t **name, uint16_t *n, go_s2n_error *e), (l, name, n))
GO_S2N_CALL(s2n_certificate_authority_list_reread, (struct s2n_certificate_authority_list *l, go_s2n_error *e), (l))
GO_S2N_CALL(s2n_connection_set_client_auth_type, (struct s2n_connection *c, s2n_cert_auth_type t, go_s2n_error *e), (c, t))
GO_S2N_CALL(s2n_connection_get_client_auth_type, (struct s2n_connection *c, s2n_cert_auth_type *t, go_s2n_error *e), (c, t))
GO_S2N_CALL(s2n_connection_client_cert_used, (struct s2n_connection *c, go_s2n_error *e), (c))

/* ---- OCSP stapling and Certificate Transparency (ocsp.go) ---- */
GO_S2N_CALL(s2n_cert_chain_and_key_set_ocsp_data,
        (struct s2n_cert_chain_and_key *ck, const uint8_t *data, uint32_t len, go_s2n_error *e), (ck, data, len))
GO_S2N_CALL(s2n_cert_chain_and_key_set_sct_list,
        (struct s2n_cert_chain_and_key *ck, const uint8_t *data, uint32_t len, go_s2n_error *e), (ck, data, len))
GO_S2N_CALL(s2n_config_set_status_request_type, (struct s2n_config *c, s2n_status_request_type t, go_s2n_error *e), (c, t))
GO_S2N_CALL(s2n_config_set_check_stapled_ocsp_response, (struct s2n_config *c, uint8_t check, go_s2n_error *e), (c, check))
GO_S2N_CALL(s2n_config_set_ct_support_level, (struct s2n_config *c, s2n_ct_support_level l, go_s2n_error *e), (c, l))
GO_S2N_CALL(s2n_connection_is_ocsp_stapled, (struct s2n_connection *c, go_s2n_error *e), (c))

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

/* ---- async offload (async_offload.go) ---- */
GO_S2N_CALL(s2n_async_offload_op_perform, (struct s2n_async_offload_op *op, go_s2n_error *e), (op))

/* ---- certificate validation (certvalidation.go) ---- */
GO_S2N_CALL(s2n_cert_validation_accept, (struct s2n_cert_validation_info *info, go_s2n_error *e), (info))
GO_S2N_CALL(s2n_cert_validation_reject, (struct s2n_cert_validation_info *info, go_s2n_error *e), (info))
GO_S2N_CALL(s2n_config_set_max_cert_chain_depth, (struct s2n_config *c, uint16_t depth, go_s2n_error *e), (c, depth))
GO_S2N_CALL(s2n_config_set_verification_ca_location,
        (struct s2n_config *c, const char *file, const char *dir, go_s2n_error *e), (c, file, dir))
GO_S2N_CALL(s2n_config_load_system_certs, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_disable_x509_time_verification, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_disable_x509_intent_verification, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_allow_ip_in_cn, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_add_custom_x509_extension, (struct s2n_config *c, uint8_t *oid, uint32_t len, go_s2n_error *e), (c, oid, len))

/* ---- certificate revocation lists (unstable/crl.h; crl.go) ---- */
GO_S2N_CALL_PTR(struct s2n_crl, s2n_crl_new, (go_s2n_error *e), ())
GO_S2N_CALL(s2n_crl_load_pem, (struct s2n_crl *crl, uint8_t *pem, size_t len, go_s2n_error *e), (crl, pem, len))
GO_S2N_CALL(s2n_crl_free, (struct s2n_crl **crl, go_s2n_error *e), (crl))
GO_S2N_CALL(s2n_crl_get_issuer_hash, (struct s2n_crl *crl, uint64_t *hash, go_s2n_error *e), (crl, hash))
GO_S2N_CALL(s2n_crl_validate_active, (struct s2n_crl *crl, go_s2n_error *e), (crl))
GO_S2N_CALL(s2n_crl_validate_not_expired, (struct s2n_crl *crl, go_s2n_error *e), (crl))
GO_S2N_CALL(s2n_crl_lookup_get_cert_issuer_hash, (struct s2n_crl_lookup *l, uint64_t *hash, go_s2n_error *e), (l, hash))
GO_S2N_CALL(s2n_crl_lookup_set, (struct s2n_crl_lookup *l, struct s2n_crl *crl, go_s2n_error *e), (l, crl))
GO_S2N_CALL(s2n_crl_lookup_ignore, (struct s2n_crl_lookup *l, go_s2n_error *e), (l))
/* ---- secrets (key_log.go) ---- */
GO_S2N_CALL(s2n_connection_get_master_secret, (const struct s2n_connection *c, uint8_t *out, size_t max, go_s2n_error *e),
        (c, out, max))

/* ---- key update (key_update.go; s2n_connection_get_key_update_counts is in unstable/ktls.h) ---- */
GO_S2N_CALL(s2n_connection_request_key_update, (struct s2n_connection *c, s2n_peer_key_update r, go_s2n_error *e), (c, r))
GO_S2N_CALL(s2n_connection_get_key_update_counts, (struct s2n_connection *c, uint8_t *send, uint8_t *recv, go_s2n_error *e),
        (c, send, recv))

/* ---- record layer and I/O controls (records.go) ---- */
GO_S2N_CALL(s2n_config_set_send_buffer_size, (struct s2n_config *c, uint32_t size, go_s2n_error *e), (c, size))
GO_S2N_CALL(s2n_config_set_recv_multi_record, (struct s2n_config *c, bool enabled, go_s2n_error *e), (c, enabled))
GO_S2N_CALL(s2n_connection_set_recv_buffering, (struct s2n_connection *c, bool enabled, go_s2n_error *e), (c, enabled))
GO_S2N_CALL(s2n_connection_set_dynamic_record_threshold,
        (struct s2n_connection *c, uint32_t resize, uint16_t timeout, go_s2n_error *e), (c, resize, timeout))

/* ---- connection facts (connection_info.go) ---- */
GO_S2N_CALL(s2n_connection_get_client_protocol_version, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_get_server_protocol_version, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_get_alert, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_is_valid_for_cipher_preferences, (struct s2n_connection *c, const char *version, go_s2n_error *e),
        (c, version))
GO_S2N_CALL(s2n_connection_get_signature_scheme, (struct s2n_connection *c, const char **name, go_s2n_error *e), (c, name))
GO_S2N_CALL(s2n_connection_get_certificate_match, (struct s2n_connection *c, s2n_cert_sni_match *m, go_s2n_error *e), (c, m))

/* ---- kTLS (ktls.go; unstable/ktls.h) ---- */
GO_S2N_CALL(s2n_connection_ktls_enable_send, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_connection_ktls_enable_recv, (struct s2n_connection *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_config_ktls_enable_unsafe_tls13, (struct s2n_config *c, go_s2n_error *e), (c))
GO_S2N_CALL(s2n_sendfile, (struct s2n_connection *c, int fd, off_t offset, size_t count, size_t *written,
        s2n_blocked_status *blocked, go_s2n_error *e), (c, fd, offset, count, written, blocked))

/* ---- serialization (serialize.go) ---- */
GO_S2N_CALL(s2n_config_set_serialization_version, (struct s2n_config *c, s2n_serialization_version v, go_s2n_error *e), (c, v))
GO_S2N_CALL(s2n_connection_serialization_length, (struct s2n_connection *c, uint32_t *length, go_s2n_error *e), (c, length))
GO_S2N_CALL(s2n_connection_serialize, (struct s2n_connection *c, uint8_t *buf, uint32_t len, go_s2n_error *e), (c, buf, len))
GO_S2N_CALL(s2n_connection_deserialize, (struct s2n_connection *c, uint8_t *buf, uint32_t len, go_s2n_error *e), (c, buf, len))

/* ---- renegotiation (renegotiate.go; unstable/renegotiate.h) ---- */
GO_S2N_DRIVE(s2n_renegotiate, (struct s2n_connection *c, uint8_t *buf, ssize_t size, ssize_t *n, s2n_blocked_status *blocked,
        go_s2n_error *e), (c, buf, size, n, blocked))
/* ---- external PSKs (psk.go) ---- */
GO_S2N_CALL_PTR(struct s2n_psk, s2n_external_psk_new, (go_s2n_error *e), ())
GO_S2N_CALL(s2n_psk_free, (struct s2n_psk **p, go_s2n_error *e), (p))
GO_S2N_CALL(s2n_psk_set_identity, (struct s2n_psk *p, const uint8_t *id, uint16_t n, go_s2n_error *e), (p, id, n))
GO_S2N_CALL(s2n_psk_set_secret, (struct s2n_psk *p, const uint8_t *secret, uint16_t n, go_s2n_error *e), (p, secret, n))
GO_S2N_CALL(s2n_psk_set_hmac, (struct s2n_psk *p, s2n_psk_hmac h, go_s2n_error *e), (p, h))
GO_S2N_CALL(s2n_connection_append_psk, (struct s2n_connection *c, struct s2n_psk *p, go_s2n_error *e), (c, p))
GO_S2N_CALL(s2n_config_set_psk_mode, (struct s2n_config *c, s2n_psk_mode m, go_s2n_error *e), (c, m))
GO_S2N_CALL(s2n_connection_set_psk_mode, (struct s2n_connection *c, s2n_psk_mode m, go_s2n_error *e), (c, m))
GO_S2N_CALL(s2n_connection_get_negotiated_psk_identity_length, (struct s2n_connection *c, uint16_t *n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_get_negotiated_psk_identity, (struct s2n_connection *c, uint8_t *id, uint16_t max, go_s2n_error *e),
        (c, id, max))
GO_S2N_CALL_PTR(struct s2n_offered_psk, s2n_offered_psk_new, (go_s2n_error *e), ())
GO_S2N_CALL(s2n_offered_psk_free, (struct s2n_offered_psk **p, go_s2n_error *e), (p))
GO_S2N_CALL(s2n_offered_psk_get_identity, (struct s2n_offered_psk *p, uint8_t **id, uint16_t *n, go_s2n_error *e), (p, id, n))
GO_S2N_CALL(s2n_offered_psk_list_next, (struct s2n_offered_psk_list *l, struct s2n_offered_psk *p, go_s2n_error *e), (l, p))
GO_S2N_CALL(s2n_offered_psk_list_reread, (struct s2n_offered_psk_list *l, go_s2n_error *e), (l))
GO_S2N_CALL(s2n_offered_psk_list_choose_psk, (struct s2n_offered_psk_list *l, struct s2n_offered_psk *p, go_s2n_error *e), (l, p))

/* ---- early data (early_data.go) ---- */
GO_S2N_CALL(s2n_config_set_server_max_early_data_size, (struct s2n_config *c, uint32_t n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_set_server_max_early_data_size, (struct s2n_connection *c, uint32_t n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_set_server_early_data_context, (struct s2n_connection *c, const uint8_t *ctx, uint16_t n, go_s2n_error *e),
        (c, ctx, n))
GO_S2N_CALL(s2n_psk_configure_early_data, (struct s2n_psk *p, uint32_t max, uint8_t first, uint8_t second, go_s2n_error *e),
        (p, max, first, second))
GO_S2N_CALL(s2n_psk_set_application_protocol, (struct s2n_psk *p, const uint8_t *proto, uint8_t n, go_s2n_error *e), (p, proto, n))
GO_S2N_CALL(s2n_psk_set_early_data_context, (struct s2n_psk *p, const uint8_t *ctx, uint16_t n, go_s2n_error *e), (p, ctx, n))
GO_S2N_CALL(s2n_connection_get_early_data_status, (struct s2n_connection *c, s2n_early_data_status_t *s, go_s2n_error *e), (c, s))
GO_S2N_CALL(s2n_connection_get_remaining_early_data_size, (struct s2n_connection *c, uint32_t *n, go_s2n_error *e), (c, n))
GO_S2N_CALL(s2n_connection_get_max_early_data_size, (struct s2n_connection *c, uint32_t *n, go_s2n_error *e), (c, n))
GO_S2N_DRIVE(s2n_send_early_data,
        (struct s2n_connection *c, const uint8_t *buf, ssize_t size, ssize_t *sent, s2n_blocked_status *blocked, go_s2n_error *e),
        (c, buf, size, sent, blocked))
GO_S2N_DRIVE(s2n_recv_early_data,
        (struct s2n_connection *c, uint8_t *buf, ssize_t size, ssize_t *received, s2n_blocked_status *blocked, go_s2n_error *e),
        (c, buf, size, received, blocked))
GO_S2N_CALL(s2n_offered_early_data_get_context_length, (struct s2n_offered_early_data *d, uint16_t *n, go_s2n_error *e), (d, n))
GO_S2N_CALL(s2n_offered_early_data_get_context, (struct s2n_offered_early_data *d, uint8_t *ctx, uint16_t max, go_s2n_error *e),
        (d, ctx, max))
GO_S2N_CALL(s2n_offered_early_data_reject, (struct s2n_offered_early_data *d, go_s2n_error *e), (d))
GO_S2N_CALL(s2n_offered_early_data_accept, (struct s2n_offered_early_data *d, go_s2n_error *e), (d))
