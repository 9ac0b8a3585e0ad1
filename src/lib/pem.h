/* pem.h: base64, and a structural check of PEM private keys (GitHub App keys are PKCS#1 RSA,
 * "-----BEGIN RSA PRIVATE KEY-----"; PKCS#8 "PRIVATE KEY" is accepted too). No crypto library:
 * the check decodes the base64 body and walks the DER: SEQUENCE { INTEGER 0, ... } whose length
 * covers the whole body. */
#ifndef DESKRUN_PEM_H
#define DESKRUN_PEM_H

#include <stddef.h>
#include <stdint.h>

/* Encode n bytes; the result is owned by the caller. */
char *dr_base64_encode(const void *p, size_t n);
/* Decode standard base64, skipping whitespace; -1 on bad input. *out owned by the caller. */
int dr_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len);

/* 0 if pem is a private key that parses; else -1 and a static reason in *why. */
int dr_pem_private_key_check(const char *pem, const char **why);

#endif
