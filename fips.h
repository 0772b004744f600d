/* C glue for fips.go: FIPS facts about the linked s2n-tls and libcrypto.
 * Declarations only; the definitions live in fips.c. */
#ifndef S2N_GO_FIPS_H
#define S2N_GO_FIPS_H

#include "cgo_helpers.h"

/* s2n_get_fips_mode: 1 in FIPS mode, 0 if not, -1 with e filled on failure. */
int go_s2n_fips_get_mode(go_s2n_error *e);

/* What the libcrypto itself says, independently of s2n: FIPS_mode() on
 * AWS-LC, the default provider properties on OpenSSL 3. */
int go_s2n_fips_libcrypto_mode(void);

#endif
