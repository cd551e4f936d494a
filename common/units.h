/* units.h: numbers as people read them. */
#ifndef TERN_COMMON_UNITS_H
#define TERN_COMMON_UNITS_H

#include <stddef.h>

/* "512 B", "1.5 KiB", "3.2 GiB" (binary units, one decimal above bytes). */
void tern_fmt_bytes(double bytes, char *buf, size_t len);

#endif
