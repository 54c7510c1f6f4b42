// OpenSSL's libcrypto (Debian's libssl-dev): SHA-256 through the EVP digest
// interface, for merge's run digests.
#include <openssl/evp.h>
