/* The .mtbundle container: header, section table, aligned sections, CRCs (runtime/bundle/format.h).
 * The parser trusts nothing: every offset and size is checked with overflow-safe arithmetic
 * before any byte it names is read. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/bundle/format.h"

uint32_t mt_bundle_crc32(const void *data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const Bytef *p = data;
  while (n > 0) { /* zlib takes uInt lengths */
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)crc;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint64_t align_up(uint64_t v) {
  return (v + MT_BUNDLE_ALIGN - 1) / MT_BUNDLE_ALIGN * MT_BUNDLE_ALIGN;
}

mt_status *mt_bundle_build_image(mt_bundle_section *sections, const void *const *data,
                                 int n_sections, uint8_t **out, size_t *out_size) {
  if (n_sections < 0 || (unsigned)n_sections > MT_BUNDLE_MAX_SECTIONS)
    return MT_ERR(INTERNAL, "bundle writer: %d sections", n_sections);
  uint64_t pos = align_up(MT_BUNDLE_HEADER_BYTES + (uint64_t)n_sections * MT_BUNDLE_ENTRY_BYTES);
  for (int i = 0; i < n_sections; i++) {
    sections[i].offset = pos;
    sections[i].crc = mt_bundle_crc32(data[i], sections[i].size);
    pos = align_up(pos + sections[i].size);
  }
  uint8_t *img = calloc(1, pos);
  if (!img)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for a %llu-byte bundle",
                  (unsigned long long)pos);
  memcpy(img, MT_BUNDLE_MAGIC, 8);
  put_u32(img + 8, MT_BUNDLE_FORMAT_VERSION);
  put_u32(img + 12, (uint32_t)n_sections);
  put_u64(img + 16, pos);
  for (int i = 0; i < n_sections; i++) {
    uint8_t *e = img + MT_BUNDLE_HEADER_BYTES + (size_t)i * MT_BUNDLE_ENTRY_BYTES;
    put_u32(e, sections[i].kind);
    put_u64(e + 8, sections[i].offset);
    put_u64(e + 16, sections[i].size);
    put_u32(e + 24, sections[i].crc);
    if (sections[i].size) memcpy(img + sections[i].offset, data[i], sections[i].size);
  }
  *out = img;
  *out_size = (size_t)pos;
  return NULL;
}

int mt_bundle_reseal(uint8_t *image, size_t size) {
  if (size < MT_BUNDLE_HEADER_BYTES) return 0;
  uint32_t n = get_u32(image + 12);
  if (n > MT_BUNDLE_MAX_SECTIONS || MT_BUNDLE_HEADER_BYTES + n * MT_BUNDLE_ENTRY_BYTES > size)
    return 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *e = image + MT_BUNDLE_HEADER_BYTES + i * MT_BUNDLE_ENTRY_BYTES;
    uint64_t off = get_u64(e + 8), sz = get_u64(e + 16);
    if (off > size || sz > size - off) return 0;
    put_u32(e + 24, mt_bundle_crc32(image + off, (size_t)sz));
  }
  return 1;
}

mt_status *mt_bundle_parse_container(const uint8_t *image, size_t size, const char *what,
                                     mt_bundle_section out[MT_SECTION_KIND_COUNT]) {
  memset(out, 0, sizeof *out * MT_SECTION_KIND_COUNT);
  if (size < MT_BUNDLE_HEADER_BYTES)
    return MT_ERR(DATA_LOSS, "%s: truncated: %zu bytes, shorter than the %u-byte header", what,
                  size, MT_BUNDLE_HEADER_BYTES);
  if (memcmp(image, MT_BUNDLE_MAGIC, 8) != 0)
    return MT_ERR(INVALID_ARGUMENT, "%s: not an .mtbundle (bad magic)", what);
  uint32_t version = get_u32(image + 8);
  if (version != MT_BUNDLE_FORMAT_VERSION)
    return MT_ERR(UNIMPLEMENTED, "%s: bundle format version %u; this libmtrt reads version %u (%s)",
                  what, version, MT_BUNDLE_FORMAT_VERSION,
                  version > MT_BUNDLE_FORMAT_VERSION ? "rebuild it or update libmtrt"
                                                     : "rebuild it with this mtcc");
  uint32_t n = get_u32(image + 12);
  uint64_t declared = get_u64(image + 16);
  if (declared != size)
    return MT_ERR(DATA_LOSS,
                  "%s: truncated or padded: the header says %llu bytes, the file has %zu", what,
                  (unsigned long long)declared, size);
  for (int i = 24; i < (int)MT_BUNDLE_HEADER_BYTES; i++)
    if (image[i]) return MT_ERR(DATA_LOSS, "%s: reserved header byte %d is not zero", what, i);
  if (n == 0 || n > MT_BUNDLE_MAX_SECTIONS)
    return MT_ERR(DATA_LOSS, "%s: section count %u is out of range [1, %u]", what, n,
                  MT_BUNDLE_MAX_SECTIONS);
  uint64_t table_end = MT_BUNDLE_HEADER_BYTES + (uint64_t)n * MT_BUNDLE_ENTRY_BYTES;
  if (table_end > size)
    return MT_ERR(DATA_LOSS, "%s: the section table (%u entries) runs past the end of the file",
                  what, n);
  mt_bundle_section secs[MT_BUNDLE_MAX_SECTIONS];
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *e = image + MT_BUNDLE_HEADER_BYTES + i * MT_BUNDLE_ENTRY_BYTES;
    mt_bundle_section *s = &secs[i];
    s->kind = get_u32(e);
    s->offset = get_u64(e + 8);
    s->size = get_u64(e + 16);
    s->crc = get_u32(e + 24);
    if (get_u32(e + 4) || get_u32(e + 28))
      return MT_ERR(DATA_LOSS, "%s: section %u: reserved fields are not zero", what, i);
    if (s->kind == 0 || s->kind >= MT_SECTION_KIND_COUNT)
      return MT_ERR(DATA_LOSS, "%s: section %u: unknown kind %u", what, i, s->kind);
    if (out[s->kind].kind)
      return MT_ERR(DATA_LOSS, "%s: section %u: a second section of kind %u", what, i, s->kind);
    if (s->offset % MT_BUNDLE_ALIGN)
      return MT_ERR(DATA_LOSS, "%s: section %u: offset %llu is not %u-byte aligned", what, i,
                    (unsigned long long)s->offset, MT_BUNDLE_ALIGN);
    if (s->offset < table_end)
      return MT_ERR(DATA_LOSS, "%s: section %u: offset %llu overlaps the header or table", what, i,
                    (unsigned long long)s->offset);
    if (s->offset > size || s->size > size - s->offset)
      return MT_ERR(DATA_LOSS,
                    "%s: section %u: [%llu, +%llu) runs past the end of the file (%zu bytes)", what,
                    i, (unsigned long long)s->offset, (unsigned long long)s->size, size);
    for (uint32_t j = 0; j < i; j++) {
      const mt_bundle_section *o = &secs[j];
      if (s->offset < o->offset + o->size && o->offset < s->offset + s->size)
        return MT_ERR(DATA_LOSS, "%s: sections %u and %u overlap", what, j, i);
    }
    uint32_t crc = mt_bundle_crc32(image + s->offset, (size_t)s->size);
    if (crc != s->crc)
      return MT_ERR(DATA_LOSS, "%s: section %u: checksum mismatch (stored %08x, computed %08x)",
                    what, i, s->crc, crc);
    out[s->kind] = *s;
  }
  if (!out[MT_SECTION_MANIFEST].kind) return MT_ERR(DATA_LOSS, "%s: no manifest section", what);
  return NULL;
}
