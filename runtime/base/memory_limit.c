/* Memory budget defaults, parsing and formatting (see memory_limit.h). */
#include "runtime/base/memory_limit.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/base/checked_math.h"

size_t mt_memory_limit_default(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  size_t limit = (size_t)4 << 30;
  size_t phys;
  if (pages > 0 && page > 0 && mt_mul_size((size_t)pages, (size_t)page, &phys)) limit = phys / 2;
  const int resources[] = {RLIMIT_AS, RLIMIT_DATA};
  for (size_t i = 0; i < sizeof resources / sizeof *resources; i++) {
    struct rlimit rl;
    if (getrlimit(resources[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (size_t)rl.rlim_cur / 2 < limit)
      limit = (size_t)rl.rlim_cur / 2;
  }
  return limit ? limit : 1;
}

bool mt_memory_limit_parse(const char *text, size_t *out_bytes) {
  if (!text || !isdigit((unsigned char)*text)) return false;
  errno = 0;
  char *end;
  unsigned long long n = strtoull(text, &end, 10);
  if (errno || n == 0) return false;
  size_t scale = 1;
  if (*end) {
    switch (toupper((unsigned char)*end)) {
    case 'K': scale = (size_t)1 << 10; break;
    case 'M': scale = (size_t)1 << 20; break;
    case 'G': scale = (size_t)1 << 30; break;
    case 'T': scale = (size_t)1 << 40; break;
    default: return false;
    }
    end++;
    if (strcmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
      return false;
  }
  if (n > SIZE_MAX) return false;
  return mt_mul_size((size_t)n, scale, out_bytes);
}

const char *mt_format_bytes(double bytes, char *buf, size_t cap) {
  static const char *const units[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 1024) {
    snprintf(buf, cap, "%.0f bytes", bytes);
    return buf;
  }
  int u = -1;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, cap, "%.1f %s", bytes, units[u]);
  return buf;
}
