/* A driver for the fuzz targets without libFuzzer (gcc builds, CI): runs every seed file, then a
 * fixed number of deterministic mutations of each (bit flips, truncations, byte runs, splices),
 * so CI exercises the parsers on corrupt input under ASan/UBSan on every run.
 * usage: fuzz_X [-n MUTATIONS] SEED_FILE... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) { /* xorshift64*: same sequence on every machine */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static void mutate(uint8_t *buf, size_t *len, size_t cap) {
  size_t n = *len;
  switch (next_random() % 5) {
  case 0: /* flip a few bits */
    for (int k = 0; n && k < 1 + (int)(next_random() % 4); k++)
      buf[next_random() % n] ^= (uint8_t)(1u << (next_random() % 8));
    break;
  case 1: /* truncate */
    if (n) *len = next_random() % n;
    break;
  case 2: /* overwrite a run with an interesting byte */
    if (n) {
      static const uint8_t interesting[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x08, 0x10, 0x12, 0x1a};
      size_t at = next_random() % n, run = 1 + next_random() % 8;
      for (size_t i = at; i < n && i < at + run; i++)
        buf[i] = interesting[next_random() % sizeof interesting];
    }
    break;
  case 3: /* duplicate a chunk in place (grows the input) */
    if (n && n < cap) {
      size_t at = next_random() % n, run = 1 + next_random() % 32;
      if (run > cap - n) run = cap - n;
      if (at + run > n) run = n - at;
      memmove(buf + at + run, buf + at, n - at);
      *len = n + run;
    }
    break;
  default: /* set a varint-looking byte to a large value */
    if (n) buf[next_random() % n] = (uint8_t)(0x80 | next_random());
    break;
  }
}

int main(int argc, char **argv) {
  int mutations = 100, runs = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      mutations = atoi(argv[++i]);
      continue;
    }
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      fprintf(stderr, "cannot open seed %s\n", argv[i]);
      return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t cap = (size_t)size + 4096;
    uint8_t *seed = malloc((size_t)size + 1), *buf = malloc(cap);
    if (!seed || !buf || fread(seed, 1, (size_t)size, f) != (size_t)size) {
      fprintf(stderr, "cannot read seed %s\n", argv[i]);
      return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(seed, (size_t)size);
    runs++;
    for (int k = 0; k < mutations; k++) {
      size_t len = (size_t)size;
      memcpy(buf, seed, len);
      for (int j = 0; j < 1 + (int)(next_random() % 3); j++) mutate(buf, &len, cap);
      LLVMFuzzerTestOneInput(buf, len);
      runs++;
    }
    free(seed);
    free(buf);
  }
  printf("fuzz replay: %d inputs ran without a crash\n", runs);
  return 0;
}
