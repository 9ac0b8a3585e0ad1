/* quantity.h: Kubernetes resource.Quantity syntax (k8s.io/apimachinery resource/quantity.go). */
#ifndef DESKRUN_QUANTITY_H
#define DESKRUN_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

/* True if s is a quantity: [+-]NUMBER[SUFFIX] with SUFFIX one of Ki Mi Gi Ti Pi Ei, n u m k M G
 * T P E, or an exponent e/E[+-]DIGITS. Negative values are refused unless allow_negative. */
bool dr_quantity_valid(const char *s, bool allow_negative);
/* Parse a non-negative quantity into bytes/units, rounding up; -1 if invalid or too big. */
int dr_quantity_bytes(const char *s, uint64_t *out);

#endif
